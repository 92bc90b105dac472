from django.conf import settings


def test_suite_runs_in_test_mode() -> None:
    assert settings.TESTING
