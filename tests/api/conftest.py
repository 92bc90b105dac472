"""FHIR tests: the records the read API serves. The token issuer and the machine clients of St.
Olavs and Haukeland are fixtures of tests/conftest.py (the cross-unit and browser tests use them
too)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from nnrr.audit.context import Actor
from nnrr.patients.models import Course, Patient
from nnrr.questionnaires.models import FormKind, Response, Source
from nnrr.scheduling import services as scheduling
from tests.conftest import (  # noqa: F401 - re-exported
    HAUKELAND,
    HAUKELAND_CLIENT,
    ST_OLAVS,
    ST_OLAVS_CLIENT,
    book,
    make_patient,
)


@dataclass
class Records:
    patient: Patient
    course: Course
    pre: Response
    follow_up: Response
    unconsented: Patient


def submit(course: Course, kind: str, answers: dict[str, Any], at: dt.datetime) -> Response:
    return scheduling.submit_patient_form(
        actor=Actor.system("test"),
        course=course,
        kind=kind,
        answers=answers,
        consent=True if kind == FormKind.PRE_TREATMENT else None,
        source=Source.PORTAL,
        now=at,
    )


@pytest.fixture
def records(persona: Any) -> Records:
    clinician = persona("clinician")
    patient = make_patient(ST_OLAVS, name="Rita Rekord")
    course = book(clinician, patient)
    now = timezone.now()
    pre = submit(
        course,
        FormKind.PRE_TREATMENT,
        {"FamilyStatus": 2, "IsNeckPainMainProblem": 1, "IsPainLowBack": True},
        now - dt.timedelta(days=200),
    )
    follow_up = submit(course, FormKind.FOLLOW_UP_6, {"OdiPain": 2}, now - dt.timedelta(days=10))
    # A patient booked but without a consented form: nothing of theirs is served.
    unconsented = make_patient(ST_OLAVS, name="Uno Samtykke")
    book(clinician, unconsented)
    return Records(patient, course, pre, follow_up, unconsented)
