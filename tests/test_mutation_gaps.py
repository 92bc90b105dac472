"""Tests for breaks that went unnoticed when the code was changed on purpose (issue 7, item 11):
each fails when its one line of product code is broken."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from nnrr import access
from nnrr.accounts.models import Role
from nnrr.accounts.profiles import Profile, Right
from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.patients.models import ConsentLogEntry, Course, Patient
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.models import FormKind, FormStatus, Response, Source
from nnrr.questionnaires.scoring import score
from nnrr.scheduling import services as scheduling
from tests.conftest import HAUKELAND, ST_OLAVS, book, make_patient

# --- EQ-5D: answers keyed by the literal item ids of the form, not by the code's own tuple ----

FULL_HEALTH = {
    "Eq5d_L_spm1": 1,
    "Eq5d_L_spm2": 1,
    "Eq5d_L_spm3": 1,
    "Eq5d_L_spm4": 1,
    "Eq5d_L_spm5": 1,
}

# Norway 2024 (Garratt et al.): index = 1 − weight(dimension) × 1 at level 5, with weights
# mobility 0.205, self-care 0.206, usual activities 0.179, pain/discomfort 0.391,
# anxiety/depression 0.472 (the paper's parameters; level 5's parameter is 1).
ONE_DIMENSION_AT_FIVE = [
    ("Eq5d_L_spm1", "51111", 0.795),
    ("Eq5d_L_spm2", "15111", 0.794),
    ("Eq5d_L_spm3", "11511", 0.821),
    ("Eq5d_L_spm4", "11151", 0.609),
    ("Eq5d_L_spm5", "11115", 0.528),
]


@pytest.mark.parametrize(("item", "state", "expected"), ONE_DIMENSION_AT_FIVE)
def test_each_eq5d_item_scores_as_its_own_dimension(item: str, state: str, expected: float) -> None:
    """Eq5d_L_spm4 = 5 and the rest 1 is state 11151 (pain/discomfort), and so on: an item mapped
    to the wrong dimension gives another dimension's weight."""
    with override_settings(EQ5D_VALUE_SET="norway_2024"):
        assert score("eq5d5l_index", FULL_HEALTH | {item: 5}) == expected, state


# --- Access: each layer of the two-layer check on its own -----------------------------------


def _profile_request(persona: Any, key: str) -> Any:
    who = persona(key)
    request = RequestFactory().get("/")
    request.user = who.user
    request.profile = Profile.from_membership(who.membership)  # type: ignore[attr-defined]
    return request


def test_require_right_refuses_a_role_without_the_right(persona: Any) -> None:
    with pytest.raises(PermissionDenied):
        access.require_right(_profile_request(persona, "report_reader"), Right.FORMS)


def test_require_right_gives_the_profile_to_a_role_with_the_right(persona: Any) -> None:
    request = _profile_request(persona, "clinician")
    profile = access.require_right(request, Right.FORMS)
    assert profile is request.profile
    assert profile.role == Role.PASIENTANSVARLIG


def test_require_right_without_a_chosen_profile_is_refused(db: Any) -> None:
    request = RequestFactory().get("/")
    with pytest.raises(PermissionDenied):
        access.require_right(request, Right.FORMS)


def test_access_patient_refuses_a_role_without_form_rights_even_for_its_own_unit(
    persona: Any,
) -> None:
    """The right is checked by access itself, not only by the view's decorator."""
    patient = make_patient(ST_OLAVS)
    with pytest.raises(PermissionDenied):
        access.access_patient(_profile_request(persona, "report_reader"), patient.pk)


def test_access_patient_hides_another_units_patient_and_logs_the_attempt(persona: Any) -> None:
    from django.http import Http404

    patient = make_patient(HAUKELAND)
    with pytest.raises(Http404):
        access.access_patient(_profile_request(persona, "clinician"), patient.pk)
    event = AuditEvent.objects.get(action="nnrr.patient.access_denied")
    assert event.object_id == str(patient.pk)
    assert event.outcome == "denied"


def test_another_units_order_is_not_found_and_the_attempt_names_an_order(persona: Any) -> None:
    from django.http import Http404

    from nnrr.scheduling.models import Order

    course = book(persona("haukeland_clinician"), make_patient(HAUKELAND))
    order = Order.objects.filter(course=course).first()
    assert order is not None
    with pytest.raises(Http404):
        access.access_order(_profile_request(persona, "clinician"), order.pk)
    event = AuditEvent.objects.get(action="nnrr.order.access_denied")
    assert (event.object_type, event.object_id) == ("order", str(order.pk))


def test_a_deleted_form_is_not_found_even_at_its_own_unit(persona: Any) -> None:
    from django.http import Http404

    clinician = persona("clinician")
    course = book(clinician, make_patient(ST_OLAVS))
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    request = _profile_request(persona, "clinician")
    assert access.access_response(request, form.pk) == form
    Response.objects.filter(pk=form.pk).update(status=FormStatus.SLETTET)
    with pytest.raises(Http404):
        access.access_response(request, form.pk)
    event = AuditEvent.objects.get(action="nnrr.response.access_denied")
    assert event.object_type == "response"


