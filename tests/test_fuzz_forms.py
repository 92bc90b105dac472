"""Property-based fuzzing of every form field of the staff pages and the portal.

The pages: registration, courses, forms and orders; the reports ("Rapporter", the national file,
PDFs, coverage, subscriptions), the export page and its count, the access administration ("Ny
bruker", "Gi rolle", a role's end date and "Avslutt nå", units) and the portal's entry.

Each page gets a plausible POST (or GET) whose fields are then overwritten or dropped at random
with hostile values: NUL bytes, Unicode digits, numbers beyond any column, dates from year 1 to
9999, NaN, very long text, markup, other sites' URLs. The properties: no response is a 500, and
nothing is half-written (the registry's invariants hold after every request, and a request that
was refused changed nothing). The example count is modest so the suite stays fast; raise it with
NNRR_FUZZ_EXAMPLES for a long run.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db.models import Count, F, Q, Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nnrr.administration.forms import GrantForm, NewUserForm
from nnrr.exports.forms import DeliveryForm, FilterForm
from nnrr.patients.forms import BookingForm, ContactForm, RegisterPatientForm
from nnrr.patients.models import ConsentLogEntry, Course, Patient
from nnrr.portal.views import CodeEntryForm, LinkEntryForm
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.reports.forms import CoverageForm, DocumentForm, ReportForm, SubscriptionForm
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order
from nnrr.scheduling.views import ReorderForm
from tests.conftest import ST_OLAVS, Persona, book, login, make_patient

# Fuzzing every form (slow: `make test` runs it, `make test-fast` not).
pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("NNRR_FUZZ_EXAMPLES", "10"))

HOSTILE = [
    "",
    " ",
    "\x00",
    "Ola\x00Nordmann",
    "²",
    "١٢٣",
    "𝟗𝟗",
    "9" * 40,
    "-1",
    "0",
    "NaN",
    "Infinity",
    "1e999",
    "0001-01-01",
    "9999-12-31",
    "31.12.9999",
    "01.01.0001",
    "2026-02-30",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "x" * 3000,
    "🙂" * 50,
    "https://evil.example/",
    "//evil.example",
    "javascript:alert(1)",
    "/\r\nSet-Cookie: x=1",
    "on",
    "1",
    "yes",
    "true",
    "complete",
    "save",
    "later",
    "back",
    "next",
    "M54.5",
    "00000000-0000-0000-0000-000000000000",
]

EDGE_DATES = ["0001-01-01", "0001-01-17", "9999-12-31", "31.12.9999", "1899-12-31", "2101-01-01"]

# Inputs that raised 500s before they were fixed (issue 7's fuzzing).
KNOWN_BAD = ["0001-01-01", "9999-12-31", "\x00", "²", "9" * 40, "NaN", "Infinity"]

VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(EDGE_DATES),
    st.text(max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(
        lambda d: d.isoformat()
    ),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(
        lambda d: d.strftime("%d.%m.%Y")
    ),
)


def _items(kind: str) -> list[str]:
    definition = get_definition(kind)
    names: list[str] = []
    for section in definition.sections:
        for element in section.elements:
            items = getattr(element, "items", None)
            for item in items if items is not None else [element]:
                names.append(item.id)
    return names


def _fields(form_class: type) -> list[str]:
    return list(form_class.base_fields)


@dataclass
class World:
    clinician: Client
    local_admin: Client
    patient: Patient
    course: Course
    completed: Response
    order: Order
    code: str
    persona: Callable[[str], Persona]
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def world(persona: Callable[[str], Persona]) -> World:
    clinician = persona("clinician")
    patient = make_patient(ST_OLAVS, name="Fuzz Pasient")
    course = book(clinician, patient, planned_in_days=20)
    done_course = book(clinician, patient, planned_in_days=25)
    completed = Response.objects.get(course=done_course, kind=FormKind.CLINICIAN)
    Response.objects.filter(pk=completed.pk).update(status=FormStatus.FERDIGSTILT)
    new = scheduling.order_questionnaire(
        actor=clinician.actor,
        course=course,
        kind=FormKind.PRE_TREATMENT,
        notify_self=True,
        now=timezone.now(),
    )
    return World(
        clinician=login(Client(), clinician),
        local_admin=login(Client(), persona("local_admin")),
        patient=patient,
        course=course,
        completed=completed,
        order=new.order,
        code=new.code,
        persona=persona,
    )


@dataclass(frozen=True)
class Page:
    """A page to fuzz: how to reach it, its fields, a plausible submission."""

    name: str
    method: str
    url: Callable[[World], str]
    fields: Callable[[World], list[str]]
    baseline: Callable[[World], dict[str, str]]
    client: Callable[[World], Client] = lambda w: w.clinician
    writes_when_refused: bool = False  # saves a draft or counts a failed attempt by design


def _none(w: World) -> dict[str, str]:
    return {}


def _dates(w: World) -> dict[str, str]:
    today = timezone.localdate()
    return {
        "referral_date": (today - dt.timedelta(days=3)).isoformat(),
        "planned_consultation_date": (today + dt.timedelta(days=40)).isoformat(),
        "version": str(w.course.version),
    }


def _portal(w: World) -> Client:
    """A patient's browser inside the portal with consent given."""
    if "portal" not in w.extra:
        client = Client()
        client.post(reverse("portal:start"), {"code": w.code, "birth_date": "17.05.1975"})
        client.post(reverse("portal:consent"), {"consent": "1"})
        w.extra["portal"] = client
    client: Client = w.extra["portal"]
    return client


