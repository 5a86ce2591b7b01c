"""Pages of 业扩报装 under /applications/. Each area of the app adds its routes here."""

from django.urls import URLPattern, URLResolver, path

from . import views_documents

app_name = "applications"
urlpatterns: list[URLPattern | URLResolver] = [
    path("<str:number>/documents/<slug:kind>.pdf", views_documents.document, name="document"),
]
