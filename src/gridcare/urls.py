from django.contrib import admin
from django.urls import include, path

from gridcare.api import api
from gridcare.core import views as core_views
from gridcare.org import views as org_views

admin.site.site_header = "GridCare 供电客户服务中心 · 管理后台"
admin.site.site_title = "GridCare 管理后台"

urlpatterns = [
    path("api/v1/", api.urls),  # first: the busiest path, resolved without trying the others
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/login/", org_views.admin_login),  # one login path: lockout, throttles, second factor
    path("admin/password_change/", org_views.admin_password_change),  # the throttled old-password check
    path("admin/", admin.site.urls),
    path("", include("gridcare.org.urls")),
    path("customers/", include("gridcare.customers.urls")),
    path("knowledge/", include("gridcare.knowledge.urls")),
    path("outages/", include("gridcare.outages.urls")),
    path("quality/", include("gridcare.quality.urls")),
    path("applications/", include("gridcare.applications.urls")),
    path("billing/", include("gridcare.billing.urls")),
    path("workorders/", include("gridcare.workorders.urls")),
    path("hotline/", include("gridcare.hotline.urls")),
    path("inbox/", include("gridcare.notify.urls")),
    path("repair/", include("gridcare.repair.urls")),
]
