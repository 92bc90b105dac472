"""Course lifecycle actions: booking, rebooking, ordering questionnaires, withdrawal and purge.

Each public function is one user (or worker) action: keyword-only arguments, one transaction,
its audit event written inside it. Time is injected through ``now``.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

# Texts stored in the database stay in the registry's language; pages translate them on display.
from django.utils.translation import gettext_noop

from nnrr.accounts.models import Unit, User
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.lib.dates import oslo_date
from nnrr.lib.errors import ConflictError
from nnrr.patients.models import ConsentLogEntry, Course, Patient
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.definitions import current_version, get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response, consent_exists
from nnrr.questionnaires.validation import CompletionRefused, check_completion
from nnrr.scheduling import codes, rules
from nnrr.scheduling.models import (
    OPEN_STATES,
    Message,
    MessageKind,
    MessageState,
    Order,
    OrderState,
)

FOLLOW_UPS = ((FormKind.FOLLOW_UP_6, 6), (FormKind.FOLLOW_UP_12, 12))


# --- Dates -----------------------------------------------------------------------------------


def validate_booking_dates(
    referral_date: dt.date, planned_date: dt.date, *, today: dt.date
) -> None:
    """Henvisningsdato not in the future; Planlagt dato for konsultasjon not before it."""
    errors: dict[str, str] = {}
    if referral_date > today:
        errors["referral_date"] = _("Henvisningsdato kan ikke være i fremtiden.")
    if planned_date < referral_date:
        errors["planned_consultation_date"] = _(
            "Planlagt dato for konsultasjon kan ikke være før henvisningsdato."
        )
    if errors:
        raise ValidationError(errors)


# --- Orders ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewOrder:
    order: Order
    code: str  # shown to staff once; only its hash is stored


def _create_order(
    *,
    course: Course,
    kind: str,
    plan: rules.Plan,
    actor: Actor,
    now: dt.datetime,
    notify_self: bool = False,
    replaces: Order | None = None,
) -> NewOrder:
    order_id = uuid.uuid4()
    salt = codes.new_salt()
    code = codes.new_code()
    state = OrderState.PLANNED
    if plan.window_passed(now) or not plan.can_be_answered:
        state = OrderState.MISSED
    order = Order(
        id=order_id,
        course=course,
        kind=kind,
        state=state,
        send_at=plan.send_at,
        remind_at=None if notify_self else plan.remind_at,
        expires_at=plan.expires_at,
        notify_self=notify_self,
        code_hash=codes.code_hash(code),
        code_sealed=codes.seal_code(code),
        token_salt=salt,
        token_hash=codes.token_hash(codes.link_token(order_id, salt)),
        replaces=replaces,
        created_by=actor.user,
    )
    if state == OrderState.MISSED:
        order.closed_at = now
        order.close_reason = gettext_noop("Svarfristen var passert da skjemaet ble planlagt.")
    elif notify_self:
        # No message: staff hand the one-time code to the patient, so it is out at once.
        order.state = OrderState.SENT
        order.sent_at = now
    code = _insert_with_unique_code(order, code)
    if notify_self and order.state == OrderState.SENT:
        Message.objects.create(
            order=order,
            kind=MessageKind.INVITATION,
            key=message_key(order.pk, MessageKind.INVITATION),
            state=MessageState.SKIPPED,
            channel="none",
            outcome=gettext_noop("Jeg vil varsle mottaker selv: engangskode vist til personalet"),
            created_at=now,
        )
    record_event(
        actor=actor,
        action="nnrr.order.created",
        patient_id=course.patient_id,
        obj=order,
        detail={
            "kind": kind,
            "state": order.state,
            "notify_self": notify_self,
            "replaces": str(replaces.pk) if replaces else "",
        },
    )
    return NewOrder(order=order, code=code)


CODE_ATTEMPTS = 5


def _insert_with_unique_code(order: Order, code: str) -> str:
    """Insert ``order``; when its one-time code is already another order's (two codes from
    23⁸ colliding), draw a new code and try again. Returns the code that was stored."""
    for attempt in range(CODE_ATTEMPTS):
        order.code_hash = codes.code_hash(code)
        try:
            with transaction.atomic():
                order.save(force_insert=True)
        except IntegrityError:
            taken = Order.objects.filter(code_hash=order.code_hash).exists()
            if not taken or attempt == CODE_ATTEMPTS - 1:
                raise
            code = codes.new_code()
        else:
            return code
    raise AssertionError("unreachable")  # pragma: no cover


def message_key(order_id: uuid.UUID, kind: str) -> str:
    return f"{order_id}-{kind}"


def _close_order(order: Order, *, state: str, reason: str, now: dt.datetime) -> None:
    Order.objects.filter(pk=order.pk).update(
        state=state,
        closed_at=now,
        close_reason=reason[:200],
        version=F("version") + 1,
        code_sealed="",
    )
    order.state, order.closed_at, order.close_reason = state, now, reason[:200]
    order.version += 1


def code_can_be_shown(order: Order, *, now: dt.datetime) -> bool:
    """Whether a pending order's one-time code can be shown again: open, not used, not locked,
    not past its deadline, and sealed (orders made before sealing have only the hash)."""
    return (
        order.state in OPEN_STATES
        and order.code_used_at is None
        and order.code_locked_at is None
        and order.expires_at > now
        and bool(order.code_sealed)
    )


def show_code_again(*, actor: Actor, order: Order, now: dt.datetime) -> str:
    """The "gul nøkkel" of a pending order shown again to staff (audited). A new code is only
    made by "Bestill på nytt"."""
    code = codes.open_code(order.code_sealed) if code_can_be_shown(order, now=now) else None
    if code is None:
        raise ValidationError(
            _(
                "Engangskoden kan ikke vises: bestillingen er besvart, utløpt, sperret eller "
                "erstattet. Bruk «Bestill på nytt» for å lage en ny kode."
            )
        )
    record_event(
        actor=actor,
        action="nnrr.order.code_shown_again",
        patient_id=order.course.patient_id,
        obj=order,
        detail={"kind": order.kind},
    )
    return code


def plan_pre_treatment_order(*, actor: Actor, course: Course, now: dt.datetime) -> NewOrder:
    plan = rules.plan_pre_treatment(course.planned_consultation_date, now)
    return _create_order(
        course=course, kind=FormKind.PRE_TREATMENT, plan=plan, actor=actor, now=now
    )


# --- Booking ---------------------------------------------------------------------------------


def book_course(
    *,
    actor: Actor,
    patient: Patient,
    unit: Unit,
    referral_date: dt.date,
    planned_date: dt.date,
    now: dt.datetime,
    owner: User | None = None,
) -> Course:
    """Create a forløp with its Behandlerskjema (Kladd, owned by its creator, or by ``owner``:
    the clinician a booking system names) and plan the pre-treatment questionnaire (sent 16 days
    before the consultation). Consent belongs to the course: a new course asks for it again, also
    after an earlier withdrawal."""
    if patient.unit_id != unit.pk:
        # One unit's course never hangs on another unit's record of the person.
        raise ValueError("the patient record belongs to another unit")
    validate_booking_dates(referral_date, planned_date, today=oslo_date(now))
    # No savepoint inside a caller's transaction (the appointment feed's, a re-created course's):
    # a failure here undoes the caller's work too, as it would anyway.
    with transaction.atomic(savepoint=False):
        course = Course.objects.create(
            patient=patient,
            unit=unit,
            referral_date=referral_date,
            planned_consultation_date=planned_date,
            created_by=actor.user,
            owner=owner or actor.user,
        )
        Response.objects.create(
            course=course,
            kind=FormKind.CLINICIAN,
            status=FormStatus.KLADD,
            definition_version=current_version(FormKind.CLINICIAN),
            created_by=actor.user,
            updated_by=actor.user,
        )
        record_event(
            actor=actor,
            action="nnrr.course.created",
            patient_id=patient.pk,
            obj=course,
            detail={
                "referral_date": referral_date.isoformat(),
                "planned_date": planned_date.isoformat(),
            },
        )
        plan_pre_treatment_order(actor=actor, course=course, now=now)
    return course


class Rebooking(enum.Enum):
    REPLANNED = "replanned"  # the questionnaire was not sent yet: it follows the new date
    KEPT = "kept"  # sent and moved ≤ 30 days: the order stays valid, reminder/expiry follow
    UNCHANGED = "unchanged"  # no questionnaire to adjust (answered, or none)
    NEEDS_NEW_COURSE = "needs_new_course"  # sent and moved > 30 days: re-create the course


def rebooking_effect(course: Course, new_planned: dt.date) -> Rebooking:
    order = open_pre_treatment_order(course)
    if order is None:
        return Rebooking.UNCHANGED
    if order.state == OrderState.PLANNED:
        return Rebooking.REPLANNED
    if rules.rebooking_keeps_order(course.planned_consultation_date, new_planned):
        return Rebooking.KEPT
    return Rebooking.NEEDS_NEW_COURSE


def open_pre_treatment_order(course: Course) -> Order | None:
    return (
        Order.objects.filter(course=course, kind=FormKind.PRE_TREATMENT, state__in=OPEN_STATES)
        .order_by("-created_at")
        .first()
    )


def change_planned_date(
    *,
    actor: Actor,
    course: Course,
    referral_date: dt.date,
    planned_date: dt.date,
    expected_version: int,
    now: dt.datetime,
) -> Rebooking:
    """Edit the booking dates. An unsent questionnaire is re-planned; a sent one moved ≤ 30 days
    keeps its code with reminder and expiry following the new date; a sent one moved further
    is refused (the caller offers :func:`recreate_course`)."""
    validate_booking_dates(referral_date, planned_date, today=oslo_date(now))
    with transaction.atomic():
        effect = rebooking_effect(course, planned_date)
        if effect == Rebooking.NEEDS_NEW_COURSE:
            return effect
        updated = Course.objects.filter(
            pk=course.pk, version=expected_version, status=Course.Status.ACTIVE
        ).update(
            referral_date=referral_date,
            planned_consultation_date=planned_date,
            version=F("version") + 1,
            updated_at=now,
        )
        if not updated:
            raise ConflictError
        old_planned = course.planned_consultation_date
        course.referral_date, course.planned_consultation_date = referral_date, planned_date
        course.version = expected_version + 1
        order = open_pre_treatment_order(course)
        if order is not None and effect == Rebooking.REPLANNED:
            plan = rules.plan_pre_treatment(planned_date, now)
            Order.objects.filter(pk=order.pk, state=OrderState.PLANNED).update(
                send_at=plan.send_at,
                remind_at=plan.remind_at,
                expires_at=plan.expires_at,
                version=F("version") + 1,
            )
        elif order is not None and effect == Rebooking.KEPT and order.sent_at is not None:
            plan = rules.rebooked_pre_treatment(planned_date, order.sent_at)
            Order.objects.filter(pk=order.pk).update(
                remind_at=None if order.notify_self else plan.remind_at,
                expires_at=max(plan.expires_at, rules.reorder_expiry(planned_date, now))
                if order.replaces_id
                else plan.expires_at,
                version=F("version") + 1,
            )
        record_event(
            actor=actor,
            action="nnrr.course.rebooked",
            patient_id=course.patient_id,
            obj=course,
            detail={
                "old_planned_date": old_planned.isoformat(),
                "planned_date": planned_date.isoformat(),
                "referral_date": referral_date.isoformat(),
                "effect": effect.value,
            },
        )
    return effect


def recreate_course(
    *, actor: Actor, course: Course, referral_date: dt.date, planned_date: dt.date, now: dt.datetime
) -> Course:
    """The consultation moved more than 30 days after the questionnaire went out: delete the old
    course and create a new one with the new date (and a new questionnaire order)."""
    with transaction.atomic():
        # A second submit (double click, two users) finds the course gone: refused, not re-run.
        still_active = (
            Course.objects.select_for_update()
            .filter(pk=course.pk, status=Course.Status.ACTIVE)
            .exists()
        )
        if not still_active:
            raise ValidationError(_("Forløpet er allerede slettet."))
        _delete_course(
            actor=actor,
            course=course,
            reason=gettext_noop("Timen flyttet mer enn 30 dager; nytt forløp opprettet"),
            status=Course.Status.DELETED,
            now=now,
            log_reason=None,
        )
        record_event(
            actor=actor,
            action="nnrr.course.deleted",
            patient_id=course.patient_id,
            obj=course,
            detail={"reason_given": True, "replaced_by_new_course": True},
        )
        new = book_course(
            actor=actor,
            patient=course.patient,
            unit=course.unit,
            referral_date=referral_date,
            planned_date=planned_date,
            now=now,
        )
        Course.objects.filter(pk=new.pk).update(replaces=course)
        new.replaces = course
    return new


@dataclass(frozen=True)
class Move:
    effect: Rebooking
    course: Course  # the course that now holds the appointment (a new one after re-creation)


def move_course(
    *,
    actor: Actor,
    course: Course,
    referral_date: dt.date,
    planned_date: dt.date,
    now: dt.datetime,
    expected_version: int | None = None,
    recreate: bool = False,
) -> Move:
    """The manual's rule for a moved appointment ("Dersom timen flyttes"), the one place it is
    applied, by "Endre dato" and by the booking systems' feeds alike: not yet sent → re-planned;
    sent and moved ≤ 30 days → the order stays, reminder and expiry follow; sent and moved
    further → the old course is deleted and a new one created in one step when ``recreate`` is
    set (the feed; staff confirm first), else ``NEEDS_NEW_COURSE`` is returned and nothing
    changes. ``expected_version`` None means the caller holds the course locked."""
    with transaction.atomic():
        effect = rebooking_effect(course, planned_date)
        if effect == Rebooking.NEEDS_NEW_COURSE:
            if not recreate:
                return Move(effect, course)
            new = recreate_course(
                actor=actor,
                course=course,
                referral_date=referral_date,
                planned_date=planned_date,
                now=now,
            )
            return Move(effect, new)
        change_planned_date(
            actor=actor,
            course=course,
            referral_date=referral_date,
            planned_date=planned_date,
            expected_version=course.version if expected_version is None else expected_version,
            now=now,
        )
    return Move(effect, course)


def cancel_open_orders(*, actor: Actor, course: Course, reason: str, now: dt.datetime) -> int:
    """Cancel the course's pending questionnaire orders (their codes die); the course stays."""
    with transaction.atomic():
        orders = list(Order.objects.filter(course=course, state__in=OPEN_STATES))
        for order in orders:
            _close_order(order, state=OrderState.CANCELLED, reason=reason, now=now)
            record_event(
                actor=actor,
                action="nnrr.order.cancelled",
                patient_id=course.patient_id,
                obj=order,
                detail={"kind": order.kind},
            )
    return len(orders)


