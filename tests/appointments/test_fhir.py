"""The FHIR R4 Appointment feed: the same rules as the SIU feed, a unit's machine client of the
FHIR API only (a signed access token with system/Appointment.write, tests/conftest.py's token
issuer), and an OperationOutcome that says what each Appointment did."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from nnrr.accounts.models import Unit
from nnrr.api.models import ALL_SCOPES, WRITE_APPOINTMENTS, MachineClient
from nnrr.appointments.models import InboundMessage, MessageState
from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.lib.dates import oslo_date
from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order, OrderState
from tests.appointments.helpers import new_national_id
from tests.conftest import HAUKELAND, HAUKELAND_CLIENT, ST_OLAVS, ST_OLAVS_CLIENT

pytestmark = pytest.mark.django_db

# Every scope but the appointments': a record system's client.
OTHER_SCOPES = " ".join(scope for scope in ALL_SCOPES if scope != WRITE_APPOINTMENTS)


@pytest.fixture
def st_olavs(api: Callable[..., Client]) -> Client:
    """St. Olavs' booking system: its client's token with system/Appointment.write."""
    return api(ST_OLAVS_CLIENT, WRITE_APPOINTMENTS)


def appointment(
    ref: str,
    nid: str,
    *,
    status: str = "booked",
    start: dt.datetime | None = None,
    referral: dt.date | None = None,
    updated: dt.datetime | None = None,
) -> dict[str, Any]:
    now = timezone.now()
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": ref,
        "meta": {"lastUpdated": (updated or now).isoformat()},
        "status": status,
        "start": (start or now + dt.timedelta(days=40)).isoformat(),
        "participant": [
            {
                "actor": {
                    "reference": "Patient/p1",
                    "identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": nid},
                    "display": "Ola Nordmann",
                },
                "status": "accepted",
            }
        ],
    }
    if referral is not None:
        resource["contained"] = [
            {
                "resourceType": "ServiceRequest",
                "id": "ref1",
                "status": "active",
                "intent": "order",
                "subject": {"reference": "Patient/p1"},
                "authoredOn": referral.isoformat(),
            }
        ]
        resource["basedOn"] = [{"reference": "#ref1"}]
    return resource


@pytest.fixture
def put(st_olavs: Client) -> Callable[..., Any]:
    def send(resource: dict[str, Any], client: Client | None = None, ref: str | None = None) -> Any:
        return (client or st_olavs).put(
            f"/fhir/Appointment/{ref or resource['id']}",
            data=json.dumps(resource),
            content_type="application/fhir+json",
        )

    return send


def today() -> dt.date:
    return oslo_date(timezone.now())


def active_course(nid: str) -> Course:
    return Course.objects.get(patient__national_id=nid, status=Course.Status.ACTIVE)


def test_a_booked_appointment_creates_the_course(put: Callable[..., Any]) -> None:
    nid = new_national_id()
    start = timezone.now() + dt.timedelta(days=40)

    answer = put(appointment("F-1", nid, start=start, referral=today() - dt.timedelta(days=4)))

    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/fhir+json"
    said = answer.json()["issue"][0]
    assert said["details"]["text"] == "Forløp opprettet; pasientskjema planlagt."
    assert said["severity"] == "information"
    assert said["diagnostics"] == "Course created; patient form planned."
    course = active_course(nid)
    assert course.unit_id == ST_OLAVS
    assert course.planned_consultation_date == oslo_date(start)
    assert course.referral_date == today() - dt.timedelta(days=4)
    message = InboundMessage.objects.get()
    assert message.transport == "fhir"
    assert message.source == f"fhir:{ST_OLAVS_CLIENT}"
    assert message.unit_id == ST_OLAVS
    assert AuditEvent.objects.get(action="nnrr.appointment.book").detail["transport"] == "fhir"


def test_the_same_appointment_twice_changes_nothing(put: Callable[..., Any]) -> None:
    nid = new_national_id()
    resource = appointment("F-1", nid, referral=today())

    put(resource)
    again = put(resource)

    assert again.status_code == 200
    assert again.json()["issue"][0]["details"]["text"] == "Samme melding er behandlet før."
    assert Course.objects.filter(patient__national_id=nid).count() == 1


def test_an_older_version_arriving_late_is_ignored(put: Callable[..., Any]) -> None:
    nid = new_national_id()
    now = timezone.now()
    put(appointment("F-1", nid, referral=today(), updated=now - dt.timedelta(hours=2)))
    put(appointment("F-1", nid, start=now + dt.timedelta(days=50), updated=now))

    late = put(
        appointment(
            "F-1", nid, start=now + dt.timedelta(days=45), updated=now - dt.timedelta(hours=1)
        )
    )

    assert "ignorert" in late.json()["issue"][0]["details"]["text"]
    assert active_course(nid).planned_consultation_date == oslo_date(now + dt.timedelta(days=50))


def test_a_move_of_45_days_after_sending_gives_a_new_course(put: Callable[..., Any]) -> None:
    nid = new_national_id()
    now = timezone.now()
    put(appointment("F-1", nid, start=now + dt.timedelta(days=10), referral=today(), updated=now))
    old = active_course(nid)
    scheduling.order_questionnaire(  # handed out at once: the form is out
        actor=Actor.system("test"),
        course=old,
        kind=FormKind.PRE_TREATMENT,
        notify_self=True,
        now=now,
    )

    put(
        appointment(
            "F-1", nid, start=now + dt.timedelta(days=55), updated=now + dt.timedelta(minutes=1)
        )
    )

    old.refresh_from_db()
    assert old.status == Course.Status.DELETED
    new = active_course(nid)
    assert new.replaces_id == old.pk
    assert Order.objects.get(course=new, kind=FormKind.PRE_TREATMENT).state == OrderState.PLANNED


@pytest.mark.parametrize("status", ["cancelled", "noshow"])
def test_cancelled_or_noshow_deletes_the_course(put: Callable[..., Any], status: str) -> None:
    nid = new_national_id()
    now = timezone.now()
    put(appointment("F-1", nid, referral=today(), updated=now))
    course = active_course(nid)

    put(appointment("F-1", nid, status=status, updated=now + dt.timedelta(minutes=1)))

    course.refresh_from_db()
    assert course.status == Course.Status.DELETED


def test_an_invalid_fodselsnummer_is_answered_422_with_the_reason(put: Callable[..., Any]) -> None:
    answer = put(appointment("F-1", "24019491118", referral=today()))

    assert answer.status_code == 422
    issue = answer.json()["issue"][0]
    assert issue["severity"] == "error"
    assert "fødselsnummer" in issue["details"]["text"]
    message = InboundMessage.objects.get()
    assert (message.state, message.ack_code) == (MessageState.FAILED, "AE")
    assert not Course.objects.exists()


def test_without_a_referral_the_appointment_waits_for_the_henvisningsdato(
    put: Callable[..., Any],
) -> None:
    answer = put(appointment("F-1", new_national_id()))

    assert answer.status_code == 200
    assert InboundMessage.objects.get().state == MessageState.WAITING


@pytest.mark.parametrize(
    "authorization", ["", "Bearer ", "Bearer not-a-token", "Basic dXNlcjpwYXNz"]
)
def test_no_or_a_wrong_token_is_answered_401_and_nothing_is_stored(
    authorization: str, machine_clients: Any
) -> None:
    answer = Client().put(
        "/fhir/Appointment/F-1",
        data=json.dumps(appointment("F-1", new_national_id(), referral=today())),
        content_type="application/fhir+json",
        HTTP_AUTHORIZATION=authorization,
    )

    assert answer.status_code == 401
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert AuditEvent.objects.get(action="nnrr.fhir.token_refused").outcome == "denied"
    assert not InboundMessage.objects.exists()


def test_a_token_without_the_appointment_scope_is_answered_403_and_nothing_is_stored(
    api: Callable[..., Client], put: Callable[..., Any]
) -> None:
    record_system = api(ST_OLAVS_CLIENT, OTHER_SCOPES)

    answer = put(appointment("F-1", new_national_id(), referral=today()), client=record_system)

    assert answer.status_code == 403
    assert answer.json()["issue"][0]["code"] == "forbidden"
    assert WRITE_APPOINTMENTS in answer.json()["issue"][0]["diagnostics"]
    assert not InboundMessage.objects.exists()
    assert not Course.objects.exists()


def test_the_scope_counts_only_if_the_registry_granted_it_to_the_client(
    put: Callable[..., Any],
) -> None:
    # The token names system/Appointment.write, but NNRR gave the client read scopes only.
    MachineClient.objects.filter(client_id=ST_OLAVS_CLIENT).update(scopes=OTHER_SCOPES.split())

    answer = put(appointment("F-1", new_national_id(), referral=today()))

    assert answer.status_code == 403
    assert not InboundMessage.objects.exists()


def test_a_subscription_notification_without_the_scope_is_answered_403(
    api: Callable[..., Client],
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [{"resource": appointment("S-1", new_national_id(), referral=today())}],
    }

    answer = api(ST_OLAVS_CLIENT, OTHER_SCOPES).post(
        "/fhir/subscription/appointments",
        data=json.dumps(bundle),
        content_type="application/fhir+json",
    )

    assert answer.status_code == 403
    assert not InboundMessage.objects.exists()


def test_a_deactivated_client_is_refused(put: Callable[..., Any]) -> None:
    MachineClient.objects.filter(client_id=ST_OLAVS_CLIENT).update(is_active=False)

    assert put(appointment("F-1", new_national_id(), referral=today())).status_code == 401
    assert not InboundMessage.objects.exists()


def test_the_client_of_a_deactivated_unit_is_refused(put: Callable[..., Any]) -> None:
    Unit.objects.filter(pk=ST_OLAVS).update(is_active=False)

    answer = put(appointment("F-1", new_national_id(), referral=today()))

    assert answer.status_code == 401
    assert AuditEvent.objects.get(action="nnrr.fhir.token_refused").detail["reason"] == (
        "unit_inactive"
    )
    assert not InboundMessage.objects.exists()


def test_a_unit_is_the_clients_so_another_units_appointment_id_touches_nothing_of_it(
    api: Callable[..., Client], put: Callable[..., Any]
) -> None:
    nid = new_national_id()
    put(appointment("F-1", nid, referral=today()))
    haukeland = api(HAUKELAND_CLIENT, WRITE_APPOINTMENTS)

    put(appointment("F-1", nid, status="cancelled"), client=haukeland)

    assert active_course(nid).unit_id == ST_OLAVS
    assert not Course.objects.filter(unit_id=HAUKELAND).exists()
    assert InboundMessage.objects.filter(unit_id=HAUKELAND).count() == 1


@pytest.mark.parametrize(
    ("body", "ref", "status"),
    [
        ("{not json", "F-1", 400),
        (json.dumps({"resourceType": "Appointment", "id": "F-2"}), "F-1", 400),
        (json.dumps(["a list"]), "F-1", 400),
    ],
)
def test_bad_bodies_get_a_clear_operation_outcome(
    st_olavs: Client, body: str, ref: str, status: int
) -> None:
    answer = st_olavs.put(
        f"/fhir/Appointment/{ref}", data=body, content_type="application/fhir+json"
    )

    assert answer.status_code == status
    assert answer.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": "proposed"}, "Status proposed tas ikke imot"),
        ({"participant": []}, "Ingen deltaker er en Patient"),
        ({"start": "neste tirsdag"}, "En dato i meldingen kan ikke leses."),
    ],
)
def test_an_appointment_that_cannot_be_used_is_422_and_kept_with_the_reason(
    put: Callable[..., Any], change: dict[str, Any], reason: str
) -> None:
    resource = {**appointment("F-1", new_national_id(), referral=today()), **change}

    answer = put(resource)

    assert answer.status_code == 422
    assert reason in answer.json()["issue"][0]["details"]["text"]
    assert InboundMessage.objects.get().state == MessageState.FAILED


def test_a_subscription_notification_applies_each_appointment_in_it(st_olavs: Client) -> None:
    first, second = new_national_id(), new_national_id()
    bundle = {
        "resourceType": "Bundle",
        "id": "n-1",
        "type": "history",
        "entry": [
            {"resource": {"resourceType": "SubscriptionStatus", "status": "active"}},
            {"resource": appointment("S-1", first, referral=today())},
            {"resource": appointment("S-2", second, referral=today())},
        ],
    }

    answer = st_olavs.post(
        "/fhir/subscription/appointments",
        data=json.dumps(bundle),
        content_type="application/fhir+json",
    )

    assert answer.status_code == 200
    assert len(answer.json()["issue"]) == 2
    assert active_course(first).unit_id == active_course(second).unit_id == ST_OLAVS


def test_the_endpoints_answer_only_their_methods(st_olavs: Client) -> None:
    assert st_olavs.get("/fhir/Appointment/F-1").status_code == 405
    assert st_olavs.get("/fhir/subscription/appointments").status_code == 405
