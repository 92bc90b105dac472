"""The worker's passes: expire, enqueue invitations and reminders, deliver, reconcile, purge.

Exactly-once delivery rests on three things:
1. an order moves PLANNED → SENT (or SENT → REMINDED) by a conditional UPDATE in the same
   transaction that inserts its outbox row, whose (order, kind) key is unique;
2. an outbox row is claimed PENDING → SENDING by a conditional UPDATE committed *before* the
   channel is called, and marked SENT after;
3. a row left SENDING by a worker that stopped heart-beating is reconciled by asking the channel
   whether the message went out (resend only when it certainly did not).
Right before sending, the order's state is read again: no reminder after an answer.

The work is done in batches, so a message costs no round trip of its own: orders are claimed and
their outbox rows inserted a batch per transaction, and outbox rows are claimed a chunk per
statement (``SKIP LOCKED`` on PostgreSQL, so workers take different chunks), read with their
orders in one query, sent, and recorded in one statement per outcome. The chunk is sized to take
about ``CHUNK_SECONDS`` to send: hundreds of messages for the file channel, a few for a slow SMTP
relay. That bounds both how old the re-read order state can be when a message goes out and how
many claimed messages a crash leaves for reconciliation; recording also happens at least every
``CHUNK_SECONDS`` within a chunk.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Field, Model, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

# Texts stored in the database stay in the registry's language; pages translate them on display.
from django.utils.translation import gettext_noop, override

from nnrr.lib.dates import OSLO
from nnrr.lib.scopes import unscoped
from nnrr.scheduling import codes
from nnrr.scheduling.channels import Channel, ChannelError, OutgoingMessage
from nnrr.scheduling.models import (
    FILLABLE_STATES,
    Message,
    MessageKind,
    MessageState,
    Order,
    OrderState,
    WorkerHeartbeat,
)
from nnrr.scheduling.services import courses_due_for_purge, message_key, purge_unconsented_course

log = logging.getLogger("nnrr.worker")

MAX_ATTEMPTS = 6
BATCH = 500  # orders claimed per transaction when queueing invitations or reminders
DELIVER_PER_PASS = 2000  # messages one pass sends at most before the other passes run again
CHUNK_FIRST = 10  # messages claimed in the first chunk of a pass
CHUNK_MAX = 250  # messages claimed in one statement at most
CHUNK_SECONDS = 1.0  # a chunk is sized to take about this long to send

M = TypeVar("M", bound=Model)


@dataclass
class PassResult:
    expired: int = 0
    missed: int = 0
    invitations: int = 0
    reminders: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    reconciled: int = 0
    purged: int = 0
    details: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"expired={self.expired} missed={self.missed} invitations={self.invitations} "
            f"reminders={self.reminders} sent={self.sent} skipped={self.skipped} "
            f"failed={self.failed} reconciled={self.reconciled} purged={self.purged}"
        )


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def heartbeat(worker_id: str, now: dt.datetime) -> None:
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(seen_at=now)
    if not updated:
        WorkerHeartbeat.objects.get_or_create(
            worker_id=worker_id,
            defaults={
                "host": socket.gethostname()[:200],
                "pid": os.getpid(),
                "started_at": now,
                "seen_at": now,
            },
        )


def retire(worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def _locked(queryset: QuerySet[M]) -> QuerySet[M]:
    """Row locks that other workers skip, where the database has them (PostgreSQL)."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


# --- Order state passes ----------------------------------------------------------------------


def expire_orders(now: dt.datetime) -> tuple[int, int]:
    """Close orders whose deadline passed: sent ones expire, never-sent ones are missed."""
    expired = Order.objects.filter(state__in=FILLABLE_STATES, expires_at__lte=now).update(
        state=OrderState.EXPIRED,
        closed_at=now,
        close_reason=gettext_noop("Svarfristen gikk ut"),
        version=F("version") + 1,
    )
    missed = Order.objects.filter(state=OrderState.PLANNED, expires_at__lte=now).update(
        state=OrderState.MISSED,
        closed_at=now,
        close_reason=gettext_noop("Ikke sendt: svarfristen var passert"),
        version=F("version") + 1,
    )
    return expired, missed


