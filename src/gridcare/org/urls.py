from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/mfa/", views.login_mfa, name="login_mfa"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("mfa/", views.mfa_setup, name="mfa_setup"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("unit/", views.switch_unit, name="switch_unit"),
]
