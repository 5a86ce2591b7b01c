from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "gridcare.quality"
    label = "quality"
    verbose_name = _("服务质量与统计")

    def ready(self) -> None:
        from gridcare.notify.links import register as register_link
        from gridcare.org.home import register

        from .home import tile

        register(tile)
        register_link("quality.bulletin", "quality:bulletin", _("查看督办通报"))
