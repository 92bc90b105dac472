from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "nnrr.patients"
    verbose_name = "Pasienter og forløp"
