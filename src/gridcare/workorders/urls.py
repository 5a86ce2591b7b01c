from django.urls import path

from . import views

app_name = "workorders"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.new, name="new"),
    path("supervision/", views.supervision, name="supervision"),
    path("search/", views.search, name="search"),
    path("callbacks/", views.callback_list, name="callbacks"),
    path("callbacks/<str:number>/call/", views.callback_call, name="callback_call"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/urge/", views.urge_instead, name="urge"),
    path("<str:number>/actions/<str:action>/", views.action, name="action"),
]
