"""Patient entry to the portal: one-time code or link token, always with the date of birth.

Five wrong dates of birth lock the code (staff make a new one with "Bestill på nytt"). Repeated
failures from one address block that address: while it is blocked nothing it sends is checked
(see ADDRESS_FREE_FAILURES). Every checked attempt is audited, and each blocked period once.
The portal's pages write only through the functions here.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from nnrr.audit.context import Actor
from nnrr.audit.models import Outcome
from nnrr.audit.services import record_event
from nnrr.lib.requests import client_address
from nnrr.lib.scopes import unit_scope, unscoped
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.models import FormKind, FormStatus, Response, Source
from nnrr.scheduling import codes
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import FILLABLE_STATES, Order, OrderState

# The address throttle stops guessing across many codes from one place. After this many
# failures from one address within a window of FAILURE_WINDOW_MINUTES, the address is blocked:
# nothing it sends is checked, not even a right code with the right date of birth, for a cooling
# period of 1 minute that doubles with every further try (while blocked, or failed after it), up to
# MAX_BLOCK_MINUTES. Per code, five wrong dates of birth lock that code (settings
# PORTAL_MAX_FAILURES). The counters are in the "throttle" cache, which every web process shares
# (Redis with NNRR_CACHE_URL, else a table of the database).
ADDRESS_FREE_FAILURES = 10
FAILURE_WINDOW_MINUTES = 60
MAX_BLOCK_MINUTES = 30
LEVEL_MEMORY_HOURS = 24  # how long an address's past blocks make its next one longer


class Entry(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # unknown code or wrong date of birth (deliberately not told apart)
    LOCKED = "locked"  # too many wrong dates of birth for this code
    USED = "used"  # the form was already submitted
    EXPIRED = "expired"  # past the deadline, cancelled or replaced
    NOT_YET = "not_yet"  # planned, not sent yet
    SLOWED = "slowed"  # this address is blocked: nothing was checked


@dataclass(frozen=True)
class EntryResult:
    outcome: Entry
    order: Order | None = None
    wait_minutes: int = 0


def _cache() -> Any:
    return caches["throttle"]


def _keys(address: str, now: dt.datetime | None = None) -> tuple[str, str, str]:
    """The address's failures in the current window (counted per window of
    FAILURE_WINDOW_MINUTES, so they are forgotten when it ends), its block, its level."""
    window = int(now.timestamp() // (FAILURE_WINDOW_MINUTES * 60)) if now else 0
    return (
        f"portal:failures:{address}:{window}",
        f"portal:blocked:{address}",
        f"portal:level:{address}",
    )


def _minutes_left(until: float, now: dt.datetime) -> int:
    return max(1, int((until - now.timestamp()) // 60) + 1)


def address_wait(address: str, now: dt.datetime) -> int:
    """Minutes this address must still wait (0: not blocked)."""
    until = _cache().get(_keys(address)[1])
    return _minutes_left(until, now) if until and until > now.timestamp() else 0


def _next_level(address: str) -> int:
    cache, level_key = _cache(), _keys(address)[2]
    cache.add(level_key, 0, timeout=LEVEL_MEMORY_HOURS * 3600)
    try:
        return int(cache.incr(level_key))
    except ValueError:  # expired between add and incr
        cache.set(level_key, 1, timeout=LEVEL_MEMORY_HOURS * 3600)
        return 1


def _block(address: str, now: dt.datetime, *, extend: bool) -> tuple[bool, int]:
    """Block the address for a period that doubles with every block and refused try.
    Returns whether a new blocked period began, and its minutes."""
    minutes = min(2 ** (_next_level(address) - 1), MAX_BLOCK_MINUTES)
    until = now.timestamp() + minutes * 60
    cache, blocked_key = _cache(), _keys(address)[1]
    if cache.add(blocked_key, until, timeout=minutes * 60):
        return True, minutes
    current = cache.get(blocked_key)
    if not current or current <= now.timestamp():  # the last period is over
        cache.set(blocked_key, until, timeout=minutes * 60)
        return True, minutes
    if extend:
        cache.set(blocked_key, until, timeout=minutes * 60)
    return False, minutes


def _register_address_failure(address: str, now: dt.datetime) -> int:
    """Count a failure; block the address from its ADDRESS_FREE_FAILURES-th. The minutes of a
    blocked period that began here, else 0."""
    cache, failures_key = _cache(), _keys(address, now)[0]
    cache.add(failures_key, 0, timeout=2 * FAILURE_WINDOW_MINUTES * 60)
    try:
        failures = int(cache.incr(failures_key))
    except ValueError:  # expired between add and incr
        cache.set(failures_key, 1, timeout=2 * FAILURE_WINDOW_MINUTES * 60)
        failures = 1
    if failures < ADDRESS_FREE_FAILURES:
        return 0
    began, minutes = _block(address, now, extend=False)
    return minutes if began else 0


def order_state(order: Order, now: dt.datetime, *, ignore_code_lock: bool = False) -> Entry:
    """Whether the order can be answered now (the code's lockout counts unless ignored: a form
    arriving from Helsenorge was filled by a patient logged in with eID, not with the code)."""
    if order.code_locked_at is not None and not ignore_code_lock:
        return Entry.LOCKED
    if order.state == OrderState.ANSWERED or order.code_used_at is not None:
        return Entry.USED
    if order.state == OrderState.PLANNED and not order.notify_self:
        return Entry.NOT_YET
    if order.state not in FILLABLE_STATES or order.expires_at <= now:
        return Entry.EXPIRED
    return Entry.OK


def enter(
    *,
    request: HttpRequest,
    find: Callable[[], Order | None],
    birth_date: dt.date | None,
    now: dt.datetime,
    via: str,
) -> EntryResult:
    """Check an entry attempt (``via`` is "code" or "link") and record it. ``find`` looks up the
    order of the code or link; a blocked address gets nothing looked up or checked."""
    address = client_address(request) or "unknown"
    if address_wait(address, now):
        # Every try while blocked makes the wait longer; the period's audit event was written
        # when it began.
        _began, minutes = _block(address, now, extend=True)
        return EntryResult(Entry.SLOWED, wait_minutes=minutes)
    order = find()
    with order_scope(order):
        return _check_entry(
            request, order, birth_date=birth_date, now=now, via=via, address=address
        )


def _check_entry(
    request: HttpRequest,
    order: Order | None,
    *,
    birth_date: dt.date | None,
    now: dt.datetime,
    via: str,
    address: str,
) -> EntryResult:
    unit_id = order.course.unit_id if order else None
    actor = Actor.patient(request, unit_id)
    patient_id = order.course.patient_id if order else None
    right = (
        order is not None
        and birth_date is not None
        and order.course.patient.birth_date == birth_date
    )
    if not right:
        blocked_minutes = _register_address_failure(address, now)
        locked = False
        if order is not None:
            with transaction.atomic():
                Order.objects.filter(pk=order.pk).update(code_failures=F("code_failures") + 1)
                order.refresh_from_db(fields=["code_failures", "code_locked_at"])
                if order.code_failures >= settings.PORTAL_MAX_FAILURES and not order.code_locked_at:
                    Order.objects.filter(pk=order.pk).update(code_locked_at=now)
                    order.code_locked_at = now
                    locked = True
        record_event(
            actor=actor,
            action="nnrr.portal.entry_failed",
            patient_id=patient_id,
            obj=order,
            outcome=Outcome.DENIED,
            detail={"via": via, "known_code": order is not None},
        )
        if blocked_minutes:
            # One event per blocked period, however many tries it refuses.
            record_event(
                actor=Actor.patient(request, None),
                action="nnrr.portal.entry_slowed",
                outcome=Outcome.DENIED,
                detail={"via": via, "wait_minutes": blocked_minutes},
            )
        if locked:
            record_event(
                actor=actor,
                action="nnrr.portal.code_locked",
                patient_id=patient_id,
                obj=order,
                outcome=Outcome.DENIED,
                detail={"via": via},
            )
            return EntryResult(Entry.LOCKED, order)
        if order is not None and order.code_locked_at:
            return EntryResult(Entry.LOCKED, order)
        return EntryResult(Entry.WRONG)
    assert order is not None
    state = order_state(order, now)
    record_event(
        actor=actor,
        action="nnrr.portal.entry",
        patient_id=patient_id,
        obj=order,
        outcome=Outcome.OK if state == Entry.OK else Outcome.DENIED,
        detail={"via": via, "state": state.value},
    )
    # A success does not clear the address's failures: one right code must not buy an attacker
    # a fresh round of guesses.
    return EntryResult(state, order)


class Gate(enum.Enum):
    OPEN = "open"  # the questionnaire may be shown and stored
    ASK = "ask"  # the pre-treatment form: the consent page comes first
    REFUSED = "refused"  # the course has no consent (or is gone): nothing is shown or stored


def consent_gate(order: Order, *, consent_in_session: bool) -> Gate:
    """The portal's consent rule for every form kind (consent belongs to the course).

    The pre-treatment form opens once the patient ticked consent in this session or a draft saved
    after consent exists; the 6- and 12-month forms open only for a course whose pre-treatment
    form is stored with consent; nothing opens for a course that was deleted or withdrawn.
    """
    # Imported here: the portal's entry code above needs neither.
    from nnrr.questionnaires.models import FormKind
    from nnrr.questionnaires.services import course_has_consent

    course = order.course
    if not course.is_active:
        return Gate.REFUSED
    if order.kind == FormKind.PRE_TREATMENT:
        draft = order.response if order.response_id else None
        if consent_in_session or (draft is not None and draft.consent is True):
            return Gate.OPEN
        return Gate.ASK
    return Gate.OPEN if course_has_consent(course) else Gate.REFUSED


# --- Writes from the portal's pages -----------------------------------------------------------


def record_staff_logout(*, actor: Actor) -> None:
    """A staff login in the browser ends because a patient entered the portal in it."""
    record_event(actor=actor, action="nnrr.logout", detail={"reason": "portal_entry"})


def record_consent(*, actor: Actor, order: Order) -> None:
    """The patient ticked the consent box before the pre-treatment form."""
    record_event(
        actor=actor,
        action="nnrr.portal.consent_given",
        patient_id=order.course.patient_id,
        obj=order,
    )


def save_section(
    *, actor: Actor, order: Order, answers: dict[str, Any], now: dt.datetime
) -> Response:
    """Store the answers so far as the order's draft (one draft per order, under its lock)."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        response = locked.response if locked.response_id else None
        draft = response if response is not None and response.status == FormStatus.KLADD else None
        saved = form_services.save_portal_draft(
            actor=actor,
            course=order.course,
            kind=order.kind,
            answers=answers,
            draft=draft,
            now=now,
        )
        if locked.response_id != saved.pk:
            Order.objects.filter(pk=order.pk).update(response=saved)
    return saved


