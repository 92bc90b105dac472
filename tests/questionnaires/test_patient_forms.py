"""Patient forms keyed in from paper by staff, their summary and journal note, and immutability."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from nnrr.accounts.middleware import LOGIN_TIME_SESSION_KEY
from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.patients.models import Course
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, ImmutableFormError, Response, Source
from nnrr.scheduling import services
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order, OrderState
from tests.conftest import (
    ST_OLAVS,
    book,
    make_patient,
)
from tests.questionnaires.helpers import complete_answers


@pytest.fixture
def course(persona: Any) -> Course:
    return book(persona("clerk"), make_patient(ST_OLAVS), planned_in_days=5)


def paper_url(course: Course, kind: str) -> str:
    return reverse("questionnaires:paper", args=[course.pk, kind])


ANSWERS_1A = {
    "OdiPain": "3",
    "OdiPersonalCare": "2",
    "OdiLift": "4",
    "OdiWalk": "2",
    "OdiSit": "3",
    "OdiStand": "3",
    "OdiSleep": "2",
    "OdiSex": "1",
    "OdiSocial": "2",
    "OdiTravel": "3",
    "IsPainLowBack": "1",
    "IsPainHipsThighsBackRight": "1",
    "PainExperiencesNoActivity": "4",
    "PainExperiencesActivity": "7",
    "Eq5d_L_spm1": "2",
    "Eq5d_L_spm2": "1",
    "Eq5d_L_spm3": "2",
    "Eq5d_L_spm4": "3",
    "Eq5d_L_spm5": "2",
    "Eq5d_L_spm6": "55",
}


@pytest.mark.parametrize("kind", ["1a", "2", "3"])
def test_each_patient_form_renders_for_paper_entry(
    as_persona: Any, course: Course, kind: str
) -> None:
    html = as_persona("clerk").get(paper_url(course, kind)).content.decode()
    definition = get_definition(kind)
    assert str(definition.title) in html
    for section in definition.sections:
        assert f'id="section-{section.id}"' in html
    assert ("Samtykke" in html) == (kind == "1a")


def test_pre_treatment_form_without_consent_stores_nothing(as_persona: Any, course: Course) -> None:
    response = as_persona("clerk").post(paper_url(course, "1a"), ANSWERS_1A)
    assert response.status_code == 200
    assert "uten samtykke" in response.content.decode()
    assert not Response.objects.filter(course=course, kind="1a").exists()
    assert Order.objects.get(course=course, kind="1a").state == OrderState.PLANNED


def test_paper_form_with_consent_is_stored_with_scores_and_answers_the_order(
    as_persona: Any, course: Course
) -> None:
    response = as_persona("clerk").post(paper_url(course, "1a"), {**ANSWERS_1A, "consent": "1"})
    stored = Response.objects.get(course=course, kind="1a")
    assert response["Location"] == reverse("questionnaires:response", args=[stored.pk])
    assert stored.status == FormStatus.FERDIGSTILT
    assert stored.consent is True
    assert stored.source == Source.PAPER
    assert stored.scores["OdiScore"] == 30.0  # item scores 2+1+3+1+2+2+1+0+1+2 = 15 → 100·15/50
    assert stored.scores["NofPainRegions"] == 2
    assert Order.objects.get(course=course, kind="1a").state == OrderState.ANSWERED


def test_summary_and_journal_note(as_persona: Any, course: Course) -> None:
    client = as_persona("clinician")
    client.post(paper_url(course, "1a"), {**ANSWERS_1A, "consent": "1"})
    stored = Response.objects.get(course=course, kind="1a")
    page = client.get(reverse("questionnaires:response", args=[stored.pk])).content.decode()
    assert "Oppsummering" in page
    assert "ODI" in page and "moderat" in page.lower()
    assert "Fullstendig utfylling" in page
    note = client.get(reverse("questionnaires:journal", args=[stored.pk])).content.decode()
    assert "Kopier til utklippstavle" in note
    assert "ODI (funksjon, 0–100): 30" in note
    assert "Smerteområder" in note


def test_a_second_submission_of_the_same_form_is_refused(as_persona: Any, course: Course) -> None:
    client = as_persona("clerk")
    client.post(paper_url(course, "1a"), {**ANSWERS_1A, "consent": "1"})
    again = client.post(paper_url(course, "1a"), {**ANSWERS_1A, "consent": "1"})
    assert "allerede levert" in again.content.decode()
    assert Response.objects.filter(course=course, kind="1a").count() == 1


def test_invalid_answers_are_shown_and_nothing_is_stored(as_persona: Any, course: Course) -> None:
    response = as_persona("clerk").post(
        paper_url(course, "1a"),
        {**ANSWERS_1A, "consent": "1", "OdiPain": "9", "Eq5d_L_spm6": "250"},
    )
    html = response.content.decode()
    assert 'href="#item-OdiPain"' in html
    assert "mellom 0 og 100" in html
    assert not Response.objects.filter(course=course, kind="1a").exists()


def test_unknown_form_kind_answers_404(as_persona: Any, course: Course) -> None:
    assert as_persona("clerk").get(paper_url(course, "9")).status_code == 404


@pytest.fixture
def completed_form(course: Course) -> Response:
    return services.submit_patient_form(
        actor=Actor.system(),
        course=course,
        kind="1a",
        answers=complete_answers(get_definition("1a")),
        consent=True,
        source=Source.PAPER,
        now=timezone.now(),
    )


def test_completed_patient_form_cannot_be_saved_through_the_orm(completed_form: Response) -> None:
    completed_form.answers["OdiPain"] = 6
    with pytest.raises(ImmutableFormError):
        completed_form.save()


def test_completed_patient_form_cannot_be_updated_in_bulk(completed_form: Response) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        Response.objects.filter(pk=completed_form.pk).update(answers={"OdiPain": 6})
    completed_form.refresh_from_db()
    assert completed_form.answers.get("OdiPain") != 6


def test_completed_patient_form_cannot_be_changed_in_the_admin(completed_form: Response) -> None:
    admin = get_user_model().objects.create_superuser("root", "", "pw", full_name="Drift")
    url = reverse("admin:questionnaires_response_change", args=[completed_form.pk])
    client = Client()
    client.force_login(admin, backend="nnrr.accounts.backends.IdentityBackend")
    session = client.session
    session[LOGIN_TIME_SESSION_KEY] = time.time()
    session.save()
    assert client.get(url).status_code == 200  # operators may look
    response = client.post(url, {"status": 1, "answers": "{}"})
    assert response.status_code == 403
    completed_form.refresh_from_db()
    assert completed_form.status == FormStatus.FERDIGSTILT


def test_completed_patient_form_is_shown_read_only(
    as_persona: Any, completed_form: Response
) -> None:
    html = (
        as_persona("clinician")
        .get(reverse("questionnaires:response", args=[completed_form.pk]))
        .content.decode()
    )
    assert "<input" not in html.split("Fullstendig utfylling", 1)[1]


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
