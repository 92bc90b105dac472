"""The one service for appointment events from the hospitals' booking systems.

Both feeds (HL7 v2 SIU over MLLP, FHIR ``Appointment``) turn a message into an
:class:`AppointmentEvent` and store it as an :class:`InboundMessage`; :func:`process_pending`
applies stored messages exactly once, each through :func:`apply_event`, which follows the
manual's rules ("Dersom timen flyttes eller avbestilles") through the scheduling services that
"Endre dato" and "Slett skjema" use. Keyword-only functions; time is passed in; every applied
event is audited with its source and message id in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from nnrr.accounts.models import Membership, Role, Unit, User
from nnrr.appointments.models import (
    WAITING_STATES,
    Appointment,
    EventKind,
    FeedSettings,
    InboundMessage,
    MessageState,
)
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event, recorded_together
from nnrr.lib.dates import oslo_date
from nnrr.lib.national_id import NationalIdError, parse_national_id
from nnrr.lib.scopes import unscoped
from nnrr.patients.models import Course
from nnrr.patients.services import UnitRecords, register_patient
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.scheduling import services as scheduling

if TYPE_CHECKING:
    from nnrr.appointments.hl7feed import Parsed

# Roles whose holders may own a Behandlerskjema (the clinician named in the message).
OWNER_ROLES = (Role.PASIENTANSVARLIG, Role.LOKAL_REGISTERANSVARLIG)


# The audit event of each appointment event (literal codes: each has its words in audit/wording).
EVENT_ACTIONS: dict[str, str] = {
    EventKind.BOOK: "nnrr.appointment.book",
    EventKind.MOVE: "nnrr.appointment.move",
    EventKind.CANCEL: "nnrr.appointment.cancel",
    EventKind.NO_SHOW: "nnrr.appointment.no_show",
}


@dataclass(frozen=True)
class AppointmentEvent:
    """One appointment event as both feeds read it (the default message profile)."""

    kind: str  # EventKind
    source: str  # the booking system (MSH-3; the FHIR client)
    appointment_id: str
    message_id: str
    message_time: dt.datetime
    national_id: str
    patient_name: str = ""
    start: dt.date | None = None
    referral_date: dt.date | None = None
    clinician: str = ""  # AIP-3 / the practitioner participant: a username or fødselsnummer
    appointment_types: tuple[str, ...] = ()  # SCH-7, SCH-8
    resources: tuple[str, ...] = field(default=())  # AIG-3, AIP-3

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "appointment_id": self.appointment_id,
            "start": self.start.isoformat() if self.start else None,
            "referral_date": self.referral_date.isoformat() if self.referral_date else None,
            "clinician": self.clinician,
            "appointment_types": list(self.appointment_types),
            "resources": list(self.resources),
        }


@dataclass(frozen=True)
class Outcome:
    state: str  # MessageState
    text: str
    course: Course | None = None


def mask_national_id(national_id: str) -> str:
    """ddmmåå *****: the birth date part only."""
    digits = "".join(ch for ch in national_id if ch.isdigit())
    return f"{digits[:6]} *****" if len(digits) >= 6 else ""


def feed_actor(source: str, unit_id: int | None) -> Actor:
    return Actor.system(f"timebok:{source}"[:200], unit_id=unit_id)


# --- What a batch looks up once ------------------------------------------------------------


def unit_pk(code: str) -> int | None:
    """The reshID a unit code (MSH-4) names, or None when it cannot name one."""
    code = code.strip()
    if not (code.isascii() and code.isdigit()) or int(code) >= 2**31:
        return None
    return int(code)


AppointmentKey = tuple[int, str, str]  # (unit, source system, appointment id)


class Units:
    """Units by reshID with their feed settings, each looked up once (two queries for all the
    units asked for at a time)."""

    def __init__(self) -> None:
        self._units: dict[int, Unit | None] = {}
        self._settings: dict[int, FeedSettings | None] = {}

    def load(self, pks: Iterable[int | None]) -> None:
        wanted = {pk for pk in pks if pk is not None} - set(self._units)
        if not wanted:
            return
        found = Unit.objects.in_bulk(wanted)
        settings_rows = FeedSettings.objects.in_bulk(list(found)) if found else {}
        for pk in wanted:
            self._units[pk] = found.get(pk)
            self._settings[pk] = settings_rows.get(pk)

    def unit(self, pk: int | None) -> Unit | None:
        if pk is None:
            return None
        self.load([pk])
        return self._units[pk]

    def feed_settings(self, unit: Unit) -> FeedSettings | None:
        self.load([unit.pk])
        return self._settings[unit.pk]


class Batch:
    """What applying messages looks up, read once for all the messages of a batch: the units
    they name with their feed settings (:class:`Units`), and one query each for their
    appointments, the people to be booked (these two locked for the batch's transaction) and the
    clinicians who may own the new courses, where each message would otherwise ask again. What
    was not read in advance is read when asked for, so a single message is applied as a batch of
    one. Lives for one transaction; ``today`` is the day a clinician's role must be valid on."""

    def __init__(self, *, today: dt.date | None = None, units: Units | None = None) -> None:
        self.today = today or oslo_date(timezone.now())
        self.units = units or Units()
        self._appointments: dict[AppointmentKey, Appointment] = {}
        self._owners: dict[tuple[int, str], User | None] = {}
        self._people: dict[int, UnitRecords] = {}

    def load_appointments(self, keys: Iterable[AppointmentKey]) -> None:
        wanted = set(keys) - set(self._appointments)
        if not wanted:
            return
        match = Q()
        for unit_id, source, appointment_id in wanted:
            match |= Q(unit_id=unit_id, source=source, appointment_id=appointment_id)
        for found in Appointment.objects.select_for_update().filter(match):
            self._appointments[(found.unit_id, found.source, found.appointment_id)] = found
        for unit_id, source, appointment_id in wanted - set(self._appointments):
            # Not there yet: inserted when its first message is applied (a concurrent insert by
            # another worker fails that message, which is applied again on the next pass).
            self._appointments[(unit_id, source, appointment_id)] = Appointment(
                unit_id=unit_id, source=source, appointment_id=appointment_id
            )

    def appointment(self, key: AppointmentKey) -> Appointment:
        """The appointment, locked; a new one (not saved) when the booking system's id is new."""
        self.load_appointments([key])
        return self._appointments[key]

    def load_people(self, wanted: Iterable[tuple[Unit, str]]) -> None:
        """The units' records of the people to be booked (one query per unit)."""
        by_unit: dict[int, tuple[Unit, set[str]]] = {}
        for unit, national_id in wanted:
            try:
                by_unit.setdefault(unit.pk, (unit, set()))[1].add(
                    parse_national_id(national_id).value
                )
            except NationalIdError:
                continue
        for pk, (unit, national_ids) in by_unit.items():
            if pk not in self._people:
                self._people[pk] = UnitRecords(unit=unit, national_ids=national_ids)

    def people(self, unit: Unit) -> UnitRecords | None:
        return self._people.get(unit.pk)

    def forget(self) -> None:
        """A message's work was rolled back: the appointments and patient records it may have
        written are read again when next asked for."""
        self._appointments.clear()
        self._people.clear()

    def load_owners(self, wanted: Iterable[tuple[int, str]]) -> None:
        keys = {(unit_id, name) for unit_id, name in wanted if name} - set(self._owners)
        if not keys:
            return
        names = {name for _unit_id, name in keys}
        memberships = (
            Membership.objects.select_related("user")
            .filter(unit_id__in={unit_id for unit_id, _name in keys})
            .filter(role__in=OWNER_ROLES, user__is_active=True)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=self.today))
            .filter(Q(user__username__in=names) | Q(user__national_id__in=names))
            .order_by("role", "pk")
        )
        for membership in memberships:
            for name in (membership.user.username, membership.user.national_id or ""):
                if (membership.unit_id, name) in keys:
                    self._owners.setdefault((membership.unit_id, name), membership.user)
        for key in keys:
            self._owners.setdefault(key, None)

    def owner(self, unit: Unit, clinician: str) -> User | None:
        """The clinician named in the message, when that person has a form role at the unit."""
        if not clinician:
            return None
        self.load_owners([(unit.pk, clinician)])
        return self._owners[(unit.pk, clinician)]


