from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutagesConfig(AppConfig):
    name = "gridcare.outages"
    label = "outages"
    verbose_name = _("停电信息")

    def ready(self) -> None:
        from gridcare.notify.links import register as register_link
        from gridcare.org.home import register

        from .home import tile

        register(tile)
        register_link("outages.outage", "outages:detail", _("查看停电信息"))
