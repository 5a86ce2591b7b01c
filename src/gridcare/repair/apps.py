from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RepairConfig(AppConfig):
    name = "gridcare.repair"
    label = "repair"
    verbose_name = _("抢修指挥")

    def ready(self) -> None:
        from gridcare.org.home import register

        from .home import tile

        register(tile)