# --- Deletion, withdrawal, purge -------------------------------------------------------------


def _delete_course(
    *,
    actor: Actor,
    course: Course,
    reason: str,
    status: str,
    now: dt.datetime,
    log_reason: str | None,
) -> None:
    """Remove a course's clinical content, cancel its orders and mark everything deleted."""
    responses = Response.objects.filter(course=course)
    # Completed patient forms are immutable rows: content removal deletes them outright.
    responses.filter(kind__in=["1a", "2", "3"], status=FormStatus.FERDIGSTILT).delete()
    responses.update(
        status=FormStatus.SLETTET, answers={}, scores={}, consent=None, last_update=now
    )
    for order in Order.objects.filter(course=course, state__in=OPEN_STATES):
        _close_order(order, state=OrderState.CANCELLED, reason=reason, now=now)
    Course.objects.filter(pk=course.pk).update(
        status=status, deleted_at=now, deleted_reason=reason[:300], version=F("version") + 1
    )
    course.status, course.deleted_at = status, now
    if log_reason is not None:
        ConsentLogEntry.objects.create(
            national_id=course.patient.national_id,
            name=course.patient.name,
            unit=course.unit,
            course_id=course.pk,
            referral_date=course.referral_date,
            planned_consultation_date=course.planned_consultation_date,
            reason=log_reason,
            note=reason[:300],
            recorded_at=now,
            recorded_by=actor.user,
        )


