"""FHIR R4 endpoints of the appointment feed: ``PUT /fhir/Appointment/{id}`` and a Subscription
notification endpoint. Machine clients only, authenticated as every client of the FHIR API is
(:mod:`nnrr.api.auth`: OAuth 2.0 client credentials, a signed JWT access token, one
``MachineClient`` per unit) with the scope ``system/Appointment.write``. The unit of every
appointment is the client's. Each Appointment is stored as a received message, then applied by
the same service as an SIU message, and the answer is an OperationOutcome saying what it did."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from nnrr.api.auth import MachineIdentity, machine_client
from nnrr.api.models import WRITE_APPOINTMENTS
from nnrr.appointments import services
from nnrr.appointments.models import InboundMessage, MessageState

FHIR_JSON = "application/fhir+json"
# A resource larger than this is refused (an Appointment is a few kilobytes).
MAX_BODY = 256 * 1024


def _outcome(status: int, issues: list[dict[str, str]]) -> JsonResponse:
    return JsonResponse(
        {"resourceType": "OperationOutcome", "issue": issues},
        status=status,
        content_type=FHIR_JSON,
        json_dumps_params={"ensure_ascii": False},
    )


def _issue(severity: str, code: str, text: str) -> dict[str, str]:
    return {"severity": severity, "code": code, "diagnostics": text}


def _machine(request: HttpRequest) -> MachineIdentity:
    identity: MachineIdentity = request.machine  # type: ignore[attr-defined]
    return identity


def _message_id(resource: dict[str, Any], fallback: str) -> str:
    found = resource.get("meta")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    version = meta.get("versionId") or meta.get("lastUpdated") or fallback
    return f"{resource.get('id', '')}/{version}"[:100]


def _receive(client: MachineIdentity, resource: Any, fallback_id: str) -> tuple[int, str]:
    """Store one Appointment as the client's unit's, apply it at once; the HTTP status and what
    it did."""
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
    with override("nb"):
        return status, _(outcome.text)


@csrf_exempt
@require_http_methods(["PUT"])
@machine_client(WRITE_APPOINTMENTS)
def appointment(request: HttpRequest, appointment_ref: str) -> HttpResponse:
    client = _machine(request)
    if len(request.body) > MAX_BODY:
        return _outcome(413, [_issue("error", "too-costly", "Ressursen er for stor.")])
    try:
        resource = json.loads(request.body)
    except ValueError:
        return _outcome(400, [_issue("error", "structure", "Innholdet er ikke gyldig JSON.")])
    if not isinstance(resource, dict) or resource.get("id") != appointment_ref:
        return _outcome(
            400,
            [_issue("error", "value", "Ressursens id må være den samme som i adressen.")],
        )
    status, text = _receive(client, resource, fallback_id=timezone.now().isoformat())
    severity = "error" if status != 200 else "information"
    return _outcome(
        status, [_issue(severity, "processing" if status != 200 else "informational", text)]
    )


@csrf_exempt
@require_http_methods(["POST"])
@machine_client(WRITE_APPOINTMENTS)
def subscription_notification(request: HttpRequest) -> HttpResponse:
    """A FHIR Subscription's notification: a Bundle whose entries carry Appointments."""
    client = _machine(request)
    if len(request.body) > MAX_BODY:
        return _outcome(413, [_issue("error", "too-costly", "Meldingen er for stor.")])
    try:
        bundle = json.loads(request.body)
    except ValueError:
        return _outcome(400, [_issue("error", "structure", "Innholdet er ikke gyldig JSON.")])
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return _outcome(400, [_issue("error", "structure", "Meldingen er ikke en FHIR Bundle.")])
    issues = []
    worst = 200
    for number, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Appointment":
            continue  # the SubscriptionStatus and other resources of the notification
        status, text = _receive(client, resource, fallback_id=f"{bundle.get('id', '')}#{number}")
        worst = max(worst, status)
        issues.append(
            _issue(
                "error" if status != 200 else "information",
                "processing" if status != 200 else "informational",
                f"Appointment/{resource.get('id', '')}: {text}",
            )
        )
    if not issues:
        issues.append(_issue("information", "informational", "Ingen Appointment i meldingen."))
    return _outcome(worst, issues)
