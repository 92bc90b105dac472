from django.conf import settings
from django.urls import path

from nnrr.scheduling import views

app_name = "scheduling"
urlpatterns = [
    path("pasient/<uuid:patient_id>/bestill-eprom/", views.order_eprom, name="order"),
    path("bestilling/<uuid:order_id>/", views.order_detail, name="order_detail"),
    path("bestilling/<uuid:order_id>/vis-kode/", views.show_code, name="show_code"),
    path("bestilling/<uuid:order_id>/bestill-pa-nytt/", views.reorder, name="reorder"),
    path("forlop/<uuid:course_id>/utsendingslogg/", views.dispatch_log, name="dispatch_log"),
    # Test IDP and demo pages: never mounted in production (settings refuse NNRR_DEMO there).
]
if settings.DEMO and not settings.PRODUCTION:
    urlpatterns.append(path("demo/meldinger/", views.demo_outbox, name="demo_outbox"))
