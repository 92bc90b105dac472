"""Production settings pass `check --deploy`; demo mode is refused with production settings."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.processes import manage

# Each test starts manage.py in a fresh process (slow: `make test` runs them, `make test-fast` not).
pytestmark = pytest.mark.slow


def _manage(*args: str, env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    return manage(*args, env={"NNRR_DATA_DIR": str(tmp), **env})


PRODUCTION = {
    "NNRR_PRODUCTION": "1",
    "NNRR_SECRET_KEY": "k" * 20 + "-production-secret-for-the-check-0123456789abcdef",
    "NNRR_PSEUDONYM_KEY": "p" * 20 + "-production-pseudonym-key-0123456789abcdef",
    "NNRR_ALLOWED_HOSTS": "nnrr.example.no",
    # Loading the settings connects to nothing: no server needs to answer here.
    "DATABASE_URL": "postgres://nnrr_app@db.invalid:5432/nnrr",
}


def test_production_settings_pass_check_deploy(tmp_path: Path) -> None:
    # Production also needs the licensed wording of ODI, NDI and EQ-5D-5L (docs/forms.md).
    from tests.questionnaires.test_wording import write_wording

    write_wording(tmp_path, ("odi", "ndi", "eq5d5l"))
    env = {**PRODUCTION, "NNRR_FORM_WORDING_DIR": str(tmp_path)}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("flag", ["NNRR_DEMO", "NNRR_TESTING"])
def test_demo_mode_with_production_settings_is_refused_at_start_up(
    tmp_path: Path, flag: str
) -> None:
    result = _manage("check", env={**PRODUCTION, flag: "1"}, tmp=tmp_path)
    assert result.returncode != 0
    assert "must not be set when NNRR_PRODUCTION=1" in result.stderr


def test_production_without_a_secret_key_fails_loudly(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "NNRR_SECRET_KEY"}
    result = _manage("check", env=env, tmp=tmp_path)
    assert result.returncode != 0
    assert "NNRR_SECRET_KEY" in result.stderr


def test_production_without_a_pseudonym_key_fails_loudly(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "NNRR_PSEUDONYM_KEY"}
    result = _manage("check", env=env, tmp=tmp_path)
    assert result.returncode != 0
    assert "NNRR_PSEUDONYM_KEY" in result.stderr


@pytest.mark.parametrize("bad", ["yes please", "2"])
def test_malformed_boolean_settings_fail_loudly(tmp_path: Path, bad: str) -> None:
    result = _manage("check", env={"NNRR_DEMO": bad}, tmp=tmp_path)
    assert result.returncode != 0
    assert "NNRR_DEMO must be 0 or 1" in result.stderr


def test_production_with_debug_refuses_to_load_the_settings(tmp_path: Path) -> None:
    result = _manage("check", env={**PRODUCTION, "NNRR_DEBUG": "1"}, tmp=tmp_path)
    assert result.returncode != 0
    assert "NNRR_DEBUG must not be set when NNRR_PRODUCTION=1" in result.stderr


def test_production_on_sqlite_refuses_to_load_the_settings(tmp_path: Path) -> None:
    env = {**PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}"}
    result = _manage("check", env=env, tmp=tmp_path)
    assert result.returncode != 0
    assert "NNRR_PRODUCTION=1 needs PostgreSQL" in result.stderr
    assert not (tmp_path / "prod.sqlite3").exists()