class ReadAtIntake:
    """Messages as the listener read them when it stored them, kept for the processor thread of
    the same process so that a message is not parsed a second time (a fifth of the work of
    applying it): a bounded number, without the HL7 tree. A message not found here (stored by
    another process, dropped, or "Behandle på nytt") is read again from its text."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._kept: OrderedDict[int, tuple[str, Parsed]] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, message: InboundMessage, parsed: Parsed) -> None:
        with self._lock:
            self._kept[message.pk] = (message.raw, parsed)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def take(self, message: InboundMessage) -> Parsed | None:
        """What was read of ``message`` (the same row and text), if it was kept."""
        with self._lock:
            raw, parsed = self._kept.pop(message.pk, ("", None))
        return parsed if raw == message.raw else None


read_at_intake = ReadAtIntake()


def appointment_key(unit: Unit, event: AppointmentEvent) -> AppointmentKey:
    return (unit.pk, event.source, event.appointment_id)


# --- Applying one event ----------------------------------------------------------------------


def _in_filter(settings_row: FeedSettings | None, event: AppointmentEvent) -> bool:
    if settings_row is None:
        return True
    types = {str(t) for t in settings_row.appointment_types or []}
    resources = {str(r) for r in settings_row.resources or []}
    if types and not types.intersection(event.appointment_types):
        return False
    return not (resources and not resources.intersection(event.resources))


def _has_completed_form(course: Course) -> bool:
    return Response.objects.filter(course=course, status=FormStatus.FERDIGSTILT).exists()


def _clinician_form_completed(course: Course) -> bool:
    return Response.objects.filter(
        course=course, kind=FormKind.CLINICIAN, status=FormStatus.FERDIGSTILT
    ).exists()


def apply_event(
    *,
    unit: Unit,
    event: AppointmentEvent,
    now: dt.datetime,
    referral_date_given: dt.date | None = None,
    transport: str = "",
    batch: Batch | None = None,
) -> Outcome:
    """Apply one appointment event for ``unit``; idempotent and order-safe.

    The same message twice changes nothing, and a message older than the newest one applied to
    the same appointment is recorded and ignored. The outcome says what was done (or why
    nothing was), in the registry's language; it is stored with the message. ``batch`` holds
    what the processor read in advance for the messages it applies together."""
    actor = feed_actor(event.source, unit.pk)
    batch = batch or Batch(today=oslo_date(now))
    # No savepoint of its own: the caller's (the processor's one per message) undoes a failure.
    with transaction.atomic(savepoint=False):
        appointment = batch.appointment(appointment_key(unit, event))
        outcome = _apply_locked(
            actor=actor,
            unit=unit,
            appointment=appointment,
            event=event,
            now=now,
            referral_date_given=referral_date_given,
            batch=batch,
        )
        if outcome.state in (MessageState.APPLIED, MessageState.ATTENTION):
            appointment.last_message_at = event.message_time
            appointment.last_message_id = event.message_id
            statuses: dict[str, str] = {
                EventKind.CANCEL: Appointment.Status.CANCELLED,
                EventKind.NO_SHOW: Appointment.Status.NO_SHOW,
            }
            appointment.status = statuses.get(event.kind, Appointment.Status.BOOKED)
            if event.start is not None:
                appointment.start_date = event.start
            if outcome.course is not None:
                appointment.course = outcome.course
            appointment.save()
        elif appointment.pk is None:
            appointment.save()  # the booking system's id is known from its first message on
        record_event(
            actor=actor,
            action=EVENT_ACTIONS[event.kind],
            patient_id=outcome.course.patient_id if outcome.course is not None else None,
            obj=appointment,
            outcome="ok" if outcome.state != MessageState.FAILED else "failed",
            detail={
                "source": event.source,
                "message_id": event.message_id,
                "appointment_id": event.appointment_id,
                "transport": transport,
                "result": outcome.state,
            },
        )
    return outcome


def _apply_locked(
    *,
    actor: Actor,
    unit: Unit,
    appointment: Appointment,
    event: AppointmentEvent,
    now: dt.datetime,
    referral_date_given: dt.date | None,
    batch: Batch,
) -> Outcome:
    last = appointment.last_message_at
    if (
        last is not None
        and event.message_time == last
        and event.message_id == (appointment.last_message_id)
    ):
        return Outcome(MessageState.IGNORED, gettext_noop("Samme melding er behandlet før."))
    if last is not None and event.message_time < last:
        return Outcome(
            MessageState.IGNORED,
            gettext_noop("Eldre enn en melding som alt er behandlet for timen; ignorert."),
        )
    if not _in_filter(batch.units.feed_settings(unit), event):
        return Outcome(
            MessageState.IGNORED,
            gettext_noop("Timetypen eller ressursen er ikke med i enhetens utvalg."),
        )
    course = None
    if appointment.course_id is not None:
        course = (
            Course.objects.select_for_update()
            .select_related("patient", "unit")
            .get(pk=appointment.course_id)
        )
    if event.kind in (EventKind.CANCEL, EventKind.NO_SHOW):
        return _cancel(actor=actor, course=course, event=event, now=now)
    return _book_or_move(
        actor=actor,
        unit=unit,
        appointment=appointment,
        course=course,
        event=event,
        now=now,
        referral_date_given=referral_date_given,
        batch=batch,
    )


def _book_or_move(
    *,
    actor: Actor,
    unit: Unit,
    appointment: Appointment,
    course: Course | None,
    event: AppointmentEvent,
    now: dt.datetime,
    referral_date_given: dt.date | None,
    batch: Batch,
) -> Outcome:
    if event.start is None:
        return Outcome(MessageState.FAILED, gettext_noop("Meldingen mangler dato for timen."))
    if (
        course is not None
        and not course.is_active
        and appointment.status != Appointment.Status.BOOKED
    ):
        course = None  # booked again after the feed's own cancellation: a new course
    if course is not None and not course.is_active:
        return Outcome(
            MessageState.ATTENTION,
            gettext_noop("Forløpet er slettet i NNRR; det opprettes ikke på nytt av seg selv."),
            course,
        )
    if course is not None:
        if _clinician_form_completed(course):
            return Outcome(
                MessageState.FAILED,
                gettext_noop("Behandlerskjemaet er allerede ferdigstilt; timen er ikke flyttet."),
                course,
            )
        if course.planned_consultation_date == event.start:
            return Outcome(MessageState.APPLIED, gettext_noop("Ingen endring i datoen."), course)
        try:
            move = scheduling.move_course(
                actor=actor,
                course=course,
                referral_date=event.referral_date or course.referral_date,
                planned_date=event.start,
                recreate=True,
                now=now,
            )
        except ValidationError as exc:
            return Outcome(MessageState.FAILED, " ".join(exc.messages)[:300], course)
        if move.course.pk != course.pk and course.owner_id is not None:
            # The new course stays with whoever owned the old one.
            Course.objects.filter(pk=move.course.pk).update(owner_id=course.owner_id)
        text = {
            scheduling.Rebooking.REPLANNED: gettext_noop(
                "Flyttet: utsendingen av pasientskjema er tilpasset den nye timen."
            ),
            scheduling.Rebooking.KEPT: gettext_noop(
                "Flyttet: skjemaet er sendt og gjelder fortsatt; frist og påminnelse følger."
            ),
            scheduling.Rebooking.UNCHANGED: gettext_noop("Flyttet."),
            scheduling.Rebooking.NEEDS_NEW_COURSE: gettext_noop(
                "Flyttet mer enn 30 dager etter utsending: gammelt forløp slettet, nytt opprettet."
            ),
        }[move.effect]
        return Outcome(MessageState.APPLIED, text, move.course)
    referral = event.referral_date or appointment.referral_date or referral_date_given
    if referral is None:
        return Outcome(
            MessageState.WAITING,
            gettext_noop("Meldingen har ingen henvisningsdato: oppgi den for å opprette forløpet."),
        )
    try:
        nid = parse_national_id(event.national_id)
    except NationalIdError as exc:
        return Outcome(MessageState.FAILED, " ".join(exc.messages)[:300])
    try:
        # The dates first, so a refused booking leaves no patient record behind.
        scheduling.validate_booking_dates(referral, event.start, today=oslo_date(now))
    except ValidationError as exc:
        return Outcome(MessageState.FAILED, " ".join(exc.messages)[:300])
    patient = register_patient(
        actor=actor,
        unit=unit,
        national_id=nid.value,
        name=event.patient_name or nid.formatted,
        known=batch.people(unit),
    )
    new = scheduling.book_course(
        actor=actor,
        patient=patient,
        unit=unit,
        referral_date=referral,
        planned_date=event.start,
        now=now,
        owner=batch.owner(unit, event.clinician),
    )
    appointment.referral_date = referral
    return Outcome(
        MessageState.APPLIED,
        gettext_noop("Forløp opprettet; pasientskjema planlagt."),
        new,
    )


def _cancel(
    *, actor: Actor, course: Course | None, event: AppointmentEvent, now: dt.datetime
) -> Outcome:
    if course is None:
        return Outcome(MessageState.APPLIED, gettext_noop("Ingen forløp å avbestille."))
    if not course.is_active:
        return Outcome(MessageState.IGNORED, gettext_noop("Forløpet er allerede slettet."), course)
    reason = (
        gettext_noop("Timen er avbestilt i timeboksystemet")
        if event.kind == EventKind.CANCEL
        else gettext_noop("Pasienten møtte ikke til timen")
    )
    if _has_completed_form(course):
        scheduling.cancel_open_orders(actor=actor, course=course, reason=reason, now=now)
        return Outcome(
            MessageState.ATTENTION,
            gettext_noop(
                "Ventende bestillinger kansellert. Forløpet har et ferdigstilt skjema og er "
                "ikke slettet: vurder det."
            ),
            course,
        )
    scheduling.delete_course(actor=actor, course=course, reason=reason, now=now)
    return Outcome(
        MessageState.APPLIED,
        gettext_noop("Forløpet er slettet og ventende bestillinger kansellert."),
        course,
    )


# --- Storing and processing messages ---------------------------------------------------------


def store_message(
    *,
    transport: str,
    raw: str,
    now: dt.datetime,
    source: str = "",
    unit_code: str = "",
    unit: Unit | None = None,
    message_id: str = "",
    message_type: str = "",
    event: AppointmentEvent | None = None,
    failure: str = "",
    ack_code: str = "",
) -> InboundMessage:
    """Store a received message before it is acknowledged. A message that cannot be read (or
    names no known unit) is stored as failed with ``failure``; any other waits for the
    processor."""
    message = InboundMessage(
        received_at=now,
        transport=transport,
        raw=raw,
        source=source[:100],
        unit_code=unit_code[:60],
        unit=unit,
        message_id=message_id[:100],
        message_type=message_type[:20],
        ack_code=ack_code,
    )
    if event is not None:
        message.message_time = event.message_time
        message.kind = event.kind
        message.appointment_id = event.appointment_id[:100]
        message.appointment_date = event.start
        message.patient_masked = mask_national_id(event.national_id)
    if failure:
        message.state = MessageState.FAILED
        message.outcome = failure[:300]
        message.processed_at = now
    with transaction.atomic():
        message.save()
        record_event(
            actor=feed_actor(source or "ukjent", unit.pk if unit else None),
            action="nnrr.appointment.message_received",
            obj=message,
            outcome="ok" if not failure else "failed",
            detail={
                "source": source[:100],
                "message_id": message_id[:100],
                "transport": transport,
                "ack": ack_code,
            },
            at=now,
        )
    return message


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lock_pending(queryset: QuerySet[InboundMessage]) -> QuerySet[InboundMessage]:
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset.select_for_update()


BATCH = 50
# A message that meets a concurrent write this often is given up (FAILED, for staff).
MAX_ATTEMPTS = 5

# Called after each message is applied, before its batch commits (the crash tests kill the
# process here).
after_apply_hook: Callable[[InboundMessage], None] | None = None


@unscoped("the appointment processor: received messages of every unit")
def process_pending(*, worker_id: str, now: dt.datetime, limit: int = 1000) -> int:
    """Apply received messages, oldest first, each exactly once.

    Claiming a batch of messages and applying it share one transaction: the rows are locked
    (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers never wait on each other),
    what the batch needs is read once (:class:`Batch`), the messages are applied in order (a
    message that fails is recorded with its reason and the others are kept: see
    :func:`_apply_messages`), each one's state is written conditionally on its still being
    RECEIVED, the batch's audit events are written together, and everything commits together.
    A worker killed mid-batch commits nothing of that batch: the messages are still RECEIVED and
    the next worker applies them; nothing is applied twice because the course changes and the
    message's new state are one commit (docs/decisions/0022-appointment-feeds.md)."""
    done = 0
    while done < limit:
        size = min(BATCH, limit - done)
        with transaction.atomic():
            claimed = list(
                _lock_pending(
                    InboundMessage.objects.filter(state=MessageState.RECEIVED).order_by("id")
                )[:size]
            )
            _apply_messages(claimed, worker_id=worker_id, now=now)
        done += len(claimed)
        if len(claimed) < size:
            break  # all there was (a message arriving now wakes the processor again)
    return done


