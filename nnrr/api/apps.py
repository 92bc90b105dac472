from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The FHIR R4 API (docs/fhir.md): Questionnaires, responses in, the record system's reads."""

    name = "nnrr.api"
    label = "api"
    verbose_name = "FHIR-API"
    default_auto_field = "django.db.models.BigAutoField"
