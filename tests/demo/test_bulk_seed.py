"""``nnrr seed``: the bulk generator behind the page benchmarks and report development."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F

from nnrr.demo.bulk import seed
from nnrr.lib.dates import OSLO
from nnrr.patients.models import ConsentLogEntry, Course, Patient
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.scheduling.models import Order, OrderState

NOW = dt.datetime(2026, 11, 2, 12, 0, tzinfo=OSLO)

pytestmark = pytest.mark.django_db


def _seed(scale: int = 50, *, answers: bool = True, seed_value: int = 1) -> int:
    return seed(scale=scale, now=NOW, out=io.StringIO(), answers=answers, seed=seed_value)


def test_fifty_courses_in_plausible_states() -> None:
    assert not Patient.objects.exists()

    assert _seed() == 50

    assert Course.objects.count() == 50
    assert Patient.objects.count() == 50
    assert not Course.objects.exclude(patient__unit=F("unit")).exists()
    # Completed courses: a Ferdigstilt Behandlerskjema, and patient forms with scores.
    completed_clinician = Response.objects.filter(
        kind=FormKind.CLINICIAN, status=FormStatus.FERDIGSTILT
    )
    assert completed_clinician.exists()
    assert all(r.answers.get("S1b_DateOfCompletion") for r in completed_clinician)
    scored = [
        r
        for r in Response.objects.filter(kind=FormKind.PRE_TREATMENT, status=FormStatus.FERDIGSTILT)
        if r.scores
    ]
    assert scored, "completed pre-treatment forms carry their scores"
    assert all(r.consent for r in scored)
    # Every course has exactly one Behandlerskjema.
    assert Response.objects.filter(kind=FormKind.CLINICIAN).count() == 50
    # Purged courses: no consent, deleted, and kept in the consent log.
    purged = Course.objects.filter(status=Course.Status.PURGED)
    assert purged.exists()
    for course in purged:
        assert course.deleted_at is not None
        entry = ConsentLogEntry.objects.get(course_id=course.pk)
        assert entry.reason == ConsentLogEntry.Reason.NO_CONSENT
        assert entry.national_id == course.patient.national_id
        assert not course.responses.filter(status=FormStatus.FERDIGSTILT).exists()
    assert ConsentLogEntry.objects.count() == purged.count()
    # Orders in several states, each with its own secrets.
    states = set(Order.objects.values_list("state", flat=True))
    assert {OrderState.ANSWERED, OrderState.EXPIRED} <= states
    assert len(states) >= 3
    orders = Order.objects.count()
    for field in ("code_hash", "token_hash"):
        assert Order.objects.values(field).distinct().count() == orders
    # An answered order was answered after it was sent.
    for order in Order.objects.filter(state=OrderState.ANSWERED):
        assert order.sent_at is not None
        assert order.answered_at is not None
        assert order.sent_at <= order.answered_at


def _national_ids_of_a_fresh_run(**kwargs: Any) -> list[str]:
    """Seed into an empty database, read the national ids, and undo it all again."""
    assert not Patient.objects.exists()
    with transaction.atomic():
        _seed(**kwargs)
        ids = sorted(Patient.objects.values_list("national_id", flat=True))
        transaction.set_rollback(True)
    assert not Patient.objects.exists()
    return ids


def test_same_seed_gives_the_same_patients() -> None:
    first = _national_ids_of_a_fresh_run()
    second = _national_ids_of_a_fresh_run()

    assert len(first) == 50
    assert first == second
    assert _national_ids_of_a_fresh_run(seed_value=2) != first