def _apply_messages(
    messages: list[InboundMessage], *, worker_id: str, now: dt.datetime
) -> list[Outcome]:
    """Apply claimed (locked) messages in order inside the caller's transaction, and write what
    became of each. First all in one savepoint; when one of them fails, that savepoint undoes
    them all and they are applied again each in a savepoint of its own, so the one that failed is
    recorded with its reason and the others are kept. (A savepoint for every message would cost
    two statements of the ten a new appointment takes, and a message seldom fails.)"""
    units = Units()
    units.load(
        m.unit_id if m.transport == InboundMessage.Transport.FHIR else unit_pk(m.unit_code)
        for m in messages
    )
    readings = [_read(message, units) for message in messages]
    try:
        return _apply_in_order(messages, readings, units, worker_id=worker_id, now=now)
    except Exception:
        return _apply_in_order(
            messages, readings, units, worker_id=worker_id, now=now, each_in_savepoint=True
        )


def _apply_in_order(
    messages: list[InboundMessage],
    readings: list[Parsed | Exception],
    units: Units,
    *,
    worker_id: str,
    now: dt.datetime,
    each_in_savepoint: bool = False,
) -> list[Outcome]:
    with transaction.atomic():
        batch = Batch(today=oslo_date(now), units=units)
        events = [
            (reading.unit, reading.event)
            for reading in readings
            if not isinstance(reading, Exception) and reading.unit and reading.event
        ]
        batch.load_appointments(appointment_key(unit, event) for unit, event in events)
        bookings = [
            (unit, event)
            for unit, event in events
            if event.kind in (EventKind.BOOK, EventKind.MOVE)
            and batch.appointment(appointment_key(unit, event)).course_id is None
        ]
        batch.load_people((unit, event.national_id) for unit, event in bookings)
        batch.load_owners((unit.pk, event.clinician) for unit, event in bookings)
        outcomes = []
        with recorded_together():
            for message, reading in zip(messages, readings, strict=True):
                outcome = _apply_one(
                    message=message,
                    reading=reading,
                    batch=batch,
                    now=now,
                    in_savepoint=each_in_savepoint,
                )
                outcomes.append(outcome)
                if after_apply_hook is not None:
                    after_apply_hook(message)
            _settle(messages, outcomes, worker_id=worker_id, now=now)
    return outcomes


