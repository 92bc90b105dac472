"""Writing audit events. Call inside the transaction of the action being audited."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import models
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent, Outcome


def record_event(
    *,
    actor: Actor,
    action: str,
    patient_id: uuid.UUID | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    outcome: str = Outcome.OK,
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one audit event. ``detail`` must never hold clinical values, answers or secrets."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEvent.objects.create(
        at=at or timezone.now(),
        actor=actor.user,
        actor_name=actor.name[:200],
        role=actor.role,
        unit_id=actor.unit_id,
        action=action,
        outcome=outcome,
        patient_id=patient_id,
        object_type=object_type,
        object_id=object_id[:64],
        client_address=actor.client_address or None,
        detail=detail or {},
    )


def not_found(
    request: HttpRequest,
    kind: str,
    object_id: object,
    message: str | None = None,
) -> Http404:
    """The 404 for an object the active profile may not see: logged as a denied attempt
    (``nnrr.<kind>.access_denied``) and answered exactly like an object that does not exist."""
    record_event(
        actor=Actor.from_request(request),
        action=f"nnrr.{kind}.access_denied",
        object_type=kind,
        object_id=str(object_id),
        outcome=Outcome.DENIED,
    )
    return Http404(message or _("Finnes ikke, eller tilhører en annen enhet."))
