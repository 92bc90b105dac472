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
from nnrr.questionnaires.models import Response
from tests.exports.conftest import open_archive

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(persona: Any, st_olavs_data: dict[str, Any], monkeypatch: Any) -> Any:
    """Queue a job without running it (the task is put on the queue, not executed)."""

    def make(fmt: str = "xlsx", **options: Any) -> tuple[ExportJob, str]:
        who = persona("local_admin")
        return request_export(
            actor=who.actor,
            profile=Profile.from_membership(who.membership),
            filters=ExportFilters(),
            options=ExportOptions(format=fmt, **options),
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
    queued: Any, monkeypatch: Any, as_persona: Any, caplog: Any
) -> None:
    job, _password = queued("csv")

    def broken(**kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(services, "build_archive", broken)
    assert run_export_job(job.pk) == ExportJob.State.FAILED
    job.refresh_from_db()
    reason = "Eksporten feilet på grunn av en intern feil. Prøv igjen, eller kontakt registeret."
    assert job.error == reason and not job.archive_path.exists()
    assert job.finished_at is not None
    status = as_persona("local_admin").get(reverse("exports:status", args=[job.pk]))
    assert "Feilet" in status.content.decode() and "every 2s" not in status.content.decode()
    event = AuditEvent.objects.get(action="nnrr.export.failed", outcome="failed")
    assert (event.object_type, event.object_id) == ("export", str(job.pk))
    assert event.detail["job"] == str(job.pk) and event.detail["error"] == reason
    assert event.detail["membership"] == job.membership_id and event.detail["source"] == "web"
    # The operators' log has the cause with its traceback.
    logged = [r for r in caplog.records if r.getMessage() == f"export {job.pk} failed"]
    assert logged and logged[0].exc_info is not None
    # The export log shows the failed export with its purpose, selection and reason.
    log = as_persona("local_admin").get(reverse("exports:log")).content.decode()
    assert "Test av avbrudd" in log and f"Feilet: {reason}" in log
    assert "Skjematyper: Behandlerskjema" in log and "CSV (Excel" in log


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
    assert job.error == (
        "Det var ikke nok ledig diskplass til eksporten. Den er avbrutt, og ingenting av den er "
        "lagret. Prøv igjen senere, eller kontakt registeret."
    )
    assert [p for p in small_disk.rglob("*") if p.is_file()] == []  # no plaintext, no half file
    status = as_persona("local_admin").get(reverse("exports:status", args=[job.pk]))
    assert "ikke nok ledig diskplass" in status.content.decode()
    assert AuditEvent.objects.filter(action="nnrr.export.failed", outcome="failed").exists()


def aes_members(archive: Path) -> set[tuple[int, int]]:
    """The AES key strength and the compression method of every member, read from its WinZip
    AES extra field (0x9901): strength 1 = 128, 2 = 192, 3 = 256 bits; method 8 = deflate."""
    import struct
    import zipfile

    members = set()
    with zipfile.ZipFile(archive) as plain:
        for info in plain.infolist():
            extra, found = info.extra, None
            while len(extra) >= 4:
                header, size = struct.unpack("<HH", extra[:4])
                if header == 0x9901:
                    # version (2 bytes), vendor "AE" (2 bytes), strength (1), method (2)
                    found = (extra[8], struct.unpack("<H", extra[9:11])[0])
                extra = extra[4 + size :]
            assert found is not None, f"{info.filename} is not AES-encrypted"
            members.add(found)
    return members


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


def test_the_archive_is_kept_exactly_the_retention_hours_and_is_aes_256_and_compressed(
    queued: Any, settings: Any
) -> None:
    settings.EXPORT_RETENTION_HOURS = 7
    job, _password = queued("csv")
    assert run_export_job(job.pk) == ExportJob.State.READY
    job.refresh_from_db()
    assert job.expires_at - job.finished_at == dt.timedelta(hours=7)
    assert aes_members(job.archive_path) == {(3, 8)}
    # One second before the end it is still there; at the end it is purged, once.
    assert services.purge_expired(now=job.expires_at - dt.timedelta(seconds=1)) == 0
    assert job.archive_path.exists()
    assert services.purge_expired(now=job.expires_at) == 1
    job.refresh_from_db()
    assert job.state == ExportJob.State.EXPIRED and not job.archive_path.exists()
    assert services.purge_expired(now=job.expires_at) == 0


# --- The job record, the claim and the worker's housekeeping ------------------------------------


def status_text(as_persona: Any, job: ExportJob) -> str:
    return as_persona("local_admin").get(reverse("exports:status", args=[job.pk])).content.decode()


def test_a_job_without_its_sealed_password_fails_and_tells_the_user_to_start_again(
    queued: Any, as_persona: Any
) -> None:
    job, _password = queued("csv")
    ExportJob.objects.filter(pk=job.pk).update(sealed_password=None)
    now = timezone.now()
    assert run_export_job(job.pk, now=now) == "skipped"
    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED and job.finished_at == now
    assert job.error == "Eksporten mangler passord; start en ny eksport."
    assert "Eksporten mangler passord; start en ny eksport." in status_text(as_persona, job)
    assert not job.archive_path.exists()


def test_a_job_sealed_under_another_installation_secret_fails_and_tells_the_user_to_start_again(
    queued: Any, as_persona: Any, settings: Any
) -> None:
    job, _password = queued("csv")
    settings.SECRET_KEY = "en annen hemmelighet etter flytting av installasjonen"
    now = timezone.now()
    assert run_export_job(job.pk, now=now) == "skipped"
    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED and job.finished_at == now
    assert job.sealed_password is None, "the sealed password is wiped all the same"
    assert job.error == "Eksporten kunne ikke startes; start en ny eksport."
    assert "Eksporten kunne ikke startes; start en ny eksport." in status_text(as_persona, job)


def test_a_worker_stopped_right_after_claiming_the_job_is_failed_by_recovery_after_the_stale_time(
    queued: Any, monkeypatch: Any, settings: Any
) -> None:
    job, _password = queued("csv")

    def stopped(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit("worker restarted")

    monkeypatch.setattr(services, "total_rows", stopped)
    started = timezone.now()
    with pytest.raises(SystemExit):
        run_export_job(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.RUNNING and job.heartbeat_at >= started
    stale = dt.timedelta(seconds=settings.EXPORT_STALE_SECONDS)
    assert recover_interrupted(now=job.heartbeat_at + stale) == 0
    assert recover_interrupted(now=job.heartbeat_at + stale + dt.timedelta(seconds=1)) == 1
    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED and "avbrutt" in job.error


def test_each_worker_run_first_fails_stopped_jobs_and_deletes_expired_archives(
    queued: Any, settings: Any
) -> None:
    expired, _password = queued("csv")
    assert run_export_job(expired.pk) == ExportJob.State.READY
    expired.refresh_from_db()
    stopped, _password = queued("csv")
    ExportJob.objects.filter(pk=stopped.pk).update(
        state=ExportJob.State.RUNNING, sealed_password=None, heartbeat_at=timezone.now()
    )
    job, _password = queued("csv")
    # The worker's clock is past the download window of the first and the stale time of the second.
    later = expired.expires_at + dt.timedelta(seconds=settings.EXPORT_STALE_SECONDS + 1)
    assert run_export_job(job.pk, now=later) == ExportJob.State.READY
    expired.refresh_from_db()
    stopped.refresh_from_db()
    assert expired.state == ExportJob.State.EXPIRED and not expired.archive_path.exists()
    assert stopped.state == ExportJob.State.FAILED and stopped.finished_at == later


def test_a_job_keeps_the_delimiter_and_the_per_export_key_it_was_ordered_with(
    queued: Any,
) -> None:
    import csv
    import io

    job, password = queued("csv", delimiter=",", per_export_key=True)
    assert run_export_job(job.pk) == ExportJob.State.READY
    files = open_archive(job.archive_path, password)
    text = files["Behandlerskjema.csv"].decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=","))
    assert len(rows) == 3 and "SkjemaGUID" in rows[0]
    form_ids = {str(pk) for pk in Response.objects.values_list("pk", flat=True)}
    assert not {r["SkjemaGUID"] for r in rows} & form_ids, "form ids hidden by the export's key"
    readme = files["README.txt"].decode("utf-8")
    assert "komma, desimalpunktum" in readme and "nøkkel bare for denne eksporten" in readme


def test_a_job_record_without_options_is_a_semicolon_csv_with_the_units_key(
    queued: Any,
) -> None:
    job, password = queued("csv", delimiter=",", per_export_key=True)
    filters = {k: v for k, v in job.filters.items() if k != "options"}
    ExportJob.objects.filter(pk=job.pk).update(filters=filters)
    assert run_export_job(job.pk) == ExportJob.State.READY
    files = open_archive(job.archive_path, password)
    header = files["Behandlerskjema.csv"].decode("utf-8-sig").split("\n")[0]
    assert header.count(";") > 10 and "," not in header
    form_ids = {str(pk) for pk in Response.objects.values_list("pk", flat=True)}
    assert form_ids & set(
        files["Behandlerskjema.csv"].decode("utf-8-sig").replace(";", "\n").split()
    )
    assert "enhetens faste nøkkel" in files["README.txt"].decode("utf-8")


def test_the_status_page_shows_the_rows_written_while_the_export_runs(
    queued: Any, monkeypatch: Any, as_persona: Any
) -> None:
    from nnrr.exports.writers import CsvWriter

    job, _password = queued("csv")
    monkeypatch.setattr(services, "PROGRESS_EVERY", 1)
    original = CsvWriter.write_row
    seen: list[tuple[int, int, dt.datetime | None]] = []
    pages: list[str] = []
    started = timezone.now()

    def watch(self: Any, row: dict[str, Any]) -> None:
        now = ExportJob.objects.get(pk=job.pk)
        seen.append((now.rows_done, now.rows_total, now.heartbeat_at))
        if len(seen) == 4:
            pages.append(status_text(as_persona, job))
        original(self, row)

    monkeypatch.setattr(CsvWriter, "write_row", watch)
    assert run_export_job(job.pk) == ExportJob.State.READY
    # 3 + 3 + 2 + 2 forms and 3 courses (the Forlop table).
    assert [done for done, _total, _beat in seen] == list(range(13))
    assert {total for _done, total, _beat in seen} == {13}
    assert all(beat is not None and beat >= started for _done, _total, beat in seen)
    assert [beat for *_rest, beat in seen] == sorted(beat for *_rest, beat in seen)
    assert seen[-1][2] > seen[0][2], "each row written counts as a sign of life"
    assert "3 av 13 rader" in pages[0]
    job.refresh_from_db()
    assert (job.rows_done, job.rows_total) == (13, 13)


def test_the_export_folder_is_created_with_its_parents_for_its_owner_only(
    queued: Any, settings: Any, tmp_path: Path
) -> None:
    settings.EXPORT_DIR = tmp_path / "var" / "nnrr" / "eksport"
    job, _password = queued("csv")
    assert run_export_job(job.pk) == ExportJob.State.READY
    assert Path(settings.EXPORT_DIR).stat().st_mode & 0o777 == 0o700
    assert job.archive_path.exists()


def test_every_file_a_running_export_writes_is_one_recovery_removes(
    queued: Any, monkeypatch: Any, settings: Any
) -> None:
    job, _password = queued("xlsx")
    original = XlsxWriter.write_row
    seen: set[Path] = set()

    def record(self: Any, row: dict[str, Any]) -> None:
        original(self, row)
        seen.update(p for p in Path(settings.EXPORT_DIR).rglob("*") if p.is_file())

    monkeypatch.setattr(XlsxWriter, "write_row", record)
    assert run_export_job(job.pk) == ExportJob.State.READY
    part = job.archive_path.with_suffix(".part")
    assert part in seen, "the archive is written under the name recovery removes"
    assert all(p == part or job.scratch_dir in p.parents for p in seen), seen


def test_the_readme_names_who_ordered_the_export_and_why(queued: Any) -> None:
    job, password = queued("csv")
    assert run_export_job(job.pk) == ExportJob.State.READY
    readme = open_archive(job.archive_path, password)["README.txt"].decode("utf-8")
    assert "Eksportert av: Lise Lokal, Lokal registeransvarlig ved " in readme
    assert "Formål: Test av avbrudd\n" in readme


def test_the_ready_job_and_its_audit_event_name_the_job_and_the_archives_hash_and_size(
    queued: Any,
) -> None:
    job, _password = queued("csv")
    assert run_export_job(job.pk) == ExportJob.State.READY
    job.refresh_from_db()
    import hashlib

    size = job.archive_path.stat().st_size
    assert job.size_bytes == size
    assert job.sha256 == hashlib.sha256(job.archive_path.read_bytes()).hexdigest()
    event = AuditEvent.objects.get(action="nnrr.export.completed")
    assert (event.object_type, event.object_id) == ("export", str(job.pk))
    assert event.detail["job"] == str(job.pk) and event.detail["source"] == "web"
    assert event.detail["sha256"] == job.sha256 and event.detail["size_bytes"] == size


def test_the_archives_deletion_is_queued_for_the_end_of_its_download_window(queued: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    job, _password = queued("csv")
    assert run_export_job(job.pk) == ExportJob.State.READY
    job.refresh_from_db()
    deletion = DBTaskResult.objects.get(task_path="nnrr.exports.tasks.delete_export")
    assert deletion.run_after == job.expires_at
    assert not DBTaskResult.objects.ready().filter(pk=deletion.pk).exists(), "not before its time"


def ready_job(queued: Any, expires_at: dt.datetime) -> ExportJob:
    """A ready export whose (stand-in) archive is on disk until ``expires_at``."""
    job, _password = queued("csv")
    job.archive_path.parent.mkdir(parents=True, exist_ok=True)
    job.archive_path.write_bytes(b"PK encrypted")
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportJob.State.READY,
        sealed_password=None,
        heartbeat_at=timezone.now() - dt.timedelta(days=2),
        finished_at=expires_at - dt.timedelta(hours=24),
        expires_at=expires_at,
    )
    return job


def test_the_purge_deletes_the_expired_archives_only_and_counts_them(queued: Any) -> None:
    now = timezone.now()
    expired = [ready_job(queued, now - dt.timedelta(minutes=m)) for m in (1, 60)]
    current = ready_job(queued, now + dt.timedelta(minutes=1))
    assert services.purge_expired(now=now) == 2
    for job in expired:
        job.refresh_from_db()
        assert job.state == ExportJob.State.EXPIRED and not job.archive_path.exists()
    current.refresh_from_db()
    assert current.state == ExportJob.State.READY and current.archive_path.exists()


def test_recovery_fails_the_stopped_jobs_only_and_counts_them(queued: Any, settings: Any) -> None:
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.EXPORT_STALE_SECONDS + 1)
    jobs = [queued("csv")[0] for _ in range(3)]
    for job, beat in zip(jobs, (stale, stale, now), strict=True):
        ExportJob.objects.filter(pk=job.pk).update(
            state=ExportJob.State.RUNNING, sealed_password=None, heartbeat_at=beat
        )
    # A ready export whose last sign of life is as old: its archive stays for its download.
    ready = ready_job(queued, now + dt.timedelta(hours=1))
    assert recover_interrupted(now=now) == 2
    for job in jobs[:2]:
        job.refresh_from_db()
        assert job.state == ExportJob.State.FAILED and job.finished_at == now
        assert job.error == (
            "Eksporten ble avbrutt fordi arbeidsprosessen stoppet. Start en ny eksport."
        )
    jobs[2].refresh_from_db()
    assert jobs[2].state == ExportJob.State.RUNNING, "a job still writing is left alone"
    ready.refresh_from_db()
    assert ready.state == ExportJob.State.READY and ready.archive_path.exists()