def _settle(
    messages: list[InboundMessage], outcomes: list[Outcome], *, worker_id: str, now: dt.datetime
) -> None:
    """Write what became of the messages, conditionally on their still being RECEIVED: their
    courses in one statement, then one for each different result (a batch of new appointments
    has one)."""
    pending = InboundMessage.objects.filter(state=MessageState.RECEIVED)
    with_course = []
    results: dict[tuple[str, str, int | None], list[int]] = defaultdict(list)
    for message, outcome in zip(messages, outcomes, strict=True):
        if outcome.course is not None:
            message.course = outcome.course
            with_course.append(message)
        # RECEIVED: the message met a concurrent write and is applied on the next pass.
        results[(outcome.state, outcome.text[:300], message.unit_id)].append(message.pk)
    pending.bulk_update(with_course, ["course"])
    for (state, text, unit_id), pks in results.items():
        if state == MessageState.RECEIVED:
            pending.filter(pk__in=pks).update(attempts=F("attempts") + 1)
            continue
        pending.filter(pk__in=pks).update(
            state=state,
            outcome=text,
            unit_id=unit_id,
            processed_at=now,
            processed_by=worker_id[:64],
            attempts=F("attempts") + 1,
        )


def _read(message: InboundMessage, units: Units) -> Parsed | Exception:
    """The stored message as the listener read it, or read again (the units it names are in
    ``units``: no query)."""
    from nnrr.appointments import fhirfeed, hl7feed

    kept = read_at_intake.take(message)
    if kept is not None and kept.unit is not None:
        return replace(kept, unit=units.unit(kept.unit.pk))  # the unit as it is now
    try:
        if message.transport == InboundMessage.Transport.FHIR:
            return fhirfeed.read(
                message.raw,
                unit=units.unit(message.unit_id),
                source=message.source,
                message_id=message.message_id,
                received_at=message.received_at,
            )
        return hl7feed.read(message.raw, units=units)
    except DatabaseError:
        raise  # the batch's transaction cannot go on; it is tried again as a whole
    except Exception as exc:  # one unreadable message never stops the feed; it waits for staff
        return exc