def course_can_be_deleted(clinician_status: int | None) -> bool:
    """Whether "Slett skjema" may delete a course whose Behandlerskjema has this status (None:
    it has none): only while it is not completed. A completed Behandlerskjema is the unit's
    registration; it is returned to its owner ("Returner skjema") before the course can be
    deleted."""
    return clinician_status != FormStatus.FERDIGSTILT


def delete_course(*, actor: Actor, course: Course, reason: str, now: dt.datetime) -> None:
    """ "Slett skjema" on the Behandlerskjema: the patient did not come or does not take part."""
    clinician = Response.objects.filter(course=course, kind=FormKind.CLINICIAN)
    if not course_can_be_deleted(clinician.values_list("status", flat=True).first()):
        raise ValidationError(
            _(
                "Behandlerskjemaet er ferdigstilt, og forløpet kan ikke slettes. "
                "Returner skjemaet først."
            )
        )
    with transaction.atomic():
        consented = form_services.course_has_consent(course)
        _delete_course(
            actor=actor,
            course=course,
            reason=reason or gettext_noop("Slettet av enheten"),
            status=Course.Status.DELETED,
            now=now,
            log_reason=None if consented else ConsentLogEntry.Reason.DELETED,
        )
        record_event(
            actor=actor,
            action="nnrr.course.deleted",
            patient_id=course.patient_id,
            obj=course,
            # The reason is kept with the course (deleted_reason); the audit trail holds none.
            detail={"reason_given": bool(reason.strip())},
        )


