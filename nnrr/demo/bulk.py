"""``nnrr seed --scale N``: N synthetic courses over the 16 units and several years, fast.

For benchmarks and report development. Rows are written in bulk (not through the services, which
would take hours at 100,000 courses); the states and their shares follow the registry's reality:
most courses complete with consent, some are purged for lack of it, follow-ups are answered by
roughly two in three.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import transaction

from nnrr.accounts.models import Unit
from nnrr.demo.people import random_person
from nnrr.demo.synthetic import Trajectory, clinician_answers, patient_answers, with_diagnosis_types
from nnrr.lib.dates import add_months, oslo_date, oslo_datetime
from nnrr.lib.scopes import unscoped
from nnrr.patients.models import ConsentLogEntry, Course, Patient
from nnrr.questionnaires.definitions import Definition, get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response, Source
from nnrr.questionnaires.services import scores_for
from nnrr.scheduling import rules
from nnrr.scheduling.models import Order, OrderState

# Relative unit sizes (courses per year), roughly as in the registry's annual reports.
UNIT_WEIGHTS = {
    104293: 14,
    102959: 12,
    109834: 12,
    601032: 8,
    4211588: 8,
    114174: 6,
    4212982: 6,
    105821: 5,
    103736: 6,
    700138: 4,
    700701: 5,
    4216667: 4,
    701433: 3,
    700735: 3,
    102169: 2,
    101831: 2,
}
YEARS_BACK = 7


class Writer(Protocol):
    def write(self, text: str, /) -> Any: ...


BATCH = 2000


@dataclass
class Rows:
    patients: list[Patient]
    courses: list[Course]
    responses: list[Response]
    orders: list[Order]
    log: list[ConsentLogEntry]

    @classmethod
    def empty(cls) -> Rows:
        return cls([], [], [], [], [])

    def flush(self) -> None:
        with transaction.atomic():
            Patient.objects.bulk_create(self.patients, batch_size=BATCH)
            Course.objects.bulk_create(self.courses, batch_size=BATCH)
            Response.objects.bulk_create(self.responses, batch_size=BATCH)
            Order.objects.bulk_create(self.orders, batch_size=BATCH)
            ConsentLogEntry.objects.bulk_create(self.log, batch_size=BATCH)
        for rows in (
            self.patients,
            self.courses,
            self.responses,
            self.orders,
            self.log,
        ):
            rows.clear()


def _secret(rng: random.Random) -> str:
    return hashlib.sha256(rng.randbytes(16)).hexdigest()


@unscoped("the synthetic data generator: courses at every unit")
def seed(*, scale: int, now: dt.datetime, out: Writer, answers: bool = True, seed: int = 1) -> int:
    """Create ``scale`` courses; returns the number created."""
    rng = random.Random(seed)
    today = oslo_date(now)
    units = list(Unit.objects.filter(pk__in=UNIT_WEIGHTS))
    weights = [UNIT_WEIGHTS[u.pk] for u in units]
    start = today - dt.timedelta(days=365 * YEARS_BACK)
    span = (today - start).days + 60
    definitions = {kind.value: get_definition(kind) for kind in FormKind}
    used_ids = set(Patient.objects.values_list("national_id", flat=True))
    rows = Rows.empty()
    for index in range(scale):
        add_course(
            rows, rng, units, weights, used_ids, start, span, today, now, definitions, answers
        )
        if len(rows.courses) >= BATCH:
            rows.flush()
            out.write(f"  {index + 1} courses\n")
    rows.flush()
    return scale


def add_course(
    rows: Rows,
    rng: random.Random,
    units: Sequence[Unit],
    weights: Sequence[float],
    used_ids: set[str],
    start: dt.date,
    span: int,
    today: dt.date,
    now: dt.datetime,
    definitions: dict[str, Definition],
    answers: bool,
) -> None:
    """One synthetic patient (a record of a unit drawn by weight, a national id not used yet)
    with one course referred within ``span`` days from ``start``, added to ``rows``."""
    unit = rng.choices(units, weights)[0]
    nid, name, birth, sex = random_person(rng, today)
    while nid in used_ids:
        nid, name, birth, sex = random_person(rng, today)
    used_ids.add(nid)
    patient = Patient(
        id=uuid.UUID(int=rng.getrandbits(128)),
        unit=unit,
        national_id=nid,
        id_kind="synthetic",
        name=name,
        birth_date=birth,
        sex=sex,
    )
    rows.patients.append(patient)
    referral = start + dt.timedelta(days=rng.randrange(span))
    planned = referral + dt.timedelta(days=int(rng.gammavariate(3.0, 15.0)) + 7)
    referral = min(referral, today)
    _course(rows, rng, unit, patient, referral, planned, today, now, definitions, answers)


def _course(
    rows: Rows,
    rng: random.Random,
    unit: Unit,
    patient: Patient,
    referral: dt.date,
    planned: dt.date,
    today: dt.date,
    now: dt.datetime,
    definitions: Mapping[str, Any],
    with_answers: bool,
) -> None:
    course = Course(
        id=uuid.UUID(int=rng.getrandbits(128)),
        patient=patient,
        unit=unit,
        referral_date=referral,
        planned_consultation_date=planned,
    )
    rows.courses.append(course)
    trajectory = Trajectory.draw(rng)
    booked = oslo_datetime(min(today, referral + dt.timedelta(days=3)), 10)
    pre_plan = rules.plan_pre_treatment(planned, booked)

    def order(kind: str, plan: rules.Plan, state: str, **extra: Any) -> Order:
        made = Order(
            course=course,
            kind=kind,
            state=state,
            send_at=plan.send_at,
            remind_at=plan.remind_at,
            expires_at=plan.expires_at,
            code_hash=_secret(rng),
            token_hash=_secret(rng),
            token_salt=_secret(rng)[:32],
            **extra,
        )
        rows.orders.append(made)
        return made

    def response(
        kind: str, status: int, answers: dict[str, Any], at: dt.datetime, **extra: Any
    ) -> None:
        rows.responses.append(
            Response(
                course=course,
                kind=kind,
                status=status,
                answers=answers,
                scores=scores_for(kind, answers) if status == FormStatus.FERDIGSTILT else {},
                definition_version=definitions[kind].version,
                completed_at=at if status == 2 else None,
                form_date=oslo_date(at),
                **extra,
            )
        )

    if planned > today:  # booked, not seen yet
        response(FormKind.CLINICIAN, FormStatus.KLADD, {}, booked)
        sent = pre_plan.send_at <= now
        order(
            FormKind.PRE_TREATMENT,
            pre_plan,
            OrderState.SENT if sent else OrderState.PLANNED,
            sent_at=pre_plan.send_at if sent else None,
        )
        return
    consented = rng.random() < 0.8
    answered_at = min(
        pre_plan.expires_at - dt.timedelta(hours=3),
        pre_plan.send_at + dt.timedelta(days=rng.randint(0, 10), hours=rng.randint(1, 12)),
    )
    if not consented:
        expired = order(
            FormKind.PRE_TREATMENT, pre_plan, OrderState.EXPIRED, sent_at=pre_plan.send_at
        )
        expired.closed_at = pre_plan.expires_at
        if rules.purge_due_at(planned) <= now:
            course.status = Course.Status.PURGED
            course.deleted_at = rules.purge_due_at(planned)
            response(FormKind.CLINICIAN, FormStatus.SLETTET, {}, booked)
            rows.log.append(
                ConsentLogEntry(
                    national_id=patient.national_id,
                    name=patient.name,
                    unit=unit,
                    course_id=course.id,
                    referral_date=referral,
                    planned_consultation_date=planned,
                    reason=ConsentLogEntry.Reason.NO_CONSENT,
                    recorded_at=course.deleted_at,
                )
            )
        else:
            response(FormKind.CLINICIAN, FormStatus.KLADD, {}, booked)
        return
    pre_answers = (
        patient_answers(definitions[FormKind.PRE_TREATMENT], trajectory, 0, rng)
        if with_answers
        else {}
    )
    response(
        FormKind.PRE_TREATMENT,
        FormStatus.FERDIGSTILT,
        pre_answers,
        answered_at,
        consent=True,
        source=Source.PORTAL,
    )
    order(
        FormKind.PRE_TREATMENT,
        pre_plan,
        OrderState.ANSWERED,
        sent_at=pre_plan.send_at,
        answered_at=answered_at,
    )
    visit = planned + dt.timedelta(days=rng.choice([0, 0, 0, 0, 1, 7, 14]))
    visit = min(visit, today)
    completed = rng.random() < 0.93 or (today - visit).days > 120
    if not completed:
        response(FormKind.CLINICIAN, FormStatus.KLADD, {}, booked)
        return
    clinician = (
        with_diagnosis_types(
            clinician_answers(definitions[FormKind.CLINICIAN], trajectory, visit, rng)
        )
        if with_answers
        else {"S1b_DateOfCompletion": visit.isoformat()}
    )
    response(FormKind.CLINICIAN, FormStatus.FERDIGSTILT, clinician, oslo_datetime(visit, 14))
    for kind, months in ((FormKind.FOLLOW_UP_6, 6), (FormKind.FOLLOW_UP_12, 12)):
        plan = rules.plan_follow_up(visit, months)
        if plan.send_at > now:
            order(kind, plan, OrderState.PLANNED)
            continue
        answer_chance = 0.68 if months == 6 else 0.6
        if plan.expires_at > now and rng.random() > answer_chance:
            order(kind, plan, OrderState.SENT, sent_at=plan.send_at)
        elif rng.random() < answer_chance:
            at = plan.send_at + dt.timedelta(days=rng.randint(0, 25), hours=rng.randint(1, 10))
            at = min(at, now)
            answers = (
                patient_answers(definitions[kind], trajectory, months, rng) if with_answers else {}
            )
            response(kind, FormStatus.FERDIGSTILT, answers, at, source=Source.PORTAL)
            order(kind, plan, OrderState.ANSWERED, sent_at=plan.send_at, answered_at=at)
        else:
            order(kind, plan, OrderState.EXPIRED, sent_at=plan.send_at, closed_at=plan.expires_at)
        if add_months(visit, months) > today:
            break
