from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "nnrr.accounts"
    verbose_name = "Brukere og enheter"

    def ready(self) -> None:
        from nnrr.accounts import checks  # noqa: F401 - registers the system checks
