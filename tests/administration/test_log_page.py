"""The readable Logg (Norwegian words, filters, paging, CSV) and the innsyn list with its PDF."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.audit.services import record_event
from nnrr.audit.wording import describe
from nnrr.questionnaires.models import FormKind, Response
from tests.conftest import HAUKELAND, ST_OLAVS, book, make_patient


def test_events_read_as_plain_norwegian() -> None:
    assert describe("nnrr.form.opened", {"kind": "1b"}) == "Åpnet Behandlerskjema"
    assert describe("nnrr.form.returned", {}, "Feil diagnose") == "Returnerte skjema: Feil diagnose"
    assert describe("nnrr.export.completed", {}) == "Lagde en eksport av data"
    assert describe("nnrr.course.access_denied", {}) == "Forsøkte å åpne et forløp uten tilgang"
    assert describe("nnrr.something.new", {}) == "Annen hendelse (nnrr.something.new)"


def test_the_log_shows_who_what_and_which_patient(as_persona: Any, persona: Any) -> None:
    patient = make_patient(ST_OLAVS, name="Ola Testesen")
    course = book(persona("clinician"), patient)
    response = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    clinician = as_persona("clinician")
    clinician.get(reverse("questionnaires:fill", args=[response.pk]))
    html = as_persona("local_admin").get(reverse("audit:log")).content.decode()
    rows = html.split("<tbody>", 1)[1]
    assert "Åpnet Behandlerskjema" in rows
    assert "Kari Behandler" in rows
    assert "Pasientansvarlig, St. Olavs" in rows
    assert f"Ola Testesen ({patient.national_id_formatted})" in rows
    assert "nnrr.form" not in rows  # no codes


def test_filters_by_action_group_and_period(as_persona: Any, persona: Any) -> None:
    book(persona("clerk"), make_patient(ST_OLAVS))
    old = timezone.now() - dt.timedelta(days=40)
    record_event(actor=persona("clerk").actor, action="nnrr.patient.viewed", at=old)
    client = as_persona("local_admin")
    rows = client.get(reverse("audit:log"), {"handling": "forlop"}).content.decode()
    rows = rows.split("<tbody>", 1)[1]
    assert "Opprettet forløp" in rows and "Registrerte pasient" not in rows
    since = (timezone.localdate() - dt.timedelta(days=7)).isoformat()
    recent = client.get(reverse("audit:log"), {"handling": "pasient", "fra": since})
    assert "Åpnet pasient" not in recent.content.decode().split("<tbody>", 1)[1]
    bad = client.get(reverse("audit:log"), {"fra": "31.02.2026", "bruker": "٣"})
    assert bad.status_code == 200 and "Fra-datoen" in bad.content.decode()


def test_paging(as_persona: Any, persona: Any) -> None:
    actor = persona("clerk").actor
    for _ in range(55):
        record_event(actor=actor, action="nnrr.patient.viewed")
    client = as_persona("local_admin")
    first = client.get(reverse("audit:log"), {"handling": "pasient"}).content.decode()
    assert "Side 1 av 2" in first and "side=2" in first
    second = client.get(reverse("audit:log"), {"handling": "pasient", "side": 2}).content.decode()
    assert second.split("<tbody>", 1)[1].count("Åpnet pasient") == 5


def test_a_long_history_is_counted_up_to_the_cap(
    as_persona: Any, persona: Any, monkeypatch: Any
) -> None:
    """Beyond the cap the Logg says "more than" (its count stays bounded however long the
    unit's history); filtering brings an exact count back."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from nnrr.administration import log_views as views

    monkeypatch.setattr(views, "COUNT_CAP", 60)
    actor = persona("clerk").actor
    for _ in range(75):
        record_event(actor=actor, action="nnrr.patient.viewed")
    client = as_persona("local_admin")
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("audit:log"), {"handling": "pasient"}).content.decode()
    assert "Mer enn 60 hendelser" in page and "Side 1 av mer enn 2" in page
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 61" in sql for sql in counts), counts
    last = client.get(reverse("audit:log"), {"handling": "pasient", "side": 2}).content.decode()
    assert last.split("<tbody>", 1)[1].count("Åpnet pasient") == 10  # 60 in all, 50 + 10
    assert "side=3" not in last
    since = timezone.localdate().isoformat()
    narrow = client.get(reverse("audit:log"), {"handling": "pasient", "fra": since, "bruker": ""})
    assert "Mer enn" in narrow.content.decode()  # still over the cap today
    monkeypatch.setattr(views, "COUNT_CAP", 100)
    exact = client.get(reverse("audit:log"), {"handling": "pasient"}).content.decode()
    assert "Mer enn" not in exact and "75 hendelser" in exact


