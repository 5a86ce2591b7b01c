from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "gridcare.workorders"
    label = "workorders"
    verbose_name = _("工单")

    def ready(self) -> None:
        from gridcare.core.calendar import calendar_changed
        from gridcare.notify.links import register as register_link
        from gridcare.org.home import register

        from .deadlines import recompute_for_calendar
        from .home import tile

        # Holidays entered or changed: running working-time deadlines are counted again.
        calendar_changed.connect(recompute_for_calendar, dispatch_uid="workorders-recompute-deadlines")
        register(tile)
        register_link("workorders.workorder", "workorders:detail", _("查看工单"))
