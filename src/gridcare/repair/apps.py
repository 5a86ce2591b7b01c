from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RepairConfig(AppConfig):
    name = "gridcare.repair"
    label = "repair"
    verbose_name = _("抢修指挥")

    def ready(self) -> None:
        from gridcare.notify.links import register as register_link
        from gridcare.org.home import register

        from .home import tile

        register(tile)
        register_link("repair.outageevent", "repair:event", _("查看抢修事件"))
