"""Who a machine client of the FHIR appointment endpoints is: the one place they authenticate.

Each unit has its own client (:class:`FeedClient`) presenting ``Authorization: Bearer <token>``;
the token is shown once when the client is made (``nnrr appointment_client``) and only its hash
is kept. When the FHIR API's OAuth 2.0 client-credentials authentication (signed JWT access
tokens, one client per unit) is in place, :func:`authenticated_client` is the function to point
at it; nothing else in the feed knows how a client proves who it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest

from nnrr.accounts.models import Unit
from nnrr.appointments.models import FeedClient
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event


@dataclass(frozen=True)
class Client:
    client_id: str
    unit: Unit


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticated_client(request: HttpRequest) -> Client | None:
    """The machine client that made ``request``, or None (the caller answers 401)."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    digest = _hash(token.strip())
    row = (
        FeedClient.objects.select_related("unit")
        .filter(token_hash=digest, is_active=True, unit__is_active=True)
        .first()
    )
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return Client(client_id=row.client_id, unit=row.unit)


def issue_client(*, actor: Actor, unit: Unit, client_id: str, now: dt.datetime) -> str:
    """A new client for ``unit``; returns its token, which is not stored and not shown again."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        client = FeedClient.objects.create(
            unit=unit, client_id=client_id, token_hash=_hash(token), created_at=now
        )
        record_event(
            actor=actor,
            action="nnrr.appointment.client_issued",
            obj=client,
            detail={"client_id": client_id, "unit": unit.pk},
        )
    return token
