from django.urls import path

from nnrr.exports import views

app_name = "exports"
urlpatterns = [
    path("", views.export_page, name="index"),
    path("antall/", views.count, name="count"),
    path("logg/", views.export_log, name="log"),
    path("<uuid:job_id>/", views.job_page, name="job"),
    path("<uuid:job_id>/status/", views.job_status, name="status"),
    path("<uuid:job_id>/last-ned/", views.download, name="download"),
]
