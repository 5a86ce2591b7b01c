from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "gridcare.workorders"
    label = "workorders"
    verbose_name = _("工单")

    def ready(self) -> None:
        from gridcare.notify.links import register as register_link
        from gridcare.org.home import register

        from .home import tile

        register(tile)
        register_link("workorders.workorder", "workorders:detail", _("查看工单"))
