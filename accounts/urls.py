from common.urls import route

from . import views

urlpatterns = [
    route("auth/register", views.RegisterView.as_view(), "auth-register"),
    route("auth/login", views.LoginView.as_view(), "auth-login"),
    route("auth/refresh", views.RefreshView.as_view(), "auth-refresh"),
    route("auth/logout", views.LogoutView.as_view(), "auth-logout"),
    route("auth/me", views.MeView.as_view(), "auth-me"),
    route("auth/app-passwords", views.AppPasswordListView.as_view(), "auth-app-passwords"),
    route("auth/app-passwords/<id>", views.AppPasswordDetailView.as_view(), "auth-app-password"),
]
