from django.urls import path

from nnrr.accounts import views

app_name = "accounts"
urlpatterns = [
    path("logg-inn/", views.login_page, name="login"),
    path("testidp/", views.test_idp, name="test_idp"),
    path("velg-profil/", views.choose_profile, name="choose_profile"),
    path("logg-ut/", views.logout_view, name="logout"),
]
