from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    name = "gridcare.applications"
    label = "applications"
    verbose_name = _("业扩报装")

    def ready(self) -> None:
        from gridcare.core.calendar import calendar_changed
        from gridcare.org.home import register

        from .clocks import recompute_for_calendar
        from .home import tile

        # Entering or changing a year's holidays moves the running node clocks (as for work orders).
        calendar_changed.connect(recompute_for_calendar, dispatch_uid="applications-node-clocks")
        register(tile)
