"""``nnrr fhir questionnaires --out DIR`` and ``nnrr fhir import FILE``.

``questionnaires`` writes one R4 Questionnaire per form definition and version
(``nnrr-1a-1.0.json`` …), with the wording in force, for publishing to Helsenorge's form
catalogue. ``import`` stores a completed QuestionnaireResponse (a JSON file) for its open order,
exactly as ``POST /fhir/QuestionnaireResponse`` does; a refused file prints the OperationOutcome
and exits with status 1, and nothing is stored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from nnrr.api import services
from nnrr.api.outcome import FhirError, operation_outcome
from nnrr.api.questionnaire import all_questionnaires
from nnrr.audit.context import Actor
from nnrr.lib.scopes import unscoped


class Command(BaseCommand):
    help = "FHIR: write the Questionnaires of the forms, or import a QuestionnaireResponse."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        questionnaires = sub.add_parser(
            "questionnaires", help="Write one R4 Questionnaire per form and version"
        )
        questionnaires.add_argument("--out", required=True, help="folder to write the files to")
        importer = sub.add_parser("import", help="Store a completed QuestionnaireResponse")
        importer.add_argument("file", help="the QuestionnaireResponse as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "questionnaires":
            self._questionnaires(Path(options["out"]))
        else:
            self._import(Path(options["file"]))

    def _questionnaires(self, out: Path) -> None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"Kan ikke lage mappen {out}: {exc.strerror}") from exc
        for questionnaire in all_questionnaires():
            path = out / f"{questionnaire['id']}.json"
            path.write_text(
                json.dumps(questionnaire, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
            self.stdout.write(str(path))

    @unscoped("nnrr fhir import: a response file for its open order, at whichever unit")
    def _import(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"Kan ikke lese {path}: {exc.strerror}") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path} er ikke gyldig JSON: {exc}") from exc
        actor = Actor.system("fhir-import")
        try:
            stored = services.import_response(actor=actor, data=data, now=timezone.now())
        except FhirError as exc:
            services.record_refusal(actor=actor, data=data, error=exc)
            self.stderr.write(
                json.dumps(operation_outcome(exc.issues), ensure_ascii=False, indent=2)
            )
            raise CommandError(
                "Svaret ble ikke lagret / the response was not stored: " + exc.issues[0].en
            ) from exc
        self.stdout.write(f"Lagret skjema {stored.pk} ({stored.get_kind_display()})")
