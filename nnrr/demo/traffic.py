"""Simulated clinic staff and patients driving a running server over HTTP, and the check that
nothing they were given a receipt for is lost or stored twice.

Used by ``bench/load.py`` (locust) and by the scale-out test (two web processes, two workers).
The flows speak plain HTTP through a :class:`Driver`, so the same code runs in a thread with
``requests`` or in a locust user:

- a clinic user (Pasientansvarlig): front page, patient search, patient page, "Opprett →
  Behandlerskjema" (booking a course, which plans the pre-treatment questionnaire), a worklist;
- a patient: the portal's one-time code and date of birth, consent, the first section of the
  pre-treatment form, "Send inn", the receipt.

:func:`prepare` runs inside Django against the target database: staff users with a profile and a
logged-in session each (the sessions live in the database, so any web process serves them),
patients to book, and patients holding a one-time code for an open pre-treatment order.
:func:`verify` afterwards counts, in the database, every booking and submission that got a
receipt.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")
STAFF_PREFIX = "traffic-"
CSRF_COOKIE = "csrftoken"


class Driver(Protocol):
    """One browser: keeps its cookies; ``name`` groups requests in the statistics."""

    def get(self, path: str, name: str) -> tuple[int, str]:
        """Status and Location header (or "")."""

    def post(self, path: str, data: dict[str, str], name: str) -> tuple[int, str]:
        """Status and Location header (or ""); sends the CSRF token from the cookie."""


class RequestsDriver:
    """A :class:`Driver` over ``requests``; ``bases`` are web processes taken in turn, as a
    round-robin proxy would (so one browser's requests land on different processes)."""

    def __init__(self, bases: list[str], session: Any | None = None) -> None:
        import requests

        self.bases = bases
        self.turn = random.randrange(len(bases))
        self.session = session or requests.Session()
        # A new connection per request: no race with the server closing an idle keep-alive
        # connection just as a request goes out (a proxy in front would retry that for us).
        self.session.headers["Connection"] = "close"
        self.timings: list[tuple[str, float, int]] = []

    def _base(self) -> str:
        self.turn = (self.turn + 1) % len(self.bases)
        return self.bases[self.turn]

    def _csrf(self) -> str:
        token = self.session.cookies.get(CSRF_COOKIE)
        if not token:
            token = secrets.token_hex(16)  # a 32-character secret, as Django's cookie holds
            for base in self.bases:
                host = base.split("://", 1)[1].split(":", 1)[0]
                self.session.cookies.set(CSRF_COOKIE, token, domain=host, path="/")
        return str(token)

    def get(self, path: str, name: str) -> tuple[int, str]:
        started = time.perf_counter()
        response = self.session.get(self._base() + path, allow_redirects=False, timeout=60)
        self.timings.append((name, time.perf_counter() - started, response.status_code))
        return response.status_code, response.headers.get("Location", "")

    def post(self, path: str, data: dict[str, str], name: str) -> tuple[int, str]:
        token = self._csrf()
        started = time.perf_counter()
        response = self.session.post(
            self._base() + path,
            data={**data, "csrfmiddlewaretoken": token},
            headers={"X-CSRFToken": token},
            allow_redirects=False,
            timeout=60,
        )
        self.timings.append((name, time.perf_counter() - started, response.status_code))
        return response.status_code, response.headers.get("Location", "")


# --- Data for the simulated users --------------------------------------------------------------


@dataclass
class StaffPlan:
    username: str
    session_key: str
    unit_id: int
    patients: list[tuple[str, str]]  # (patient id, national id) this user books and views


@dataclass
class PatientPlan:
    code: str
    birth_date: str  # dd.mm.yyyy
    order_id: str
    course_id: str


@dataclass
class Plan:
    staff: list[StaffPlan] = field(default_factory=list)
    patients: list[PatientPlan] = field(default_factory=list)
    started_at: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "staff": [vars(s) for s in self.staff],
            "patients": [vars(p) for p in self.patients],
            "started_at": self.started_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            staff=[
                StaffPlan(**{**s, "patients": [tuple(p) for p in s["patients"]]})
                for s in data["staff"]
            ],
            patients=[PatientPlan(**p) for p in data["patients"]],
            started_at=data["started_at"],
        )


def _staff_session(user: Any, membership: Any) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from nnrr.accounts.middleware import LOGIN_TIME_SESSION_KEY
    from nnrr.accounts.profiles import PROFILE_SESSION_KEY

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[PROFILE_SESSION_KEY] = membership.pk
    store[LOGIN_TIME_SESSION_KEY] = time.time()
    store.create()
    return str(store.session_key)


def prepare(
    *, staff: int, patients: int, bookings_per_staff: int, seed: int = 7, units: Iterable[int] = ()
) -> Plan:
    """Users, sessions, patients and open orders for a run (inside Django, on the target
    database). Staff are Pasientansvarlig at the given units (default: every active unit)."""
    from nnrr.lib.scopes import unscoped

    with unscoped("load-test set-up: users, patients and orders at every unit"):
        return _prepare(
            staff=staff,
            patients=patients,
            bookings_per_staff=bookings_per_staff,
            seed=seed,
            units=units,
        )


