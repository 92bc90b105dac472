from django.apps import AppConfig


class QuestionnairesConfig(AppConfig):
    name = "nnrr.questionnaires"
    verbose_name = "Skjema"

    def ready(self) -> None:
        from nnrr.questionnaires import checks  # noqa: F401 - registers the definition checks
