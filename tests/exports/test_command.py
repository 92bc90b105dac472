"""``nnrr export``: the same rights, refusals and audit as the web, password on the last line."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from nnrr.accounts.models import Membership, Role
from nnrr.audit.models import AuditEvent
from tests.conftest import HAUKELAND, ST_OLAVS, UNN_TROMSO
from tests.exports.conftest import open_archive

pytestmark = pytest.mark.django_db


def national_id_of(who: Any) -> str:
    return who.user.identities.get().subject


def export(
    who: Any, out: Path, *extra: str, role: str = "", unit: int = ST_OLAVS
) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(
        "export",
        "--user",
        national_id_of(who),
        "--unit",
        str(unit),
        "--role",
        role or who.membership.role,
        "--forms",
        "1a,1b,2,3",
        "--status",
        "ferdigstilt",
        "--out",
        str(out),
        *extra,
        stdout=stdout,
        stderr=stderr,
    )
    return stdout.getvalue(), stderr.getvalue()


def test_command_writes_the_archive_and_prints_the_password_last(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "levering.zip"
    stdout, stderr = export(
        persona("exporter"),
        out,
        "--format",
        "sav",
        "--purpose",
        "Årlig levering",
        "--from",
        "2000-01-01",
        "--to",
        "2100-12-31",
    )
    lines = stdout.rstrip("\n").split("\n")
    password = lines[-1]
    assert len(password) >= 20 and password.isalnum()
    assert password not in stderr
    assert "Behandlerskjema: 3 rader" in stderr and "rader" in stderr
    files = open_archive(out, password)
    assert "Behandlerskjema.sav" in files and "Forlop.sav" in files
    assert out.stat().st_mode & 0o777 == 0o600  # only its owner can read the archive
    event = AuditEvent.objects.get(action="nnrr.export.completed")
    assert event.detail["source"] == "command" and event.detail["purpose"] == "Årlig levering"
    assert event.detail["format"] == "sav" and event.unit_id == ST_OLAVS
    assert password not in str(event.detail)


@pytest.mark.parametrize(
    ("persona_key", "extra", "message"),
    [
        ("clinician", ["--purpose", "x"], "ikke rett til å eksportere"),
        ("exporter", [], "Oppgi formålet"),
        ("exporter", ["--purpose", "x", "--identifiable"], "identifiserbar"),
        ("exporter", ["--purpose", "x", "--forms", "1b,4"], "Ukjent skjematype"),
        ("exporter", ["--purpose", "x", "--all-units"], "Registeradministrator"),
        ("exporter", ["--purpose", "x", "--status", "slettet"], "Ukjent status"),
        ("exporter", ["--purpose", "x", "--from", "2024-13-01"], "ÅÅÅÅ-MM-DD"),
    ],
)
def test_refusals_exit_non_zero_and_write_nothing(
    persona: Any,
    st_olavs_data: dict[str, Any],
    tmp_path: Path,
    persona_key: str,
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "nei.zip"
    with pytest.raises(CommandError, match=message) as refused:
        export(persona(persona_key), out, *extra)
    assert "\n" not in str(refused.value), "one clear line"
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_unknown_unit_or_role_is_refused(persona: Any, tmp_path: Path) -> None:
    who = persona("exporter")
    with pytest.raises(CommandError, match="har ikke rollen"):
        export(who, tmp_path / "a.zip", "--purpose", "x", unit=999999)
    with pytest.raises(CommandError, match="Ukjent rolle"):
        export(who, tmp_path / "a.zip", "--purpose", "x", role="sjef")


def test_identifiable_with_the_permission_and_all_units_for_the_national_role(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    national = persona("national_admin")
    Membership.objects.filter(pk=national.membership.pk).update(can_export_identifiable=True)
    out = tmp_path / "alle.zip"
    stdout, _ = export(
        national,
        out,
        "--all-units",
        "--identifiable",
        "--format",
        "csv",
        "--purpose",
        "Årsrapport",
        unit=UNN_TROMSO,
        role=Role.REGISTERADMINISTRATOR,
    )
    files = open_archive(out, stdout.split()[-1])
    text = files["Behandlerskjema.csv"].decode("utf-8-sig")
    assert "Hauk Bergensen" in text and "Signe Eksportsen" in text
    assert str(HAUKELAND) in text
    # Without --all-units the national role gets its own unit only (here: nothing).
    own = tmp_path / "egen.zip"
    stdout, _ = export(
        national, own, "--purpose", "Egen enhet", unit=UNN_TROMSO, role=Role.REGISTERADMINISTRATOR
    )
    assert (
        open_archive(own, stdout.split()[-1])["Behandlerskjema.csv"].decode("utf-8-sig").count("\n")
        == 1
    )


def test_cross_unit_rows_never_leave_for_a_local_role(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "lokal.zip"
    with pytest.raises(CommandError, match="Bare Registeradministrator"):
        export(persona("local_admin"), out, "--purpose", "x", "--units", str(HAUKELAND))
    assert not out.exists()
    stdout, _ = export(persona("local_admin"), out, "--purpose", "x")
    files = open_archive(out, stdout.split()[-1])
    for name in ("Forlop.csv", "Behandlerskjema.csv", "Pasientskjema_foer_behandling.csv"):
        rows = list(csv.DictReader(io.StringIO(files[name].decode("utf-8-sig")), delimiter=";"))
        assert {r["UnitId"] for r in rows} == {str(ST_OLAVS)}, name
    other = st_olavs_data["other_unit_patient"]
    assert other.name.encode() not in b"".join(files.values())


@pytest.mark.slow
def test_nnrr_export_is_reachable_from_the_command_line() -> None:
    nnrr = Path(sys.executable).parent / "nnrr"
    result = subprocess.run(
        [str(nnrr), "export", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stderr
    assert "--identifiable" in result.stdout and "--purpose" in result.stdout