def _outbox_row(order: Order, kind: str, channel: Channel, now: dt.datetime) -> Message:
    return Message(
        order=order,
        kind=kind,
        key=message_key(order.pk, kind),
        channel=channel.name,
        state=MessageState.PENDING,
        created_at=now,
        next_attempt_at=now,
    )


def _enqueue(order: Order, kind: str, channel: Channel, now: dt.datetime) -> bool:
    try:
        with transaction.atomic():
            _outbox_row(order, kind, channel, now).save(force_insert=True)
    except IntegrityError:
        return False  # another worker (or an earlier run) already queued it
    return True


def _enqueue_claimed(orders: list[Order], kind: str, channel: Channel, now: dt.datetime) -> int:
    """Outbox rows for the orders this transaction has just claimed, in one INSERT.

    Should a row exist already (the unique key refuses it), the batch is undone and the rows go
    in one at a time, each skipped when it is there. Returns the number queued.
    """
    if not orders:
        return 0
    rows = [_outbox_row(order, kind, channel, now) for order in orders]
    try:
        with transaction.atomic():
            Message.objects.bulk_create(rows)
    except IntegrityError:
        return sum(1 for order in orders if _enqueue(order, kind, channel, now))
    return len(rows)


def _claim_orders(due: QuerySet[Order], from_state: str, **fields: Any) -> list[Order]:
    """Move a batch of due orders on from ``from_state`` in one UPDATE; returns them.

    Must run inside the transaction that inserts their outbox rows. The rows read are held until
    it commits (row locks on PostgreSQL, which other workers skip; SQLite's write lock, taken at
    BEGIN IMMEDIATE), so the conditional UPDATE moves every one of them; should it not, the
    transaction is undone and the orders wait for the next pass.
    """
    orders = list(_locked(due)[:BATCH])
    if not orders:
        return []
    moved = Order.objects.filter(pk__in=[o.pk for o in orders], state=from_state).update(
        version=F("version") + 1, **fields
    )
    if moved != len(orders):
        raise transaction.TransactionManagementError(
            f"{len(orders) - moved} of {len(orders)} locked orders changed state during the claim"
        )
    return orders


def enqueue_invitations(now: dt.datetime, channel: Channel) -> int:
    with transaction.atomic():
        claimed = _claim_orders(
            Order.objects.filter(
                state=OrderState.PLANNED, notify_self=False, send_at__lte=now, expires_at__gt=now
            ).order_by("send_at"),
            OrderState.PLANNED,
            state=OrderState.SENT,
            sent_at=now,
        )
        count = _enqueue_claimed(claimed, MessageKind.INVITATION, channel, now)
    return count


def enqueue_reminders(now: dt.datetime, channel: Channel) -> int:
    with transaction.atomic():
        claimed = _claim_orders(
            Order.objects.filter(
                state=OrderState.SENT,
                notify_self=False,
                remind_at__lte=now,
                remind_at__gt=F("sent_at"),
                expires_at__gt=now,
            ).order_by("remind_at"),
            OrderState.SENT,
            state=OrderState.REMINDED,
            reminded_at=now,
        )
        count = _enqueue_claimed(claimed, MessageKind.REMINDER, channel, now)
    return count


# --- Delivery --------------------------------------------------------------------------------


def portal_link(order: Order) -> str:
    token = codes.link_token(order.pk, order.token_salt)
    return settings.PORTAL_BASE_URL + reverse("portal:link", args=[token])


