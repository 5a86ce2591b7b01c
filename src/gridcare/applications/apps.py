from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    name = "gridcare.applications"
    label = "applications"
    verbose_name = _("业扩报装")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from gridcare.core.calendar import calendar_changed
        from gridcare.org.home import register

        from .clocks import recompute_for_calendar
        from .home import tile
        from .models import NodePath, PathNode, VoltageBand
        from .paths import forget_rules

        # Entering or changing a year's holidays moves the running node clocks (as for work orders).
        calendar_changed.connect(recompute_for_calendar, dispatch_uid="applications-node-clocks")
        register(tile)
        # The node engine's rule data is kept by the process for a minute (paths.rules): an edit
        # forgets it at once here.
        for model in (VoltageBand, NodePath, PathNode):
            for signal in (post_save, post_delete):
                signal.connect(
                    forget_rules,
                    sender=model,
                    dispatch_uid=f"applications-rules-{model.__name__}-{id(signal)}",
                )
