from django.conf import settings
from django.urls import path

from nnrr.accounts import admin_views, oidc_views, views

app_name = "accounts"
urlpatterns = [
    path("logg-inn/", views.login_page, name="login"),
    path("logg-inn/<slug:provider>/", oidc_views.oidc_start, name="oidc_start"),
    path("logg-inn/<slug:provider>/tilbake/", oidc_views.oidc_callback, name="oidc_callback"),
    path("velg-profil/", views.choose_profile, name="choose_profile"),
    path("logg-ut/", views.logout_view, name="logout"),
    path("logget-ut/", views.logged_out, name="logged_out"),
    path("tilgang/sok/", admin_views.apply, name="apply"),
    path("administrasjon/soknader/", admin_views.applications, name="applications"),
    path(
        "administrasjon/soknader/<int:application_id>/",
        admin_views.application_detail,
        name="application",
    ),
    path("administrasjon/brukere/", admin_views.users, name="users"),
    path("administrasjon/brukere/ny/", admin_views.user_new, name="user_new"),
    path("administrasjon/brukere/<int:user_id>/", admin_views.user_detail, name="user"),
    path(
        "administrasjon/tilganger/<int:membership_id>/",
        admin_views.membership_change,
        name="membership",
    ),
    path("administrasjon/enheter/", admin_views.units, name="units"),
    path("administrasjon/enheter/<int:resh>/", admin_views.unit_detail, name="unit"),
]
# The demo's Test IDP: never mounted in production (the settings refuse NNRR_DEMO there).
if settings.DEMO and not settings.PRODUCTION:
    urlpatterns.append(path("testidp/", views.test_idp, name="test_idp"))