def _internal_error(exc: Exception) -> Outcome:
    return Outcome(
        MessageState.FAILED,
        gettext_noop("Intern feil under behandling: %(error)s") % {"error": type(exc).__name__},
    )


def _apply_one(
    *,
    message: InboundMessage,
    reading: Parsed | Exception,
    batch: Batch,
    now: dt.datetime,
    in_savepoint: bool,
) -> Outcome:
    """What applying one message did; without ``in_savepoint`` a failure is raised (the caller
    undoes the batch)."""
    from nnrr.appointments import hl7feed

    if isinstance(reading, Exception):
        return _internal_error(reading)
    if reading.failure:
        return Outcome(MessageState.FAILED, reading.failure)
    if reading.unit is None:
        return Outcome(MessageState.FAILED, hl7feed.unknown_unit(reading.unit_code))
    assert reading.event is not None
    message.unit = reading.unit

    def apply() -> Outcome:
        assert reading.unit is not None and reading.event is not None
        return apply_event(
            unit=reading.unit,
            event=reading.event,
            now=now,
            referral_date_given=message.referral_date_given,
            transport=message.transport,
            batch=batch,
        )

    if not in_savepoint:
        return apply()
    try:
        with transaction.atomic():
            return apply()
    except (IntegrityError, OperationalError) as exc:
        # Another worker wrote the same row at the same moment (two messages registering one new
        # patient): nothing of this message was kept; it stays RECEIVED for the next pass.
        batch.forget()
        if message.attempts + 1 < MAX_ATTEMPTS:
            return Outcome(MessageState.RECEIVED, "")
        return _internal_error(exc)
    except Exception as exc:  # one bad message never stops the feed; it waits for staff
        batch.forget()
        return _internal_error(exc)


