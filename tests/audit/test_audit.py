"""Audit events: written with every read and change, never changed, listed for the right roles."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from nnrr.audit.context import Actor
from nnrr.audit.models import AppendOnlyError, AuditEvent
from nnrr.audit.services import record_event
from tests.conftest import HAUKELAND, ST_OLAVS, book, make_patient


def test_events_cannot_be_changed_or_deleted_through_the_orm(db: Any) -> None:
    event = record_event(actor=Actor.system(), action="nnrr.test")
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_the_database_refuses_to_update_an_event(db: Any) -> None:
    event = record_event(actor=Actor.system(), action="nnrr.test")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'forged' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "nnrr.test"


def test_a_booking_writes_its_event_in_the_same_transaction(as_persona: Any, persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    clerk = persona("clerk")
    course = book(clerk, patient)
    event = AuditEvent.objects.get(action="nnrr.course.created")
    assert event.object_id == str(course.pk)
    assert event.patient_id == patient.pk
    assert event.actor == clerk.user
    assert set(event.detail) == {"referral_date", "planned_date"}


def test_events_hold_no_answers(as_persona: Any, persona: Any) -> None:
    from nnrr.questionnaires.models import FormKind, Response

    course = book(persona("clinician"), make_patient(ST_OLAVS))
    response = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    as_persona("clinician").post(
        reverse("questionnaires:fill", args=[response.pk]),
        {"version": response.version, "action": "save", "RadiologicalF_Other": "HEMMELIG-FRITEKST"},
    )
    serialized = " ".join(str(e.detail) for e in AuditEvent.objects.all())
    assert "HEMMELIG-FRITEKST" not in serialized
    assert AuditEvent.objects.filter(action="nnrr.form.saved").exists()


def test_log_page_lists_the_units_events_filtered_by_patient(as_persona: Any, persona: Any) -> None:
    mine = make_patient(ST_OLAVS)
    theirs = make_patient(HAUKELAND)
    book(persona("clerk"), mine)
    book(persona("haukeland_clinician"), theirs)
    client = as_persona("local_admin")
    # The number is POSTed and resolved to the patient's id: it never lands in the URL.
    found = client.post(reverse("audit:log"), {"fodselsnummer": mine.national_id})
    assert found.status_code == 302
    assert mine.national_id not in found["Location"] and str(mine.pk) in found["Location"]
    page = client.get(found["Location"])
    rows = page.content.decode().split("<tbody>", 1)[1]
    assert page.status_code == 200
    assert "Opprettet forløp" in rows
    assert "Per Merkantil" in rows
    assert mine.national_id_formatted in rows  # the unit's own patient: by name and number
    assert "Hanne Haukeland" not in rows
    other = client.post(reverse("audit:log"), {"fodselsnummer": theirs.national_id})
    html = client.get(other["Location"]).content.decode().split("<tbody>", 1)[1]
    assert "Opprettet forløp" not in html and "Ingen hendelser" in html


def test_log_page_filters_by_user(as_persona: Any, persona: Any) -> None:
    book(persona("clerk"), make_patient(ST_OLAVS))
    book(persona("clinician"), make_patient(ST_OLAVS))
    clinician = persona("clinician")
    html = (
        as_persona("local_admin")
        .get(reverse("audit:log"), {"bruker": clinician.user.pk})
        .content.decode()
    )
    rows = html.split("<tbody>", 1)[1]  # the user filter's dropdown lists everyone; the rows don't
    assert "Kari Behandler" in rows
    assert "Per Merkantil" not in rows


def test_log_page_explains_a_bad_national_id(as_persona: Any) -> None:
    page = as_persona("local_admin").post(reverse("audit:log"), {"fodselsnummer": "12345"})
    assert page.status_code == 200
    assert "11 siffer" in page.content.decode()


def test_national_admin_sees_all_units(as_persona: Any, persona: Any) -> None:
    book(persona("haukeland_clinician"), make_patient(HAUKELAND))
    html = as_persona("national_admin").get(reverse("audit:log")).content.decode()
    assert "Hanne Haukeland" in html


@pytest.mark.parametrize("role", ["clinician", "exporter", "report_reader"])
def test_other_roles_cannot_read_the_log(as_persona: Any, role: str) -> None:
    assert as_persona(role).get(reverse("audit:log")).status_code == 403


def test_reading_the_log_is_itself_audited(as_persona: Any) -> None:
    as_persona("local_admin").get(reverse("audit:log"))
    assert AuditEvent.objects.filter(action="nnrr.audit.viewed").exists()
