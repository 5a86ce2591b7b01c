from django.urls import path

from . import views

app_name = "outages"
urlpatterns = [
    path("", views.outage_list, name="list"),
    path("lookup/", views.lookup, name="lookup"),
    path("new/", views.new, name="new"),
    path("customer/<str:account_no>/", views.customer_outages, name="customer"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/progress/", views.progress, name="progress"),
    path("<str:number>/actions/<str:action>/", views.action, name="action"),
]
