from django.urls import path

from . import views

app_name = "repair"
urlpatterns = [
    path("", views.board, name="board"),
    path("analyse/", views.analyse, name="analyse"),
    path("calls/<str:ref>/retry/", views.retry_call, name="retry_call"),
    path("events/<str:number>/", views.event_detail, name="event"),
    path("events/<str:number>/act/<str:action>/", views.event_action, name="act"),
    path("crews/", views.crews, name="crews"),
    path("crews/<str:code>/duty/", views.crew_duty, name="crew_duty"),
    path("my/", views.my_jobs, name="my_jobs"),
]
