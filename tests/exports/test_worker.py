"""The export job on the worker: interrupted runs fail cleanly and leave no plaintext behind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from nnrr.accounts.profiles import Profile
from nnrr.audit.models import AuditEvent
from nnrr.exports import services
from nnrr.exports.models import ExportJob
from nnrr.exports.query import ExportFilters
from nnrr.exports.services import ExportOptions, recover_interrupted, request_export, run_export_job
from nnrr.exports.writers import StatWriter, XlsxWriter

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(persona: Any, st_olavs_data: dict[str, Any], monkeypatch: Any) -> Any:
    """Queue a job without running it (the task is put on the queue, not executed)."""

    def make(fmt: str = "xlsx") -> tuple[ExportJob, str]:
        who = persona("local_admin")
        return request_export(
            actor=who.actor,
            profile=Profile.from_membership(who.membership),
            filters=ExportFilters(),
            options=ExportOptions(format=fmt),
            purpose="Test av avbrudd",
        )

    return make


def plaintext_left(export_dir: Path, password: str) -> list[Path]:
    """Files that are not an encrypted archive (everything but *.zip written by pyzipper)."""
    if not export_dir.exists():
        return []
    return [p for p in export_dir.rglob("*") if p.is_file() and p.suffix != ".zip"]


@pytest.mark.parametrize("fmt", ["xlsx", "sav"])
def test_worker_stopped_mid_job_leaves_no_plaintext_and_fails_on_recovery(
    queued: Any, monkeypatch: Any, settings: Any, fmt: str, as_persona: Any
) -> None:
    job, password = queued(fmt)
    writer = XlsxWriter if fmt == "xlsx" else StatWriter
    original = writer.write_row
    seen: list[Path] = []

    def stop_after_a_row(self: Any, row: dict[str, Any]) -> None:
        original(self, row)
        seen.extend(p for p in Path(settings.EXPORT_DIR).rglob("*") if p.is_file())
        raise SystemExit("worker restarted")  # what a stopped worker process raises

    monkeypatch.setattr(writer, "write_row", stop_after_a_row)
    with pytest.raises(SystemExit):
        run_export_job(job.pk)
    assert seen, "the job had started writing"
    assert plaintext_left(Path(settings.EXPORT_DIR), password) == []
    job.refresh_from_db()
    assert job.state == ExportJob.State.RUNNING and job.sealed_password is None
    # The queue delivers the task again after the restart: it is not run twice.
    assert run_export_job(job.pk) == "skipped"
    later = timezone.now() + dt.timedelta(seconds=settings.EXPORT_STALE_SECONDS + 1)
    assert recover_interrupted(now=later) == 1
    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED and "avbrutt" in job.error
    assert not job.archive_path.exists()
    assert list(Path(settings.EXPORT_DIR).rglob("*.zip")) == []


def test_hard_kill_leftovers_are_removed_by_recovery(queued: Any, settings: Any) -> None:
    job, _password = queued()
    # As a killed process leaves them: scratch files and a half-written archive.
    job.scratch_dir.mkdir(parents=True)
    (job.scratch_dir / "nnrr-eksport.xlsx").write_bytes(b"PK plaintext")
    job.archive_path.with_suffix(".part").write_bytes(b"partial")
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportJob.State.RUNNING,
        sealed_password=None,
        heartbeat_at=timezone.now() - dt.timedelta(hours=1),
    )
    assert recover_interrupted() == 1
    assert not job.scratch_dir.exists()
    assert not job.archive_path.with_suffix(".part").exists()


def test_failure_is_reported_with_a_reason_and_logged(
    queued: Any, monkeypatch: Any, as_persona: Any
) -> None:
    job, _password = queued("csv")

    def broken(**kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(services, "build_archive", broken)
    assert run_export_job(job.pk) == ExportJob.State.FAILED
    job.refresh_from_db()
    assert "intern feil" in job.error and not job.archive_path.exists()
    status = as_persona("local_admin").get(reverse("exports:status", args=[job.pk]))
    assert "Feilet" in status.content.decode() and "every 2s" not in status.content.decode()
    assert AuditEvent.objects.filter(action="nnrr.export.failed", outcome="failed").exists()


def test_membership_ended_before_the_job_ran(queued: Any, persona: Any) -> None:
    job, _password = queued("csv")
    membership = persona("local_admin").membership
    membership.valid_until = timezone.localdate() - dt.timedelta(days=1)
    membership.save()
    assert run_export_job(job.pk) == ExportJob.State.FAILED
    job.refresh_from_db()
    assert "gjelder ikke lenger" in job.error


@pytest.fixture
def small_disk(tmp_path: Path, settings: Any) -> Any:
    """EXPORT_DIR on a tmpfs of 16 kB: an export fills it while it writes."""
    import os
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    settings.EXPORT_DIR = mount
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("fmt", ["xlsx", "sav", "csv"])
def test_a_full_disk_fails_the_export_cleanly_with_a_message_and_no_plaintext(
    queued: Any, small_disk: Path, fmt: str, as_persona: Any
) -> None:
    job, _password = queued(fmt)
    assert run_export_job(job.pk) == ExportJob.State.FAILED
    job.refresh_from_db()
    assert "ikke nok ledig diskplass" in job.error
    assert [p for p in small_disk.rglob("*") if p.is_file()] == []  # no plaintext, no half file
    status = as_persona("local_admin").get(reverse("exports:status", args=[job.pk]))
    assert "ikke nok ledig diskplass" in status.content.decode()
    assert AuditEvent.objects.filter(action="nnrr.export.failed", outcome="failed").exists()


def aes_strengths(archive: Path) -> set[int]:
    """The AES key strength of every member, read from its WinZip AES extra field (0x9901):
    1 = 128, 2 = 192, 3 = 256 bits."""
    import struct
    import zipfile

    strengths = set()
    with zipfile.ZipFile(archive) as plain:
        for info in plain.infolist():
            extra, found = info.extra, None
            while len(extra) >= 4:
                header, size = struct.unpack("<HH", extra[:4])
                if header == 0x9901:
                    found = extra[4 + 4]  # version (2 bytes), vendor "AE" (2 bytes), strength
                extra = extra[4 + size :]
            assert found is not None, f"{info.filename} is not AES-encrypted"
            strengths.add(found)
    return strengths


def test_the_worker_refuses_an_identifiable_export_whose_permission_was_revoked(
    persona: Any, st_olavs_data: dict[str, Any], files_under: Any, settings: Any
) -> None:
    who = persona("local_admin")
    who.membership.can_export_identifiable = True
    who.membership.save()
    job, _password = request_export(
        actor=who.actor,
        profile=Profile.from_membership(who.membership),
        filters=ExportFilters(),
        options=ExportOptions(format="csv", identifiable=True),
        purpose="Kobling mot annet register",
    )
    who.membership.can_export_identifiable = False
    who.membership.save()
    assert run_export_job(job.pk) == ExportJob.State.FAILED
    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED and "trukket tilbake" in job.error
    assert not job.archive_path.exists()
    assert not list(files_under(Path(settings.EXPORT_DIR)))
    assert not AuditEvent.objects.filter(action="nnrr.export.completed").exists()
    assert AuditEvent.objects.get(action="nnrr.export.failed").detail["identifiable"] is True


def test_a_de_identified_export_still_runs_after_the_permission_was_revoked(
    persona: Any, st_olavs_data: dict[str, Any]
) -> None:
    who = persona("local_admin")
    who.membership.can_export_identifiable = True
    who.membership.save()
    job, _password = request_export(
        actor=who.actor,
        profile=Profile.from_membership(who.membership),
        filters=ExportFilters(),
        options=ExportOptions(format="csv"),
        purpose="Kvalitetsarbeid",
    )
    who.membership.can_export_identifiable = False
    who.membership.save()
    assert run_export_job(job.pk) == ExportJob.State.READY


def test_the_archive_is_kept_exactly_the_retention_hours_and_is_aes_256(
    queued: Any, settings: Any
) -> None:
    settings.EXPORT_RETENTION_HOURS = 7
    job, _password = queued("csv")
    assert run_export_job(job.pk) == ExportJob.State.READY
    job.refresh_from_db()
    assert job.expires_at - job.finished_at == dt.timedelta(hours=7)
    assert aes_strengths(job.archive_path) == {3}
    # One second before the end it is still there; at the end it is purged.
    assert services.purge_expired(now=job.expires_at - dt.timedelta(seconds=1)) == 0
    assert job.archive_path.exists()
    assert services.purge_expired(now=job.expires_at) == 1
    job.refresh_from_db()
    assert job.state == ExportJob.State.EXPIRED and not job.archive_path.exists()
