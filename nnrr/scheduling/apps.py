from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "nnrr.scheduling"
    verbose_name = "Utsending"