# Why the hospital asks, by the form's time point: the one sentence that opens the message.
INVITATION_REASONS = {
    "1a": gettext_noop(
        "%(hospital)s ber deg svare på et spørreskjema før timen din ved poliklinikken."
    ),
    "2": gettext_noop(
        "%(hospital)s ber deg svare på et spørreskjema nå som det har gått 6 måneder siden "
        "du var på poliklinikken."
    ),
    "3": gettext_noop(
        "%(hospital)s ber deg svare på et spørreskjema nå som det har gått 12 måneder siden "
        "du var på poliklinikken."
    ),
}
ENGLISH_REASONS = {
    "1a": "%(hospital)s asks you to answer a questionnaire before your appointment at the clinic.",
    "2": "%(hospital)s asks you to answer a questionnaire now that 6 months have passed since "
    "you were at the clinic.",
    "3": "%(hospital)s asks you to answer a questionnaire now that 12 months have passed since "
    "you were at the clinic.",
}


def compose(message: Message, order: Order, address: str) -> OutgoingMessage:
    """The text a patient receives: who sends it and why in one sentence, a link, the deadline
    and instructions; no health data."""
    last_day = (order.expires_at.astimezone(OSLO) - dt.timedelta(minutes=1)).date()
    hospital = order.course.unit.name
    with override("nb"):
        reason = _(INVITATION_REASONS.get(order.kind, INVITATION_REASONS["1a"])) % {
            "hospital": hospital
        }
        if message.kind == MessageKind.REMINDER:
            subject = _("Påminnelse: spørreskjema fra %(hospital)s") % {"hospital": hospital}
            opening = _("Påminnelse: %(reason)s") % {"reason": reason}
        else:
            subject = _("Spørreskjema fra %(hospital)s") % {"hospital": hospital}
            opening = reason
        body = "\n".join(
            [
                _("Hei,"),
                "",
                opening,
                _("Svarene dine hjelper sykehuset å vurdere og forbedre behandlingen."),
                "",
                _("Åpne lenken for å svare:"),
                portal_link(order),
                "",
                _("Du logger inn med fødselsdatoen din (dd.mm.åååå)."),
                _("Svarfrist: %(date)s.") % {"date": last_day.strftime("%d.%m.%Y")},
                "",
                _(
                    "Har du spørsmål, ta kontakt med poliklinikken. Denne meldingen er sendt "
                    "automatisk og kan ikke besvares."
                ),
                "",
                ENGLISH_REASONS.get(order.kind, ENGLISH_REASONS["1a"]) % {"hospital": hospital}
                + " Open the link above and log in with your date of birth.",
            ]
        )
    return OutgoingMessage(key=message.key, to=address, subject=subject, body=body)


def _still_wanted(message: Message, order: Order, now: dt.datetime) -> str:
    """Why the message must not go out any more, or "" when it should."""
    if order.expires_at <= now:
        return gettext_noop("Fristen er passert")
    if message.kind == MessageKind.REMINDER and order.state != OrderState.REMINDED:
        return gettext_noop("Ikke sendt: %(state)s") % {"state": order.get_state_display().lower()}
    if message.kind == MessageKind.INVITATION and order.state not in FILLABLE_STATES:
        return gettext_noop("Ikke sendt: %(state)s") % {"state": order.get_state_display().lower()}
    return ""


# Tests replace this to simulate a crash between "sent" and "recorded".
after_send_hook: Callable[[Message], None] | None = None

Outcome = tuple[int, dict[str, Any]]  # an outbox row's id and the fields that record its end