def test_the_scratch_folder_of_a_running_export_is_its_owners_only(
    queued: Any, monkeypatch: Any
) -> None:
    job, _password = queued("xlsx")
    original = XlsxWriter.write_row
    modes: set[int] = set()

    def record(self: Any, row: dict[str, Any]) -> None:
        original(self, row)
        modes.add(job.scratch_dir.stat().st_mode & 0o777)

    monkeypatch.setattr(XlsxWriter, "write_row", record)
    assert run_export_job(job.pk) == ExportJob.State.READY
    assert modes == {0o700}


def test_a_web_order_is_audited_from_the_users_address_and_a_refusal_as_from_the_web(
    queued: Any, persona: Any
) -> None:
    job, _password = queued("csv")
    assert run_export_job(job.pk) == ExportJob.State.READY
    event = AuditEvent.objects.get(action="nnrr.export.completed")
    assert event.client_address == "127.0.0.1"
    who = persona("local_admin")
    with pytest.raises(services.ExportRefused):
        request_export(
            actor=who.actor,
            profile=Profile.from_membership(who.membership),
            filters=ExportFilters(),
            options=ExportOptions(format="csv", identifiable=True),
            purpose="Kobling",
        )
    refused = AuditEvent.objects.get(action="nnrr.export.refused")
    assert refused.detail["source"] == "web" and refused.client_address == "127.0.0.1"


