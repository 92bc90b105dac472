"""The administration pages: access applications ("Søk tilgang"), users, memberships, units.

They keep their URL names in the ``accounts`` namespace (``accounts:users`` …): ``nnrr/urls.py``
mounts these patterns together with ``nnrr.accounts.urls`` under that one namespace.
"""

from django.urls import path

from nnrr.administration import views as admin_views

urlpatterns = [
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
