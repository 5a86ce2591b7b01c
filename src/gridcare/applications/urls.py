"""Pages of 业扩报装 under /applications/. Each area of the app adds its routes here."""

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "applications"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.application_list, name="list"),
    path("new/", views.accept, name="accept"),
    path("lookup/", views.lookup, name="lookup"),
    path("customer/<str:account_no>/", views.customer_card, name="customer_card"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/progress/", views.progress, name="progress"),
    path("<str:number>/personal-data/", views.reveal, name="reveal"),
    path("<str:number>/nodes/<str:node>/<str:action>/", views.node_action, name="node_action"),
    path("<str:number>/actions/<str:action>/", views.application_action, name="action"),
]
