from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "nnrr.appointments"
    verbose_name = "Mottatte avtaler"