def withdraw_consent(
    *,
    actor: Actor,
    patient: Patient,
    reason: str,
    now: dt.datetime,
    scope: str = "unit",
    course_ids: Collection[uuid.UUID] | None = None,
) -> int:
    """The patient withdraws consent at the unit that holds ``patient`` (the unit's record).

    Consent belongs to the course: each withdrawn course (every active course of the record, or
    those in ``course_ids``) loses its clinical content, its pending orders are cancelled, and a
    minimal entry is kept in the consent log; a course booked later asks again. The contact data
    goes with the last active course. Other units' records of the person are not touched (that
    is :func:`withdraw_consent_everywhere`, the Registeradministrator's action). Returns the
    course count."""
    with transaction.atomic():
        active = Course.objects.select_related("patient", "unit").filter(
            patient=patient, unit_id=patient.unit_id, status=Course.Status.ACTIVE
        )
        if course_ids is not None:
            active = active.filter(pk__in=list(course_ids))
        courses = list(active)
        for course in courses:
            _delete_course(
                actor=actor,
                course=course,
                reason=gettext_noop("Samtykke trukket: %(reason)s") % {"reason": reason},
                status=Course.Status.WITHDRAWN,
                now=now,
                log_reason=ConsentLogEntry.Reason.WITHDRAWN,
            )
        if Course.objects.filter(patient=patient, status=Course.Status.ACTIVE).exists():
            # Another course still runs with its own consent: its invitations need the address.
            Patient.objects.filter(pk=patient.pk).update(consent_withdrawn_at=now, updated_at=now)
            patient.consent_withdrawn_at = now
        else:
            Patient.objects.filter(pk=patient.pk).update(
                consent_withdrawn_at=now, email="", mobile="", updated_at=now
            )
            patient.consent_withdrawn_at, patient.email, patient.mobile = now, "", ""
        record_event(
            actor=actor,
            action="nnrr.consent.withdrawn",
            patient_id=patient.pk,
            obj=patient,
            # The free-text reason may name diagnoses or scores: the audit trail holds none.
            detail={"reason_given": bool(reason.strip()), "courses": len(courses), "scope": scope},
        )
    return len(courses)