def test_csv_download_of_the_filtered_view_is_audited(as_persona: Any, persona: Any) -> None:
    patient = make_patient(ST_OLAVS, name="=HYPERLINK(1)")
    book(persona("clerk"), patient)
    book(persona("haukeland_clinician"), make_patient(HAUKELAND))
    client = as_persona("local_admin")
    response = client.get(reverse("audit:log"), {"handling": "forlop", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:5] == ["Tidspunkt", "Bruker", "Rolle", "Enhet", "Hendelse"]
    body = rows[1:]
    assert any(r[4] == "Opprettet forløp" and r[1] == "Per Merkantil" for r in body)
    assert all("Hanne Haukeland" not in r for r in body)
    assert any(r[6] == "'=HYPERLINK(1)" for r in body)  # inert in a spreadsheet
    event = AuditEvent.objects.get(action="nnrr.audit.exported")
    assert event.detail["group"] == "forlop" and event.detail["rows"] == len(body)


def test_the_national_administrator_finds_a_patient_across_units(
    as_persona: Any, persona: Any
) -> None:
    patient = make_patient(HAUKELAND)
    book(persona("haukeland_clinician"), patient)
    client = as_persona("national_admin")
    found = client.post(reverse("audit:log"), {"fodselsnummer": patient.national_id})
    assert patient.national_id not in found["Location"]
    rows = client.get(found["Location"]).content.decode().split("<tbody>", 1)[1]
    assert "Hanne Haukeland" in rows and "Opprettet forløp" in rows


def test_innsyn_lists_every_access_to_the_patient_across_units_and_is_audited(
    as_persona: Any, persona: Any
) -> None:
    patient = make_patient(ST_OLAVS, name="Inga Innsyn")
    book(persona("clinician"), patient)
    as_persona("clinician").get(reverse("patients:detail", args=[patient.pk]))
    other = make_patient(ST_OLAVS, name="Annen Pasient")
    book(persona("clerk"), other)
    client = as_persona("national_admin")
    page = client.post(reverse("audit:innsyn"), {"fodselsnummer": patient.national_id})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Inga Innsyn" in html
    assert "Opprettet forløp" in html and "Åpnet pasient" in html and "Kari Behandler" in html
    assert "Per Merkantil" not in html  # another patient's accesses are not listed
    assert AuditEvent.objects.filter(action="nnrr.audit.innsyn", patient_id=patient.pk).exists()


def test_innsyn_pdf_lists_the_accesses(as_persona: Any, persona: Any) -> None:
    patient = make_patient(ST_OLAVS, name="Petter Pdf")
    book(persona("clinician"), patient)
    response = as_persona("national_admin").post(
        reverse("audit:innsyn"), {"fodselsnummer": patient.national_id, "format": "pdf"}
    )
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Petter Pdf" in text and "Kari Behandler" in text and "Opprettet forløp" in text
    assert AuditEvent.objects.get(action="nnrr.audit.innsyn").detail["format"] == "pdf"


def test_innsyn_explains_a_bad_number(as_persona: Any) -> None:
    page = as_persona("national_admin").post(reverse("audit:innsyn"), {"fodselsnummer": "123"})
    assert page.status_code == 200 and "11 siffer" in page.content.decode()
    assert not AuditEvent.objects.filter(action="nnrr.audit.innsyn").exists()


def test_an_unknown_patient_in_innsyn_gives_an_empty_list(as_persona: Any, db: Any) -> None:
    import random

    from nnrr.demo.people import synthetic_id

    number = synthetic_id(random.Random(3), dt.date(1970, 1, 1), "M")
    html = (
        as_persona("national_admin")
        .post(reverse("audit:innsyn"), {"fodselsnummer": number})
        .content.decode()
    )
    assert "Ingen pasient med dette fødselsnummeret" in html


def test_system_events_are_named(db: Any) -> None:
    event = record_event(actor=Actor.system(), action="nnrr.course.purged")
    assert describe(event.action, event.detail) == "Forløp uten samtykke slettet"


def test_a_return_reads_with_the_reason_kept_on_the_form(as_persona: Any, persona: Any) -> None:
    from nnrr.questionnaires import services as form_services
    from nnrr.questionnaires.models import FormStatus

    course = book(persona("clinician"), make_patient(ST_OLAVS))
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    Response.objects.filter(pk=form.pk).update(status=FormStatus.FERDIGSTILT)
    form.refresh_from_db()
    form_services.return_to_draft(
        actor=persona("local_admin").actor,
        response=form,
        reason="Diagnose 2 mangler",
        now=timezone.now(),
    )
    event = AuditEvent.objects.get(action="nnrr.form.returned")
    assert "Diagnose 2 mangler" not in str(event.detail)  # the reason stays with the form
    rows = as_persona("local_admin").get(reverse("audit:log")).content.decode()
    assert "Returnerte skjema: Diagnose 2 mangler" in rows.split("<tbody>", 1)[1]


@pytest.mark.parametrize("events", [2, 50])
def test_the_logg_takes_the_same_queries_for_two_rows_as_for_fifty(
    as_persona: Any, persona: Any, django_assert_num_queries: Any, events: int
) -> None:
    clinician = persona("clinician")
    patients = [make_patient(ST_OLAVS, name=f"Pasient {n}") for n in range(events)]
    for patient in patients:
        record_event(
            actor=clinician.actor, action="nnrr.patient.viewed", patient_id=patient.pk, obj=patient
        )
    client = as_persona("local_admin")
    client.get(reverse("patients:front"))  # the session's first request writes more
    # The session, the user, the profile, the count, the page (with units), its patients, the
    # "Bruker" choices, the audit row.
    with django_assert_num_queries(8):
        response = client.get(reverse("audit:log"))
    assert response.content.decode().count("Pasient ") >= events


def test_a_patients_innsyn_pdf_reads_in_plain_words_on_one_line_each(
    as_persona: Any, persona: Any
) -> None:
    """The events of a patient's journey through the portal, the clinic and the registry read
    as sentences without codes, and dates and names are not broken over lines."""
    from nnrr.audit.models import Outcome

    patient = make_patient(ST_OLAVS, name="Petra Portal")
    book(persona("clinician"), patient)
    clinician = persona("clinician").actor
    at = timezone.now() - dt.timedelta(hours=2)
    for action in ("nnrr.order.form_opened", "nnrr.order.created", "nnrr.form.paper_printed"):
        record_event(actor=clinician, action=action, patient_id=patient.pk, at=at)
    portal = Actor(user=None, name="pasient", role="pasient", unit_id=ST_OLAVS)
    record_event(actor=portal, action="nnrr.portal.entry", patient_id=patient.pk, at=at)
    record_event(
        actor=portal,
        action="nnrr.portal.entry",
        patient_id=patient.pk,
        outcome=Outcome.DENIED,
        detail={"state": "used"},
        at=at,
    )
    response = as_persona("national_admin").post(
        reverse("audit:innsyn"), {"fodselsnummer": patient.national_id, "format": "pdf"}
    )
    lines = [
        line.strip()
        for page in PdfReader(io.BytesIO(response.content)).pages
        for line in page.extract_text().splitlines()
    ]
    text = " ".join(lines)
    assert "nnrr." not in text and "Annen hendelse" not in text
    assert "Åpnet siden for å sende skjema til pasienten" in text
    assert "Pasienten prøvde å åpne et skjema som allerede er sendt inn" in text
    assert "avvist" not in text  # no bare outcome after the sentence
    when = timezone.localtime(at).strftime("%d.%m.%Y %H:%M")
    # Each row starts with its whole date and time, then the whole name, role and unit, on the
    # same line (the text of the cells is read without the spaces between them).
    packed = [line.replace(" ", "") for line in lines]
    row = f"{when}KariBehandlerPasientansvarligSt.Olavs".replace(" ", "")
    assert any(line.startswith(row) for line in packed)
    assert any(line.startswith(f"{when}Pasienten–St.Olavs".replace(" ", "")) for line in packed)