def _prepare(
    *, staff: int, patients: int, bookings_per_staff: int, seed: int, units: Iterable[int]
) -> Plan:
    from django.utils import timezone

    from nnrr.accounts.models import Membership, Role, Unit, User
    from nnrr.audit.context import Actor
    from nnrr.demo.people import random_person
    from nnrr.lib.dates import oslo_date
    from nnrr.patients.models import Patient
    from nnrr.patients.services import register_patient
    from nnrr.questionnaires.models import FormKind
    from nnrr.scheduling import services as scheduling

    rng = random.Random(seed)
    now = timezone.now()
    today = oslo_date(now)
    unit_list = list(
        Unit.objects.filter(pk__in=list(units)) if units else Unit.objects.filter(is_active=True)
    )
    plan = Plan(started_at=now.isoformat())
    run = secrets.token_hex(3)
    used = set(Patient.objects.values_list("national_id", flat=True))

    def new_patient(unit: Any, label: str) -> Any:
        nid, name, _birth, _sex = random_person(rng, today)
        while nid in used:
            nid, name, _birth, _sex = random_person(rng, today)
        used.add(nid)
        return register_patient(
            actor=Actor.system("load"),
            unit=unit,
            national_id=nid,
            name=name,
            email=f"{label}@example.no",
        )

    for n in range(staff):
        unit = unit_list[n % len(unit_list)]
        user = User.objects.create(
            username=f"{STAFF_PREFIX}{run}-{n}", full_name=f"Last Behandler {run}-{n}"
        )
        membership = Membership.objects.create(user=user, unit=unit, role=Role.PASIENTANSVARLIG)
        booked = [
            new_patient(unit, f"book-{run}-{n}-{k}") for k in range(max(1, bookings_per_staff))
        ]
        plan.staff.append(
            StaffPlan(
                username=user.username,
                session_key=_staff_session(user, membership),
                unit_id=unit.pk,
                patients=[(str(p.pk), p.national_id) for p in booked],
            )
        )
    clerk = User.objects.create(username=f"{STAFF_PREFIX}{run}-clerk", full_name="Last Merkantil")
    for n in range(patients):
        unit = unit_list[n % len(unit_list)]
        actor = Actor(user=clerk, name=str(clerk), role=Role.PASIENTANSVARLIG, unit_id=unit.pk)
        patient = new_patient(unit, f"portal-{run}-{n}")
        course = scheduling.book_course(
            actor=actor,
            patient=patient,
            unit=unit,
            referral_date=today - dt.timedelta(days=3),
            planned_date=today + dt.timedelta(days=20),
            now=now,
        )
        # "Jeg vil varsle mottaker selv": the code is handed over; the patient enters with it.
        new = scheduling.order_questionnaire(
            actor=actor,
            course=course,
            kind=FormKind.PRE_TREATMENT,
            notify_self=True,
            now=now,
        )
        plan.patients.append(
            PatientPlan(
                code=new.code,
                birth_date=patient.birth_date.strftime("%d.%m.%Y"),
                order_id=str(new.order.pk),
                course_id=str(course.pk),
            )
        )
    return plan


# --- The flows ---------------------------------------------------------------------------------


@dataclass
class Receipts:
    """What the simulated users were told succeeded, and what went wrong."""

    bookings: list[str] = field(default_factory=list)  # patient ids, one per receipted booking
    submissions: list[str] = field(default_factory=list)  # order ids with a receipt
    errors: list[str] = field(default_factory=list)

    def extend(self, other: Receipts) -> None:
        self.bookings += other.bookings
        self.submissions += other.submissions
        self.errors += other.errors


def _expect(receipts: Receipts, what: str, got: tuple[int, str], status: int, to: str = "") -> bool:
    code, location = got
    if code != status or (to and to not in location):
        receipts.errors.append(f"{what}: {code} {location}".strip())
        return False
    return True


def clinic_round(
    driver: Driver, staff: StaffPlan, index: int, receipts: Receipts, *, book: bool = True
) -> None:
    """One patient's worth of a clinic user's morning: find, look, book, check the worklist."""
    patient_id, national_id = staff.patients[index % len(staff.patients)]
    _expect(receipts, "front page", driver.get("/", "front page"), 200)
    _expect(
        receipts,
        "search",
        # A search by fødselsnummer is a POST: the number never goes into the URL.
        driver.post("/pasient/sok/", {"national_id": national_id}, "search"),
        302,
        f"/pasient/{patient_id}/",
    )
    _expect(receipts, "patient page", driver.get(f"/pasient/{patient_id}/", "patient page"), 200)
    if book:
        today = dt.datetime.now(OSLO).date()
        got = driver.post(
            f"/pasient/{patient_id}/opprett/behandlerskjema/",
            {
                "referral_date": (today - dt.timedelta(days=2)).strftime("%d.%m.%Y"),
                "planned_consultation_date": (today + dt.timedelta(days=30)).strftime("%d.%m.%Y"),
            },
            "booking",
        )
        if _expect(receipts, "booking", got, 302, f"/pasient/{patient_id}/"):
            receipts.bookings.append(patient_id)
    worklist = ("/arbeidsliste/mine/", "/arbeidsliste/avdelingen/", "/arbeidsliste/samtykke/")[
        index % 3
    ]
    _expect(receipts, "worklist", driver.get(worklist, f"worklist {worklist.split('/')[2]}"), 200)