@dataclass(frozen=True)
class RegistryWithdrawal:
    records: int  # the units' records of the person
    courses: int  # active courses deleted


def withdraw_consent_everywhere(
    *, actor: Actor, national_id: str, reason: str, now: dt.datetime
) -> RegistryWithdrawal:
    """The patient asks for the withdrawal to apply at every unit: the Registeradministrator's
    action. Each unit's record is withdrawn as :func:`withdraw_consent` does, each with its own
    audit event (so each record's access log shows it)."""
    with transaction.atomic():
        records = list(
            Patient.objects.select_for_update().filter(national_id=national_id).order_by("pk")
        )
        courses = sum(
            withdraw_consent(actor=actor, patient=record, reason=reason, now=now, scope="registry")
            for record in records
        )
    return RegistryWithdrawal(records=len(records), courses=courses)


def courses_due_for_purge(now: dt.datetime) -> list[uuid.UUID]:
    """Active courses whose consultation is more than 30 days past and that lack consent."""
    last_planned = oslo_date(now) - dt.timedelta(days=rules.PURGE_AFTER_DAYS + 1)
    return list(
        Course.objects.filter(
            status=Course.Status.ACTIVE, planned_consultation_date__lte=last_planned
        )
        .filter(~consent_exists())
        .values_list("pk", flat=True)[:500]
    )


