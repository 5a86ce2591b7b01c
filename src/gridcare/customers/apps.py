from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "gridcare.customers"
    label = "customers"
    verbose_name = _("客户档案与电网拓扑")
