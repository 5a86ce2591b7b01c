from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KnowledgeConfig(AppConfig):
    name = "gridcare.knowledge"
    label = "knowledge"
    verbose_name = _("服务咨询知识库")