def purge_unconsented_course(*, course_id: uuid.UUID, now: dt.datetime) -> bool:
    """Delete one unconsented course if it is still due; True when it was purged."""
    actor = Actor.system("worker")
    with transaction.atomic():
        course = (
            Course.objects.select_for_update()
            .select_related("patient", "unit")
            .filter(pk=course_id, status=Course.Status.ACTIVE)
            .first()
        )
        if course is None or rules.purge_due_at(course.planned_consultation_date) > now:
            return False
        if form_services.course_has_consent(course):
            return False
        _delete_course(
            actor=actor,
            course=course,
            reason=gettext_noop("Mangler samtykke 30 dager etter planlagt konsultasjon"),
            status=Course.Status.PURGED,
            now=now,
            log_reason=ConsentLogEntry.Reason.NO_CONSENT,
        )
        record_event(
            actor=Actor.system("worker", unit_id=course.unit_id),
            action="nnrr.course.purged",
            patient_id=course.patient_id,
            obj=course,
            detail={"planned_date": course.planned_consultation_date.isoformat()},
        )
    return True


# --- Ordering questionnaires by staff ---------------------------------------------------------


def order_questionnaire(
    *,
    actor: Actor,
    course: Course,
    kind: str,
    notify_self: bool,
    now: dt.datetime,
    replaces: Order | None = None,
) -> NewOrder:
    """ "Bestill ePROM" / "Bestill på nytt": a new order sent at once (or handed over by staff
    with the one-time code), replacing any open order of the same form whose code then dies."""
    if kind not in (FormKind.PRE_TREATMENT, FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12):
        raise ValidationError(_("Ukjent skjematype."))
    with transaction.atomic():
        locked = Course.objects.select_for_update().get(pk=course.pk)
        if locked.status != Course.Status.ACTIVE:
            raise ValidationError(_("Forløpet er slettet."))
        if kind != FormKind.PRE_TREATMENT and not form_services.course_has_consent(course):
            # The pre-treatment form asks for consent; nothing else is sent before it is given.
            raise ValidationError(
                _(
                    "Pasientskjema 6 og 12 måneder kan bare bestilles når pasienten har samtykket "
                    "i pasientskjema før behandling for dette forløpet."
                )
            )
        if Response.objects.filter(
            course=course, kind=kind, status=FormStatus.FERDIGSTILT
        ).exists():
            raise ValidationError(_("Skjemaet er allerede besvart for dette forløpet."))
        previous = replaces or (
            Order.objects.filter(course=course, kind=kind).order_by("-created_at").first()
        )
        for old in Order.objects.filter(course=course, kind=kind, state__in=OPEN_STATES):
            _close_order(
                old,
                state=OrderState.CANCELLED,
                reason=gettext_noop("Erstattet av ny bestilling"),
                now=now,
            )
        if kind == FormKind.PRE_TREATMENT:
            expires_at = rules.reorder_expiry(course.planned_consultation_date, now)
            # Sent now: the usual reminder (two days before) when that is still after now.
            remind = rules.rebooked_pre_treatment(course.planned_consultation_date, now).remind_at
        else:
            # Follow-ups: at least a week, and never shorter than the window it replaces.
            expires_at = rules.reorder_expiry(oslo_date(now), now)
            if previous is not None:
                expires_at = max(expires_at, previous.expires_at)
            remind = None
        plan = rules.Plan(
            send_at=now,
            remind_at=remind if remind is not None and now < remind < expires_at else None,
            expires_at=expires_at,
        )
        if previous is not None and Order.objects.filter(replaces=previous).exists():
            previous = None  # already replaced once; the chain links each order to one successor
        return _create_order(
            course=course,
            kind=kind,
            plan=plan,
            actor=actor,
            now=now,
            notify_self=notify_self,
            replaces=previous,
        )


