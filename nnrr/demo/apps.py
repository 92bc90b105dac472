from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "nnrr.demo"
    verbose_name = "Demodata"
