from django.apps import AppConfig


class WorklistsConfig(AppConfig):
    name = "nnrr.worklists"
    verbose_name = "Arbeidslister"
