"""``nnrr export``: the secretariat's scripted deliveries, through the same service as the web.

Progress goes to standard error; the archive's password is printed alone on the last line of
standard output (and nowhere else). A refusal exits non-zero with one line and writes no file.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from nnrr.accounts.models import Role
from nnrr.exports.models import ExportFormat
from nnrr.exports.query import ExportFilters, ExportRefused
from nnrr.exports.services import (
    ExportOptions,
    export_to_file,
    profile_for_command,
    purge_expired,
    recover_interrupted,
)
from nnrr.lib.national_id import NationalIdError, parse_national_id
from nnrr.questionnaires.models import FormStatus

STATUS_NAMES = {
    "ferdigstilt": FormStatus.FERDIGSTILT,
    "kladd": FormStatus.KLADD,
    "returnert": FormStatus.RETURNERT,
}
ROLE_NAMES = {role.value: role for role in Role} | {str(role.label).lower(): role for role in Role}


def _date(raw: str | None, flag: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"{flag} må være en dato på formen ÅÅÅÅ-MM-DD, ikke «{raw}».") from None


class Command(BaseCommand):
    help = (
        "Eksporter skjema til et kryptert zip-arkiv (samme rettigheter og logg som nettsidene). "
        "Passordet skrives alene på siste linje av standard ut."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="fødselsnummeret brukeren logger inn med")
        parser.add_argument("--unit", type=int, help="enhetens reshID (profilens enhet)")
        parser.add_argument(
            "--role",
            help="profilens rolle: lokal_registeransvarlig, datadumprapportleser eller "
            "registeradministrator",
        )
        parser.add_argument("--forms", default="1b,1a,2,3", help="skjematyper, f.eks. 1a,1b,2,3")
        parser.add_argument(
            "--status", default="ferdigstilt", help="ferdigstilt, kladd, returnert (kommaliste)"
        )
        parser.add_argument("--from", dest="date_from", help="fra og med dato (ÅÅÅÅ-MM-DD)")
        parser.add_argument("--to", dest="date_to", help="til og med dato (ÅÅÅÅ-MM-DD)")
        parser.add_argument(
            "--period-by",
            choices=["visit", "form"],
            default="visit",
            help="perioden gjelder besøksdato (visit) eller skjemadato (form)",
        )
        parser.add_argument("--format", choices=ExportFormat.values, default="csv")
        parser.add_argument("--delimiter", choices=[";", ","], default=";")
        parser.add_argument("--identifiable", action="store_true")
        parser.add_argument(
            "--per-export-key",
            action="store_true",
            help="PasientGUID med en nøkkel bare for denne eksporten",
        )
        parser.add_argument(
            "--all-units", action="store_true", help="alle enheter (nasjonal rolle)"
        )
        parser.add_argument(
            "--units", default="", help="bestemte enheter (reshID, kommaliste; nasjonal rolle)"
        )
        parser.add_argument("--own-only", action="store_true", help="bare egne skjema")
        parser.add_argument("--purpose", default="", help="formålet med eksporten (påkrevd)")
        parser.add_argument("--out", help="arkivfilen som skal lages (.zip)")
        parser.add_argument(
            "--purge",
            action="store_true",
            help="bare slett utløpte nettnedlastinger og avbrutte eksporter, og avslutt",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["purge"]:
            failed = recover_interrupted()
            purged = purge_expired()
            self.stderr.write(
                f"{purged} utløpte arkiv slettet, {failed} avbrutte eksporter ryddet."
            )
            return
        for flag in ("user", "unit", "role", "out"):
            if not options[flag]:
                raise CommandError(f"--{flag} mangler.")
        try:
            national_id = parse_national_id(options["user"]).value
        except NationalIdError as exc:
            raise CommandError(f"--user: {exc.messages[0]}") from None
        role = ROLE_NAMES.get(options["role"].strip().lower())
        if role is None:
            raise CommandError(f"Ukjent rolle «{options['role']}».")
        statuses = []
        for name in options["status"].split(","):
            status = STATUS_NAMES.get(name.strip().lower())
            if status is None:
                raise CommandError(f"Ukjent status «{name}» (bruk ferdigstilt, kladd, returnert).")
            statuses.append(int(status))
        units: tuple[int, ...] = ()
        if options["units"]:
            try:
                units = tuple(int(u) for u in options["units"].split(",") if u.strip())
            except ValueError:
                raise CommandError("--units må være reshID-er skilt med komma.") from None
        out = Path(options["out"])
        if out.exists():
            raise CommandError(f"{out} finnes allerede; velg et annet filnavn.")
        if not out.parent.is_dir():
            raise CommandError(f"Mappen {out.parent} finnes ikke.")
        filters = ExportFilters(
            forms=tuple(f.strip() for f in options["forms"].split(",") if f.strip()),
            statuses=tuple(statuses),
            period_by=options["period_by"],
            date_from=_date(options["date_from"], "--from"),
            date_to=_date(options["date_to"], "--to"),
            own_only=options["own_only"],
            units=units,
        )
        export_options = ExportOptions(
            format=options["format"],
            identifiable=options["identifiable"],
            per_export_key=options["per_export_key"],
            delimiter=options["delimiter"],
        )
        try:
            profile, actor = profile_for_command(
                national_id=national_id, unit_id=options["unit"], role=role
            )
            if options["all_units"] and role != Role.REGISTERADMINISTRATOR:
                raise ExportRefused("--all-units krever rollen Registeradministrator.")
            if not options["all_units"] and not units and role == Role.REGISTERADMINISTRATOR:
                filters = ExportFilters(**{**filters.__dict__, "units": (profile.unit.pk,)})

            def progress(done: int, total: int) -> None:
                sys.stderr.write(f"\r{done}/{total} rader")
                sys.stderr.flush()

            password, result = export_to_file(
                actor=actor,
                profile=profile,
                filters=filters,
                options=export_options,
                purpose=options["purpose"],
                out=out,
                progress=progress,
            )
        except ExportRefused as refusal:
            raise CommandError(str(refusal)) from None
        sys.stderr.write("\n")
        for table, count in result.row_counts.items():
            self.stderr.write(f"{table}: {count} rader")
        self.stderr.write(f"Skrev {out} ({result.size_bytes} byte, SHA-256 {result.sha256}).")
        self.stderr.write("Passordet står på siste linje; det lagres ikke noe sted.")
        self.stdout.write(password)
