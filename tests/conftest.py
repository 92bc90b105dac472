"""Shared fixtures: named personas, logged-in clients, and a few factories.

Personas (each a user with one profile = role at a unit):
- ``clinician``: Pasientansvarlig at St. Olavs (Kari Behandler)
- ``clerk``: Pasientansvarlig at St. Olavs (Per Merkantil)
- ``local_admin``: Lokal registeransvarlig at St. Olavs (Lise Lokal)
- ``haukeland_clinician``: Pasientansvarlig at Haukeland (Hanne Haukeland)
- ``haukeland_local_admin``: Lokal registeransvarlig at Haukeland (every form right, other unit)
- ``exporter``: Datadumprapportleser at St. Olavs
- ``report_reader``: Rapportleser at St. Olavs
- ``national_admin``: Registeradministrator at UNN-Tromsø
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from nnrr.accounts import oidc
from nnrr.accounts.middleware import LOGIN_TIME_SESSION_KEY
from nnrr.accounts.models import Identity, Membership, Role, Unit, User
from nnrr.accounts.profiles import PROFILE_SESSION_KEY
from nnrr.api.models import ALL_SCOPES, MachineClient
from nnrr.audit.context import Actor
from nnrr.demo.people import synthetic_id
from nnrr.lib.dates import oslo_date
from nnrr.lib.scopes import no_scope, unscoped
from nnrr.patients.models import Course, Patient
from nnrr.patients.services import register_patient
from nnrr.scheduling import services as scheduling
from tests.api.token_provider import TokenProvider, start_token_provider

# Property tests check behaviour, never speed (speed is for bench/): no per-example deadline and
# no "too slow" health check, which a busy CI machine would otherwise turn into a failure of a
# correct test (a date filter property test failed once in a mutation run's first pass at
# load 4, and passed in every run since, alone and with the whole selection).
hypothesis_settings.register_profile(
    "nnrr", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("nnrr")


def pytest_collection_finish(session: pytest.Session) -> None:
    """In a mutation run, load the URLconf (every view, and scipy and matplotlib behind the
    reports) once, here: mutmut collects the tests in one process and forks it for each mutant,
    and each fork's first ``reverse()`` or request would otherwise load it again (seconds)."""
    if "MUTANT_UNDER_TEST" in os.environ:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 - loading it is the point


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache: the database is rolled back between tests, the
    cache (cached report counts, charts, throttles) is not."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _unscoped_test_body(request: pytest.FixtureRequest) -> Iterator[None]:
    """The test's own set-up and checks see every unit (``nnrr.lib.scopes``): fixtures create
    rows at several units and assertions read them back. What the test exercises opens its
    own scope as in production: each request runs in its profile's scope (none without a
    profile) and the workers open theirs. ``@pytest.mark.scoped`` tests start with no scope."""
    if request.node.get_closest_marker("scoped"):
        with no_scope():
            yield
        return
    with unscoped("test set-up and assertions"):
        yield


ST_OLAVS = 104293
HAUKELAND = 102959
UNN_TROMSO = 601032

PERSONAS: dict[str, tuple[str, str, int]] = {
    "clinician": ("Kari Behandler", Role.PASIENTANSVARLIG, ST_OLAVS),
    "clerk": ("Per Merkantil", Role.PASIENTANSVARLIG, ST_OLAVS),
    "local_admin": ("Lise Lokal", Role.LOKAL_REGISTERANSVARLIG, ST_OLAVS),
    "haukeland_clinician": ("Hanne Haukeland", Role.PASIENTANSVARLIG, HAUKELAND),
    "haukeland_local_admin": ("Harald Haukeland", Role.LOKAL_REGISTERANSVARLIG, HAUKELAND),
    "exporter": ("Dag Datadump", Role.DATADUMPRAPPORTLESER, ST_OLAVS),
    "report_reader": ("Randi Rapport", Role.RAPPORTLESER, ST_OLAVS),
    "national_admin": ("Siri Sekretariat", Role.REGISTERADMINISTRATOR, UNN_TROMSO),
}

_serial = itertools.count(1)


