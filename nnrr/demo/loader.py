"""The demo data set: the units' users, ~50 patients and their courses in every state.

The courses are not written directly: the loader replays their history through the same
services the application uses (booking, the worker's daily passes, patients answering, the
clinician completing the Behandlerskjema), so orders, messages, purges and audit events are
exactly what the running system would have produced. Loading twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from nnrr.accounts.models import Identity, Membership, Unit, User
from nnrr.audit.context import Actor
from nnrr.demo import people
from nnrr.demo.bulk import Writer
from nnrr.demo.synthetic import Trajectory, clinician_answers, patient_answers, with_diagnosis_types
from nnrr.lib.dates import OSLO, add_months, oslo_date, oslo_datetime
from nnrr.lib.scopes import unscoped
from nnrr.patients.models import Course, Patient
from nnrr.patients.services import register_patient
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, Response, Source
from nnrr.scheduling import dispatch, services
from nnrr.scheduling.channels import get_channel
from nnrr.scheduling.models import FILLABLE_STATES, Order

SEED = 4217


def ensure_users() -> dict[str, User]:
    """The demo users (one per role, EGIL LARSEN with three profiles); idempotent."""
    users: dict[str, User] = {}
    for spec in people.demo_users():
        identity = (
            Identity.objects.select_related("user")
            .filter(provider=Identity.Provider.IDPORTEN, subject=spec.national_id)
            .first()
        )
        if identity is None:
            user = User.objects.create(
                username=f"demo-{spec.national_id}",
                national_id=spec.national_id,
                full_name=spec.name,
                first_name=spec.name.split()[0],
                last_name=spec.name.split()[-1],
            )
            user.set_unusable_password()
            user.save()
            Identity.objects.create(
                user=user, provider=Identity.Provider.IDPORTEN, subject=spec.national_id
            )
        else:
            user = identity.user
            if user.national_id is None:
                User.objects.filter(pk=user.pk).update(national_id=spec.national_id)
        for role, resh_id in spec.memberships:
            Membership.objects.update_or_create(
                user=user,
                unit_id=resh_id,
                role=role,
                defaults={
                    "can_export_identifiable": (spec.name, role, resh_id)
                    in people.IDENTIFIABLE_EXPORT
                },
            )
        users[spec.name] = user
    return users


@dataclass(frozen=True)
class Scenario:
    name: str
    planned: tuple[int, int]  # days from today
    answer_pre: float  # chance the patient answers the pre-treatment form
    visit: str  # "none", "draft" (1b started, not completed) or "complete"
    follow_up: float = 0.0  # chance each due follow-up is answered


SCENARIOS = {
    "future_unsent": Scenario("future_unsent", (20, 60), 0.0, "none"),
    "future_sent": Scenario("future_sent", (3, 14), 0.4, "none"),
    "visit_draft": Scenario("visit_draft", (-12, -1), 0.85, "draft"),
    "completed": Scenario("completed", (-150, -20), 1.0, "complete"),
    "six_months": Scenario("six_months", (-340, -200), 1.0, "complete", 0.75),
    "twelve_months": Scenario("twelve_months", (-540, -380), 1.0, "complete", 0.7),
    "purged": Scenario("purged", (-90, -40), 0.0, "none"),
    "awaiting_consent": Scenario("awaiting_consent", (-25, -3), 0.0, "draft"),
}
MIX = {
    people.ST_OLAVS: ["future_unsent"] * 4
    + ["future_sent"] * 4
    + ["visit_draft"] * 5
    + ["completed"] * 5
    + ["six_months"] * 4
    + ["twelve_months"] * 3
    + ["purged"] * 2
    + ["awaiting_consent"] * 3,
    people.HAUKELAND: ["future_unsent"] * 3
    + ["future_sent"] * 3
    + ["visit_draft"] * 3
    + ["completed"] * 3
    + ["six_months"] * 3
    + ["twelve_months"] * 2
    + ["purged"]
    + ["awaiting_consent"] * 2,
}


@dataclass(order=True)
class Event:
    at: dt.datetime
    seq: int
    action: Callable[[dt.datetime], None] = field(compare=False)


class Timeline:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.seq = 0

    def add(self, at: dt.datetime, action: Callable[[dt.datetime], None]) -> None:
        self.seq += 1
        heapq.heappush(self.events, Event(at, self.seq, action))


def _at(day: dt.date, rng: random.Random, start: int = 9, end: int = 15) -> dt.datetime:
    return oslo_datetime(day, rng.randint(start, end - 1), rng.choice([0, 10, 20, 30, 40, 50]))


@unscoped("the demo loader: synthetic people at every demo unit")
def load_demo(*, now: dt.datetime, out: Writer) -> bool:
    """Load the demo data as of ``now``; returns False when it was already there."""
    users = ensure_users()
    first_patient = people.random_person(random.Random(SEED), oslo_date(now))[0]
    if Patient.objects.filter(national_id=first_patient).exists():
        out.write("Demo data already loaded; nothing changed.\n")
        return False
    rng = random.Random(SEED)
    today = oslo_date(now)
    timeline = Timeline()
    units = {u.pk: u for u in Unit.objects.filter(pk__in=MIX)}
    staff = {
        people.ST_OLAVS: (users["Per Merkantil"], users["Kari Behandler"]),
        people.HAUKELAND: (users["Hanne Haukeland"], users["Hanne Haukeland"]),
    }
    patients: list[Patient] = []
    with transaction.atomic():
        for resh_id, mix in MIX.items():
            clerk, clinician = staff[resh_id]
            for scenario_name in mix:
                nid, name, _birth, _sex = people.random_person(rng, today)
                email = ""
                if rng.random() < 0.7:
                    email = f"{name.lower().replace(' ', '.')}@example.no".translate(
                        str.maketrans("æøå", "aoa")
                    )
                patient = register_patient(
                    actor=Actor(
                        user=clerk, name=str(clerk), role="pasientansvarlig", unit_id=resh_id
                    ),
                    unit=units[resh_id],
                    national_id=nid,
                    name=name,
                    email=email,
                )
                patients.append(patient)
                _plan_course(
                    timeline,
                    rng,
                    SCENARIOS[scenario_name],
                    patient,
                    units[resh_id],
                    clerk,
                    clinician,
                    today,
                )
        # One person known at both units: each unit has its own record and sees only its own
        # course (docs/decisions/0013-patient-record-per-unit.md).
        shared = patients[0]
        haukeland = units[people.HAUKELAND]
        hanne = users["Hanne Haukeland"]
        second = register_patient(
            actor=Actor(user=hanne, name=str(hanne), role="pasientansvarlig", unit_id=haukeland.pk),
            unit=haukeland,
            national_id=shared.national_id,
            name=shared.name,
        )
        _plan_course(
            timeline, rng, SCENARIOS["future_unsent"], second, haukeland, hanne, hanne, today
        )
    _replay(timeline, now, out)
    out.write(f"Demo data loaded: {len(users)} users, {len(patients)} patients.\n")
    return True


def _plan_course(
    timeline: Timeline,
    rng: random.Random,
    scenario: Scenario,
    patient: Patient,
    unit: Unit,
    clerk: User,
    clinician: User,
    today: dt.date,
) -> None:
    planned = today + dt.timedelta(days=rng.randint(*scenario.planned))
    referral = min(today - dt.timedelta(days=1), planned - dt.timedelta(days=rng.randint(25, 75)))
    booked_day = min(today, referral + dt.timedelta(days=rng.randint(1, 12)))
    trajectory = Trajectory.draw(rng)
    clerk_actor = Actor(user=clerk, name=str(clerk), role="pasientansvarlig", unit_id=unit.pk)
    clinician_actor = Actor(
        user=clinician, name=str(clinician), role="pasientansvarlig", unit_id=unit.pk
    )
    patient_actor = Actor.system("pasient", unit_id=unit.pk)
    state: dict[str, Course] = {}
    answer_rng = random.Random(rng.random())

    def book(at: dt.datetime) -> None:
        state["course"] = services.book_course(
            actor=clerk_actor,
            patient=patient,
            unit=unit,
            referral_date=referral,
            planned_date=planned,
            now=at,
        )

    timeline.add(_at(booked_day, rng, 8, 16), book)

    def answer(kind: str, months: int) -> Callable[[dt.datetime], None]:
        def act(at: dt.datetime) -> None:
            order = Order.objects.filter(
                course=state["course"], kind=kind, state__in=FILLABLE_STATES, expires_at__gt=at
            ).first()
            if order is None:
                return
            answers = patient_answers(get_definition(kind), trajectory, months, answer_rng)
            services.submit_patient_form(
                actor=patient_actor,
                course=state["course"],
                kind=kind,
                answers=answers,
                consent=True if kind == FormKind.PRE_TREATMENT else None,
                source=Source.PORTAL,
                now=at,
                order=order,
            )

        return act

    if rng.random() < scenario.answer_pre:
        send_day = max(booked_day + dt.timedelta(days=1), planned - dt.timedelta(days=16))
        answer_day = min(planned, send_day + dt.timedelta(days=rng.randint(0, 12)))
        timeline.add(_at(answer_day, rng, 9, 22), answer(FormKind.PRE_TREATMENT, 0))

    visit = planned
    if scenario.visit in {"draft", "complete"} and visit <= today:

        def work_on_form(at: dt.datetime) -> None:
            course = state["course"]
            response = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
            definition = get_definition(FormKind.CLINICIAN, response.definition_version)
            answers = with_diagnosis_types(
                clinician_answers(definition, trajectory, visit, answer_rng)
            )
            if scenario.visit == "draft":
                keep = dict(list(answers.items())[: len(answers) // 2])
                form_services.save_draft(
                    actor=clinician_actor,
                    response=response,
                    answers=keep,
                    expected_version=response.version,
                    now=at,
                )
                course.owner = clinician
                Course.objects.filter(pk=course.pk).update(owner=clinician)
            else:
                services.complete_clinician_form(
                    actor=clinician_actor,
                    response=response,
                    answers=answers,
                    expected_version=response.version,
                    now=at,
                )

        timeline.add(_at(visit, rng, 10, 16), work_on_form)

    if scenario.follow_up:
        for kind, months in services.FOLLOW_UPS:
            due = add_months(visit, months)
            if due <= today and rng.random() < scenario.follow_up:
                day = min(today, due + dt.timedelta(days=rng.randint(0, 20)))
                timeline.add(_at(day, rng, 9, 22), answer(kind, months))


def _replay(timeline: Timeline, now: dt.datetime, out: Writer) -> None:
    """Run the events in time order, with the worker's pass at 08:05 every day."""
    if not timeline.events:
        return
    channel = get_channel()
    worker_id = dispatch.new_worker_id()
    day = oslo_date(timeline.events[0].at)
    today = oslo_date(now)
    while day <= today:
        worker_at = oslo_datetime(day, 8, 5)
        passes = [worker_at] if worker_at <= now else []
        while timeline.events and oslo_date(timeline.events[0].at) == day:
            event = heapq.heappop(timeline.events)
            while passes and passes[0] <= event.at:
                dispatch.run_pass(worker_id=worker_id, now=passes.pop(0), channel=channel)
            if event.at <= now:
                event.action(event.at)
        for moment in passes:
            dispatch.run_pass(worker_id=worker_id, now=moment, channel=channel)
        day += dt.timedelta(days=1)
    result = dispatch.run_pass(worker_id=worker_id, now=now, channel=channel)
    dispatch.retire(worker_id)
    out.write(f"Worker caught up to {now.astimezone(OSLO):%d.%m.%Y %H:%M}: {result}\n")
