from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "nnrr.reports"
    verbose_name = _("Rapporter")
    default_auto_field = "django.db.models.BigAutoField"
