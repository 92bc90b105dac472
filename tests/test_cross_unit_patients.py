"""Units are truly apart at the level of the patient record, not only per URL.

tests/test_cross_unit_urls.py proves that every URL taking an id answers 404 to another unit.
This file proves the rest of issue 7 item 1: a second unit registering a known patient learns
nothing and changes nothing of the first unit's (end to end through the pages), the list views
(worklists, consent log, audit log) show only the unit's own patients, and a registry-wide
effect is the Registeradministrator's action (docs/decisions/0013-patient-record-per-unit.md).
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from django.urls import reverse
from django.utils import timezone

from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.lib.dates import oslo_date
from nnrr.patients.models import ConsentLogEntry, Course, Patient
from nnrr.patients.services import register_patient
from nnrr.questionnaires.models import FormKind, FormStatus, Response, Source
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order
from tests.conftest import HAUKELAND, ST_OLAVS, book, make_patient

# --- A known patient registered at a second unit: nothing crosses ------------------------------


def _html(response: Any) -> str:
    return html.unescape(response.content.decode())


def test_second_unit_registering_a_known_patient_learns_nothing_and_changes_nothing(
    persona: Any, as_persona: Any
) -> None:
    st_olavs = persona("clinician")
    theirs = make_patient(ST_OLAVS, name="Sigrid Olavsen", email="sigrid@stolav.example")
    Patient.objects.filter(pk=theirs.pk).update(mobile="91234567")
    their_course = book(st_olavs, theirs, planned_in_days=25)
    scheduling.submit_patient_form(
        actor=Actor.system("test"),
        course=their_course,
        kind=FormKind.PRE_TREATMENT,
        answers={"FamilyStatus": 1},
        consent=True,
        source=Source.PORTAL,
        now=timezone.now(),
    )
    their_orders = set(Order.objects.filter(course=their_course).values_list("pk", "state"))
    secrets = ("Sigrid", "Olavsen", "sigrid@stolav.example", "91234567")
    client = as_persona("haukeland_local_admin")

    # Search and register: the page offers registration as for an unknown number.
    found = client.post(reverse("patients:search"), {"national_id": theirs.national_id})
    assert found.status_code == 200
    page = _html(found)
    assert "Registrer pasient" in page
    assert not any(s in page for s in secrets)
    assert their_course.planned_consultation_date.strftime("%d.%m.%Y") not in page
    registered = client.post(
        reverse("patients:register"),
        {"national_id": theirs.national_id, "name": "Sigrun Haukeland-Navn"},
    )
    mine = Patient.objects.get(national_id=theirs.national_id, unit_id=HAUKELAND)
    assert registered["Location"] == reverse("patients:detail", args=[mine.pk])
    assert mine.pk != theirs.pk and mine.email == "" and mine.mobile == ""

    # Read: the own record shows what this unit entered, nothing of St. Olavs.
    page = _html(client.get(reverse("patients:detail", args=[mine.pk])))
    assert "Sigrun Haukeland-Navn" in page
    assert not any(s in page for s in secrets)
    assert their_course.planned_consultation_date.strftime("%d.%m.%Y") not in page

    # Change contact: only Haukeland's record.
    client.post(
        reverse("patients:contact", args=[mine.pk]),
        {"email": "angriper@example.no", "mobile": "40000000"},
    )
    theirs.refresh_from_db()
    assert (theirs.email, theirs.mobile) == ("sigrid@stolav.example", "91234567")

    # Book and order: on Haukeland's record and course only.
    today = oslo_date(timezone.now())
    client.post(
        reverse("patients:create_clinician_form", args=[mine.pk]),
        {
            "referral_date": (today - dt.timedelta(days=3)).isoformat(),
            "planned_consultation_date": (today + dt.timedelta(days=30)).isoformat(),
        },
    )
    my_course = Course.objects.get(patient=mine)
    assert my_course.unit_id == HAUKELAND
    ordered = client.post(
        reverse("scheduling:order", args=[mine.pk]),
        {
            "kind": FormKind.PRE_TREATMENT.value,
            "course": str(my_course.pk),
            "notify_self": "on",
            "confirm": "on",
        },
    )
    assert ordered.status_code == 302
    # Not even a follow-up: Haukeland's course has no consent of its own.
    refused = client.post(
        reverse("scheduling:order", args=[mine.pk]),
        {
            "kind": FormKind.FOLLOW_UP_6.value,
            "course": str(my_course.pk),
            "notify_self": "on",
            "confirm": "on",
        },
    )
    assert "samtykket" in _html(refused)

    # Withdraw: Haukeland's course goes, St. Olavs' stays with its consented form and orders.
    client.post(
        reverse("patients:withdraw", args=[mine.pk]), {"reason": "Ønsker ikke", "confirm": "yes"}
    )
    my_course.refresh_from_db()
    their_course.refresh_from_db()
    theirs.refresh_from_db()
    assert my_course.status == Course.Status.WITHDRAWN
    assert their_course.status == Course.Status.ACTIVE
    assert theirs.consent_withdrawn_at is None and theirs.email == "sigrid@stolav.example"
    assert Response.objects.filter(
        course=their_course, kind=FormKind.PRE_TREATMENT, status=FormStatus.FERDIGSTILT
    ).exists()
    assert set(Order.objects.filter(course=their_course).values_list("pk", "state")) == (
        their_orders
    )
    assert set(ConsentLogEntry.objects.values_list("unit_id", flat=True)) == {HAUKELAND}

    # St. Olavs sees its own patient as before, and nothing Haukeland entered.
    page = _html(as_persona("clinician").get(reverse("patients:detail", args=[theirs.pk])))
    assert "Sigrid Olavsen" in page and "sigrid@stolav.example" in page
    assert "Haukeland-Navn" not in page and "angriper@example.no" not in page
    # Haukeland's trail says nothing about the St. Olavs record.
    for event in AuditEvent.objects.filter(unit_id=HAUKELAND):
        assert event.patient_id != theirs.pk
        assert str(theirs.pk) not in event.object_id
        assert (
            "found" not in event.detail
            or event.detail["found"] is False
            or (event.patient_id == mine.pk)
        )


def test_the_other_units_lists_show_none_of_a_units_patients(persona: Any, as_persona: Any) -> None:
    st_olavs = persona("clinician")
    waiting = make_patient(ST_OLAVS, name="Ulla Uferdig")
    book(st_olavs, waiting, planned_in_days=-3, referral_days_ago=20)  # overdue, unfinished
    book(st_olavs, waiting, planned_in_days=10)  # pre-treatment form awaiting consent
    gone = make_patient(ST_OLAVS, name="Wilma Withdrawn")
    book(st_olavs, gone)
    scheduling.withdraw_consent(
        actor=st_olavs.actor, patient=gone, reason="Ønsker ikke", now=timezone.now()
    )
    own_view = as_persona("clinician")
    for name in ("worklists:overdue", "worklists:unit", "worklists:consent"):
        own_view.get(reverse(name))  # St. Olavs' own reads land in St. Olavs' audit trail
    assert "Ulla Uferdig" in _html(own_view.get(reverse("worklists:unit")))
    assert "Wilma Withdrawn" in _html(own_view.get(reverse("worklists:consent")))

    other = as_persona("haukeland_local_admin")
    for name in (
        "worklists:mine",
        "worklists:overdue",
        "worklists:unit",
        "worklists:consent",
        "audit:log",
        "patients:front",
        "worklists:index",
    ):
        response = other.get(reverse(name), follow=True)  # «Arbeidsliste» opens a list
        assert response.status_code == 200, name
        page = _html(response)
        for secret in (
            "Ulla Uferdig",
            "Wilma Withdrawn",
            waiting.national_id,
            gone.national_id,
            waiting.national_id[:6],
            "Kari Behandler",  # St. Olavs' clinician, all over St. Olavs' audit trail
        ):
            assert secret not in page, f"{name} shows {secret}"


# --- The registry-wide withdrawal is the Registeradministrator's --------------------------------


def test_registry_wide_withdrawal_is_the_national_administrators_and_reaches_every_unit(
    persona: Any, as_persona: Any
) -> None:
    st_olavs, haukeland = persona("clinician"), persona("haukeland_clinician")
    first = make_patient(ST_OLAVS, name="Rut Register")
    second = register_patient(
        actor=haukeland.actor,
        unit=haukeland.unit,
        national_id=first.national_id,
        name="Rut Register",
    )
    courses = [book(st_olavs, first), book(haukeland, second)]
    url = reverse("patients:registry_withdraw")
    post = {
        "national_id": first.national_id,
        "action": "withdraw",
        "reason": "Ønsker ikke å være i registeret",
        "confirm": "on",
    }
    for role in ("clinician", "local_admin", "haukeland_local_admin"):
        assert as_persona(role).post(url, post).status_code == 403
    assert all(Course.objects.get(pk=c.pk).status == Course.Status.ACTIVE for c in courses)

    client = as_persona("national_admin")
    looked_up = _html(client.post(url, {**post, "action": "lookup"}))
    assert "Registrert ved 2 enheter" in looked_up and "2 åpne forløp" in looked_up
    assert "Rut Register" not in looked_up
    lookup = AuditEvent.objects.get(action="nnrr.consent.registry_withdrawal_opened")
    assert lookup.patient_id is None and first.national_id not in lookup.object_id
    assert lookup.detail == {"records": 2}
    unconfirmed = client.post(url, {**post, "confirm": ""})
    assert "bekreft" in _html(unconfirmed)
    assert all(Course.objects.get(pk=c.pk).status == Course.Status.ACTIVE for c in courses)
    done = client.post(url, post, follow=True)
    assert "Samtykket er trukket ved 2 enheter" in _html(done)
    assert {Course.objects.get(pk=c.pk).status for c in courses} == {Course.Status.WITHDRAWN}
    events = AuditEvent.objects.filter(action="nnrr.consent.withdrawn")
    assert {e.patient_id for e in events} == {first.pk, second.pk}
    assert {e.detail["scope"] for e in events} == {"registry"}
    assert "Ønsker ikke" not in str([e.detail for e in events])
    assert set(ConsentLogEntry.objects.values_list("unit_id", flat=True)) == {ST_OLAVS, HAUKELAND}