def process_now(*, message: InboundMessage, worker_id: str, now: dt.datetime) -> Outcome:
    """Apply one stored message at once (the FHIR endpoint answers with what it did), under the
    same claim as :func:`process_pending`; a message another worker took first is left to it."""
    with transaction.atomic():
        locked = _lock_pending(
            InboundMessage.objects.filter(pk=message.pk, state=MessageState.RECEIVED)
        ).first()
        if locked is None:
            current = InboundMessage.objects.get(pk=message.pk)
            return Outcome(current.state, current.outcome, current.course)
        return _apply_messages([locked], worker_id=worker_id, now=now)[0]


def reprocess(
    *,
    actor: Actor,
    message: InboundMessage,
    now: dt.datetime,
    referral_date: dt.date | None = None,
) -> Outcome:
    """ "Behandle på nytt": a message that could not be applied is read again (with the
    Henvisningsdato staff give, when it lacked one) and applied now."""
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().get(pk=message.pk)
        if locked.state not in WAITING_STATES:
            raise ValidationError(gettext_noop("Meldingen er allerede behandlet."))
        if referral_date is not None:
            if referral_date > oslo_date(now):
                raise ValidationError(gettext_noop("Henvisningsdato kan ikke være i fremtiden."))
            locked.referral_date_given = referral_date
        InboundMessage.objects.filter(pk=locked.pk).update(
            state=MessageState.RECEIVED, referral_date_given=locked.referral_date_given
        )
        locked.state = MessageState.RECEIVED
        record_event(
            actor=actor,
            action="nnrr.appointment.reprocessed",
            obj=locked,
            detail={
                "source": locked.source,
                "message_id": locked.message_id,
                "referral_date_given": referral_date is not None,
            },
        )
        worker_id = f"bruker:{actor.name}"
        outcome = _apply_messages([locked], worker_id=worker_id, now=now)[0]
        if outcome.state == MessageState.APPLIED and locked.appointment_id:
            # Later messages of the same appointment that waited for the same date follow now,
            # oldest first (the course now carries the Henvisningsdato).
            later = list(
                InboundMessage.objects.select_for_update()
                .filter(
                    unit=locked.unit,
                    source=locked.source,
                    appointment_id=locked.appointment_id,
                    state=MessageState.WAITING,
                )
                .order_by("message_time", "id")
            )
            InboundMessage.objects.filter(pk__in=[waiting.pk for waiting in later]).update(
                state=MessageState.RECEIVED
            )
            for waiting in later:
                waiting.state = MessageState.RECEIVED
            _apply_messages(later, worker_id=worker_id, now=now)
    return outcome


def mark_handled(*, actor: Actor, message: InboundMessage, now: dt.datetime) -> None:
    """The Lokal registeransvarlig has dealt with a message by hand ("Merk som håndtert")."""
    with transaction.atomic():
        updated = InboundMessage.objects.filter(pk=message.pk, state__in=WAITING_STATES).update(
            state=MessageState.HANDLED, handled_by=actor.user, processed_at=now
        )
        if not updated:
            raise ValidationError(gettext_noop("Meldingen er allerede behandlet."))
        record_event(
            actor=actor,
            action="nnrr.appointment.handled",
            obj=message,
            detail={"source": message.source, "message_id": message.message_id},
        )
