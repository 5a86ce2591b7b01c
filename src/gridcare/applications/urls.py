"""Pages of 业扩报装 under /applications/. Each area of the app adds its routes here."""

from django.urls import URLPattern, URLResolver, path  # noqa: F401  (routes are added by the page modules)

app_name = "applications"
urlpatterns: list[URLPattern | URLResolver] = []
