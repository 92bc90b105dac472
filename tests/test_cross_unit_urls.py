"""Every URL that takes an id answers 404 to a user of another unit, exactly like a missing id.

The test walks the whole URL configuration, so a new view with an id parameter is covered (or
the test fails until it is given an object here). The FHIR API under /fhir/ is walked with the
other unit's machine client and its bearer token instead of a staff login.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from nnrr.accounts.models import AccessApplication
from nnrr.appointments.models import InboundMessage, MessageState
from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.exports.models import ExportJob
from nnrr.questionnaires.models import FormKind, Response, Source
from nnrr.reports.models import ReportDocument, Subscription
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order
from tests.conftest import HAUKELAND_CLIENT, ST_OLAVS, book, make_patient

# FHIR resources that belong to no unit (the forms themselves): nothing to hide.
UNIT_FREE_FHIR = {"fhir:questionnaire"}


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _patterns(entry, namespace)
        elif entry.name:
            yield prefix + entry.name, entry


def id_patterns(*, fhir: bool = False) -> list[tuple[str, list[str]]]:
    found = []
    for name, pattern in _patterns(get_resolver()):
        converters = pattern.pattern.converters
        id_kwargs = [k for k in converters if k.endswith("_id")]
        if not id_kwargs or name.startswith("admin:") or name in UNIT_FREE_FHIR:
            continue
        if name.startswith("fhir:") == fhir:
            found.append((name, sorted(converters)))
    return found


@pytest.fixture
def st_olavs_objects(persona: Any) -> dict[str, Any]:
    clinician = persona("clinician")
    patient = make_patient(ST_OLAVS)
    course = book(clinician, patient)
    response = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    order = Order.objects.get(course=course, kind=FormKind.PRE_TREATMENT)
    application = AccessApplication.objects.create(
        applicant=persona("clerk").user,
        work_email="per@stolav.no",
        unit_id=ST_OLAVS,
        roles=["pasientansvarlig"],
        comment="Merkantil",
    )
    exporter = persona("local_admin")
    job = ExportJob.objects.create(
        created_at=timezone.now(),
        user=exporter.user,
        membership_id=exporter.membership.pk,
        role=exporter.membership.role,
        unit_id=ST_OLAVS,
        purpose="Kvalitetsarbeid",
        format="csv",
        state=ExportJob.State.READY,
    )
    reader = persona("report_reader")
    document = ReportDocument.objects.create(
        kind=ReportDocument.Kind.QUARTERLY,
        unit=reader.unit,
        period_end=course.planned_consultation_date,
        requested_by=reader.user,
        requested_unit=reader.unit,
    )
    subscription = Subscription.objects.create(
        user=reader.user,
        email="randi@stolav.example",
        unit=reader.unit,
        created_by_unit=reader.unit,
        frequency=Subscription.Frequency.QUARTERLY,
        start_date=course.planned_consultation_date,
        end_date=course.planned_consultation_date,
        next_due=course.planned_consultation_date,
    )
    # A message from St. Olavs' booking system that waits (every action on it is open).
    received = InboundMessage.objects.create(
        received_at=timezone.now(),
        transport=InboundMessage.Transport.MLLP,
        source="DIPS",
        unit_code=str(ST_OLAVS),
        unit_id=ST_OLAVS,
        message_id="X1",
        raw="MSH|^~\\&|DIPS|104293",
        state=MessageState.WAITING,
        course=course,
    )
    # A completed, consented form: what the FHIR API serves to St. Olavs' own client.
    completed = scheduling.submit_patient_form(
        actor=Actor.system("test"),
        course=course,
        kind=FormKind.PRE_TREATMENT,
        answers={"FamilyStatus": 1},
        consent=True,
        source=Source.PORTAL,
        now=timezone.now(),
    )
    return {
        "message_id": received.pk,
        "patient_id": patient.pk,
        "course_id": course.pk,
        "response_id": response.pk,
        "completed_response_id": completed.pk,
        "order_id": order.pk,
        "document_id": document.pk,
        "subscription_id": subscription.pk,
        "kind": FormKind.PRE_TREATMENT.value,
        "application_id": application.pk,
        "user_id": clinician.user.pk,
        "membership_id": clinician.membership.pk,
        "job_id": job.pk,
    }


def _absent_id(value: Any) -> Any:
    """An id of the same type that no object has."""
    return 987_654_321 if isinstance(value, int) else uuid.uuid4()


def test_url_walk_finds_the_id_taking_views() -> None:
    names = {name for name, _ in id_patterns()}
    # A sanity floor: if the walk silently finds nothing, the real test would pass vacuously.
    assert {"patients:detail", "questionnaires:fill", "scheduling:reorder"} <= names
    assert {"exports:job", "exports:status", "exports:download"} <= names
    assert {"appointments:detail", "appointments:retry", "appointments:handled"} <= names


@pytest.mark.parametrize(("name", "kwargs"), id_patterns(), ids=[n for n, _ in id_patterns()])
def test_other_units_data_answers_404(
    name: str, kwargs: list[str], st_olavs_objects: dict[str, Any], as_persona: Any
) -> None:
    missing = [k for k in kwargs if k not in st_olavs_objects]
    assert not missing, f"give the cross-unit test an object for {missing} ({name})"
    values = {k: st_olavs_objects[k] for k in kwargs}
    random_ids = {k: (_absent_id(v) if k.endswith("_id") else v) for k, v in values.items()}
    # The other unit's Lokal registeransvarlig holds every form right, so only the unit differs.
    client = as_persona("haukeland_local_admin")
    statuses = []
    for method in ("get", "post"):
        other = getattr(client, method)(reverse(name, kwargs=values))
        absent = getattr(client, method)(reverse(name, kwargs=random_ids))
        # Exactly the answer a missing id gets: nothing tells "not yours" from "not there".
        assert other.status_code == absent.status_code, f"{name} {method}: {other.status_code}"
        assert other.status_code in (404, 405), f"{name} {method} leaked ({other.status_code})"
        statuses.append(other.status_code)
    assert 404 in statuses
    assert AuditEvent.objects.filter(
        outcome="denied", object_id__in=[str(v) for v in values.values()]
    ).exists()


def test_the_fhir_appointment_endpoint_keeps_to_the_clients_own_unit(
    st_olavs_objects: dict[str, Any], as_persona: Any, api: Any
) -> None:
    """The machine endpoints take no id of another unit: the unit is the client's (its FHIR API
    client, nnrr/api/auth.py). Haukeland's booking system using St. Olavs' appointment id makes
    its own appointment and leaves St. Olavs' course alone; a user's session is no client at
    all."""
    import json

    from nnrr.api.models import WRITE_APPOINTMENTS
    from nnrr.appointments.models import Appointment
    from nnrr.patients.models import Course
    from tests.conftest import HAUKELAND

    course = Course.objects.get(pk=st_olavs_objects["course_id"])
    Appointment.objects.create(
        unit_id=ST_OLAVS, source=f"fhir:{HAUKELAND_CLIENT}", appointment_id="A-1", course=course
    )
    cancel = {
        "resourceType": "Appointment",
        "id": "A-1",
        "status": "cancelled",
        "participant": [
            {
                "actor": {
                    "reference": "Patient/x",
                    "identifier": {
                        "system": "urn:oid:2.16.578.1.12.4.1.4.1",
                        "value": course.patient.national_id,
                    },
                }
            }
        ],
    }

    by_session = as_persona("haukeland_local_admin").put(
        "/fhir/Appointment/A-1", data=json.dumps(cancel), content_type="application/fhir+json"
    )
    by_client = api(HAUKELAND_CLIENT, WRITE_APPOINTMENTS).put(
        "/fhir/Appointment/A-1", data=json.dumps(cancel), content_type="application/fhir+json"
    )

    assert by_session.status_code == 401
    assert by_client.status_code == 200
    course.refresh_from_db()
    assert course.status == Course.Status.ACTIVE
    assert Appointment.objects.filter(unit_id=HAUKELAND, appointment_id="A-1").exists()
    received = InboundMessage.objects.filter(source=f"fhir:{HAUKELAND_CLIENT}")
    assert list(received.values_list("unit_id", flat=True)) == [HAUKELAND]


def test_url_walk_finds_the_fhir_views_with_ids() -> None:
    assert {"fhir:response", "fhir:patient", "fhir:document_reference", "fhir:binary"} <= {
        name for name, _ in id_patterns(fhir=True)
    }


@pytest.mark.parametrize(
    ("name", "kwargs"), id_patterns(fhir=True), ids=[n for n, _ in id_patterns(fhir=True)]
)
def test_another_units_machine_client_gets_404_under_fhir(
    name: str,
    kwargs: list[str],
    st_olavs_objects: dict[str, Any],
    api: Any,
) -> None:
    # The FHIR API serves completed forms only: its response id is the completed form's.
    completed = st_olavs_objects["completed_response_id"]
    objects = {
        **st_olavs_objects,
        "response_id": completed,
        "document_id": completed,
        "binary_id": f"journalnotat-{completed}",
    }
    missing = [k for k in kwargs if k not in objects]
    assert not missing, f"give the cross-unit test an object for {missing} ({name})"
    values = {k: objects[k] for k in kwargs}
    random_ids = {k: (_absent_id(v) if k.endswith("_id") else v) for k, v in values.items()}
    own = api().get(reverse(name, kwargs=values))
    assert own.status_code == 200, f"{name}: St. Olavs' own client must see it ({own.status_code})"
    client = api(HAUKELAND_CLIENT)
    other = client.get(reverse(name, kwargs=values))
    absent = client.get(reverse(name, kwargs=random_ids))
    assert other.status_code == absent.status_code == 404, f"{name}: {other.status_code}"
    assert other.json()["issue"][0]["code"] == absent.json()["issue"][0]["code"] == "not-found"
    assert AuditEvent.objects.filter(
        outcome="denied", role="maskinklient", object_id__in=[str(v) for v in values.values()]
    ).exists()
