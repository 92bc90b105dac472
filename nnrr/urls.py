from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from nnrr.accounts import urls as accounts_urls
from nnrr.administration import urls as administration_urls

urlpatterns = [
    # The administration pages live above the apps whose data they show, but keep their URL
    # names (accounts:users, …): one namespace, two URLconfs.
    path(
        "",
        include(
            (accounts_urls.urlpatterns + administration_urls.urlpatterns, accounts_urls.app_name)
        ),
    ),
    path("", include("nnrr.patients.urls")),
    path("", include("nnrr.administration.log_urls")),
    path("", include("nnrr.questionnaires.urls")),
    path("", include("nnrr.scheduling.urls")),
    path("", include("nnrr.worklists.urls")),
    path("mottatte-avtaler/", include("nnrr.appointments.urls")),
    # The FHIR API's appointment endpoints (machine clients): docs/integration.md
    path("fhir/", include("nnrr.appointments.fhir_urls")),
    path("eksport/", include("nnrr.exports.urls")),
    path("rapporter/", include("nnrr.reports.urls")),
    path("eprom/", include("nnrr.portal.urls")),
    path("fhir/", include("nnrr.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]

# Django's admin shows patient forms without the registry's audit events: it is not mounted in
# production (docs/decisions/0012-django-admin.md).
if not settings.PRODUCTION:
    urlpatterns.append(path("admin/", admin.site.urls))