def plan_follow_ups(
    *, actor: Actor, course: Course, visit_date: dt.date, now: dt.datetime
) -> list[Order]:
    """After the Behandlerskjema is completed: the 6- and 12-month forms for a consenting
    patient. A follow-up whose whole window has passed is recorded as missed. Completing again
    after a correction of Besøksdato re-plans follow-ups not sent yet; nothing is duplicated."""
    if not form_services.course_has_consent(course):
        return []
    created = []
    for kind, months in FOLLOW_UPS:
        plan = rules.plan_follow_up(visit_date, months)
        existing = Order.objects.filter(course=course, kind=kind).exclude(
            state=OrderState.CANCELLED
        )
        planned = existing.filter(state=OrderState.PLANNED).first()
        if planned is not None and planned.send_at != plan.send_at:
            Order.objects.filter(pk=planned.pk, state=OrderState.PLANNED).update(
                send_at=plan.send_at,
                remind_at=plan.remind_at,
                expires_at=plan.expires_at,
                version=F("version") + 1,
            )
            record_event(
                actor=actor,
                action="nnrr.order.replanned",
                patient_id=course.patient_id,
                obj=planned,
                detail={"kind": kind, "visit_date": visit_date.isoformat()},
            )
        if existing.exists():
            continue
        created.append(
            _create_order(course=course, kind=kind, plan=plan, actor=actor, now=now).order
        )
    return created


def mark_answered(*, order: Order, response: Response, now: dt.datetime) -> None:
    """The patient's form for this order is submitted: the order is answered, the code dead."""
    Order.objects.filter(pk=order.pk).update(
        state=OrderState.ANSWERED,
        answered_at=now,
        code_used_at=now,
        code_sealed="",
        response=response,
        version=F("version") + 1,
    )
    order.state, order.answered_at, order.response = OrderState.ANSWERED, now, response


# --- Completing forms (they drive the follow-up orders) ---------------------------------------


def complete_clinician_form(
    *,
    actor: Actor,
    response: Response,
    answers: dict[str, object],
    expected_version: int,
    now: dt.datetime,
    confirm_not_neck_back: bool = False,
) -> Response:
    """ "Ferdigstill" of the Behandlerskjema: final answers, then the 6- and 12-month forms are
    planned from Besøksdato when the patient has consented.

    Every caller gets the same rules: ``CompletionRefused`` (nothing written) while a mandatory
    item is missing, Besøksdato is before the referral or in the future, a diagnosis code is
    invalid or repeated, or Diagnose 1 is not neck or back related and the caller has not passed
    ``confirm_not_neck_back=True`` (the clinician's explicit confirmation)."""
    check = check_completion(
        get_definition(response.kind, response.definition_version),
        answers,
        referral_date=response.course.referral_date,
        today=oslo_date(now),
    )
    if check.blocks(confirmed=confirm_not_neck_back):
        raise CompletionRefused(check)
    try:
        with transaction.atomic():
            completed = form_services.complete_form(
                actor=actor,
                response=response,
                answers=answers,
                expected_version=expected_version,
                now=now,
            )
            visit = answers.get("S1b_DateOfCompletion")
            if visit:
                plan_follow_ups(
                    actor=actor,
                    course=completed.course,
                    visit_date=dt.date.fromisoformat(str(visit)),
                    now=now,
                )
    except ConflictError:
        # The event written inside the rolled-back transaction is gone; keep one.
        form_services.record_conflict(actor, response)
        raise
    return completed


def submit_patient_form(
    *,
    actor: Actor,
    course: Course,
    kind: str,
    answers: dict[str, object],
    consent: bool | None,
    source: str,
    now: dt.datetime,
    order: Order | None = None,
) -> Response:
    """A patient form submitted (portal) or keyed in from paper (staff). Answers the open order
    of that form, kills its code, and — when consent arrives after the Behandlerskjema was
    completed — plans the follow-ups. Without consent on the pre-treatment form nothing is
    stored."""
    with transaction.atomic():
        if order is None:
            order = (
                Order.objects.select_for_update()
                .filter(course=course, kind=kind, state__in=OPEN_STATES)
                .first()
            )
        else:
            order = Order.objects.select_for_update().get(pk=order.pk)
        draft = order.response if order is not None and order.response_id else None
        response = form_services.store_patient_form(
            actor=actor,
            course=course,
            kind=kind,
            answers=answers,
            consent=consent,
            source=source,
            now=now,
            draft=draft,
        )
        if order is not None:
            mark_answered(order=order, response=response, now=now)
        if kind == FormKind.PRE_TREATMENT:
            clinician = Response.objects.filter(
                course=course, kind=FormKind.CLINICIAN, status=FormStatus.FERDIGSTILT
            ).first()
            visit = clinician.answers.get("S1b_DateOfCompletion") if clinician else None
            if visit:
                plan_follow_ups(
                    actor=actor,
                    course=course,
                    visit_date=dt.date.fromisoformat(str(visit)),
                    now=now,
                )
    return response
