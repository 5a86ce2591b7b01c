from django.urls import path

from . import views

app_name = "knowledge"
urlpatterns = [
    path("", views.search, name="search"),
    path("panel/", views.panel, name="panel"),
    path("a/<str:number>/", views.article, name="article"),
    path("a/<str:number>/feedback/", views.feedback, name="feedback"),
    path("a/<str:number>/files/<int:pk>/", views.attachment, name="attachment"),
    path("gaps/", views.gaps, name="gaps"),
    path("gaps/report/", views.report_gap, name="report_gap"),
    path("gaps/<int:pk>/resolve/", views.resolve_gap, name="resolve_gap"),
    path("manage/", views.manage, name="manage"),
    path("manage/new/", views.create, name="create"),
    path("manage/<str:number>/", views.edit, name="edit"),
    path("manage/<str:number>/diff/", views.diff, name="diff"),
    path("manage/<str:number>/attach/", views.attach, name="attach"),
    path("manage/<str:number>/<str:action>/", views.act, name="act"),
]