def _claim_chunk(worker_id: str, now: dt.datetime, limit: int) -> list[Message]:
    """Claim up to ``limit`` due outbox rows PENDING → SENDING, committed before anything is
    sent; returns them read after the claim, with their orders and patients."""
    with transaction.atomic():
        ids = list(
            _locked(Message.objects.filter(state=MessageState.PENDING, next_attempt_at__lte=now))
            .order_by("id")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        Message.objects.filter(pk__in=ids, state=MessageState.PENDING).update(
            state=MessageState.SENDING,
            claimed_by=worker_id,
            claimed_at=now,
            attempts=F("attempts") + 1,
        )
    # Read after the claim, right before sending: this is the re-check of the orders' state.
    # Only the rows this worker holds: a row another worker took in between is not among them.
    return list(
        Message.objects.filter(pk__in=ids, state=MessageState.SENDING, claimed_by=worker_id)
        .select_related("order__course__patient", "order__course__unit")
        .order_by("id")
    )


def _record(claimed_by: str, outcomes: list[Outcome]) -> int:
    """Record how claimed messages ended: one UPDATE per kind of outcome, one commit.

    Each UPDATE is conditional on the row still being a SENDING claim of ``claimed_by``, as a
    single message's was; a field whose value differs between rows (the masked recipient, a
    reason) is set with CASE on the row's id. Returns the number of rows recorded.
    """
    if not outcomes:
        return 0
    recorded = 0
    groups: defaultdict[tuple[str, ...], list[Outcome]] = defaultdict(list)
    for pk, fields in outcomes:
        groups[tuple(sorted(fields))].append((pk, fields))
    with transaction.atomic():
        for names, rows in groups.items():
            values: dict[str, Any] = {}
            for name in names:
                distinct = {fields[name] for _pk, fields in rows}
                if len(distinct) == 1:
                    values[name] = distinct.pop()
                else:
                    values[name] = Case(
                        *(When(pk=pk, then=Value(fields[name])) for pk, fields in rows),
                        output_field=cast(Field[Any, Any], Message._meta.get_field(name)),
                    )
            recorded += Message.objects.filter(
                pk__in=[pk for pk, _fields in rows],
                state=MessageState.SENDING,
                claimed_by=claimed_by,
            ).update(**values)
    return recorded


def deliver_pending(
    worker_id: str,
    now: dt.datetime,
    channel: Channel,
    result: PassResult,
    stop: Callable[[], bool] | None = None,
) -> None:
    """Send due messages a chunk at a time until none is left, ``DELIVER_PER_PASS`` went out,
    or ``stop()`` says the worker is shutting down (checked between chunks)."""
    started = time.monotonic()
    size = CHUNK_FIRST
    delivered = 0
    while delivered < DELIVER_PER_PASS and not (stop is not None and stop()):
        if delivered:
            # A long pass (a slow SMTP relay) keeps its claims: other workers see it is alive.
            heartbeat(worker_id, now + dt.timedelta(seconds=time.monotonic() - started))
        messages = _claim_chunk(worker_id, now, min(size, DELIVER_PER_PASS - delivered))
        if not messages:
            return
        chunk_started = flushed_at = time.monotonic()
        outcomes: list[Outcome] = []
        for message in messages:
            outcomes.append(_deliver_claimed(message, now, channel, result))
            if time.monotonic() - flushed_at > CHUNK_SECONDS:
                _record(worker_id, outcomes)  # a slow channel: do not hold sent ones back
                outcomes = []
                flushed_at = time.monotonic()
        _record(worker_id, outcomes)
        delivered += len(messages)
        per_message = (time.monotonic() - chunk_started) / len(messages)
        size = CHUNK_MAX if not per_message else int(CHUNK_SECONDS / per_message)
        size = max(1, min(CHUNK_MAX, size))


def _deliver_claimed(
    message: Message, now: dt.datetime, channel: Channel, result: PassResult
) -> Outcome:
    """Send one claimed message; returns the fields that record its end (see ``_record``)."""
    order = message.order  # read with the message after the claim (_claim_chunk)
    reason = _still_wanted(message, order, now)
    if reason:
        result.skipped += 1
        return message.pk, {"state": MessageState.SKIPPED, "outcome": reason}
    address = channel.address_for(order.course.patient)
    if not address:
        result.failed += 1
        return message.pk, {
            "state": MessageState.FAILED,
            "outcome": gettext_noop(
                "Ingen adresse for kanalen %(channel)s; gi pasienten engangskode "
                "(Bestill på nytt → Jeg vil varsle mottaker selv)"
            )
            % {"channel": channel.name},
        }
    outgoing = compose(message, order, address)
    try:
        channel.send(outgoing)
    except ChannelError as exc:
        log.warning("message %s not delivered: %s", message.key, exc)
        if exc.permanent or message.attempts >= MAX_ATTEMPTS:
            result.failed += 1
            return message.pk, {"state": MessageState.FAILED, "outcome": str(exc)[:300]}
        return message.pk, {
            "state": MessageState.PENDING,
            "outcome": str(exc)[:300],
            "next_attempt_at": now + dt.timedelta(minutes=2**message.attempts),
            "claimed_by": "",
        }
    if after_send_hook is not None:
        after_send_hook(message)
    result.sent += 1
    return message.pk, {
        "state": MessageState.SENT,
        "sent_at": now,
        "recipient": _mask(address),
        "outcome": "",
    }


def _mask(address: str) -> str:
    local, _sep, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def reconcile(worker_id: str, now: dt.datetime, channel: Channel, lease: dt.timedelta) -> int:
    """Settle messages left SENDING by a worker that stopped: ask the channel what happened."""
    # One statement: a worker whose claim this query sees has its (earlier) heartbeat seen too.
    alive = WorkerHeartbeat.objects.filter(seen_at__gte=now - lease).values("worker_id")
    orphans = (
        Message.objects.filter(state=MessageState.SENDING)
        .exclude(claimed_by=worker_id)
        .exclude(claimed_by__in=alive)
    )
    settled: defaultdict[str, list[Outcome]] = defaultdict(list)
    for message in list(orphans.order_by("id")[:BATCH]):
        confirmed = channel.confirm(message.key) if message.channel == channel.name else None
        if confirmed is True:
            fields: dict[str, Any] = {
                "state": MessageState.SENT,
                "sent_at": message.claimed_at or now,
                "outcome": gettext_noop("Bekreftet sendt etter avbrudd"),
            }
        elif confirmed is False:
            fields = {
                "state": MessageState.PENDING,
                "claimed_by": "",
                "next_attempt_at": now,
                "outcome": gettext_noop("Sendes på nytt etter avbrudd"),
            }
        else:
            fields = {
                "state": MessageState.UNCERTAIN,
                "outcome": gettext_noop(
                    "Avbrutt under sending; kan ikke bekreftes. Sendes ikke på nytt."
                ),
            }
        settled[message.claimed_by].append((message.pk, fields))
    count = sum(_record(claimed_by, outcomes) for claimed_by, outcomes in settled.items())
    WorkerHeartbeat.objects.filter(seen_at__lt=now - lease).exclude(worker_id=worker_id).delete()
    return count


# --- One pass --------------------------------------------------------------------------------


@unscoped("the dispatch worker: every unit's due orders, outbox and purges")
def run_pass(
    *,
    worker_id: str,
    now: dt.datetime,
    channel: Channel,
    stop: Callable[[], bool] | None = None,
) -> PassResult:
    """Everything due at ``now``, once. Safe to run in several processes at the same time.
    ``stop`` (a worker shutting down) ends the sending after the chunk in hand."""
    result = PassResult()
    lease = dt.timedelta(seconds=settings.WORKER_LEASE_SECONDS)
    heartbeat(worker_id, now)
    result.reconciled = reconcile(worker_id, now, channel, lease)
    result.expired, result.missed = expire_orders(now)
    result.invitations = enqueue_invitations(now, channel)
    result.reminders = enqueue_reminders(now, channel)
    deliver_pending(worker_id, now, channel, result, stop)
    for course_id in courses_due_for_purge(now):
        if purge_unconsented_course(course_id=course_id, now=now):
            result.purged += 1
    return result


def current_time() -> dt.datetime:
    return timezone.now()
