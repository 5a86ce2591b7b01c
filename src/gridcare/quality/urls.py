from django.urls import path

from . import views

app_name = "quality"
urlpatterns: list = []

# --- Staffing (排班测算, Erlang C) ---
urlpatterns += [
    path("staffing/", views.staffing_page, name="staffing"),
]
