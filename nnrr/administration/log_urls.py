from django.urls import path

from nnrr.administration import log_views as views

app_name = "audit"
urlpatterns = [
    path("logg/", views.audit_log, name="log"),
    path("logg/innsyn/", views.innsyn, name="innsyn"),
]