@dataclass
class Persona:
    user: User
    membership: Membership

    @property
    def unit(self) -> Unit:
        return self.membership.unit

    @property
    def actor(self) -> Actor:
        return Actor(
            user=self.user,
            name=str(self.user),
            role=self.membership.role,
            unit_id=self.membership.unit_id,
            client_address="127.0.0.1",
        )


def make_persona(key: str) -> Persona:
    name, role, unit = PERSONAS[key]
    user = User.objects.create(username=f"{key}-{next(_serial)}", full_name=name)
    rng = random.Random(next(_serial))
    subject = synthetic_id(rng, dt.date(1980, 1, 1), "F")
    while Identity.objects.filter(subject=subject).exists():
        subject = synthetic_id(rng, dt.date(1980, 1, 1), "F")
    Identity.objects.create(user=user, provider=Identity.Provider.IDPORTEN, subject=subject)
    membership = Membership.objects.create(user=user, unit_id=unit, role=role)
    return Persona(user=user, membership=membership)


@pytest.fixture
def persona(db: Any) -> Callable[[str], Persona]:
    """``persona("clinician")`` → a user with that profile (one per call)."""
    cache: dict[str, Persona] = {}

    def get(key: str) -> Persona:
        if key not in cache:
            cache[key] = make_persona(key)
        return cache[key]

    return get


def login(client: Client, who: Persona) -> Client:
    client.force_login(who.user, backend="nnrr.accounts.backends.IdentityBackend")
    session = client.session
    session[PROFILE_SESSION_KEY] = who.membership.pk
    session[LOGIN_TIME_SESSION_KEY] = time.time()
    session.save()
    return client


@pytest.fixture
def as_persona(persona: Callable[[str], Persona]) -> Callable[[str], Client]:
    """``as_persona("clinician")`` → a test client logged in with that profile."""

    def make(key: str) -> Client:
        return login(Client(), persona(key))

    return make


_patient_serial = itertools.count(100)


def make_patient(
    unit_id: int,
    *,
    name: str = "Ola Nordmann",
    email: str = "ola@example.no",
    born: dt.date = dt.date(1975, 5, 17),
) -> Patient:
    rng = random.Random(next(_patient_serial))
    nid = synthetic_id(rng, born, "M")
    while Patient.objects.filter(national_id=nid).exists():
        nid = synthetic_id(rng, born, "M")
    unit = Unit.objects.get(pk=unit_id)
    return register_patient(
        actor=Actor.system("test"), unit=unit, national_id=nid, name=name, email=email
    )


@pytest.fixture
def patient_factory(db: Any) -> Callable[..., Patient]:
    return make_patient


def book(
    who: Persona,
    patient: Patient,
    *,
    planned_in_days: int = 30,
    referral_days_ago: int = 10,
    now: dt.datetime | None = None,
) -> Course:
    now = now or timezone.now()
    today = oslo_date(now)
    return scheduling.book_course(
        actor=who.actor,
        patient=patient,
        unit=who.unit,
        referral_date=today - dt.timedelta(days=referral_days_ago),
        planned_date=today + dt.timedelta(days=planned_in_days),
        now=now,
    )


@pytest.fixture
def course_factory(db: Any) -> Callable[..., Course]:
    return book


def profile_request(persona: Callable[[str], Persona], key: str) -> Any:
    """A bare request by ``persona(key)`` with its profile chosen, for the access functions."""
    from django.test import RequestFactory

    from nnrr.accounts.profiles import Profile

    who = persona(key)
    request = RequestFactory().get("/")
    request.user = who.user
    request.profile = Profile.from_membership(who.membership)
    return request


def complete_pre_treatment(course: Course) -> Any:
    """The course's Pasientskjema før behandling answered in the portal with consent."""
    from nnrr.questionnaires.models import FormKind, Source

    return scheduling.submit_patient_form(
        actor=Actor.system("test"),
        course=course,
        kind=FormKind.PRE_TREATMENT,
        answers={"FamilyStatus": 2, "PainExperiencesNoActivity": 6},
        consent=True,
        source=Source.PORTAL,
        now=timezone.now(),
    )


# --- FHIR machine clients (nnrr/api) -------------------------------------------------------------
# The token issuer (tests/api/token_provider.py) runs once per module; St. Olavs' and Haukeland's
# record systems are registered with it and with NNRR.

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
    token_provider.without_expiry = False
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
