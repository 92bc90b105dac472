"""One-time codes: a collision with another order's code draws a new one (no 500), and the code
shown once after "Bestill" is never in plain text in the session."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import codes
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order
from tests.conftest import ST_OLAVS, Persona, book, make_patient

CODE_PATTERN = re.compile(r'<span id="one-time-code">([A-Z0-9]{4}-[A-Z0-9]{4})</span>')


def test_a_code_already_taken_is_replaced_by_a_fresh_one(
    persona: Callable[[str], Persona], monkeypatch: pytest.MonkeyPatch
) -> None:
    clinician = persona("clinician")
    first = scheduling.order_questionnaire(
        actor=clinician.actor,
        course=book(clinician, make_patient(ST_OLAVS)),
        kind=FormKind.PRE_TREATMENT,
        notify_self=True,
        now=timezone.now(),
    )
    course = book(clinician, make_patient(ST_OLAVS))
    drawn = iter([first.code, "TTTT-TTTT"])
    monkeypatch.setattr(codes, "new_code", lambda: next(drawn))

    second = scheduling.order_questionnaire(
        actor=clinician.actor,
        course=course,
        kind=FormKind.PRE_TREATMENT,
        notify_self=True,
        now=timezone.now(),
    )

    assert second.code == "TTTT-TTTT"
    assert Order.objects.get(pk=second.order.pk).code_hash == codes.code_hash("TTTT-TTTT")
    assert Order.objects.get(pk=first.order.pk).code_hash == codes.code_hash(first.code)


def test_bestill_survives_a_code_collision(
    as_persona: Callable[[str], Client],
    persona: Callable[[str], Persona],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clinician = persona("clinician")
    taken = scheduling.order_questionnaire(
        actor=clinician.actor,
        course=book(clinician, make_patient(ST_OLAVS)),
        kind=FormKind.PRE_TREATMENT,
        notify_self=True,
        now=timezone.now(),
    )
    patient = make_patient(ST_OLAVS, name="Kollisjon Kode")
    course = book(clinician, patient)
    drawn = iter([taken.code, taken.code, "WWWW-WWWW", "XXXX-XXXX"])
    monkeypatch.setattr(codes, "new_code", lambda: next(drawn))

    response = as_persona("clinician").post(
        reverse("scheduling:order", args=[patient.pk]),
        {
            "kind": FormKind.PRE_TREATMENT,
            "course": str(course.pk),
            "notify_self": "on",
            "confirm": "on",
        },
        follow=True,
    )

    assert response.status_code == 200
    [shown] = CODE_PATTERN.findall(response.content.decode())
    assert shown != taken.code
    assert Order.objects.filter(code_hash=codes.code_hash(shown), course=course).exists()


def test_the_code_is_not_in_plain_text_in_the_session(
    as_persona: Callable[[str], Client], persona: Callable[[str], Persona]
) -> None:
    clinician = persona("clinician")
    patient = make_patient(ST_OLAVS, name="Økt Uten Kode")
    course = book(clinician, patient)
    client = as_persona("clinician")
    response = client.post(
        reverse("scheduling:order", args=[patient.pk]),
        {
            "kind": FormKind.PRE_TREATMENT,
            "course": str(course.pk),
            "notify_self": "on",
            "confirm": "on",
        },
    )
    assert response.status_code == 302
    stored = " ".join(
        str(s.get_decoded()) for s in Session.objects.all()
    )  # what a copy of the session table would hold
    page = client.get(response["Location"]).content.decode()
    [code] = CODE_PATTERN.findall(page)
    assert code not in stored
    assert code.replace("-", "") not in stored
    # shown once
    assert not CODE_PATTERN.findall(client.get(response["Location"]).content.decode())


def test_a_sealed_code_expires_and_belongs_to_its_order(db: Any) -> None:
    order_id, other_id = Order._meta.pk.default(), Order._meta.pk.default()  # type: ignore[union-attr]
    now = time.time()
    sealed = codes.seal_for_session(order_id, "ACDE-FHJK", now)
    assert codes.unseal_from_session(order_id, sealed, now + 1) == "ACDE-FHJK"
    assert codes.unseal_from_session(order_id, sealed, now + codes.REVEAL_SECONDS + 1) is None
    assert codes.unseal_from_session(other_id, sealed, now + 1) is None
    # A plain value is not accepted.
    assert codes.unseal_from_session(order_id, "ACDE-FHJK", now) is None
    bad = {"nonce": "x", "sealed": "zz", "until": now + 5}
    assert codes.unseal_from_session(order_id, bad, now) is None
