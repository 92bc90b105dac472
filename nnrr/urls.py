from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("nnrr.accounts.urls")),
    path("", include("nnrr.patients.urls")),
    path("", include("nnrr.audit.urls")),
    path("", include("nnrr.questionnaires.urls")),
    path("", include("nnrr.scheduling.urls")),
    path("", include("nnrr.worklists.urls")),
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