def test_access_course_of_a_deleted_course_is_not_found(persona: Any) -> None:
    from django.http import Http404

    clerk = persona("clerk")
    course = book(clerk, make_patient(ST_OLAVS))
    scheduling.delete_course(actor=clerk.actor, course=course, reason="x", now=timezone.now())
    request = _profile_request(persona, "clerk")
    with pytest.raises(Http404):
        access.access_course(request, course.pk)
    event = AuditEvent.objects.get(action="nnrr.course.access_denied")
    assert (event.object_type, event.object_id) == ("course", str(course.pk))
    assert access.access_course(request, course.pk, active=False).pk == course.pk


def test_a_page_view_is_logged_on_the_patients_access_log(persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    access.audit_view(
        _profile_request(persona, "clinician"),
        "nnrr.patient.viewed",
        patient_id=patient.pk,
        obj=patient,
        detail={"page": "detail"},
    )
    event = AuditEvent.objects.get(action="nnrr.patient.viewed")
    assert event.patient_id == patient.pk
    assert (event.object_type, event.object_id) == ("patients.patient", str(patient.pk))
    assert event.detail == {"page": "detail"}


# --- The consent log lists only the unit's own patients -------------------------------------


def test_consent_log_does_not_list_other_units_patients(as_persona: Any, persona: Any) -> None:
    olavs = book(persona("clerk"), make_patient(ST_OLAVS, name="Olav Egen"))
    bergen = book(persona("haukeland_clinician"), make_patient(HAUKELAND, name="Berit Annen"))
    for course, who in ((olavs, "clerk"), (bergen, "haukeland_clinician")):
        scheduling.delete_course(
            actor=persona(who).actor, course=course, reason="møtte ikke", now=timezone.now()
        )
    assert ConsentLogEntry.objects.count() == 2

    html = as_persona("clerk").get(reverse("worklists:consent")).content.decode()

    assert "Olav Egen" in html
    assert "Berit Annen" not in html


# --- Opening a form, the fill page and the journal note are audited -----------------------


def _completed_pre_treatment(course: Course) -> Response:
    return scheduling.submit_patient_form(
        actor=Actor.system("test"),
        course=course,
        kind=FormKind.PRE_TREATMENT,
        answers={"FamilyStatus": 2, "PainExperiencesNoActivity": 6},
        consent=True,
        source=Source.PORTAL,
        now=timezone.now(),
    )


@pytest.mark.parametrize(
    ("view", "action"),
    [
        ("questionnaires:response", "nnrr.form.viewed"),
        ("questionnaires:journal", "nnrr.form.journal_note_viewed"),
    ],
)
def test_reading_a_patient_form_writes_its_audit_event(
    as_persona: Any, persona: Any, view: str, action: str
) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    form = _completed_pre_treatment(course)
    response = as_persona("clerk").get(reverse(view, args=[form.pk]))
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=action)
    assert event.patient_id == course.patient_id
    assert event.object_id == str(form.pk)
    assert event.actor_id == persona("clerk").user.pk