def _as(key: str) -> Callable[[World], Client]:
    """A logged-in browser of the persona ``key`` (one per world)."""

    def client(w: World) -> Client:
        if key not in w.extra:
            w.extra[key] = login(Client(), w.persona(key))
        made: Client = w.extra[key]
        return made

    return client


def _filters(w: World) -> list[str]:
    return [*_fields(FilterForm), *_fields(DeliveryForm), "step"]


PAGES = [
    Page("search", "get", lambda w: reverse("patients:search"), lambda w: ["national_id"], _none),
    Page(
        "create_search",
        "get",
        lambda w: reverse("patients:create_search"),
        lambda w: ["national_id"],
        _none,
    ),
    Page(
        "register",
        "post",
        lambda w: reverse("patients:register"),
        lambda w: [*_fields(RegisterPatientForm), "then"],
        lambda w: {"national_id": w.patient.national_id, "name": "Ny Pasient", "then": "view"},
    ),
    Page(
        "contact",
        "post",
        lambda w: reverse("patients:contact", args=[w.patient.pk]),
        lambda w: _fields(ContactForm),
        lambda w: {"email": "ny@example.no", "mobile": "12345678"},
    ),
    Page(
        "withdraw",
        "post",
        lambda w: reverse("patients:withdraw", args=[w.patient.pk]),
        lambda w: ["reason", "confirm"],
        lambda w: {"reason": "ønsker ikke"},
    ),
    Page(
        "create_clinician_form",
        "post",
        lambda w: reverse("patients:create_clinician_form", args=[w.patient.pk]),
        lambda w: _fields(BookingForm),
        _dates,
    ),
    Page(
        "course_dates",
        "post",
        lambda w: reverse("patients:course_dates", args=[w.course.pk]),
        lambda w: _fields(BookingForm),
        _dates,
    ),
    Page(
        "course_recreate",
        "post",
        lambda w: reverse("patients:course_recreate", args=[w.course.pk]),
        lambda w: _fields(BookingForm),
        _dates,
    ),
    Page(
        "course_delete",
        "post",
        lambda w: reverse("patients:course_delete", args=[w.course.pk]),
        lambda w: ["reason"],
        _none,
    ),
    Page(
        "course_owner",
        "post",
        lambda w: reverse("patients:course_owner", args=[w.course.pk]),
        lambda w: ["owner", "back", "q"],
        lambda w: {"owner": str(w.persona("clinician").user.pk)},
    ),
    Page(
        "course_owner_search",
        "get",
        lambda w: reverse("patients:course_owner", args=[w.course.pk]),
        lambda w: ["q", "back"],
        _none,
    ),
    Page(
        "fill",
        "post",
        lambda w: reverse(
            "questionnaires:fill",
            args=[Response.objects.get(course=w.course, kind=FormKind.CLINICIAN).pk],
        ),
        lambda w: ["version", "action", *_items(FormKind.CLINICIAN)],
        lambda w: {
            "version": str(Response.objects.get(course=w.course, kind=FormKind.CLINICIAN).version),
            "action": "save",
        },
        writes_when_refused=True,  # a draft keeps the valid answers and shows the errors
    ),
    *[
        Page(
            f"paper_{kind}",
            "post",
            lambda w, kind=kind: reverse("questionnaires:paper", args=[w.course.pk, kind]),
            lambda w, kind=kind: ["consent", *_items(kind)],
            _none,
        )
        for kind in (FormKind.PRE_TREATMENT, FormKind.FOLLOW_UP_6)
    ],
    Page(
        "return",
        "post",
        lambda w: reverse("questionnaires:return", args=[w.completed.pk]),
        lambda w: ["reason"],
        _none,
        client=lambda w: w.local_admin,
    ),
    Page(
        "order",
        "post",
        lambda w: reverse("scheduling:order", args=[w.patient.pk]),
        lambda w: ["kind", "course", "notify_self", "confirm"],
        lambda w: {"kind": FormKind.PRE_TREATMENT, "course": str(w.course.pk)},
    ),
    Page(
        "reorder",
        "post",
        lambda w: reverse("scheduling:reorder", args=[w.order.pk]),
        lambda w: _fields(ReorderForm),
        _none,
    ),
    Page(
        "audit_log",
        "get",
        lambda w: reverse("audit:log"),
        lambda w: ["patient", "user", "action", "page"],
        _none,
        client=lambda w: w.local_admin,
    ),
    *[
        Page(f"worklist_{name}", "get", lambda w, n=name: reverse(n), lambda w: ["page"], _none)
        for name in ("worklists:mine", "worklists:unit", "worklists:consent")
    ],
    Page(
        "diagnosis_search",
        "get",
        lambda w: reverse("questionnaires:diagnosis_search"),
        lambda w: ["q", "target"],
        _none,
    ),
    Page(
        "choose_profile",
        "post",
        lambda w: reverse("accounts:choose_profile"),
        lambda w: ["membership", "next"],
        lambda w: {"membership": str(w.persona("clinician").membership.pk)},
    ),
    Page(
        "report_show",
        "get",
        lambda w: reverse("reports:show"),
        lambda w: _fields(ReportForm),
        lambda w: {
            "rapport": "pasientsammensetning",
            "fra": str(timezone.localdate().year - 1),
            "til": str(timezone.localdate().year),
            "sammenligning": "all",
        },
        client=_as("report_reader"),
    ),
    Page(
        "report_national_file",
        "get",
        lambda w: reverse("reports:national_file"),
        lambda w: ["fra", "til"],
        lambda w: {"fra": "2024", "til": "2025"},
        client=_as("national_admin"),
    ),
    Page(
        "report_documents",
        "post",
        lambda w: reverse("reports:documents"),
        lambda w: _fields(DocumentForm),
        _none,
        client=_as("report_reader"),
    ),
    Page(
        "report_coverage",
        "post",
        lambda w: reverse("reports:coverage"),
        lambda w: [*_fields(CoverageForm), "enhet"],
        lambda w: {"aar": str(timezone.localdate().year - 1), "halvaar": "1"},
        client=lambda w: w.local_admin,
    ),
    Page(
        "report_subscriptions",
        "post",
        lambda w: reverse("reports:subscriptions"),
        lambda w: _fields(SubscriptionForm),
        _none,
        client=_as("report_reader"),
    ),
    Page(
        "export_count",
        "get",
        lambda w: reverse("exports:count"),
        lambda w: _fields(FilterForm),
        lambda w: {"forms": FormKind.CLINICIAN},
        client=_as("exporter"),
    ),
    Page(
        "export",
        "post",
        lambda w: reverse("exports:index"),
        _filters,
        lambda w: {"forms": FormKind.CLINICIAN, "step": "confirm"},
        client=_as("exporter"),
    ),
    Page(
        "admin_user_new",
        "post",
        lambda w: reverse("accounts:user_new"),
        lambda w: _fields(NewUserForm),
        _none,
        client=lambda w: w.local_admin,
    ),
    Page(
        "admin_grant",
        "post",
        lambda w: reverse("accounts:user", args=[w.persona("clinician").user.pk]),
        lambda w: _fields(GrantForm),
        lambda w: {"unit": str(ST_OLAVS), "role": "pasientansvarlig"},
        client=_as("national_admin"),
    ),
    Page(
        "admin_membership",
        "post",
        lambda w: reverse("accounts:membership", args=[w.persona("clinician").membership.pk]),
        lambda w: ["valid_until", "can_export_identifiable", "action"],
        _none,
        client=_as("national_admin"),
    ),
    Page(
        "admin_units",
        "post",
        lambda w: reverse("accounts:units"),
        lambda w: [
            "ny-resh_id",
            "ny-name",
            "ny-short_name",
            "ny-organisation_number",
            "ny-is_active",
        ],
        _none,
        client=_as("national_admin"),
    ),
    Page(
        "portal_start",
        "post",
        lambda w: reverse("portal:start"),
        lambda w: _fields(CodeEntryForm),
        lambda w: {"code": w.code},
        client=lambda w: Client(),
        writes_when_refused=True,  # a failed attempt is counted
    ),
    Page(
        "portal_link",
        "post",
        lambda w: reverse("portal:link", args=["x" * 43]),
        lambda w: _fields(LinkEntryForm),
        _none,
        client=lambda w: Client(),
        writes_when_refused=True,
    ),
    Page(
        "portal_consent",
        "post",
        lambda w: reverse("portal:consent"),
        lambda w: ["consent"],
        _none,
        client=_portal,
    ),
    *[
        Page(
            f"portal_section_{step}",
            "post",
            lambda w, step=step: reverse("portal:section", args=[step]),
            lambda w: ["action", *_items(FormKind.PRE_TREATMENT)],
            _none,
            client=_portal,
            writes_when_refused=True,  # the section's valid answers are kept as a draft
        )
        for step in (1, 2)
    ],
]


