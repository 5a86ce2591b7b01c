"""The admin app with GridCare's site (三员分立, see org.adminroles); named in INSTALLED_APPS."""

from django.contrib.admin.apps import AdminConfig


class GridCareAdminConfig(AdminConfig):
    default_site = "gridcare.org.adminroles.GridCareAdminSite"
