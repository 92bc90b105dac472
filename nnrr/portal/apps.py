from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "nnrr.portal"
    verbose_name = "ePROM utfyllingsportal"
