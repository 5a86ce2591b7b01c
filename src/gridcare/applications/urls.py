"""Pages of 业扩报装 under /applications/. Each area of the app adds its routes here."""

from django.urls import URLPattern, URLResolver, path

from . import views_callbacks, views_documents, views_figures

app_name = "applications"
urlpatterns: list[URLPattern | URLResolver] = [
    path("callbacks/", views_callbacks.work_list, name="callbacks"),
    path("callbacks/<int:pk>/", views_callbacks.callback, name="callback"),
    path("audit-cases/", views_callbacks.audit_cases, name="audit_cases"),
    path("audit-cases/<str:number>/", views_callbacks.audit_case, name="audit_case"),
    path("figures/", views_figures.figures_page, name="figures"),
    path("<str:number>/documents/<slug:kind>.pdf", views_documents.document, name="document"),
]
