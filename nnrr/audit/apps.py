from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "nnrr.audit"
    verbose_name = "Logg"
