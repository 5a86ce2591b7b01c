from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "gridcare.billing"
    label = "billing"
    verbose_name = _("电费")

    def ready(self) -> None:
        from gridcare.org.home import register

        from .home import tile

        register(tile)
