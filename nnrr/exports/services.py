"""Exports: authorise, build the encrypted archive, log it. The web page and ``nnrr export`` both
come through here, so rights, refusals and the audit trail are the same for both.

- :func:`authorise` checks the right, the identifiable-export permission, the purpose and the
  filters, and logs a refusal.
- :func:`request_export` (web) creates a job and queues it on the worker; the password is made
  here, shown once by the page, and handed to the worker sealed (see models.py).
- :func:`run_export_job` (worker) claims the job, builds the archive, and writes the one audit
  event of the export with the archive's SHA-256.
- :func:`export_to_file` (command line) builds the archive directly into a file.
- :func:`purge_expired` deletes archives after their 24 hours; :func:`recover_interrupted`
  fails jobs whose worker stopped and removes what they left behind.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import os
import secrets
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyzipper
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from nnrr.accounts.models import Membership
from nnrr.accounts.profiles import Profile, Right, active_memberships
from nnrr.audit.context import Actor
from nnrr.audit.models import Outcome
from nnrr.audit.services import record_event
from nnrr.exports.columns import (
    CODEBOOK_COLUMNS,
    CODEBOOK_LONG_COLUMNS,
    CODEBOOK_LONG_TABLE,
    CODEBOOK_TABLE,
    FORM_ORDER,
    Table,
    codebook_long_rows,
    codebook_rows,
    course_table,
    form_table,
    table_label,
)
from nnrr.exports.models import ExportFormat, ExportJob
from nnrr.exports.pseudonym import (
    Pseudonymiser,
    installation_key,
    new_export_key,
    new_password,
)
from nnrr.exports.query import (
    ExportFilters,
    ExportRefused,
    RowBuilder,
    count_forms,
    course_rows,
    export_units,
    form_rows,
)
from nnrr.exports.writers import CsvWriter, StatWriter, XlsxWriter, codebook_csv, r_script
from nnrr.lib.dates import OSLO
from nnrr.questionnaires.models import FormKind

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 1000
PURPOSE_MAX = 2000
ARCHIVE_BASENAME = "nnrr-eksport"


@dataclass(frozen=True)
class ExportOptions:
    format: str
    identifiable: bool = False
    per_export_key: bool = False
    delimiter: str = ";"

    def to_json(self) -> dict[str, Any]:
        return {
            "per_export_key": self.per_export_key,
            "delimiter": self.delimiter,
        }


class DuplicateRequest(Exception):
    """The delivery form was sent again (a reload); the export was already ordered."""

    def __init__(self, job: ExportJob) -> None:
        super().__init__(str(job.pk))
        self.job = job


@dataclass(frozen=True)
class ExportResult:
    row_counts: dict[str, int]
    sha256: str
    size_bytes: int


# --- Rights ------------------------------------------------------------------------------------


def authorise(
    *,
    actor: Actor,
    profile: Profile,
    filters: ExportFilters,
    options: ExportOptions,
    purpose: str,
    source: str,
) -> str:
    """The cleaned purpose, or :class:`ExportRefused` (logged as a denied export)."""
    try:
        if not profile.has(Right.EXPORT):
            raise ExportRefused(_("Din rolle gir ikke rett til å eksportere data."))
        if options.identifiable and not profile.can_export_identifiable:
            raise ExportRefused(
                _(
                    "Du har ikke tillatelse til identifiserbar eksport. Den gis særskilt av "
                    "registeret, i tillegg til eksportretten."
                )
            )
        if options.format not in ExportFormat.values:
            raise ExportRefused(
                _("Ukjent format: %(format)s (bruk csv, xlsx, sav, dta eller r).")
                % {"format": options.format}
            )
        if options.delimiter not in (";", ","):
            raise ExportRefused(_("Skilletegnet i CSV må være ; eller ,."))
        purpose = " ".join((purpose or "").split())
        if not purpose:
            raise ExportRefused(_("Oppgi formålet med eksporten."))
        if len(purpose) > PURPOSE_MAX:
            raise ExportRefused(_("Formålet kan være høyst %(n)s tegn.") % {"n": PURPOSE_MAX})
        filters.check()
        export_units(profile, filters)
    except ExportRefused as refusal:
        record_event(
            actor=actor,
            action="nnrr.export.refused",
            outcome=Outcome.DENIED,
            detail={
                "reason": str(refusal),
                "identifiable": options.identifiable,
                "format": options.format,
                "source": source,
            },
        )
        raise
    return purpose


def profile_of_job(job: ExportJob) -> Profile:
    """The job's profile as it is now: a membership ended or changed since refuses the export."""
    membership = (
        active_memberships()
        .select_related("user", "unit")
        .filter(pk=job.membership_id, user_id=job.user_id)
        .first()
    )
    if membership is None or membership.role != job.role:
        raise ExportRefused(_("Tilgangen eksporten ble bestilt med, gjelder ikke lenger."))
    return Profile.from_membership(membership)