def submit(
    *,
    actor: Actor,
    order: Order,
    answers: dict[str, Any],
    now: dt.datetime,
    source: str = Source.PORTAL,
) -> Response | None:
    """ "Send inn": store the completed form once. None when the order was already answered (a
    second click or a reload); ValidationError when the answers cannot be stored. ``source`` is
    Helsenorge for a form filled in Helsenorge's form filler (nnrr.api.services)."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.state == OrderState.ANSWERED:
            return None
        return scheduling.submit_patient_form(
            actor=actor,
            course=order.course,
            kind=order.kind,
            answers=answers,
            consent=True if order.kind == FormKind.PRE_TREATMENT else None,
            source=source,
            now=now,
            order=locked,
        )


def order_by_code(code: str) -> Order | None:
    normalized = codes.normalize_code(code)
    if len(normalized) != codes.CODE_LENGTH:
        return None
    # The patient has no unit yet: the order is found by the keyed hash of its code, at
    # whichever unit it is, and nothing of it is shown before the date of birth matches.
    with unscoped("the portal: an order found by the keyed hash of its one-time code"):
        return (
            Order.objects.select_related("course__patient", "course__unit")
            .filter(code_hash=codes.code_hash(normalized))
            .first()
        )


def order_by_token(token: str) -> Order | None:
    if not token or len(token) > 100:
        return None
    with unscoped("the portal: an order found by the keyed hash of its link's token"):
        return (
            Order.objects.select_related("course__patient", "course__unit")
            .filter(token_hash=codes.token_hash(token))
            .first()
        )


def unit_of_order(order_id: str) -> int | None:
    """The unit of the order a patient's session entered (the session holds its id only)."""
    try:
        key = uuid.UUID(order_id)
    except ValueError:
        return None
    with unscoped("the portal: the unit of the order the patient's session proved"):
        return Order.objects.filter(pk=key).values_list("course__unit_id", flat=True).first()


def order_scope(order: Order | None) -> AbstractContextManager[object]:
    """The patient's scope in the portal: the unit of the order they proved (none before)."""
    return unit_scope_of(order.course.unit_id if order is not None else None)


def unit_scope_of(unit_id: int | None) -> AbstractContextManager[object]:
    return unit_scope(units=[unit_id] if unit_id is not None else [])
