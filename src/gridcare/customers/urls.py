from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("", views.search, name="search"),
    path("<str:account_no>/", views.detail, name="detail"),
    path("<str:account_no>/personal-data/", views.reveal, name="reveal"),
]
