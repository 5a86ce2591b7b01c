"""Pages of 业扩报装 under /applications/. Each area of the app adds its routes here."""

from django.urls import URLPattern, URLResolver, path

from . import views_figures

app_name = "applications"
urlpatterns: list[URLPattern | URLResolver] = []

# Figures (issue 18, item 9): 业扩报装统计.
urlpatterns += [path("figures/", views_figures.figures_page, name="figures")]
