"""Booking a course ("Opprett nytt skjema" → Behandlerskjema → dates → "Avslutt skjemautfylling")
and editing its dates afterwards."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from nnrr.audit.models import AuditEvent
from nnrr.lib.dates import oslo_date
from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.scheduling.models import Order, OrderState
from tests.conftest import ST_OLAVS, book, make_patient


def today() -> dt.date:
    return oslo_date(timezone.now())


def post_booking(
    client: Any, patient: Any, referral: dt.date | str, planned: dt.date | str, **extra: Any
) -> Any:
    def fmt(value: dt.date | str) -> str:
        return value.isoformat() if isinstance(value, dt.date) else value

    return client.post(
        reverse("patients:create_clinician_form", args=[patient.pk]),
        {"referral_date": fmt(referral), "planned_consultation_date": fmt(planned), **extra},
    )


def test_opprett_nytt_skjema_offers_the_behandlerskjema(as_persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    html = as_persona("clerk").get(reverse("patients:new_form", args=[patient.pk])).content.decode()
    assert "Behandlerskjema" in html
    assert reverse("patients:create_clinician_form", args=[patient.pk]) in html


def test_avslutt_skjemautfylling_saves_a_draft_owned_by_its_creator(
    as_persona: Any, persona: Any
) -> None:
    patient = make_patient(ST_OLAVS)
    client = as_persona("clerk")
    planned = today() + dt.timedelta(days=30)
    response = post_booking(client, patient, today() - dt.timedelta(days=5), planned)
    assert response.status_code == 302
    course = Course.objects.get(patient=patient)
    clerk = persona("clerk")
    assert course.owner == clerk.user
    assert course.created_by == clerk.user
    assert course.unit_id == ST_OLAVS
    assert course.planned_consultation_date == planned
    form = Response.objects.get(course=course)
    assert (form.kind, form.status) == (FormKind.CLINICIAN, FormStatus.KLADD)
    order = Order.objects.get(course=course)
    assert order.state == OrderState.PLANNED
    assert AuditEvent.objects.filter(action="nnrr.course.created", patient_id=patient.pk).exists()
    page = client.get(response["Location"]).content.decode()
    assert "lagret i kladd" in page
    assert "kl. 08:00" in page


def test_dates_in_norwegian_format_are_accepted(as_persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    planned = today() + dt.timedelta(days=20)
    response = post_booking(
        as_persona("clerk"), patient, (today()).strftime("%d.%m.%Y"), planned.strftime("%d.%m.%Y")
    )
    assert response.status_code == 302
    assert Course.objects.get(patient=patient).planned_consultation_date == planned


@pytest.mark.parametrize(
    ("referral", "planned", "message"),
    [
        (1, 30, "Henvisningsdato kan ikke være i fremtiden"),
        (-5, -10, "kan ikke være før henvisningsdato"),
        (None, 10, "Fyll inn henvisningsdato"),
        (-5, None, "Fyll inn planlagt dato for konsultasjon"),
        ("31.02.2026", 10, "dd.mm.åååå"),
        ("yesterday", 10, "dd.mm.åååå"),
    ],
)
def test_bad_dates_are_refused_with_a_message_and_nothing_is_stored(
    as_persona: Any, referral: Any, planned: Any, message: str
) -> None:
    patient = make_patient(ST_OLAVS)

    def value(offset: Any) -> str:
        if offset is None:
            return ""
        if isinstance(offset, str):
            return offset
        return (today() + dt.timedelta(days=offset)).isoformat()

    response = post_booking(as_persona("clerk"), patient, value(referral), value(planned))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Course.objects.filter(patient=patient).exists()


def test_fields_not_on_the_form_cannot_be_set_by_posting_them(
    as_persona: Any, persona: Any
) -> None:
    patient = make_patient(ST_OLAVS)
    other = persona("clinician")
    post_booking(
        as_persona("clerk"),
        patient,
        today(),
        today() + dt.timedelta(days=30),
        unit=102959,
        status="deleted",
        owner=other.user.pk,
        version=99,
    )
    course = Course.objects.get(patient=patient)
    assert course.unit_id == ST_OLAVS
    assert course.status == Course.Status.ACTIVE
    assert course.owner == persona("clerk").user
    assert course.version == 1


def test_planned_date_can_be_edited_and_replans_the_unsent_questionnaire(
    as_persona: Any, persona: Any
) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS), planned_in_days=40)
    order = Order.objects.get(course=course)
    new = today() + dt.timedelta(days=60)
    response = as_persona("clerk").post(
        reverse("patients:course_dates", args=[course.pk]),
        {
            "referral_date": course.referral_date.isoformat(),
            "planned_consultation_date": new.isoformat(),
            "version": course.version,
        },
        follow=True,
    )
    assert "tilpasset den nye timen" in response.content.decode()
    course.refresh_from_db()
    order.refresh_from_db()
    assert course.planned_consultation_date == new
    assert timezone.localtime(order.send_at).date() == new - dt.timedelta(days=16)


def test_moving_a_sent_questionnaire_more_than_30_days_offers_a_new_course(
    as_persona: Any, persona: Any
) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS), planned_in_days=5)
    Order.objects.filter(course=course).update(state=OrderState.SENT, sent_at=timezone.now())
    client = as_persona("clerk")
    new = today() + dt.timedelta(days=50)
    page = client.post(
        reverse("patients:course_dates", args=[course.pk]),
        {
            "referral_date": course.referral_date.isoformat(),
            "planned_consultation_date": new.isoformat(),
            "version": course.version,
        },
    )
    html = page.content.decode()
    assert "mer enn 30 dager" in html
    course.refresh_from_db()
    assert course.planned_consultation_date != new  # nothing changed yet
    client.post(
        reverse("patients:course_recreate", args=[course.pk]),
        {
            "referral_date": course.referral_date.isoformat(),
            "planned_consultation_date": new.isoformat(),
        },
    )
    course.refresh_from_db()
    assert course.status == Course.Status.DELETED
    replacement = Course.objects.get(replaces=course)
    assert replacement.planned_consultation_date == new
    assert Order.objects.get(course=replacement).state == OrderState.PLANNED


def test_a_stale_date_edit_gets_a_conflict_message(as_persona: Any, persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS), planned_in_days=40)
    Course.objects.filter(pk=course.pk).update(version=course.version + 1)
    response = as_persona("clerk").post(
        reverse("patients:course_dates", args=[course.pk]),
        {
            "referral_date": course.referral_date.isoformat(),
            "planned_consultation_date": (today() + dt.timedelta(days=70)).isoformat(),
            "version": course.version,
        },
    )
    assert "Noen andre har endret" in response.content.decode()
    course.refresh_from_db()
    assert course.planned_consultation_date == today() + dt.timedelta(days=40)


def test_slett_skjema_deletes_the_course_and_logs_the_unconsented_patient(
    as_persona: Any, persona: Any
) -> None:
    from nnrr.patients.models import ConsentLogEntry

    course = book(persona("clerk"), make_patient(ST_OLAVS), planned_in_days=3)
    client = as_persona("clerk")
    refused = client.post(reverse("patients:course_delete", args=[course.pk]), {"reason": ""})
    assert "Skriv hvorfor" in refused.content.decode()
    client.post(reverse("patients:course_delete", args=[course.pk]), {"reason": "Møtte ikke"})
    course.refresh_from_db()
    assert course.status == Course.Status.DELETED
    assert Order.objects.get(course=course).state == OrderState.CANCELLED
    assert ConsentLogEntry.objects.filter(course_id=course.pk, reason="deleted").exists()


def test_endre_eier_moves_the_form_to_another_users_worklist(as_persona: Any, persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    clinician = persona("clinician")
    client = as_persona("clerk")
    page = client.get(reverse("patients:course_owner", args=[course.pk]), {"q": "Kari"})
    assert "Kari Behandler" in page.content.decode()
    client.post(reverse("patients:course_owner", args=[course.pk]), {"owner": clinician.user.pk})
    course.refresh_from_db()
    assert course.owner == clinician.user
    mine = as_persona("clinician").get(reverse("worklists:mine")).content.decode()
    assert course.patient.name in mine


def test_owner_must_be_a_user_of_the_unit(as_persona: Any, persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    outsider = persona("haukeland_clinician")
    response = as_persona("clerk").post(
        reverse("patients:course_owner", args=[course.pk]), {"owner": outsider.user.pk}, follow=True
    )
    assert "Velg en bruker ved enheten" in response.content.decode()
    course.refresh_from_db()
    assert course.owner == persona("clerk").user
