"""The patient page: the active unit's forms only, audited, with their actions."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from nnrr.audit.models import AuditEvent
from nnrr.patients.services import register_patient
from tests.conftest import HAUKELAND, ST_OLAVS, book, make_patient


def test_patient_page_lists_the_forms_with_status_owner_and_dates(
    as_persona: Any, persona: Any
) -> None:
    clerk = persona("clerk")
    patient = make_patient(ST_OLAVS, name="Liv Liste")
    course = book(clerk, patient, planned_in_days=40)
    response = as_persona("clerk").get(reverse("patients:detail", args=[patient.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Liv Liste" in html
    assert "Behandlerskjema" in html
    assert "Kladd" in html
    assert course.planned_consultation_date.strftime("%d.%m.%Y") in html
    assert "Per Merkantil" in html  # owner
    assert "Pasientskjema før behandling" in html  # the planned ePROM order
    assert "Planlagt" in html


def test_viewing_the_patient_page_is_audited(as_persona: Any, persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    as_persona("clinician").get(reverse("patients:detail", args=[patient.pk]))
    event = AuditEvent.objects.get(action="nnrr.patient.viewed")
    clinician = persona("clinician")
    assert event.patient_id == patient.pk
    assert event.actor == clinician.user
    assert event.role == "pasientansvarlig"
    assert event.unit_id == ST_OLAVS
    assert event.client_address == "127.0.0.1"
    assert event.outcome == "ok"


def test_patient_known_at_two_units_shows_only_the_active_units_forms(
    as_persona: Any, persona: Any
) -> None:
    st_olavs, haukeland = persona("clinician"), persona("haukeland_clinician")
    patient = make_patient(ST_OLAVS)
    second = register_patient(
        actor=haukeland.actor,
        unit=haukeland.unit,
        national_id=patient.national_id,
        name=patient.name,
    )
    mine = book(st_olavs, patient, planned_in_days=20)
    theirs = book(haukeland, second, planned_in_days=45)
    html = (
        as_persona("clinician").get(reverse("patients:detail", args=[patient.pk])).content.decode()
    )
    assert mine.planned_consultation_date.strftime("%d.%m.%Y") in html
    assert theirs.planned_consultation_date.strftime("%d.%m.%Y") not in html
    other = as_persona("haukeland_clinician").get(reverse("patients:detail", args=[second.pk]))
    assert theirs.planned_consultation_date.strftime("%d.%m.%Y") in other.content.decode()
    assert mine.planned_consultation_date.strftime("%d.%m.%Y") not in other.content.decode()


def test_patient_of_another_unit_answers_404(as_persona: Any) -> None:
    patient = make_patient(HAUKELAND)
    assert (
        as_persona("clinician").get(reverse("patients:detail", args=[patient.pk])).status_code
        == 404
    )


@pytest.mark.parametrize("role", ["exporter", "report_reader", "national_admin"])
def test_roles_without_form_rights_cannot_open_the_patient_page(as_persona: Any, role: str) -> None:
    patient = make_patient(ST_OLAVS)
    assert as_persona(role).get(reverse("patients:detail", args=[patient.pk])).status_code == 403


def test_changing_contact_details_is_audited(as_persona: Any) -> None:
    patient = make_patient(ST_OLAVS, email="")
    response = as_persona("clerk").post(
        reverse("patients:contact", args=[patient.pk]),
        {"email": "ny@example.no", "mobile": "99887766"},
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.email == "ny@example.no"
    assert AuditEvent.objects.filter(action="nnrr.patient.contact_changed").exists()


def test_bad_email_is_refused_with_a_message(as_persona: Any) -> None:
    patient = make_patient(ST_OLAVS, email="gammel@example.no")
    response = as_persona("clerk").post(
        reverse("patients:contact", args=[patient.pk]), {"email": "ikke-en-adresse", "mobile": ""}
    )
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.email == "gammel@example.no"


def test_withdrawal_needs_reason_and_confirmation(as_persona: Any, persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    book(persona("clerk"), patient)
    client = as_persona("clinician")
    refused = client.post(
        reverse("patients:withdraw", args=[patient.pk]), {"reason": "", "confirm": "yes"}
    )
    assert "Skriv årsaken" in refused.content.decode()
    unconfirmed = client.post(
        reverse("patients:withdraw", args=[patient.pk]), {"reason": "Ønsker ikke"}
    )
    assert "Bekreft" in unconfirmed.content.decode()
    done = client.post(
        reverse("patients:withdraw", args=[patient.pk]),
        {"reason": "Ønsker ikke", "confirm": "yes"},
        follow=True,
    )
    assert "Samtykket er trukket" in done.content.decode()
    patient.refresh_from_db()
    assert patient.consent_withdrawn_at is not None


@pytest.mark.parametrize(("status", "offered"), [(1, True), (5, True), (2, False)])
def test_slett_skjema_is_offered_exactly_when_the_course_may_be_deleted(
    as_persona: Any, persona: Any, status: int, offered: bool
) -> None:
    from nnrr.patients.models import Course
    from nnrr.questionnaires.models import FormKind, Response

    patient = make_patient(ST_OLAVS)
    course = book(persona("clerk"), patient)
    Response.objects.filter(course=course, kind=FormKind.CLINICIAN).update(status=status)
    client = as_persona("clerk")
    delete_url = reverse("patients:course_delete", args=[course.pk])

    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert (delete_url in page) is offered
    answer = client.post(delete_url, {"reason": "Møtte ikke"}, follow=True)
    assert answer.status_code == 200
    course.refresh_from_db()
    assert (course.status == Course.Status.DELETED) is offered
    if not offered:
        assert "kan ikke slettes" in answer.content.decode()


@pytest.mark.parametrize("courses", [2, 50])
def test_the_patient_page_takes_the_same_queries_for_two_courses_as_for_fifty(
    as_persona: Any, persona: Any, django_assert_num_queries: Any, courses: int
) -> None:
    # The session, the user, the profile, the patient, the courses with their owners, their
    # forms, their orders, the audit row.
    clerk = persona("clerk")
    patient = make_patient(ST_OLAVS)
    for n in range(courses):
        book(clerk, patient, planned_in_days=20 + n)
    client = as_persona("clerk")
    client.get(reverse("patients:front"))  # the session's first request writes more
    with django_assert_num_queries(8):
        response = client.get(reverse("patients:detail", args=[patient.pk]))
    assert response.content.decode().count('class="ds-card app-card app-course"') == courses
