"""Every view that shows or changes patient data writes exactly one audit event of its action.

The test walks the whole URL configuration (``django.urls.get_resolver``). Each named URL must be
listed below, either with the event its patient-data requests write or with the reason it shows no
patient data: a new view that is in neither table fails ``test_every_url_is_classified`` until
someone decides which it is.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from nnrr.appointments import mllp
from nnrr.appointments import services as appointment_services
from nnrr.appointments.models import InboundMessage
from nnrr.appointments.siu import build_siu
from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.demo.people import synthetic_id
from nnrr.lib.dates import oslo_date
from nnrr.patients.models import Course, Patient
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.models import FormKind, Response, Source
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order
from tests.conftest import ST_OLAVS, Persona, book, login, make_patient

# --- The classification ------------------------------------------------------------------------

# URL name -> the action a GET writes (the page shows patient data).
SHOWS_PATIENT_DATA: dict[str, str] = {
    "patients:detail": "nnrr.patient.viewed",
    "patients:contact": "nnrr.patient.contact_opened",
    "patients:withdraw": "nnrr.consent.withdrawal_opened",
    "patients:new_form": "nnrr.patient.new_form_opened",
    "patients:create_clinician_form": "nnrr.course.booking_opened",
    "patients:course_dates": "nnrr.course.dates_opened",
    "patients:course_delete": "nnrr.course.delete_opened",
    "patients:course_owner": "nnrr.course.owner_opened",
    "questionnaires:response": "nnrr.form.viewed",
    "questionnaires:fill": "nnrr.form.opened",
    "questionnaires:return": "nnrr.form.return_opened",
    "questionnaires:journal": "nnrr.form.journal_note_viewed",
    "questionnaires:paper": "nnrr.form.paper_opened",
    "questionnaires:paper_print": "nnrr.form.paper_printed",
    "scheduling:order": "nnrr.order.form_opened",
    "scheduling:order_detail": "nnrr.order.viewed",
    "scheduling:dispatch_log": "nnrr.course.dispatch_log.viewed",
    "scheduling:reorder": "nnrr.order.reorder_opened",
    "worklists:mine": "nnrr.worklist.mine.viewed",
    "worklists:overdue": "nnrr.worklist.overdue.viewed",
    "worklists:unit": "nnrr.worklist.unit.viewed",
    "worklists:consent": "nnrr.worklist.consent.viewed",
    "audit:log": "nnrr.audit.viewed",
    "appointments:index": "nnrr.appointment.list_opened",
    "appointments:detail": "nnrr.appointment.message_opened",
}

# URL name -> the action a valid POST writes (exactly one event of that action).
CHANGES_PATIENT_DATA: dict[str, str] = {
    "patients:search": "nnrr.patient.searched",
    "patients:create_search": "nnrr.patient.searched",
    "patients:register": "nnrr.patient.registered",
    "patients:registry_withdraw": "nnrr.consent.withdrawn",
    "patients:contact": "nnrr.patient.contact_changed",
    "patients:withdraw": "nnrr.consent.withdrawn",
    "patients:create_clinician_form": "nnrr.course.created",
    "patients:course_dates": "nnrr.course.rebooked",
    "patients:course_recreate": "nnrr.course.created",
    "patients:course_delete": "nnrr.course.deleted",
    "patients:course_owner": "nnrr.course.owner_changed",
    "questionnaires:fill": "nnrr.form.saved",
    "questionnaires:autosave": "nnrr.form.saved",
    "questionnaires:return": "nnrr.form.returned",
    "questionnaires:paper": "nnrr.form.submitted",
    "scheduling:order": "nnrr.order.created",
    "scheduling:reorder": "nnrr.order.created",
    "scheduling:show_code": "nnrr.order.code_shown_again",
    "appointments:retry": "nnrr.appointment.reprocessed",
    "appointments:handled": "nnrr.appointment.handled",
}

# URL name (or namespace prefix ending in ":") -> why it is not a staff patient-data view.
NO_PATIENT_DATA: dict[str, str] = {
    "accounts:": "login, profile choice, logout, access administration: no patient data",
    "patients:front": "the front page shows counts of the unit's unfinished forms only",
    "patients:search": "a GET shows the empty search form (the search itself is a POST)",
    "patients:create_search": "a GET shows the empty search form (the search itself is a POST)",
    "patients:registry_withdraw": "a GET shows the empty look-up form",
    "audit:innsyn": (
        "a GET shows the empty look-up form; the POST writes nnrr.audit.innsyn for each of the "
        "person's records (tests/audit/test_log_page.py)"
    ),
    "worklists:index": "redirects to the first worklist with rows (each list is audited)",
    "questionnaires:diagnosis_search": "the ICD-10 code list",
    "questionnaires:diagnosis_check": "the name, group and warning of an ICD-10 code",
    "questionnaires:paper_blank": "a blank paper form for the clinic's stock: no patient data",
    "scheduling:show_code": "POST only (a GET answers 405)",
    "questionnaires:diagnosis_groups": "the ICD-10 code list",
    "questionnaires:diagnosis_group": "the ICD-10 code list",
    "scheduling:demo_outbox": "demo only (404 unless NNRR_DEMO; synthetic people only)",
    "portal:": (
        "the patient's own pages: entry, consent and every stored answer are audited by the "
        "portal services (nnrr.portal.*, nnrr.form.portal_saved, nnrr.form.submitted)"
    ),
    "set_language": "the language cookie",
    "reports:": (
        "aggregates only (cells under 5 from other units shown as <5, N<30 suppressed): no "
        "person-level data (tests/reports/test_views.py)"
    ),
    "exports:": (
        "filters, counts and job state only; the archive is encrypted, and every export writes "
        "nnrr.export.completed and every download nnrr.export.downloaded (tests/exports)"
    ),
    "appointments_fhir:": (
        "machine clients of the booking systems (no user session): every stored message writes "
        "nnrr.appointment.message_received and every applied event nnrr.appointment.<event> "
        "(tests/appointments/test_fhir.py)"
    ),
    "admin:": "Django's admin is not mounted in production (docs/decisions/0012-django-admin.md)",
    "fhir:": (
        "the FHIR API for machine clients with bearer tokens, not staff pages: every record it "
        "serves writes nnrr.fhir.response_read / nnrr.fhir.patient_read as the client, every "
        "refusal nnrr.fhir.* (tests/api/test_read_api.py, tests/api/test_responses_in.py)"
    ),
}


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _patterns(entry, namespace)
        elif entry.name:
            yield prefix + entry.name, entry


def url_names() -> list[str]:
    return sorted({name for name, _pattern in _patterns(get_resolver())})


def _exempt(name: str) -> bool:
    return any(
        name == key or (key.endswith(":") and name.startswith(key)) for key in NO_PATIENT_DATA
    )


def test_every_url_is_classified() -> None:
    names = url_names()
    assert len(names) > 30  # the walk found the configuration, not an empty list
    unlisted = [
        name
        for name in names
        if name not in SHOWS_PATIENT_DATA and name not in CHANGES_PATIENT_DATA and not _exempt(name)
    ]
    assert not unlisted, (
        f"new URLs {unlisted}: add each to SHOWS_PATIENT_DATA/CHANGES_PATIENT_DATA with the "
        "audit event it writes, or to NO_PATIENT_DATA with the reason it shows none"
    )
    # And nothing listed here has disappeared from the configuration unnoticed.
    stale = [n for n in (*SHOWS_PATIENT_DATA, *CHANGES_PATIENT_DATA) if n not in names]
    assert not stale


# --- The objects every view is opened with -------------------------------------------------------


@dataclass
class World:
    admin: Persona  # Lokal registeransvarlig at St. Olavs: every form right and the log
    national: Persona
    patient: Patient
    draft_course: Course  # a Behandlerskjema in Kladd, the pre-treatment order planned
    done_course: Course  # consent given, Behandlerskjema completed
    draft: Response
    completed_clinician: Response
    pre_treatment: Response
    order: Order
    received: InboundMessage  # a booking from the hospital's system waiting for its referral date

    def kwargs(self, name: str) -> dict[str, Any]:
        by_response = {
            "questionnaires:response": self.pre_treatment,
            "questionnaires:fill": self.draft,
            "questionnaires:return": self.completed_clinician,
            "questionnaires:journal": self.pre_treatment,
        }
        pattern = dict(_patterns(get_resolver()))[name]
        values: dict[str, Any] = {}
        for key in pattern.pattern.converters:
            values[key] = {
                "patient_id": self.patient.pk,
                "course_id": self.draft_course.pk,
                "order_id": self.order.pk,
                "kind": FormKind.PRE_TREATMENT.value,
                "response_id": by_response.get(name, self.draft).pk,
                "message_id": self.received.pk,
            }[key]
        return values

    def client(self, name: str) -> Client:
        return login(Client(), self.national if name.endswith("registry_withdraw") else self.admin)


@pytest.fixture
def world(persona: Any) -> World:
    admin = persona("local_admin")
    patient = make_patient(ST_OLAVS, name="Vera Vitne")
    draft_course = book(admin, patient, planned_in_days=30)
    done_course = book(admin, patient, planned_in_days=2)
    now = timezone.now()
    pre = scheduling.submit_patient_form(
        actor=Actor.system("test"),
        course=done_course,
        kind=FormKind.PRE_TREATMENT,
        answers={"FamilyStatus": 1},
        consent=True,
        source=Source.PORTAL,
        now=now,
    )
    clinician_form = Response.objects.get(course=done_course, kind=FormKind.CLINICIAN)
    completed = form_services.complete_form(
        actor=admin.actor,
        response=clinician_form,
        answers={"S1b_DateOfCompletion": oslo_date(now).isoformat()},
        expected_version=clinician_form.version,
        now=now,
    )
    mllp.receive(
        build_siu(
            trigger="S12",
            unit=ST_OLAVS,
            message_id="WORLD-1",
            sent_at=now,
            appointment_id="WORLD-1",
            national_id=patient.national_id,
            start=now + dt.timedelta(days=50),
        ).encode(),
        now=now,
    )
    appointment_services.process_pending(worker_id="world", now=now)
    return World(
        received=InboundMessage.objects.get(message_id="WORLD-1"),
        admin=admin,
        national=persona("national_admin"),
        patient=patient,
        draft_course=draft_course,
        done_course=done_course,
        draft=Response.objects.get(course=draft_course, kind=FormKind.CLINICIAN),
        completed_clinician=completed,
        pre_treatment=pre,
        order=Order.objects.get(course=draft_course, kind=FormKind.PRE_TREATMENT),
    )


def _new_events(before: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=before).order_by("pk"))


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.parametrize("name", sorted(SHOWS_PATIENT_DATA))
def test_each_patient_data_page_writes_exactly_one_event_of_its_action(
    name: str, world: World
) -> None:
    client = world.client(name)
    before = _last_event_id()
    response = client.get(reverse(name, kwargs=world.kwargs(name)))
    assert response.status_code in (200, 302), f"{name}: {response.status_code}"
    # Nor may a browser or proxy keep a copy of the page.
    assert "no-store" in response["Cache-Control"], name
    events = _new_events(before)
    assert [e.action for e in events] == [SHOWS_PATIENT_DATA[name]], name
    event = events[0]
    assert event.actor == (world.national if "registry" in name else world.admin).user
    assert event.outcome == "ok"
    if name.startswith(("patients:", "questionnaires:", "scheduling:")):
        assert event.patient_id == world.patient.pk, f"{name} names no patient"


def _today() -> dt.date:
    return oslo_date(timezone.now())


def _post_data(name: str, world: World) -> dict[str, str]:
    referral = _today() - dt.timedelta(days=5)
    planned = _today() + dt.timedelta(days=40)
    dates = {
        "referral_date": referral.isoformat(),
        "planned_consultation_date": planned.isoformat(),
    }
    new_number = synthetic_id(random.Random(77), dt.date(1970, 2, 2), "F")
    return {
        "patients:search": {"national_id": world.patient.national_id},
        "patients:create_search": {"national_id": world.patient.national_id},
        "patients:register": {"national_id": new_number, "name": "Nina Ny"},
        "patients:registry_withdraw": {
            "national_id": world.patient.national_id,
            "action": "withdraw",
            "reason": "Ønsker ikke å delta",
            "confirm": "on",
        },
        "patients:contact": {"email": "ny@example.no", "mobile": "99887766"},
        "patients:withdraw": {"reason": "Ønsker ikke", "confirm": "yes"},
        "patients:create_clinician_form": dates,
        "patients:course_dates": {**dates, "version": str(world.draft_course.version)},
        "patients:course_recreate": dates,
        "patients:course_delete": {"reason": "Kom ikke til timen"},
        "patients:course_owner": {"owner": str(world.admin.user.pk)},
        "questionnaires:fill": {"version": str(world.draft.version), "action": "save"},
        "questionnaires:autosave": {
            "version": str(world.draft.version),
            "S1b_DateOfCompletion": _today().isoformat(),
        },
        "questionnaires:return": {"reason": "Feil diagnose registrert"},
        "questionnaires:paper": {"consent": "1", "FamilyStatus": "1"},
        "scheduling:order": {
            "kind": FormKind.PRE_TREATMENT.value,
            "course": str(world.draft_course.pk),
            "notify_self": "on",
            "confirm": "on",
        },
        "scheduling:reorder": {"notify_self": "on", "confirm": "on"},
        "scheduling:show_code": {},
        "appointments:retry": {"referral_date": referral.isoformat()},
        "appointments:handled": {},
    }[name]


@pytest.mark.parametrize("name", sorted(CHANGES_PATIENT_DATA))
def test_each_change_writes_exactly_one_event_of_its_action(name: str, world: World) -> None:
    client = world.client(name)
    before = _last_event_id()
    response = client.post(reverse(name, kwargs=world.kwargs(name)), _post_data(name, world))
    assert response.status_code in (200, 302), f"{name}: {response.status_code}"
    actions = [e.action for e in _new_events(before)]
    assert actions.count(CHANGES_PATIENT_DATA[name]) == 1, f"{name}: {actions}"
    # A change is not also logged as merely opening the page.
    assert not set(actions) & {a for a in SHOWS_PATIENT_DATA.values() if a.endswith("_opened")}


def test_no_audit_detail_holds_a_free_text_reason(world: World) -> None:
    # (The return of a completed form keeps its reason with the form: the forms' own tests.)
    for name in ("patients:course_delete", "patients:withdraw"):
        world.client(name).post(reverse(name, kwargs=world.kwargs(name)), _post_data(name, world))
    details = " ".join(str(d) for d in AuditEvent.objects.values_list("detail", flat=True))
    for reason in ("Ønsker ikke", "Kom ikke til timen"):
        assert reason not in details
    # The reasons are kept with the courses they explain.
    assert Course.objects.get(pk=world.draft_course.pk).deleted_reason == "Kom ikke til timen"
    assert "Ønsker ikke" in Course.objects.get(pk=world.done_course.pk).deleted_reason


def test_an_unknown_object_is_audited_as_denied_not_as_viewed(world: World) -> None:
    before = _last_event_id()
    response = world.client("patients:detail").get(reverse("patients:detail", args=[uuid.uuid4()]))
    assert response.status_code == 404
    assert [e.action for e in _new_events(before)] == ["nnrr.patient.access_denied"]
