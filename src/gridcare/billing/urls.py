"""Billing pages under /billing/."""

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "billing"
urlpatterns: list[URLPattern | URLResolver] = [
    path("customer/<str:account_no>/", views.customer_card, name="customer_card"),
    path("bills/<str:number>/", views.bill_page, name="bill"),
    path("bills/<str:number>/explanation/", views.explanation, name="explanation"),
    path("bills/<str:number>/pdf/", views.bill_pdf, name="bill_pdf"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<int:pk>/", views.run_page, name="run"),
    path("runs/<int:pk>/anomalies/<int:anomaly_id>/review/", views.review, name="review"),
    path("runs/<int:pk>/accept-all/", views.accept_all, name="accept_all"),
    path("runs/<int:pk>/release/", views.release, name="release"),
]