def actor_of_job(job: ExportJob) -> Actor:
    return Actor(
        user=job.user,
        name=str(job.user),
        role=job.role,
        unit_id=job.unit_id,
        client_address=job.client_address,
    )


# --- The password hand-off ----------------------------------------------------------------------


def _seal_key() -> bytes:
    return hashlib.sha256(b"nnrr.exports.seal:" + str(settings.SECRET_KEY).encode()).digest()


def seal(password: str, job_id: uuid.UUID) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(_seal_key()).encrypt(nonce, password.encode(), job_id.bytes)


def unseal(sealed: bytes, job_id: uuid.UUID) -> str:
    sealed = bytes(sealed)
    return AESGCM(_seal_key()).decrypt(sealed[:12], sealed[12:], job_id.bytes).decode()


# --- Web: queue a job --------------------------------------------------------------------------


def request_export(
    *,
    actor: Actor,
    profile: Profile,
    filters: ExportFilters,
    options: ExportOptions,
    purpose: str,
    request_token: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[ExportJob, str]:
    """Queue an export on the worker; returns the job and the password to show once.

    A ``request_token`` already used raises :class:`DuplicateRequest` with the earlier job.
    """
    if request_token:
        earlier = ExportJob.objects.filter(request_token=request_token).first()
        if earlier is not None:
            raise DuplicateRequest(earlier)
    purpose = authorise(
        actor=actor,
        profile=profile,
        filters=filters,
        options=options,
        purpose=purpose,
        source="web",
    )
    from nnrr.exports.tasks import run_export

    password = new_password()
    with transaction.atomic():
        job = ExportJob(
            created_at=now or timezone.now(),
            user=profile.user,
            membership_id=profile.membership_id,
            role=profile.role,
            unit=profile.unit,
            client_address=actor.client_address,
            purpose=purpose,
            filters={**filters.to_json(), "options": options.to_json()},
            format=options.format,
            identifiable=options.identifiable,
            request_token=request_token or None,
        )
        job.sealed_password = seal(password, job.id)
        job.save()
        run_export.enqueue(str(job.pk))
    return job, password


# --- Building the archive ----------------------------------------------------------------------


def _tables(filters: ExportFilters, identifiable: bool) -> list[Table]:
    tables = [form_table(k, identifiable=identifiable) for k in FORM_ORDER if k in filters.forms]
    if filters.course_table and FormKind.CLINICIAN in filters.forms:
        tables.append(course_table(identifiable=identifiable))
    return tables


def _rows(
    profile: Profile, filters: ExportFilters, table: Table, builder: RowBuilder
) -> Iterator[dict[str, Any]]:
    if table.kind == "course":
        return course_rows(profile, filters, builder)
    return form_rows(profile, filters, table.kind, builder)


def total_rows(profile: Profile, filters: ExportFilters) -> int:
    counts = count_forms(profile, filters)
    total = sum(counts.values())
    if filters.course_table and FormKind.CLINICIAN in filters.forms:
        total += counts.get(FormKind.CLINICIAN, 0)
    return total


def _table_and_file(name: str) -> str:
    """ "Pasientskjema før behandling (Pasientskjema_foer_behandling)": the table in words and
    the name of its file, once when they are the same."""
    label = table_label(name)
    return name if label == name else f"{label} ({name})"


def _pseudonym_text(profile: Profile, options: ExportOptions) -> str:
    if options.per_export_key:
        return "nøkkel bare for denne eksporten (kan ikke kobles mot andre eksporter)"
    if profile.is_national:
        return (
            "registerets nasjonale nøkkel: samme person har samme PasientGUID ved alle enheter "
            "og i alle nasjonale eksporter, så en persons forløp ved ulike enheter kan kobles. "
            "Verdiene er andre enn i enhetenes egne eksporter."
        )
    return (
        f"enhetens faste nøkkel ({profile.unit.short_name}): samme pasient har samme "
        "PasientGUID i alle eksporter fra enheten, men en annen ved andre enheter "
        "(enhetenes eksporter kan ikke kobles med hverandre)"
    )


def _readme(
    *,
    who: str,
    profile: Profile,
    filters: ExportFilters,
    options: ExportOptions,
    purpose: str,
    row_counts: dict[str, int],
    when: dt.datetime,
    stata_renamed: dict[str, dict[str, str]],
) -> str:
    fmt = options.format
    lines = [
        "Norsk nakke- og ryggregister (NNRR) – dataeksport",
        "=" * 50,
        "",
        f"Eksportert av: {who}, {profile.label}",
        f"Tidspunkt: {when.astimezone(OSLO):%d.%m.%Y %H:%M}",
        f"Formål: {purpose}",
        "Identifiserbar: "
        + ("ja (fødselsnummer og navn er med)" if options.identifiable else "nei"),
        "PasientGUID: " + _pseudonym_text(profile, options),
        "",
        "Utvalg:",
        *[f"  {line}" for line in filters.describe()],
        "  Bare aktive forløp der pasienten har samtykket (ferdigstilt Pasientskjema før "
        "behandling med samtykke).",
        "",
        "Antall rader:",
        *[f"  {_table_and_file(name)}: {count}" for name, count in row_counts.items()],
        "",
        "Tabeller: én per skjematype (Behandlerskjema, Pasientskjema_foer_behandling,",
        "Pasientskjema_6_maaneder, Pasientskjema_12_maaneder), koblet på HovedskjemaGUID",
        "(= SkjemaGUID til forløpets Behandlerskjema). Forlop har én rad per forløp: ",
        "Behandlerskjemaets kolonner uten endelse, og pasientskjemaenes med _pre (før",
        "behandling), _post (6 måneder) og _post2 (12 måneder). Kodebok beskriver hver variabel,",
        "Kodebok_lang gir én rad per variabel og kode med registerets felttyper. Kolonner",
        "registerets kode leser men som skjemaene våre ikke spør om, er med og tomme",
        '("ikke i dette skjemaet" i kodeboken). Et spørsmål som ble vist og ikke besvart i et',
        'ferdigstilt skjema har registerets kode for "Ikke svart"/"Ikke utfylt"; et spørsmål som',
        "ikke ble vist, er tomt.",
        "Manglende svar er tomme celler (CSV/Excel), NA (R) og system-missing (SPSS/Stata).",
        "",
        "Slik åpner du filene:",
    ]
    if fmt == ExportFormat.CSV:
        sep = "semikolon, desimalkomma" if options.delimiter == ";" else "komma, desimalpunktum"
        lines += [
            f"  CSV-filene er UTF-8 ({sep}). Dobbeltklikk i Excel, eller bruk Data > Fra tekst.",
            "  Tekst som begynner med = + - @ har fått en apostrof foran, så den ikke blir en "
            "formel.",
        ]
    elif fmt == ExportFormat.XLSX:
        lines += ["  Åpne .xlsx-filen i Excel; ett ark per tabell, og kodeboken i arket Kodebok."]
    elif fmt == ExportFormat.SAV:
        lines += [
            "  Åpne .sav-filene i SPSS (File > Open > Data); variabel- og verdietiketter er med."
        ]
    elif fmt == ExportFormat.DTA:
        lines += ['  Åpne .dta-filene i Stata (use "Behandlerskjema.dta"); etiketter er med.']
        renamed = [(t, o, n) for t, names in stata_renamed.items() for o, n in names.items()]
        if renamed:
            lines += ["  Stata tillater høyst 32 tegn i variabelnavn; disse er forkortet:"]
            lines += [f"    {t}: {o} -> {n}" for t, o, n in renamed]
    else:
        lines += [
            "  Pakk ut alle filene i én mappe, sett den som arbeidsmappe i R og kjør",
            '  source("les_data.R"): hver tabell blir en data.frame med datoer og faktorer.',
            "  nnrr_tabeller(faktorer = FALSE) gir tabellene med registerdatabasens navn",
            "  (behandlerskjema_1, pasientskjema_foer_behandling_2, ..., forlop, kodebok) og",
            "  typer (heltallskoder, datoer, tall, 0/1); nnrr_loadRegData() svarer på registerets",
            "  egne spørringer, så registerets R-pakke kan kjøres på eksporten.",
        ]
    return "\n".join(lines) + "\n"


def build_archive(
    *,
    target: Path,
    password: str,
    profile: Profile,
    who: str,
    filters: ExportFilters,
    options: ExportOptions,
    purpose: str,
    scratch: Path,
    when: dt.datetime,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write the encrypted archive to ``target``; returns row counts and the archive's hash.

    ``scratch`` is a private folder for the files Excel, SPSS and Stata writers need; the caller
    removes it in a ``finally``.
    """
    scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(scratch, 0o700)
    key = new_export_key() if options.per_export_key else installation_key()
    builder = RowBuilder(
        # A unit's export: pseudonyms of the unit's records (decision 0013); a national export
        # by the Registeradministrator may link a person's courses across units.
        Pseudonymiser(
            key,
            hide_form_ids=options.per_export_key,
            unit_scoped=not profile.is_national,
        ),
        identifiable=options.identifiable,
    )
    tables = _tables(filters, options.identifiable)
    row_counts: dict[str, int] = {}
    done = 0
    with pyzipper.AESZipFile(
        target, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(password.encode())
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        fmt = options.format
        writer: Any
        if fmt in (ExportFormat.CSV, ExportFormat.R):
            writer = CsvWriter(
                archive, delimiter="," if fmt == ExportFormat.R else options.delimiter
            )
        elif fmt == ExportFormat.XLSX:
            writer = XlsxWriter(archive, scratch, ARCHIVE_BASENAME)
        else:
            writer = StatWriter(archive, scratch, fmt)
        for table in tables:
            writer.start_table(table)
            try:
                for row in _rows(profile, filters, table, builder):
                    writer.write_row(row)
                    done += 1
                    if progress and done % PROGRESS_EVERY == 0:
                        progress(done)
            except BaseException:
                writer.abort()
                raise
            row_counts[table.name] = writer.end_table()
        codebook = codebook_rows(tables)
        header = list(CODEBOOK_COLUMNS)
        if fmt == ExportFormat.DTA:
            header.append("stata_navn")
            for entry in codebook:
                entry.append(writer.renamed.get(entry[0], {}).get(entry[1], entry[1]))
        codebook_long = codebook_long_rows(tables)
        if fmt == ExportFormat.XLSX:
            writer.add_sheet(CODEBOOK_TABLE, header, codebook)
            writer.add_sheet(CODEBOOK_LONG_TABLE, list(CODEBOOK_LONG_COLUMNS), codebook_long)
        writer.finish()
        delimiter = options.delimiter if fmt == ExportFormat.CSV else ","
        if fmt in (ExportFormat.CSV, ExportFormat.R, ExportFormat.SAV, ExportFormat.DTA):
            archive.writestr(f"{CODEBOOK_TABLE}.csv", codebook_csv(header, codebook, delimiter))
            archive.writestr(
                f"{CODEBOOK_LONG_TABLE}.csv",
                codebook_csv(list(CODEBOOK_LONG_COLUMNS), codebook_long, delimiter),
            )
        if fmt == ExportFormat.R:
            archive.writestr("les_data.R", r_script(tables).encode("utf-8"))
        readme = _readme(
            who=who,
            profile=profile,
            filters=filters,
            options=options,
            purpose=purpose,
            row_counts=row_counts,
            when=when,
            stata_renamed=getattr(writer, "renamed", {}),
        )
        archive.writestr("README.txt", readme.encode("utf-8"))
    if progress:
        progress(done)
    digest = hashlib.sha256()
    with target.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return ExportResult(row_counts, digest.hexdigest(), target.stat().st_size)


def _audit_detail(
    *,
    job_id: str,
    profile: Profile,
    filters: ExportFilters,
    options: ExportOptions,
    purpose: str,
    source: str,
    result: ExportResult | None = None,
    error: str = "",
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "job": job_id,
        "membership": profile.membership_id,
        "purpose": purpose,
        "filters": filters.to_json(),
        "identifiable": options.identifiable,
        "per_export_key": options.per_export_key,
        "format": options.format,
        "source": source,
    }
    if result is not None:
        detail.update(
            row_counts=result.row_counts, sha256=result.sha256, size_bytes=result.size_bytes
        )
    if error:
        detail["error"] = error
    return detail


# --- Worker ------------------------------------------------------------------------------------


def _claim(job_id: uuid.UUID, now: dt.datetime) -> tuple[ExportJob, str] | None:
    with transaction.atomic():
        job = (
            ExportJob.objects.select_for_update()
            .select_related("user", "unit")
            .filter(pk=job_id)
            .first()
        )
        if job is None or job.state != ExportJob.State.QUEUED:
            return None
        sealed = job.sealed_password
        job.sealed_password = None
        job.state = ExportJob.State.RUNNING
        job.heartbeat_at = now
        if not sealed:
            job.state = ExportJob.State.FAILED
            job.error = _("Eksporten mangler passord; start en ny eksport.")
            job.finished_at = now
            job.save()
            return None
        try:
            password = unseal(sealed, job.pk)
        except Exception:  # a changed installation secret; nothing to recover
            job.state = ExportJob.State.FAILED
            job.error = _("Eksporten kunne ikke startes; start en ny eksport.")
            job.finished_at = now
            job.save()
            return None
        job.save()
    return job, password


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _caused_by_full_disk(exc: BaseException) -> bool:
    """Whether the disk ran full on the way to ``exc`` (closing the archive after a failed
    write raises its own error, with the full disk as its context)."""
    seen: BaseException | None = exc
    for _step in range(10):
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def run_export_job(job_id: str | uuid.UUID, *, now: dt.datetime | None = None) -> str:
    """Build a queued web export (the worker's task); returns the job's final state."""
    now = now or timezone.now()
    recover_interrupted(now=now)
    purge_expired(now=now)
    claimed = _claim(uuid.UUID(str(job_id)), now)
    if claimed is None:
        return "skipped"
    job, password = claimed
    raw_options = job.filters.get("options", {})
    options = ExportOptions(
        format=job.format,
        identifiable=job.identifiable,
        per_export_key=bool(raw_options.get("per_export_key")),
        delimiter=raw_options.get("delimiter", ";"),
    )
    filters = ExportFilters.from_json({k: v for k, v in job.filters.items() if k != "options"})
    part = job.archive_path.with_suffix(".part")
    actor = actor_of_job(job)
    profile: Profile | None = None
    try:
        Path(settings.EXPORT_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
        profile = profile_of_job(job)
        if options.identifiable and not profile.can_export_identifiable:
            raise ExportRefused(_("Tillatelsen til identifiserbar eksport er trukket tilbake."))
        export_units(profile, filters)
        total = total_rows(profile, filters)
        ExportJob.objects.filter(pk=job.pk).update(rows_total=total, heartbeat_at=timezone.now())

        def progress(done: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(rows_done=done, heartbeat_at=timezone.now())

        result = build_archive(
            target=part,
            password=password,
            profile=profile,
            who=str(job.user),
            filters=filters,
            options=options,
            purpose=job.purpose,
            scratch=job.scratch_dir,
            when=job.created_at,
            progress=progress,
        )
        part.replace(job.archive_path)
        finished = timezone.now()
        with transaction.atomic():
            ExportJob.objects.filter(pk=job.pk).update(
                state=ExportJob.State.READY,
                finished_at=finished,
                expires_at=finished + dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS),
                row_counts=result.row_counts,
                rows_done=sum(result.row_counts.values()),
                rows_total=sum(result.row_counts.values()),
                sha256=result.sha256,
                size_bytes=result.size_bytes,
            )
            record_event(
                actor=actor,
                action="nnrr.export.completed",
                object_type="export",
                object_id=str(job.pk),
                detail=_audit_detail(
                    job_id=str(job.pk),
                    profile=profile,
                    filters=filters,
                    options=options,
                    purpose=job.purpose,
                    source="web",
                    result=result,
                ),
            )
        _schedule_deletion(job.pk, finished + dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS))
        return ExportJob.State.READY
    except Exception as exc:
        disk_full = _caused_by_full_disk(exc)
        if isinstance(exc, ExportRefused):
            reason = str(exc)
        elif disk_full:
            reason = _(
                "Det var ikke nok ledig diskplass til eksporten. Den er avbrutt, og ingenting av "
                "den er lagret. Prøv igjen senere, eller kontakt registeret."
            )
        else:
            reason = _(
                "Eksporten feilet på grunn av en intern feil. Prøv igjen, eller kontakt registeret."
            )
        if disk_full:
            logger.error("export %s failed: the disk of EXPORT_DIR is full", job.pk)
        elif not isinstance(exc, ExportRefused):
            logger.exception("export %s failed", job.pk)
        _remove(part)
        _remove(job.archive_path)
        with transaction.atomic():
            ExportJob.objects.filter(pk=job.pk).update(
                state=ExportJob.State.FAILED, error=reason[:500], finished_at=timezone.now()
            )
            record_event(
                actor=actor,
                action="nnrr.export.failed",
                object_type="export",
                object_id=str(job.pk),
                outcome=Outcome.FAILED,
                detail={
                    "job": str(job.pk),
                    "membership": job.membership_id,
                    "purpose": job.purpose,
                    "filters": filters.to_json(),
                    "identifiable": options.identifiable,
                    "format": options.format,
                    "source": "web",
                    "error": reason,
                },
            )
        return ExportJob.State.FAILED
    finally:
        _remove(job.scratch_dir)
        _remove(part)


def _schedule_deletion(job_id: uuid.UUID, at: dt.datetime) -> None:
    from nnrr.exports.tasks import delete_export

    try:
        delete_export.using(run_after=at).enqueue(str(job_id))
    except Exception:  # a backend without deferred tasks: the next export or purge sweeps it
        logger.info("deferred deletion not supported; export %s is purged by the sweep", job_id)


def purge_expired(*, now: dt.datetime | None = None) -> int:
    """Delete archives past their download window; returns how many."""
    now = now or timezone.now()
    count = 0
    for job in ExportJob.objects.filter(state=ExportJob.State.READY, expires_at__lte=now):
        _remove(job.archive_path)
        ExportJob.objects.filter(pk=job.pk, state=ExportJob.State.READY).update(
            state=ExportJob.State.EXPIRED
        )
        count += 1
    return count


def recover_interrupted(*, now: dt.datetime | None = None) -> int:
    """Fail jobs whose worker stopped mid-way (no progress for a while) and remove their files.

    The password went with the stopped worker, so such a job cannot be finished; the user is
    told to start a new export. Plaintext never outlives this: the only unencrypted files are in
    the job's scratch folder, removed here.
    """
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.EXPORT_STALE_SECONDS)
    count = 0
    for job in ExportJob.objects.filter(state=ExportJob.State.RUNNING, heartbeat_at__lt=stale):
        _remove(job.scratch_dir)
        _remove(job.archive_path.with_suffix(".part"))
        _remove(job.archive_path)
        updated = ExportJob.objects.filter(pk=job.pk, state=ExportJob.State.RUNNING).update(
            state=ExportJob.State.FAILED,
            error=_("Eksporten ble avbrutt fordi arbeidsprosessen stoppet. Start en ny eksport."),
            finished_at=now,
        )
        count += updated
    return count


# --- Command line ------------------------------------------------------------------------------


def export_to_file(
    *,
    actor: Actor,
    profile: Profile,
    filters: ExportFilters,
    options: ExportOptions,
    purpose: str,
    out: Path,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[str, ExportResult]:
    """Build the archive straight into ``out`` (``nnrr export``); returns (password, result).

    Refusals raise before anything is written; a failure removes the partial file.
    """
    purpose = authorise(
        actor=actor,
        profile=profile,
        filters=filters,
        options=options,
        purpose=purpose,
        source="command",
    )
    password = new_password()
    job_id = uuid.uuid4()
    total = total_rows(profile, filters)
    part = out.with_name(f".{out.name}.{job_id.hex[:8]}.part")
    scratch = Path(settings.EXPORT_DIR) / "tmp" / str(job_id)
    now = timezone.now()
    try:
        # Encrypted, yet only for its owner: the archive is created readable by nobody else
        # (whatever the umask) before anything is written into it.
        part.touch(mode=0o600, exist_ok=False)
        result = build_archive(
            target=part,
            password=password,
            profile=profile,
            who=actor.name,
            filters=filters,
            options=options,
            purpose=purpose,
            scratch=scratch,
            when=now,
            progress=(lambda done: progress(done, total)) if progress else None,
        )
        with transaction.atomic():
            record_event(
                actor=actor,
                action="nnrr.export.completed",
                object_type="export",
                object_id=str(job_id),
                detail=_audit_detail(
                    job_id=str(job_id),
                    profile=profile,
                    filters=filters,
                    options=options,
                    purpose=purpose,
                    source="command",
                    result=result,
                ),
            )
            part.replace(out)
    except BaseException:
        _remove(part)
        raise
    finally:
        _remove(scratch)
    return password, result


def profile_for_command(*, national_id: str, unit_id: int, role: str) -> tuple[Profile, Actor]:
    """The profile ``nnrr export --user --unit --role`` acts as; refuses unknown combinations."""
    from nnrr.accounts.models import Identity

    identity = Identity.objects.select_related("user").filter(subject=national_id).first()
    if identity is None:
        raise ExportRefused(_("Ingen bruker med dette fødselsnummeret."))
    membership: Membership | None = (
        active_memberships()
        .select_related("user", "unit")
        .filter(user=identity.user, unit_id=unit_id, role=role)
        .first()
    )
    if membership is None:
        raise ExportRefused(
            _("Brukeren har ikke rollen %(role)s ved enhet %(unit)s.")
            % {"role": role, "unit": unit_id}
        )
    profile = Profile.from_membership(membership)
    actor = Actor(
        user=membership.user,
        name=str(membership.user),
        role=membership.role,
        unit_id=membership.unit_id,
        client_address=None,
    )
    return profile, actor