def test_a_job_is_refused_when_its_membership_ended_though_the_user_has_the_role_elsewhere(
    queued: Any, persona: Any
) -> None:
    from nnrr.accounts.models import Membership
    from tests.conftest import HAUKELAND

    job, _password = queued("csv")
    lead = persona("local_admin")
    Membership.objects.create(user=lead.user, unit_id=HAUKELAND, role=lead.membership.role)
    lead.membership.valid_until = timezone.localdate() - dt.timedelta(days=1)
    lead.membership.save()
    assert run_export_job(job.pk) == ExportJob.State.FAILED
    job.refresh_from_db()
    assert "gjelder ikke lenger" in job.error and not job.archive_path.exists()


# --- Refusals before a job is queued ------------------------------------------------------------


def order(persona: Any, purpose: str = "Kvalitetsarbeid", **options: Any) -> Any:
    who = persona("local_admin")
    return request_export(
        actor=who.actor,
        profile=Profile.from_membership(who.membership),
        filters=ExportFilters(),
        options=ExportOptions(**{"format": "csv", **options}),
        purpose=purpose,
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "pdf"}, "Ukjent format: pdf (bruk csv, xlsx, sav, dta eller r)."),
        (
            {"identifiable": True},
            "Du har ikke tillatelse til identifiserbar eksport. Den gis særskilt av registeret, "
            "i tillegg til eksportretten.",
        ),
    ],
)
def test_a_refused_order_gives_the_reason_in_full_and_logs_it_with_the_format(
    persona: Any, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(services.ExportRefused) as refused:
        order(persona, **options)
    assert str(refused.value) == message
    event = AuditEvent.objects.get(action="nnrr.export.refused")
    assert event.detail["reason"] == message
    assert event.detail["format"] == options.get("format", "csv")
    assert not ExportJob.objects.exists()


def test_the_purpose_may_be_2000_characters_and_no_more(persona: Any) -> None:
    job, _password = order(persona, purpose="x" * 2000)
    assert job.purpose == "x" * 2000
    with pytest.raises(services.ExportRefused, match="høyst 2000 tegn"):
        order(persona, purpose="x" * 2001)


def test_a_purpose_written_over_several_lines_is_kept_as_one_line(persona: Any) -> None:
    """The README's "Formål:" and the export log take the purpose as one line."""
    job, _password = order(persona, purpose="  Kvalitetsarbeid\r\nfor   enheten\n")
    assert job.purpose == "Kvalitetsarbeid for enheten"


def test_a_job_is_refused_when_its_membership_now_has_another_role(
    queued: Any, persona: Any
) -> None:
    """The operator changed the role in the admin site after the order (Lokal
    registeransvarlig to Datadumprapportleser, which may export too): the order's access
    no longer holds."""
    from nnrr.accounts.models import Membership, Role

    job, _password = queued("csv")
    Membership.objects.filter(pk=persona("local_admin").membership.pk).update(
        role=Role.DATADUMPRAPPORTLESER
    )
    assert run_export_job(job.pk) == ExportJob.State.FAILED
    job.refresh_from_db()
    assert "gjelder ikke lenger" in job.error and not job.archive_path.exists()


def test_the_readme_gives_the_time_the_export_was_ordered_in_norway(queued: Any) -> None:
    """Ordered at 09:15 UTC on 5 March (10:15 in Oslo) and built whenever the worker gets to it."""
    job, password = queued("csv")
    ExportJob.objects.filter(pk=job.pk).update(
        created_at=dt.datetime(2026, 3, 5, 9, 15, tzinfo=dt.UTC)
    )
    assert run_export_job(job.pk) == ExportJob.State.READY
    readme = open_archive(job.archive_path, password)["README.txt"].decode("utf-8")
    assert "Tidspunkt: 05.03.2026 10:15\n" in readme
