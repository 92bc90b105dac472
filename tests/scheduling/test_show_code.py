"""The "gul nøkkel": a pending order's one-time code shown again from the patient page, audited,
kept sealed (never in plain text) in the database; a new code only by "Bestill på nytt"."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from nnrr.audit.models import AuditEvent
from nnrr.patients.models import Course, Patient
from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import codes
from nnrr.scheduling.models import OPEN_STATES, Order, OrderState
from tests.conftest import ST_OLAVS, Persona, book, make_patient

CODE_PATTERN = re.compile(r'<span id="one-time-code">([A-Z0-9]{4}-[A-Z0-9]{4})</span>')


@pytest.fixture
def patient(db: None) -> Patient:
    return make_patient(ST_OLAVS, name="Gunn Gulnøkkel")


@pytest.fixture
def course(persona: Callable[[str], Persona], patient: Patient) -> Course:
    return book(persona("clinician"), patient, planned_in_days=20)


def order_with_code(client: Client, course: Course, patient: Patient) -> tuple[Order, str]:
    response = client.post(
        reverse("scheduling:order", args=[patient.pk]),
        {
            "kind": FormKind.PRE_TREATMENT.value,
            "course": str(course.pk),
            "notify_self": "on",
            "confirm": "on",
        },
    )
    page = client.get(response["Location"]).content.decode()
    match = CODE_PATTERN.search(page)
    assert match is not None
    order = Order.objects.get(course=course, kind=FormKind.PRE_TREATMENT, state__in=OPEN_STATES)
    return order, match.group(1)


def test_the_code_is_shown_again_from_the_patient_page_and_audited(
    as_persona: Callable[[str], Client], course: Course, patient: Patient
) -> None:
    client = as_persona("clinician")
    order, code = order_with_code(client, course, patient)

    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert reverse("scheduling:show_code", args=[order.pk]) in detail
    assert "Vis engangskode" in detail
    assert code not in detail

    shown = as_persona("clerk").post(reverse("scheduling:show_code", args=[order.pk]))
    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"] or "no-cache" in shown["Cache-Control"]
    match = CODE_PATTERN.search(shown.content.decode())
    assert match is not None and match.group(1) == code  # the same code, not a new one
    order.refresh_from_db()
    assert order.code_hash == codes.code_hash(code)

    event = AuditEvent.objects.get(action="nnrr.order.code_shown_again")
    assert event.patient_id == patient.pk
    assert code not in json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))


def test_showing_needs_a_post(
    as_persona: Callable[[str], Client], course: Course, patient: Patient
) -> None:
    client = as_persona("clinician")
    order, _code = order_with_code(client, course, patient)
    assert client.get(reverse("scheduling:show_code", args=[order.pk])).status_code == 405
    assert not AuditEvent.objects.filter(action="nnrr.order.code_shown_again").exists()


def test_the_code_is_stored_sealed_never_in_plain_text(
    as_persona: Callable[[str], Client], course: Course, patient: Patient
) -> None:
    order, code = order_with_code(as_persona("clinician"), course, patient)
    order.refresh_from_db()
    assert order.code_sealed
    assert code not in order.code_sealed
    assert codes.normalize_code(code) not in order.code_sealed
    assert codes.open_code(order.code_sealed) == code
    # Another installation secret cannot open it.
    with override_settings(SECRET_KEY="another-installation-secret-" + "x" * 40):
        assert codes.open_code(order.code_sealed) is None
    assert codes.open_code("not a sealed value") is None


def test_a_new_code_only_by_bestill_pa_nytt(
    as_persona: Callable[[str], Client], course: Course, patient: Patient
) -> None:
    client = as_persona("clinician")
    old, old_code = order_with_code(client, course, patient)
    response = client.post(
        reverse("scheduling:reorder", args=[old.pk]), {"notify_self": "on", "confirm": "on"}
    )
    new_code = CODE_PATTERN.search(client.get(response["Location"]).content.decode())
    assert new_code is not None and new_code.group(1) != old_code
    old.refresh_from_db()
    assert old.state == OrderState.CANCELLED
    assert old.code_sealed == ""
    refused = client.post(reverse("scheduling:show_code", args=[old.pk]), follow=True)
    assert "Engangskoden kan ikke vises" in refused.content.decode()
    assert CODE_PATTERN.search(refused.content.decode()) is None


def test_a_used_or_locked_code_is_not_shown(
    as_persona: Callable[[str], Client], course: Course, patient: Patient
) -> None:
    client = as_persona("clinician")
    order, _code = order_with_code(client, course, patient)
    Order.objects.filter(pk=order.pk).update(code_locked_at=timezone.now())
    refused = client.post(reverse("scheduling:show_code", args=[order.pk]), follow=True)
    assert "Engangskoden kan ikke vises" in refused.content.decode()
    assert not AuditEvent.objects.filter(action="nnrr.order.code_shown_again").exists()


def test_another_unit_cannot_show_the_code(
    as_persona: Callable[[str], Client], course: Course, patient: Patient
) -> None:
    order, code = order_with_code(as_persona("clinician"), course, patient)
    response = as_persona("haukeland_clinician").post(
        reverse("scheduling:show_code", args=[order.pk])
    )
    assert response.status_code in (403, 404)
    assert code not in response.content.decode()
    assert not AuditEvent.objects.filter(action="nnrr.order.code_shown_again").exists()


# How the order is changed after it was made → should "Vis engangskode" be offered?
BUTTON_CASES = {
    "open": ({}, True),
    "past its deadline": ({"expires_at": timezone.now() - dt.timedelta(hours=1)}, False),
    "code used": ({"code_used_at": timezone.now()}, False),
    "code locked": ({"code_locked_at": timezone.now()}, False),
    "made before sealing": ({"code_sealed": ""}, False),
    "sent": ({"state": OrderState.SENT}, True),
    "reminded": ({"state": OrderState.REMINDED}, True),
    "expired": ({"state": OrderState.EXPIRED}, False),
    "cancelled": ({"state": OrderState.CANCELLED}, False),
}


@pytest.mark.parametrize("case", BUTTON_CASES)
def test_the_button_appears_exactly_when_the_service_would_show_the_code(
    as_persona: Callable[[str], Client], course: Course, patient: Patient, case: str
) -> None:
    change, offered = BUTTON_CASES[case]
    client = as_persona("clinician")
    order, code = order_with_code(client, course, patient)
    Order.objects.filter(pk=order.pk).update(**change)

    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    button = reverse("scheduling:show_code", args=[order.pk])
    assert (button in page) is offered
    assert ("Vis engangskode" in page) is offered
    # Pressing it (or posting without it) gets the code exactly when the button was there.
    shown = client.post(button, follow=True).content.decode()
    assert (code in shown) is offered
