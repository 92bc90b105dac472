"""Patient data is not left where others can read it: owner-only database and secret files,
no cached staff pages, no Django admin in production."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from tests.conftest import ST_OLAVS, book, make_patient
from tests.processes import manage


def _run(code: str, *, env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    # A permissive umask, as on many servers: the files must not rely on it.
    return manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        env={"NNRR_DATA_DIR": str(tmp / "data"), **env},
        umask=0o022,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_the_sqlite_database_and_the_secret_key_are_created_owner_only(tmp_path: Path) -> None:
    result = _run(
        "from django.db import connection; connection.ensure_connection();"
        "cursor = connection.cursor(); cursor.execute('CREATE TABLE probe (x)')",
        env={"NNRR_DEMO": "1"},
        tmp=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    data = tmp_path / "data"
    assert _mode(data) == 0o700
    assert _mode(data / "nnrr.sqlite3") == 0o600
    assert _mode(data / "secret_key") == 0o600
    for companion in ("nnrr.sqlite3-wal", "nnrr.sqlite3-shm"):
        if (data / companion).exists():
            assert _mode(data / companion) & 0o077 == 0


@pytest.mark.slow
def test_an_existing_database_file_is_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "nnrr.sqlite3").write_bytes(b"")
    (data / "nnrr.sqlite3").chmod(0o640)  # the operator's own choice (e.g. a backup group)
    result = _run("print('ok')", env={"NNRR_DEMO": "1"}, tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _mode(data / "nnrr.sqlite3") == 0o640


PRODUCTION = {
    "NNRR_PRODUCTION": "1",
    "NNRR_SECRET_KEY": "k" * 20 + "-production-secret-for-the-check-0123456789abcdef",
    "NNRR_ALLOWED_HOSTS": "nnrr.example.no",
    "NNRR_PSEUDONYM_KEY": "p" * 40,
}
ADMIN_MOUNTED = (
    "from django.urls import get_resolver;"
    "print('admin' in {getattr(p, 'namespace', None) for p in get_resolver().url_patterns})"
)


@pytest.mark.slow
def test_django_admin_is_not_mounted_in_production(tmp_path: Path) -> None:
    production = _run(
        ADMIN_MOUNTED,
        env={**PRODUCTION, "DATABASE_URL": "postgres://nnrr_app@db.invalid:5432/nnrr"},
        tmp=tmp_path,
    )
    assert production.returncode == 0, production.stderr
    assert production.stdout.strip() == "False"
    # The same probe sees it outside production (development and the demo).
    demo = _run(ADMIN_MOUNTED, env={"NNRR_DEMO": "1"}, tmp=tmp_path)
    assert demo.stdout.strip() == "True", demo.stderr


@pytest.mark.parametrize(
    "name", ["patients:detail", "patients:contact", "worklists:unit", "worklists:consent"]
)
def test_staff_pages_with_patient_data_are_never_stored(
    name: str, as_persona: Any, persona: Any
) -> None:
    patient = make_patient(ST_OLAVS)
    book(persona("clinician"), patient)
    args = [patient.pk] if name.startswith("patients:") else []
    response = as_persona("clinician").get(reverse(name, args=args))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_a_search_result_is_never_stored(as_persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    client = as_persona("clinician")
    response = client.post(reverse("patients:search"), {"national_id": patient.national_id})
    assert "no-store" in response["Cache-Control"]
    register = client.post(reverse("patients:search"), {"national_id": "17057512345"})
    assert "no-store" in register["Cache-Control"]


def test_the_demo_outbox_is_owner_only(tmp_path: Path) -> None:
    from nnrr.scheduling.channels import FileChannel, OutgoingMessage

    old = os.umask(0o022)
    try:
        outbox = tmp_path / "outbox"
        FileChannel(outbox).send(
            OutgoingMessage(key="k1", to="p@example.no", subject="Skjema", body="lenke")
        )
    finally:
        os.umask(old)
    assert _mode(outbox) == 0o700
    assert _mode(outbox / "k1.eml") == 0o600
