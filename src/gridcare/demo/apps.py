from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo county generator and the ``gridcare demo`` command (composes every app)."""

    name = "gridcare.demo"
    label = "demo"
    verbose_name = _("演示数据")
