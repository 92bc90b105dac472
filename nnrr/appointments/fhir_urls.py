from django.urls import path

from nnrr.appointments import fhir_views

app_name = "appointments_fhir"
urlpatterns = [
    path("Appointment/<str:appointment_ref>", fhir_views.appointment, name="appointment"),
    path(
        "subscription/appointments",
        fhir_views.subscription_notification,
        name="subscription_notification",
    ),
]
