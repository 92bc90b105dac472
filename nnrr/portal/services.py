"""Patient entry to the portal: one-time code or link token, always with the date of birth.

Five wrong dates of birth lock the code (staff make a new one with "Bestill på nytt"); repeated
failures from one address slow that address down (see ADDRESS_FREE_FAILURES). Every attempt is
audited. The portal's pages write only through the functions here.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from nnrr.audit.context import Actor
from nnrr.audit.models import Outcome
from nnrr.audit.services import record_event
from nnrr.lib.requests import client_address
from nnrr.portal.models import PortalThrottle
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.models import FormKind, FormStatus, Response, Source
from nnrr.scheduling import codes
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import FILLABLE_STATES, Order, OrderState

# The address throttle slows guessing across many codes from one place. It is deliberately
# lenient: a clinic's patients may share one address, and the per-code lockout (five wrong dates
# of birth lock that code) is the main defence. After this many failures from one address, each
# further failure blocks unknown codes and wrong dates of birth from it for longer (a patient
# with the right code and date of birth still gets in); one failure is forgotten per
# DECAY_MINUTES without failures, and a success forgets nothing.
ADDRESS_FREE_FAILURES = 10
MAX_BLOCK_MINUTES = 30
DECAY_MINUTES = 6


class Entry(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # unknown code or wrong date of birth (deliberately not told apart)
    LOCKED = "locked"  # too many wrong dates of birth for this code
    USED = "used"  # the form was already submitted
    EXPIRED = "expired"  # past the deadline, cancelled or replaced
    NOT_YET = "not_yet"  # planned, not sent yet
    SLOWED = "slowed"  # this address must wait


@dataclass(frozen=True)
class EntryResult:
    outcome: Entry
    order: Order | None = None
    wait_minutes: int = 0


def decayed_failures(throttle: PortalThrottle, now: dt.datetime) -> int:
    """The address's failures, less one per DECAY_MINUTES since its last failure."""
    if throttle.last_failure_at is None or throttle.last_failure_at >= now:
        return throttle.failures
    quiet_minutes = (now - throttle.last_failure_at).total_seconds() / 60
    return max(0, throttle.failures - int(quiet_minutes // DECAY_MINUTES))


def _throttle_wait(address: str, now: dt.datetime) -> int:
    throttle = PortalThrottle.objects.filter(address=address).first()
    if throttle and throttle.blocked_until and throttle.blocked_until > now:
        return max(1, int((throttle.blocked_until - now).total_seconds() // 60) + 1)
    return 0


def _register_address_failure(address: str, now: dt.datetime) -> None:
    with transaction.atomic():
        PortalThrottle.objects.bulk_create([PortalThrottle(address=address)], ignore_conflicts=True)
        throttle = PortalThrottle.objects.select_for_update().get(address=address)
        throttle.failures = decayed_failures(throttle, now) + 1
        throttle.last_failure_at = now
        over = throttle.failures - ADDRESS_FREE_FAILURES
        if over >= 0:
            throttle.blocked_until = now + dt.timedelta(minutes=min(2**over, MAX_BLOCK_MINUTES))
        throttle.save()


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
    order: Order | None,
    birth_date: dt.date | None,
    now: dt.datetime,
    via: str,
) -> EntryResult:
    """Check an entry attempt (``via`` is "code" or "link") and record it."""
    address = client_address(request) or "unknown"
    wait = _throttle_wait(address, now)
    unit_id = order.course.unit_id if order else None
    actor = Actor.patient(request, unit_id)
    patient_id = order.course.patient_id if order else None
    right = (
        order is not None
        and birth_date is not None
        and order.course.patient.birth_date == birth_date
    )
    if not right:
        _register_address_failure(address, now)
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
            action="nnrr.portal.entry_slowed" if wait else "nnrr.portal.entry_failed",
            patient_id=patient_id,
            obj=order,
            outcome=Outcome.DENIED,
            detail={"via": via, "known_code": order is not None}
            | ({"wait_minutes": wait} if wait else {}),
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
        if wait:
            # The same answer for an unknown code and a wrong date of birth: a blocked address
            # learns nothing about which codes exist.
            return EntryResult(Entry.SLOWED, wait_minutes=wait)
        return EntryResult(Entry.WRONG)
    assert order is not None
    state = order_state(order, now)
    record_event(
        actor=actor,
        action="nnrr.portal.entry",
        patient_id=patient_id,
        obj=order,
        outcome=Outcome.OK if state == Entry.OK else Outcome.DENIED,
        detail={"via": via, "state": state.value} | ({"address_slowed": True} if wait else {}),
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
    return (
        Order.objects.select_related("course__patient", "course__unit")
        .filter(code_hash=codes.code_hash(normalized))
        .first()
    )


def order_by_token(token: str) -> Order | None:
    if not token or len(token) > 100:
        return None
    return (
        Order.objects.select_related("course__patient", "course__unit")
        .filter(token_hash=codes.token_hash(token))
        .first()
    )