def patient_visit(driver: Driver, patient: PatientPlan, receipts: Receipts) -> None:
    """Code and date of birth, consent, the first section, "Send inn", the receipt."""
    if not _expect(receipts, "portal start", driver.get("/eprom/", "portal start"), 200):
        return
    got = driver.post(
        "/eprom/", {"code": patient.code, "birth_date": patient.birth_date}, "portal entry"
    )
    if not _expect(receipts, "portal entry", got, 302, "/eprom/samtykke/"):
        return
    got = driver.post("/eprom/samtykke/", {"consent": "1"}, "portal consent")
    if not _expect(receipts, "portal consent", got, 302, "/eprom/skjema/1/"):
        return
    _expect(receipts, "portal section", driver.get("/eprom/skjema/1/", "portal section"), 200)
    got = driver.post("/eprom/skjema/1/", {"action": "later"}, "portal save")
    _expect(receipts, "portal save", got, 200)
    got = driver.post("/eprom/send-inn/", {}, "portal submit")
    if not _expect(receipts, "portal submit", got, 302, "/eprom/kvittering/"):
        return
    if _expect(receipts, "receipt", driver.get("/eprom/kvittering/", "portal receipt"), 200):
        receipts.submissions.append(patient.order_id)


# --- The check ---------------------------------------------------------------------------------


def verify(plan: Plan, receipts: Receipts) -> dict[str, Any]:
    """In the database: every receipted booking has its course and one pre-treatment order,
    every receipted submission is stored exactly once; nothing is stored without a receipt."""
    from nnrr.lib.scopes import unscoped

    with unscoped("load-test check: every unit's stored bookings and forms"):
        return _verify(plan, receipts)


def _verify(plan: Plan, receipts: Receipts) -> dict[str, Any]:
    from nnrr.patients.models import Course
    from nnrr.questionnaires.models import FormKind, FormStatus, Response
    from nnrr.scheduling.models import Order, OrderState

    usernames = [s.username for s in plan.staff]
    booked_patients = [p for s in plan.staff for p, _nid in s.patients]
    courses = Course.objects.filter(
        patient_id__in=booked_patients, created_by__username__in=usernames
    )
    stored = Counter(str(p) for p in courses.values_list("patient_id", flat=True))
    receipted = Counter(receipts.bookings)
    lost_bookings = sum(max(0, n - stored[p]) for p, n in receipted.items())
    extra_bookings = sum(max(0, n - receipted[p]) for p, n in stored.items())
    orders_per_course = Counter(
        str(c)
        for c in Order.objects.filter(course__in=courses, kind=FormKind.PRE_TREATMENT).values_list(
            "course_id", flat=True
        )
    )
    course_ids = [str(c) for c in courses.values_list("pk", flat=True)]
    without_order = sum(1 for c in course_ids if orders_per_course[c] == 0)
    several_orders = sum(1 for c in course_ids if orders_per_course[c] > 1)

    by_order = {p.order_id: p for p in plan.patients}
    receipted_orders = Counter(receipts.submissions)
    answered = {
        str(pk): (str(course), response)
        for pk, course, response in Order.objects.filter(
            pk__in=list(by_order), state=OrderState.ANSWERED
        ).values_list("pk", "course_id", "response_id")
    }
    stored_forms = Counter(
        str(c)
        for c in Response.objects.filter(
            course_id__in=[p.course_id for p in plan.patients],
            kind=FormKind.PRE_TREATMENT,
            status=FormStatus.FERDIGSTILT,
        ).values_list("course_id", flat=True)
    )
    lost_submissions = sum(
        1
        for order_id in receipted_orders
        if order_id not in answered or stored_forms[by_order[order_id].course_id] == 0
    )
    duplicated_submissions = sum(1 for n in stored_forms.values() if n > 1) + sum(
        n - 1 for n in receipted_orders.values() if n > 1
    )
    unreceipted_submissions = sum(1 for order_id in answered if order_id not in receipted_orders)
    return {
        "bookings_receipted": sum(receipted.values()),
        "bookings_stored": sum(stored.values()),
        "bookings_lost": lost_bookings,
        "bookings_stored_without_receipt": extra_bookings,
        "courses_without_order": without_order,
        "courses_with_several_orders": several_orders,
        "submissions_receipted": len(receipted_orders),
        "submissions_stored": sum(stored_forms.values()),
        "submissions_lost": lost_submissions,
        "submissions_duplicated": duplicated_submissions,
        "submissions_stored_without_receipt": unreceipted_submissions,
    }


def lost_and_duplicated(checked: dict[str, Any]) -> tuple[int, int]:
    lost = checked["bookings_lost"] + checked["courses_without_order"]
    lost += checked["submissions_lost"]
    duplicated = checked["courses_with_several_orders"] + checked["submissions_duplicated"]
    return lost, duplicated
