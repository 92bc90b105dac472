"""Writing audit events. Call inside the transaction of the action being audited."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, models
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
    event = AuditEvent(
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
    together = _together.get()
    if together is not None:
        together.add(event)
    else:
        event.save()
    return event


class _Together:
    """The audit events of a :func:`recorded_together` block, each with the savepoints (of the
    ``atomic`` blocks) open when it was recorded."""

    def __init__(self) -> None:
        self.events: list[tuple[AuditEvent, tuple[str, ...]]] = []

    def add(self, event: AuditEvent) -> None:
        self.events.append((event, tuple(sid for sid in connection.savepoint_ids if sid)))

    def watch(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        """An execute wrapper: a savepoint rolled back takes the events recorded inside it."""
        result = execute(sql, params, many, context)
        if sql.startswith("ROLLBACK TO SAVEPOINT"):
            rollback = connection.ops.savepoint_rollback_sql
            self.events = [
                (event, sids)
                for event, sids in self.events
                if not any(sql == rollback(sid) for sid in sids)
            ]
        return result


_together: ContextVar[_Together | None] = ContextVar("nnrr_audit_together", default=None)


@contextmanager
def recorded_together() -> Iterator[None]:
    """Write the audit events recorded inside the block in one statement when it ends, rather
    than one statement each (for work that records many at once: the appointment feed's batch).

    Use it inside the transaction of the work audited; the events are inserted before that
    transaction commits, so they are kept or lost with it. An event recorded inside an
    ``atomic`` block whose savepoint is rolled back is dropped with the rows that block wrote,
    and an exception out of the block drops them all, as it undoes the work."""
    if not connection.in_atomic_block:
        raise RuntimeError("recorded_together() belongs inside the audited work's transaction")
    if _together.get() is not None:
        yield  # already collecting: the outer block writes them
        return
    together = _Together()
    token = _together.set(together)
    try:
        with connection.execute_wrapper(together.watch):
            yield
    finally:
        _together.reset(token)
    AuditEvent.objects.bulk_create([event for event, _sids in together.events])


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