def _snapshot() -> dict[str, Any]:
    """What a refused request must not change (audit events may be added)."""
    return {
        "patients": list(Patient.objects.order_by("pk").values_list("pk", "name", "email")),
        "courses": list(
            Course.objects.order_by("pk").values_list(
                "pk", "status", "version", "owner_id", "planned_consultation_date"
            )
        ),
        "responses": list(
            Response.objects.order_by("pk").values_list("pk", "status", "version", "consent")
        ),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "state", "version")),
        "consent_log": ConsentLogEntry.objects.count(),
    }


def _assert_invariants() -> None:
    """Nothing half-done: the registry's structure holds whatever was posted."""
    # Every course has exactly one Behandlerskjema.
    courses = Course.objects.annotate(
        clinician=Count("responses", filter=Q(responses__kind=FormKind.CLINICIAN))
    )
    assert not courses.exclude(clinician=1).exists()
    # No completed pre-treatment form without consent; no stored patient form on a course of a
    # patient who withdrew.
    assert (
        not Response.objects.filter(kind=FormKind.PRE_TREATMENT, status=FormStatus.FERDIGSTILT)
        .exclude(consent=True)
        .exists()
    )
    # An order's form belongs to the order's course, and an answered order has its form.
    assert not Order.objects.exclude(response=None).exclude(response__course=F("course")).exists()
    # Versions only grow from 1.
    assert not Course.objects.filter(version__lt=1).exists()
    assert (Order.objects.aggregate(low=Sum("version"))["low"] or 0) >= Order.objects.count()


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_form_field_value_gives_a_500_or_a_partial_write(world: World, page: Page) -> None:
    fields = page.fields(world)

    def run(everywhere: str | None, overrides: dict[str, str], dropped: set[str]) -> None:
        # The control fields keep their plausible value here (a bad version is a conflict
        # before anything else is looked at); the overrides still reach them.
        spread = (
            {name: everywhere for name in fields if name not in ("version", "action")}
            if everywhere is not None
            else {}
        )
        data = {**page.baseline(world), **spread, **overrides}
        for name in dropped:
            data.pop(name, None)
        before = _snapshot()
        client = page.client(world)
        url = page.url(world)
        response = client.get(url, data) if page.method == "get" else client.post(url, data)
        assert response.status_code < 500, (page.name, data)
        _assert_invariants()
        refused = response.status_code >= 400 or (
            page.method == "post" and response.status_code == 200
        )
        if refused and not page.writes_when_refused:
            assert _snapshot() == before, (page.name, data)

    # The values that gave 500s before, in every field at once, are always tried.
    for value in KNOWN_BAD:
        run = example(everywhere=value, overrides={}, dropped=set())(run)
    run = given(
        # One hostile value in every field at once (e.g. both dates in year 1), or none.
        everywhere=st.one_of(st.none(), st.sampled_from(HOSTILE + EDGE_DATES)),
        overrides=st.dictionaries(st.sampled_from(fields), VALUES, max_size=min(6, len(fields))),
        dropped=st.sets(st.sampled_from(fields), max_size=1),
    )(run)
    settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )(run)()
