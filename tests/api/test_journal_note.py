"""The journal note of a completed patient form as a FHIR DocumentReference, text and PDF
(nnrr/api/journal.py), for the record system to file."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.test import Client
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from pypdf import PdfReader

from nnrr.audit.models import AuditEvent
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, Response
from nnrr.questionnaires.summary import build_summary, journal_note
from tests.api.conftest import HAUKELAND_CLIENT, Records


def attachments(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["attachment"]["contentType"]: c["attachment"] for c in resource["content"]}


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_a_completed_form_offers_its_journal_note_as_text_and_pdf(
    records: Records, api: Callable[..., Client]
) -> None:
    client = api()
    response = client.get(f"/fhir/DocumentReference/{records.pre.pk}")
    assert response.status_code == 200
    resource = response.json()
    DocumentReference.model_validate(resource)
    assert resource["subject"]["reference"] == f"Patient/{records.patient.pk}"
    assert resource["context"]["related"] == [
        {"reference": f"QuestionnaireResponse/{records.pre.pk}"}
    ]
    found = attachments(resource)
    text = base64.b64decode(found["text/plain; charset=utf-8"]["data"]).decode("utf-8")
    definition = get_definition("1a")
    stored = Response.objects.get(pk=records.pre.pk)
    assert text == journal_note(stored, definition, build_summary(stored, definition))
    assert text.startswith("Pasientskjema før behandling")

    pdf = client.get(path_of(found["application/pdf"]["url"]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(pdf.content)).pages
    content = " ".join(page.extract_text() for page in pages)
    assert "Journalnotat: Pasientskjema før behandling" in content
    assert records.patient.name in content


def test_the_journal_notes_of_a_patient_are_searchable_and_every_read_is_audited(
    records: Records, api: Callable[..., Client]
) -> None:
    client = api()
    before = AuditEvent.objects.count()
    listed = client.get("/fhir/DocumentReference", {"subject": f"Patient/{records.patient.pk}"})
    assert listed.status_code == 200
    Bundle.model_validate(listed.json())
    ids = [e["resource"]["id"] for e in listed.json()["entry"]]
    assert ids == [str(records.pre.pk), str(records.follow_up.pk)]
    events = AuditEvent.objects.order_by("id")[before:]
    assert [(e.action, e.object_id, e.role) for e in events] == [
        ("nnrr.fhir.journal_note_read", str(records.pre.pk), "maskinklient"),
        ("nnrr.fhir.journal_note_read", str(records.follow_up.pk), "maskinklient"),
    ]


def test_no_journal_note_for_a_draft_or_another_units_form(
    records: Records, api: Callable[..., Client]
) -> None:
    draft = Response.objects.get(course=records.course, kind=FormKind.CLINICIAN)
    assert api().get(f"/fhir/DocumentReference/{draft.pk}").status_code == 404
    haukeland = api(HAUKELAND_CLIENT)
    assert haukeland.get(f"/fhir/DocumentReference/{records.pre.pk}").status_code == 404
    refused = haukeland.get(f"/fhir/Binary/journalnotat-{records.pre.pk}")
    assert refused.status_code == 404
    assert f"Binary/journalnotat-{records.pre.pk}" in refused.json()["issue"][0]["details"]["text"]
    denied = (
        AuditEvent.objects.filter(action="nnrr.fhir.journal_note.access_denied")
        .order_by("id")
        .last()
    )
    assert denied is not None
    assert denied.object_id == f"journalnotat-{records.pre.pk}"[:64]
    assert api().get("/fhir/Binary/journalnotat-not-an-id").status_code == 404
    assert api().get(f"/fhir/Binary/{records.pre.pk}").status_code == 404


def test_journal_notes_need_their_scope(records: Records, api: Callable[..., Client]) -> None:
    reader = api(scopes="system/QuestionnaireResponse.read")
    assert reader.get(f"/fhir/DocumentReference/{records.pre.pk}").status_code == 403
    assert reader.get(f"/fhir/Binary/journalnotat-{records.pre.pk}").status_code == 403
