from django.conf import settings
from django.urls import path

from nnrr.accounts import oidc_views, views

app_name = "accounts"
urlpatterns = [
    path("logg-inn/", views.login_page, name="login"),
    path("logg-inn/<slug:provider>/", oidc_views.oidc_start, name="oidc_start"),
    path("logg-inn/<slug:provider>/tilbake/", oidc_views.oidc_callback, name="oidc_callback"),
    path("velg-profil/", views.choose_profile, name="choose_profile"),
    path("logg-ut/", views.logout_view, name="logout"),
    path("logget-ut/", views.logged_out, name="logged_out"),
]
# The demo's Test IDP: never mounted in production (the settings refuse NNRR_DEMO there).
if settings.DEMO and not settings.PRODUCTION:
    urlpatterns.append(path("testidp/", views.test_idp, name="test_idp"))
