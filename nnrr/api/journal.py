"""The journal note of a completed patient form as a FHIR ``DocumentReference`` (text/plain
inline, and the same text as a PDF behind a ``Binary``), so the record system can file it.

The text is the one the "Journalnotat" page shows (nnrr.questionnaires.summary.journal_note),
in bokmål; the PDF is that text on an A4 page with the patient's name and national id.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone, translation

from nnrr.api.questionnaire import PUBLISHER
from nnrr.api.resources import national_id_system
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import Response
from nnrr.questionnaires.summary import build_summary, journal_note

BINARY_PREFIX = "journalnotat-"
# LOINC 74465-6: "Questionnaire response Document".
DOCUMENT_TYPE = {"system": "http://loinc.org", "code": "74465-6"}


def note_text(response: Response) -> str:
    definition = get_definition(response.kind, response.definition_version)
    with translation.override("nb"):
        return journal_note(response, definition, build_summary(response, definition))


def note_pdf(response: Response) -> bytes:
    from weasyprint import HTML  # imported here: only the PDF pays for loading it

    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    definition = get_definition(response.kind, response.definition_version)
    html = render_to_string(
        "api/journal_note_pdf.html",
        {
            "title": f"Journalnotat: {definition.title.nb}",
            "patient": response.course.patient,
            "note": note_text(response),
        },
    )
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    return pdf


def document_reference(response: Response, base: str) -> dict[str, Any]:
    """``response.course.patient`` selected; a completed pre-treatment or follow-up form."""
    patient = response.course.patient
    definition = get_definition(response.kind, response.definition_version)
    title = f"Journalnotat: {definition.title.nb}"
    text = note_text(response).encode("utf-8")
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": str(response.pk),
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [{**DOCUMENT_TYPE, "display": "Questionnaire response Document"}]},
        "subject": {
            "reference": f"Patient/{patient.pk}",
            "identifier": {"system": national_id_system(patient), "value": patient.national_id},
        },
        "author": [{"display": PUBLISHER}],
        "description": title,
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "language": "nb-NO",
                    "data": base64.b64encode(text).decode("ascii"),
                    "title": title,
                }
            },
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "language": "nb-NO",
                    "url": f"{base}/Binary/{BINARY_PREFIX}{response.pk}",
                    "title": f"{title} (PDF)",
                }
            },
        ],
        "context": {"related": [{"reference": f"QuestionnaireResponse/{response.pk}"}]},
    }
    if response.completed_at:
        resource["date"] = timezone.localtime(response.completed_at).isoformat()
    return resource
