"""FHIR R4 endpoints of the appointment feed: ``PUT /fhir/Appointment/{id}`` and a Subscription
notification endpoint. Machine clients only, authenticated as every client of the FHIR API is
(:mod:`nnrr.api.auth`: OAuth 2.0 client credentials, a signed JWT access token, one
``MachineClient`` per unit) with the scope ``system/Appointment.write``. The unit of every
appointment is the client's. Each Appointment is stored as a received message, then applied by
the same service as an SIU message, and the answer is an OperationOutcome saying what it did."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from nnrr.api.auth import MachineIdentity, machine_client
from nnrr.api.models import WRITE_APPOINTMENTS
from nnrr.api.outcome import Issue, bilingual, issue, outcome_response
from nnrr.appointments import services
from nnrr.appointments.models import InboundMessage, MessageState

# A resource larger than this is refused (an Appointment is a few kilobytes).
MAX_BODY = 256 * 1024


def _refused(status: int, code: str, message: Callable[[], str]) -> JsonResponse:
    return outcome_response([issue(message, code)], status)


def _result(status: int, nb: str, en: str) -> Issue:
    """What one Appointment did: information when applied, an error when it could not be."""
    if status == 200:
        return Issue(nb=nb, en=en, code="informational", severity="information")
    return Issue(nb=nb, en=en, code="processing")


def _machine(request: HttpRequest) -> MachineIdentity:
    identity: MachineIdentity = request.machine  # type: ignore[attr-defined]
    return identity


def _message_id(resource: dict[str, Any], fallback: str) -> str:
    found = resource.get("meta")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    version = meta.get("versionId") or meta.get("lastUpdated") or fallback
    return f"{resource.get('id', '')}/{version}"[:100]


def _receive(client: MachineIdentity, resource: Any, fallback_id: str) -> tuple[int, str, str]:
    """Store one Appointment as the client's unit's, apply it at once; the HTTP status and what
    it did, in bokmål and in English."""
    now = timezone.now()
    unit = client.client.unit
    raw = json.dumps(resource, ensure_ascii=False)
    resource_dict = resource if isinstance(resource, dict) else {}
    message = services.store_message(
        transport=InboundMessage.Transport.FHIR,
        raw=raw,
        now=now,
        source=f"fhir:{client.client.client_id}",
        unit_code=str(unit.pk),
        unit=unit,
        message_id=_message_id(resource_dict, fallback_id),
        message_type="FHIR Appointment",
    )
    outcome = services.process_now(
        message=message, worker_id=f"fhir:{client.client.client_id}", now=now
    )
    InboundMessage.objects.filter(pk=message.pk).update(
        ack_code="AE" if outcome.state == MessageState.FAILED else "AA"
    )
    status = 422 if outcome.state == MessageState.FAILED else 200
    nb, en = bilingual(lambda: _(outcome.text))
    return status, nb, en


@csrf_exempt
@require_http_methods(["PUT"])
@machine_client(WRITE_APPOINTMENTS)
def appointment(request: HttpRequest, appointment_ref: str) -> HttpResponse:
    client = _machine(request)
    if len(request.body) > MAX_BODY:
        return _refused(413, "too-costly", lambda: _("Ressursen er for stor."))
    try:
        resource = json.loads(request.body)
    except ValueError:
        return _refused(400, "structure", lambda: _("Innholdet er ikke gyldig JSON."))
    if not isinstance(resource, dict) or resource.get("id") != appointment_ref:
        return _refused(400, "value", lambda: _("Ressursens id må være den samme som i adressen."))
    status, nb, en = _receive(client, resource, fallback_id=timezone.now().isoformat())
    return outcome_response([_result(status, nb, en)], status)


@csrf_exempt
@require_http_methods(["POST"])
@machine_client(WRITE_APPOINTMENTS)
def subscription_notification(request: HttpRequest) -> HttpResponse:
    """A FHIR Subscription's notification: a Bundle whose entries carry Appointments."""
    client = _machine(request)
    if len(request.body) > MAX_BODY:
        return _refused(413, "too-costly", lambda: _("Meldingen er for stor."))
    try:
        bundle = json.loads(request.body)
    except ValueError:
        return _refused(400, "structure", lambda: _("Innholdet er ikke gyldig JSON."))
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return _refused(400, "structure", lambda: _("Meldingen er ikke en FHIR Bundle."))
    issues: list[Issue] = []
    worst = 200
    for number, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Appointment":
            continue  # the SubscriptionStatus and other resources of the notification
        status, nb, en = _receive(client, resource, fallback_id=f"{bundle.get('id', '')}#{number}")
        worst = max(worst, status)
        reference = f"Appointment/{resource.get('id', '')}: "
        issues.append(_result(status, reference + nb, reference + en))
    if not issues:
        nb, en = bilingual(lambda: _("Ingen Appointment i meldingen."))
        issues.append(Issue(nb=nb, en=en, code="informational", severity="information"))
    return outcome_response(issues, worst)