def test_opening_the_fill_page_writes_its_audit_event(as_persona: Any, persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    assert (
        as_persona("clerk").get(reverse("questionnaires:fill", args=[form.pk])).status_code == 200
    )
    event = AuditEvent.objects.get(action="nnrr.form.opened")
    assert event.patient_id == course.patient_id
    assert event.object_id == str(form.pk)


# --- Consent paths ----------------------------------------------------------------------------


@pytest.mark.parametrize("consent", [None, False])
def test_a_pre_treatment_form_without_consent_is_not_stored(persona: Any, consent: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    with pytest.raises(ValidationError):
        scheduling.submit_patient_form(
            actor=persona("clerk").actor,
            course=course,
            kind=FormKind.PRE_TREATMENT,
            answers={"FamilyStatus": 2},
            consent=consent,
            source=Source.PAPER,
            now=timezone.now(),
        )
    assert not Response.objects.filter(course=course, kind=FormKind.PRE_TREATMENT).exists()


def test_a_follow_up_form_stores_no_consent_value(persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    _completed_pre_treatment(course)  # a follow-up needs the course's consent
    form = scheduling.submit_patient_form(
        actor=persona("clerk").actor,
        course=course,
        kind=FormKind.FOLLOW_UP_6,
        answers={"FamilyStatus": 2},
        consent=True,
        source=Source.PAPER,
        now=timezone.now(),
    )
    assert form.consent is None
    assert form.status == FormStatus.FERDIGSTILT


def test_purge_spares_a_course_that_got_consent_after_it_was_listed(persona: Any) -> None:
    """The worker lists due courses, then purges each under a lock: consent that arrived in
    between must save the course (the second layer of the check)."""
    clerk = persona("clerk")
    booked = timezone.now() - dt.timedelta(days=80)
    course = book(clerk, make_patient(ST_OLAVS), planned_in_days=5, referral_days_ago=1, now=booked)
    later = timezone.now()
    assert course.pk in scheduling.courses_due_for_purge(later)
    _completed_pre_treatment(course)  # consent arrives now

    assert scheduling.purge_unconsented_course(course_id=course.pk, now=later) is False
    course.refresh_from_db()
    assert course.status == Course.Status.ACTIVE
    assert not ConsentLogEntry.objects.exists()


def test_purge_removes_a_course_still_without_consent(persona: Any) -> None:
    clerk = persona("clerk")
    booked = timezone.now() - dt.timedelta(days=80)
    course = book(clerk, make_patient(ST_OLAVS), planned_in_days=5, referral_days_ago=1, now=booked)
    assert scheduling.purge_unconsented_course(course_id=course.pk, now=timezone.now()) is True
    course.refresh_from_db()
    assert course.status == Course.Status.PURGED
    assert ConsentLogEntry.objects.get().reason == ConsentLogEntry.Reason.NO_CONSENT


def test_purge_removes_only_the_named_due_course_and_records_what_it_did(persona: Any) -> None:
    clerk = persona("clerk")
    booked = timezone.now() - dt.timedelta(days=80)
    # another due course, booked first: only the one named is purged
    other = book(clerk, make_patient(ST_OLAVS), planned_in_days=5, referral_days_ago=1, now=booked)
    patient = make_patient(ST_OLAVS, name="Pia Purge")
    due = book(clerk, patient, planned_in_days=5, referral_days_ago=1, now=booked)
    now = timezone.now()

    assert scheduling.purge_unconsented_course(course_id=due.pk, now=now) is True

    reason = "Mangler samtykke 30 dager etter planlagt konsultasjon"
    assert Course.objects.get(pk=other.pk).status == Course.Status.ACTIVE
    purged = Course.objects.get(pk=due.pk)
    assert purged.status == Course.Status.PURGED
    assert purged.deleted_reason == reason
    clinician_form = Response.objects.get(course=due, kind=FormKind.CLINICIAN)
    assert clinician_form.status == FormStatus.SLETTET
    assert clinician_form.answers == {}
    event = AuditEvent.objects.get(action="nnrr.course.purged")
    assert event.patient_id == patient.pk
    assert event.unit_id == ST_OLAVS
    assert (event.actor_name, event.role) == ("worker", "system")
    assert event.object_id == str(due.pk)
    assert event.detail == {"planned_date": due.planned_consultation_date.isoformat()}
    entry = ConsentLogEntry.objects.get()
    assert (entry.course_id, entry.unit_id, entry.name) == (due.pk, ST_OLAVS, "Pia Purge")
    assert entry.national_id == patient.national_id
    assert entry.reason == ConsentLogEntry.Reason.NO_CONSENT
    assert entry.note == reason
    assert entry.planned_consultation_date == due.planned_consultation_date
    assert entry.referral_date == due.referral_date
    assert entry.recorded_at == now


def test_purge_waits_until_thirty_days_after_the_planned_day(persona: Any) -> None:
    from nnrr.scheduling import rules

    clerk = persona("clerk")
    booked = timezone.now() - dt.timedelta(days=80)
    course = book(clerk, make_patient(ST_OLAVS), planned_in_days=5, referral_days_ago=1, now=booked)
    due_at = rules.purge_due_at(course.planned_consultation_date)
    assert due_at == rules.start_of_next_day(
        course.planned_consultation_date + dt.timedelta(days=30)
    )
    early = due_at - dt.timedelta(seconds=1)
    assert scheduling.purge_unconsented_course(course_id=course.pk, now=early) is False
    assert course.pk not in scheduling.courses_due_for_purge(early - dt.timedelta(days=1))
    assert Course.objects.get(pk=course.pk).status == Course.Status.ACTIVE
    assert not AuditEvent.objects.filter(action="nnrr.course.purged").exists()
    assert scheduling.purge_unconsented_course(course_id=course.pk, now=due_at) is True
    # a second purge of the same course finds nothing to do
    assert scheduling.purge_unconsented_course(course_id=course.pk, now=due_at) is False
    assert AuditEvent.objects.filter(action="nnrr.course.purged").count() == 1


def test_withdrawal_deletes_this_patients_active_courses_only(persona: Any) -> None:
    clerk = persona("clerk")
    patient = make_patient(ST_OLAVS, name="Trekker Samtykke")
    active = book(clerk, patient)
    earlier = book(clerk, patient)
    scheduling.delete_course(actor=clerk.actor, course=earlier, reason="x", now=timezone.now())
    bystander = book(clerk, make_patient(ST_OLAVS, name="Annen Pasient"))

    count = scheduling.withdraw_consent(
        actor=clerk.actor, patient=patient, reason="ønsker ikke", now=timezone.now()
    )

    assert count == 1
    assert Course.objects.get(pk=active.pk).status == Course.Status.WITHDRAWN
    assert Course.objects.get(pk=active.pk).deleted_reason == "Samtykke trukket: ønsker ikke"
    assert Course.objects.get(pk=earlier.pk).status == Course.Status.DELETED
    assert Course.objects.get(pk=bystander.pk).status == Course.Status.ACTIVE
    event = AuditEvent.objects.get(action="nnrr.consent.withdrawn")
    assert event.patient_id == patient.pk
    assert event.object_id == str(patient.pk)
    assert event.detail == {"reason_given": True, "courses": 1, "scope": "unit"}
    entry = ConsentLogEntry.objects.get(course_id=active.pk)
    assert entry.reason == ConsentLogEntry.Reason.WITHDRAWN


def test_withdrawal_clears_where_notices_would_go(persona: Any) -> None:
    clerk = persona("clerk")
    patient = make_patient(ST_OLAVS, email="pasient@example.no")
    Patient.objects.filter(pk=patient.pk).update(mobile="91234567")
    patient.refresh_from_db()
    now = timezone.now()
    scheduling.withdraw_consent(actor=clerk.actor, patient=patient, reason="", now=now)
    stored = Patient.objects.get(pk=patient.pk)
    assert stored.updated_at == now
    assert (stored.email, stored.mobile) == ("", "")
    assert (patient.email, patient.mobile) == ("", "")
    assert stored.consent_withdrawn_at == now


def test_withdrawing_one_of_two_courses_dates_the_withdrawal_and_keeps_the_address(
    persona: Any,
) -> None:
    """The patient page says "Pasienten trakk samtykket <dato>" also when another course runs on
    with its own consent (which still needs the address for its invitations)."""
    clerk = persona("clerk")
    patient = make_patient(ST_OLAVS, email="pasient@example.no")
    withdrawn, running = book(clerk, patient), book(clerk, patient)
    now = timezone.now()
    count = scheduling.withdraw_consent(
        actor=clerk.actor, patient=patient, reason="", now=now, course_ids=[withdrawn.pk]
    )
    assert count == 1
    assert Course.objects.get(pk=running.pk).status == Course.Status.ACTIVE
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.consent_withdrawn_at, stored.updated_at) == (now, now)
    assert patient.consent_withdrawn_at == now
    assert stored.email == patient.email == "pasient@example.no"


# --- Follow-ups after "Ferdigstill": planned once, re-planned when Besøksdato is corrected ----


def _consented_course(persona: Any) -> Course:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    _completed_pre_treatment(course)
    return course


def _follow_ups(course: Course) -> dict[str, Any]:
    from nnrr.scheduling.models import Order

    return {
        o.kind: o for o in Order.objects.filter(course=course).exclude(kind=FormKind.PRE_TREATMENT)
    }


def test_follow_ups_are_planned_per_course_and_re_planned_when_the_visit_date_changes(
    persona: Any,
) -> None:
    from nnrr.scheduling import rules

    clerk = persona("clerk")
    other = _consented_course(persona)
    course = _consented_course(persona)
    today = timezone.localdate()
    first_visit, corrected = today - dt.timedelta(days=2), today - dt.timedelta(days=1)
    now = timezone.now()
    scheduling.plan_follow_ups(actor=clerk.actor, course=other, visit_date=first_visit, now=now)

    created = scheduling.plan_follow_ups(
        actor=clerk.actor, course=course, visit_date=first_visit, now=now
    )
    assert sorted(o.kind for o in created) == [FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12]
    before = _follow_ups(course)

    again = scheduling.plan_follow_ups(
        actor=clerk.actor, course=course, visit_date=corrected, now=now
    )

    assert again == []  # nothing duplicated
    after = _follow_ups(course)
    for kind, months in ((FormKind.FOLLOW_UP_6, 6), (FormKind.FOLLOW_UP_12, 12)):
        plan = rules.plan_follow_up(corrected, months)
        order = after[kind]
        assert order.pk == before[kind].pk
        assert (order.send_at, order.remind_at, order.expires_at) == (
            plan.send_at,
            plan.remind_at,
            plan.expires_at,
        )
        assert order.version == before[kind].version + 1
    events = AuditEvent.objects.filter(action="nnrr.order.replanned").order_by("id")
    assert [e.detail for e in events] == [
        {"kind": FormKind.FOLLOW_UP_6, "visit_date": corrected.isoformat()},
        {"kind": FormKind.FOLLOW_UP_12, "visit_date": corrected.isoformat()},
    ]
    assert {e.patient_id for e in events} == {course.patient_id}
    assert {e.object_id for e in events} == {str(after[k].pk) for k in after}
    # the other course's follow-ups were not touched
    assert all(
        o.send_at
        == rules.plan_follow_up(first_visit, 6 if k == FormKind.FOLLOW_UP_6 else 12).send_at
        for k, o in _follow_ups(other).items()
    )


def test_a_follow_up_already_sent_is_not_re_planned(persona: Any) -> None:
    from nnrr.scheduling.models import Order, OrderState

    clerk = persona("clerk")
    course = _consented_course(persona)
    today = timezone.localdate()
    now = timezone.now()
    scheduling.plan_follow_ups(
        actor=clerk.actor, course=course, visit_date=today - dt.timedelta(days=2), now=now
    )
    six = _follow_ups(course)[FormKind.FOLLOW_UP_6]
    Order.objects.filter(pk=six.pk).update(state=OrderState.SENT)
    scheduling.plan_follow_ups(
        actor=clerk.actor, course=course, visit_date=today - dt.timedelta(days=1), now=now
    )
    stored = Order.objects.get(pk=six.pk)
    assert (stored.send_at, stored.state, stored.version) == (
        six.send_at,
        OrderState.SENT,
        six.version,
    )


def test_a_missing_follow_up_is_created_even_when_the_other_exists(persona: Any) -> None:
    from nnrr.scheduling.models import Order, OrderState

    clerk = persona("clerk")
    course = _consented_course(persona)
    visit = timezone.localdate() - dt.timedelta(days=2)
    now = timezone.now()
    scheduling.plan_follow_ups(actor=clerk.actor, course=course, visit_date=visit, now=now)
    Order.objects.filter(course=course, kind=FormKind.FOLLOW_UP_12).update(
        state=OrderState.CANCELLED
    )
    created = scheduling.plan_follow_ups(
        actor=clerk.actor, course=course, visit_date=visit, now=now
    )
    assert [o.kind for o in created] == [FormKind.FOLLOW_UP_12]


def test_no_follow_ups_without_consent(persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    assert (
        scheduling.plan_follow_ups(
            actor=persona("clerk").actor,
            course=course,
            visit_date=timezone.localdate(),
            now=timezone.now(),
        )
        == []
    )
    assert _follow_ups(course) == {}


# --- EQ-5D levels and the masked recipient ------------------------------------------------


@pytest.mark.parametrize(
    "levels",
    [[1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 6], [1, 1, 1, 1, 0], [True, 1, 1, 1, 1]],
)
def test_a_value_set_refuses_a_state_that_is_not_five_levels_from_1_to_5(levels: list[Any]) -> None:
    from nnrr.questionnaires.scoring import get_value_set

    with pytest.raises(ValueError):
        get_value_set("norway_2024").index(levels)


def test_the_dispatch_log_shows_only_a_masked_address(persona: Any, tmp_path: Any) -> None:
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.channels import FileChannel
    from nnrr.scheduling.models import Message

    booked = timezone.now() - dt.timedelta(days=1)
    patient = make_patient(ST_OLAVS, email="ingrid@example.no")
    book(persona("clerk"), patient, planned_in_days=10, now=booked)
    dispatch.run_pass(
        worker_id="w", now=timezone.now() + dt.timedelta(days=1), channel=FileChannel(tmp_path)
    )
    assert Message.objects.get().recipient == "i***@example.no"


# --- Unfinished Behandlerskjema: the definition the worklists' marker is kept equal to -----


def test_unfinished_courses_are_the_units_active_courses_with_a_draft_or_returned_clinician_form(
    persona: Any,
) -> None:
    clinician = persona("clinician")
    draft = book(clinician, make_patient(ST_OLAVS, name="Kari Kladd"))
    returned = book(clinician, make_patient(ST_OLAVS, name="Rolf Returnert"))
    finished = book(clinician, make_patient(ST_OLAVS, name="Frida Ferdig"))
    deleted = book(clinician, make_patient(ST_OLAVS, name="Sigurd Slettet"))
    closed = book(clinician, make_patient(ST_OLAVS, name="Vera Lukket"))
    elsewhere = book(persona("haukeland_clinician"), make_patient(HAUKELAND, name="Hans Annen"))

    def clinician_form(course: Course) -> Any:
        return Response.objects.filter(course=course, kind=FormKind.CLINICIAN)

    clinician_form(returned).update(status=FormStatus.RETURNERT)
    clinician_form(finished).update(status=FormStatus.FERDIGSTILT)
    # A patient form left as a draft does not make the course unfinished for the clinician.
    Response.objects.create(course=finished, kind=FormKind.PRE_TREATMENT, status=FormStatus.KLADD)
    scheduling.delete_course(
        actor=clinician.actor, course=deleted, reason="Feilregistrert", now=timezone.now()
    )
    # A course closed by a bulk update, its Behandlerskjema left as it was, is not listed.
    Course.objects.filter(pk=closed.pk).update(status=Course.Status.WITHDRAWN)
    assert clinician_form(closed).get().status == FormStatus.KLADD
    assert clinician_form(draft).get().status == FormStatus.KLADD
    assert clinician_form(elsewhere).get().status == FormStatus.KLADD

    profile = Profile.from_membership(clinician.membership)
    assert set(access.unfinished_courses(profile)) == {draft, returned}


# --- Searches by fødselsnummer in the audit log ----------------------------------------------


def test_a_search_that_finds_the_units_patient_names_the_patient_in_the_audit_row(
    persona: Any,
) -> None:
    patient = make_patient(ST_OLAVS)
    request = _profile_request(persona, "clinician")
    assert access.search_patient(request, patient.national_id) == patient
    event = AuditEvent.objects.get(action="nnrr.patient.searched")
    assert (event.object_type, event.object_id) == ("patients.patient", str(patient.pk))
    assert event.patient_id == patient.pk and event.detail == {"found": True}


@override_settings(SECRET_KEY="nnrr-test-secret-for-the-audit-digest")
def test_the_digest_of_a_searched_number_stays_the_same_across_releases() -> None:
    """Audit rows of searches for unknown numbers hold only this digest; a person's access log
    finds them by computing it again, so it must not change between versions: HMAC-SHA256 keyed
    with SHA-256("nnrr.audit.national_id" + SECRET_KEY), as Django's salted_hmac builds it."""
    assert access.national_id_digest("01017012345") == (
        "57b66fbbb55015d5715c30d7dfe97e5e5c60041788888436c6eed2d0e0d4177c"
    )


# --- The message a patient receives, word for word ------------------------------------------


def _composed(persona: Any, kind: str) -> tuple[Any, str, str]:
    from nnrr.lib.dates import OSLO
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.models import Message, Order

    course = book(persona("clerk"), make_patient(ST_OLAVS))
    order = Order.objects.filter(course=course).first()
    assert order is not None
    # One minute into 13 March in Oslo (23:01 on the 12th in UTC): 13 March is still open.
    order.expires_at = dt.datetime(2026, 3, 13, 0, 1, tzinfo=OSLO)
    message = Message(order=order, kind=kind, key=f"{order.pk}-{kind}")
    outgoing = dispatch.compose(message, order, "pasient@example.no")
    assert (outgoing.key, outgoing.to) == (message.key, "pasient@example.no")
    return order, outgoing.subject, outgoing.body


def _expected_body(opening: str, link: str) -> str:
    return "\n".join(
        [
            "Hei,",
            "",
            opening,
            "Svarene dine hjelper sykehuset å vurdere og forbedre behandlingen.",
            "",
            "Åpne lenken for å svare:",
            link,
            "",
            "Du logger inn med fødselsdatoen din (dd.mm.åååå).",
            "Svarfrist: 13.03.2026.",
            "",
            "Har du spørsmål, ta kontakt med poliklinikken. Denne meldingen er sendt automatisk "
            "og kan ikke besvares.",
            "",
            "St. Olavs hospital HF asks you to answer a questionnaire before your appointment at "
            "the clinic. Open the link above and log in with your date of birth.",
        ]
    )


@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_invitation_reads_word_for_word_in_norwegian(persona: Any, language: str) -> None:
    """Whatever language the worker runs under, the patient gets the registry's Norwegian text,
    naming the hospital that sends it and why in one sentence, with the last day to answer as a
    date in Oslo."""
    from django.utils.translation import override

    from nnrr.scheduling import dispatch
    from nnrr.scheduling.models import MessageKind

    with override(language):
        order, subject, body = _composed(persona, MessageKind.INVITATION)
    assert subject == "Spørreskjema fra St. Olavs hospital HF"
    assert body == _expected_body(
        "St. Olavs hospital HF ber deg svare på et spørreskjema før timen din ved poliklinikken.",
        dispatch.portal_link(order),
    )


def test_the_reminder_reads_word_for_word(persona: Any) -> None:
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.models import MessageKind

    order, subject, body = _composed(persona, MessageKind.REMINDER)
    assert subject == "Påminnelse: spørreskjema fra St. Olavs hospital HF"
    assert body == _expected_body(
        "Påminnelse: St. Olavs hospital HF ber deg svare på et spørreskjema før timen din ved "
        "poliklinikken.",
        dispatch.portal_link(order),
    )


def test_a_follow_up_message_says_how_long_since_the_clinic(persona: Any) -> None:
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.models import Message, MessageKind

    order, _subject, _body = _composed(persona, MessageKind.INVITATION)
    order.kind = "2"
    message = Message(order=order, kind=MessageKind.INVITATION, key="follow-up")
    body = dispatch.compose(message, order, "pasient@example.no").body
    assert (
        "St. Olavs hospital HF ber deg svare på et spørreskjema nå som det har gått 6 måneder "
        "siden du var på poliklinikken." in body.splitlines()
    )


# --- The worker's closing of orders and its tallies --------------------------------------------


def test_expired_and_missed_orders_are_closed_at_the_pass_with_their_reason(persona: Any) -> None:
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.models import Order, OrderState

    clerk = persona("clerk")
    sent = Order.objects.filter(course=book(clerk, make_patient(ST_OLAVS, name="A Sendt"))).first()
    planned = Order.objects.filter(
        course=book(clerk, make_patient(ST_OLAVS, name="B Planlagt"))
    ).first()
    assert sent is not None and planned is not None
    now = timezone.now()
    Order.objects.filter(pk=sent.pk).update(state=OrderState.SENT, expires_at=now)
    Order.objects.filter(pk=planned.pk).update(state=OrderState.PLANNED, expires_at=now)
    versions = {o.pk: o.version for o in Order.objects.filter(pk__in=[sent.pk, planned.pk])}

    assert dispatch.expire_orders(now) == (1, 1)

    sent.refresh_from_db()
    planned.refresh_from_db()
    assert (sent.state, sent.closed_at, sent.close_reason) == (
        OrderState.EXPIRED,
        now,
        "Svarfristen gikk ut",
    )
    assert (planned.state, planned.closed_at, planned.close_reason) == (
        OrderState.MISSED,
        now,
        "Ikke sendt: svarfristen var passert",
    )
    # One step each: a page holding the order's version sees it was changed, once.
    assert sent.version == versions[sent.pk] + 1
    assert planned.version == versions[planned.pk] + 1


def test_messages_no_longer_wanted_are_skipped_with_the_reason_and_counted(
    persona: Any, tmp_path: Any
) -> None:
    """At the deadline itself nothing goes out; a reminder to an answered order and an invitation
    to a cancelled one say why; each skip and each failure is counted in the pass's tally."""
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.channels import FileChannel, NoneChannel
    from nnrr.scheduling.models import Message, MessageKind, MessageState, Order, OrderState

    clerk = persona("clerk")
    now = timezone.now()
    orders = []
    for n, state in enumerate([OrderState.SENT, OrderState.ANSWERED, OrderState.CANCELLED]):
        order = Order.objects.filter(course=book(clerk, make_patient(ST_OLAVS, name=f"P {n}")))[0]
        order.state = state
        order.expires_at = now if n == 0 else now + dt.timedelta(days=3)
        orders.append(order)
    kinds = [MessageKind.INVITATION, MessageKind.REMINDER, MessageKind.INVITATION]
    channel = FileChannel(tmp_path / "outbox")
    result = dispatch.PassResult()
    outcomes = [
        dispatch._deliver_claimed(
            Message(pk=n + 1, order=order, kind=kind, key=f"{order.pk}-{kind}"),
            now,
            channel,
            result,
        )[1]
        for n, (order, kind) in enumerate(zip(orders, kinds, strict=True))
    ]
    assert outcomes == [
        {"state": MessageState.SKIPPED, "outcome": "Fristen er passert"},
        {"state": MessageState.SKIPPED, "outcome": "Ikke sendt: besvart"},
        {"state": MessageState.SKIPPED, "outcome": "Ikke sendt: kansellert"},
    ]
    assert (result.skipped, result.sent, result.failed) == (3, 0, 0)
    assert not list((tmp_path / "outbox").glob("*.eml"))

    # A channel with no address for the patient: failed, counted once per message.
    orders[0].expires_at = now + dt.timedelta(days=3)
    for n in range(2):
        message = Message(pk=10 + n, order=orders[0], kind=kinds[0], key=f"k{n}")
        _pk, fields = dispatch._deliver_claimed(message, now, NoneChannel(), result)
    assert fields == {
        "state": MessageState.FAILED,
        "outcome": "Ingen adresse for kanalen none; gi pasienten engangskode "
        "(Bestill på nytt → Jeg vil varsle mottaker selv)",
    }
    assert result.failed == 2


def test_reconciled_messages_say_what_became_of_them(persona: Any, tmp_path: Any) -> None:
    """After a worker stopped mid-send: a message found on file is sent, one not found goes
    back in the queue unclaimed, one on another channel (no way to ask) is uncertain."""
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.channels import FileChannel, OutgoingMessage
    from nnrr.scheduling.models import Message, MessageKind, MessageState, Order

    clerk = persona("clerk")
    now = timezone.now()
    channel = FileChannel(tmp_path / "outbox")
    rows = []
    for n, on in enumerate(["file", "file", "email"]):
        order = Order.objects.filter(course=book(clerk, make_patient(ST_OLAVS, name=f"R {n}")))[0]
        rows.append(
            Message.objects.create(
                order=order,
                kind=MessageKind.INVITATION,
                key=f"{order.pk}-invitation",
                channel=on,
                state=MessageState.SENDING,
                claimed_by="stopped-worker",
                claimed_at=now - dt.timedelta(minutes=5),
                created_at=now,
                next_attempt_at=now,
            )
        )
    channel.send(OutgoingMessage(key=rows[0].key, to="a@example.no", subject="s", body="b"))

    assert dispatch.reconcile("live-worker", now, channel, dt.timedelta(seconds=60)) == 3

    sent, again, uncertain = (Message.objects.get(pk=row.pk) for row in rows)
    assert (sent.state, sent.outcome) == (MessageState.SENT, "Bekreftet sendt etter avbrudd")
    assert sent.sent_at == rows[0].claimed_at
    assert (again.state, again.outcome, again.claimed_by, again.next_attempt_at) == (
        MessageState.PENDING,
        "Sendes på nytt etter avbrudd",
        "",
        now,
    )
    assert (uncertain.state, uncertain.outcome) == (
        MessageState.UNCERTAIN,
        "Avbrutt under sending; kan ikke bekreftes. Sendes ikke på nytt.",
    )


def test_courses_due_for_purge_are_the_old_active_ones_without_a_consenting_pre_treatment_form(
    persona: Any,
) -> None:
    clerk = persona("clerk")
    names = ["Uten Samtykke", "Med Samtykke", "Kladd Ja", "Slettet", "Nylig"]
    now = timezone.now()
    booked = {"Nylig": now - dt.timedelta(days=20)}  # planned 10 days ago; the rest 60
    courses = {
        name: book(
            clerk,
            make_patient(ST_OLAVS, name=name),
            planned_in_days=10,
            now=booked.get(name, now - dt.timedelta(days=70)),
        )
        for name in names
    }
    _completed_pre_treatment(courses["Med Samtykke"])
    Response.objects.create(
        course=courses["Kladd Ja"],
        kind=FormKind.PRE_TREATMENT,
        status=FormStatus.KLADD,
        consent=True,
    )
    scheduling.delete_course(
        actor=clerk.actor, course=courses["Slettet"], reason="x", now=timezone.now()
    )

    due = set(scheduling.courses_due_for_purge(now))
    assert due == {courses["Uten Samtykke"].pk, courses["Kladd Ja"].pk}


# --- store_patient_form: what a submitted patient form stores, and its audit row ---------------


def _submit(course: Course, kind: str, answers: dict[str, Any], **extra: Any) -> Response:
    values: dict[str, Any] = {
        "actor": Actor.system("test"),
        "course": course,
        "kind": kind,
        "answers": answers,
        "consent": True if kind == FormKind.PRE_TREATMENT else None,
        "source": Source.PORTAL,
        "now": timezone.now(),
        **extra,
    }
    return scheduling.submit_patient_form(**values)


@pytest.mark.django_db
def test_a_submitted_form_records_who_when_which_version_and_its_audit_row(
    persona: Any,
) -> None:
    from nnrr.questionnaires.definitions import current_version

    clerk = persona("clerk")
    course = book(clerk, make_patient(ST_OLAVS))
    now = timezone.now()
    before = AuditEvent.objects.count()
    form = _submit(course, FormKind.PRE_TREATMENT, {"FamilyStatus": 1}, actor=clerk.actor, now=now)
    assert form.created_by == clerk.user
    assert form.completed_by == clerk.user and form.updated_by == clerk.user
    assert form.completed_at == now
    assert form.definition_version == current_version(FormKind.PRE_TREATMENT)
    event = AuditEvent.objects.filter(action="nnrr.form.submitted").latest("id")
    assert AuditEvent.objects.count() > before
    assert event.patient_id == course.patient_id
    assert event.object_type == "questionnaires.response" and event.object_id == str(form.pk)
    assert event.detail == {
        "kind": FormKind.PRE_TREATMENT,
        "source": Source.PORTAL,
        "consent": True,
    }


@pytest.mark.django_db
def test_a_follow_up_stores_the_pre_treatment_answer_its_questions_depend_on(
    persona: Any,
) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    _submit(course, FormKind.PRE_TREATMENT, {"FamilyStatus": 1, "IsNeckPainMainProblem": 1})
    follow_up = _submit(course, FormKind.FOLLOW_UP_6, {})
    assert follow_up.answers["Baseline_IsNeckPainMainProblem"] == 1


def _draft(course: Course) -> Response:
    """A pre-treatment form saved for later in the portal ({"FamilyStatus": 1})."""
    return form_services.save_portal_draft(
        actor=Actor.system("test"),
        course=course,
        kind=FormKind.PRE_TREATMENT,
        answers={"FamilyStatus": 1},
        draft=None,
        now=timezone.now(),
    )


def _store(course: Course, answers: dict[str, Any], **extra: Any) -> Response:
    """``store_patient_form`` of a pre-treatment form with consent, from the portal."""
    values: dict[str, Any] = {
        "actor": Actor.system("test"),
        "course": course,
        "kind": FormKind.PRE_TREATMENT,
        "answers": answers,
        "consent": True,
        "source": Source.PORTAL,
        "now": timezone.now(),
        **extra,
    }
    return form_services.store_patient_form(**values)


@pytest.mark.django_db
def test_submitting_a_draft_completes_that_draft_only_one_version_on(persona: Any) -> None:
    first = book(persona("clerk"), make_patient(ST_OLAVS))
    second = book(persona("clerk"), make_patient(ST_OLAVS))
    drafts = [_draft(course) for course in (first, second)]
    version = Response.objects.get(pk=drafts[0].pk).version
    now = timezone.now()
    stored = _store(first, {"FamilyStatus": 2}, now=now, draft=drafts[0])
    assert stored.pk == drafts[0].pk and stored.last_update == now
    assert stored.status == FormStatus.FERDIGSTILT and stored.version == version + 1
    # The other course's draft is untouched.
    other = Response.objects.get(pk=drafts[1].pk)
    assert other.status == FormStatus.KLADD and other.answers == {"FamilyStatus": 1}


@pytest.mark.django_db
def test_a_draft_deleted_meanwhile_is_not_brought_back_by_a_submission(persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    draft = _draft(course)
    Response.objects.filter(pk=draft.pk).update(status=FormStatus.SLETTET)
    _store(course, {"FamilyStatus": 2}, draft=draft)
    assert Response.objects.get(pk=draft.pk).status == FormStatus.SLETTET


@pytest.mark.django_db
def test_the_patient_form_refusals_say_why(persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    with pytest.raises(ValidationError) as empty:
        _store(course, {}, source=Source.PAPER)
    assert empty.value.messages == [
        "Papirskjemaet er tomt: fyll inn svarene fra skjemaet. Ingen opplysninger er lagret."
    ]
    _submit(course, FormKind.PRE_TREATMENT, {"FamilyStatus": 1})
    with pytest.raises(ValidationError) as twice:
        _store(course, {"FamilyStatus": 2})
    assert twice.value.messages == ["Dette skjemaet er allerede levert for forløpet."]
