"""FHIR tests: the token issuer runs once per module; machine clients of St. Olavs and Haukeland
are registered with it and with NNRR."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from nnrr.accounts import oidc
from nnrr.api.models import ALL_SCOPES, MachineClient
from nnrr.audit.context import Actor
from nnrr.patients.models import Course, Patient
from nnrr.questionnaires.models import FormKind, Response, Source
from nnrr.scheduling import services as scheduling
from tests.api.token_provider import TokenProvider, start_token_provider
from tests.conftest import HAUKELAND, ST_OLAVS, book, make_patient

ST_OLAVS_CLIENT = "st-olavs-dips"
HAUKELAND_CLIENT = "haukeland-dips"


@pytest.fixture(scope="module")
def token_provider() -> Iterator[TokenProvider]:
    yield from start_token_provider()


@pytest.fixture
def issuer(token_provider: TokenProvider, settings: Any) -> TokenProvider:
    settings.FHIR_TOKEN_ISSUER = token_provider.url
    settings.FHIR_AUDIENCE = "nnrr:fhir"
    oidc.clear_cache()
    token_provider.lifetime, token_provider.token_type = 600, "at+jwt"
    for client_id in (ST_OLAVS_CLIENT, HAUKELAND_CLIENT):
        if client_id not in token_provider.clients:
            token_provider.register(client_id, set(ALL_SCOPES))
    return token_provider


@pytest.fixture
def machine_clients(db: Any, issuer: TokenProvider) -> dict[str, MachineClient]:
    return {
        ST_OLAVS_CLIENT: MachineClient.objects.create(
            client_id=ST_OLAVS_CLIENT,
            name="DIPS St. Olavs",
            unit_id=ST_OLAVS,
            scopes=list(ALL_SCOPES),
        ),
        HAUKELAND_CLIENT: MachineClient.objects.create(
            client_id=HAUKELAND_CLIENT,
            name="DIPS Haukeland",
            unit_id=HAUKELAND,
            scopes=list(ALL_SCOPES),
        ),
    }


@pytest.fixture
def api(issuer: TokenProvider, machine_clients: Any) -> Callable[..., Client]:
    """``api("st-olavs-dips")`` → a test client sending that client's bearer token."""

    def make(client_id: str = ST_OLAVS_CLIENT, scopes: str = " ".join(ALL_SCOPES)) -> Client:
        token = issuer.token(client_id, scopes)
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return make


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
