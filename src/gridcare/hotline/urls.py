from django.urls import path

from . import views

app_name = "hotline"
urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("pop/", views.pop, name="pop"),
    path("search/", views.search, name="search"),
    path("customer/<str:account_no>/", views.customer, name="customer"),
    path("intake/", views.intake, name="intake"),
    path("urge/<str:number>/", views.urge, name="urge"),
    path("state/", views.agent_state, name="state"),
    path("wrap-up/", views.wrap_up, name="wrap_up"),
    path("handover/", views.handover, name="handover"),
    path("handover/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("return-calls/", views.return_call_list, name="return_calls"),
    path("return-calls/<int:pk>/result/", views.return_call_result, name="return_call_result"),
    path("return-calls/<int:pk>/number/", views.return_call_number, name="return_call_number"),
]
