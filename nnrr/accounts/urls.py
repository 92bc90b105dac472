from django.conf import settings
from django.urls import path

from nnrr.accounts import views

app_name = "accounts"
urlpatterns = [
    path("logg-inn/", views.login_page, name="login"),
    path("velg-profil/", views.choose_profile, name="choose_profile"),
    path("logg-ut/", views.logout_view, name="logout"),
]
# The demo's Test IDP: never mounted in production (the settings refuse NNRR_DEMO there).
if settings.DEMO and not settings.PRODUCTION:
    urlpatterns.append(path("testidp/", views.test_idp, name="test_idp"))
