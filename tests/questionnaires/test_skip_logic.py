"""Skip logic and consistency: image findings after "Ingen billeddiagnostikk", session counts
after "Nei" to treatment in the specialist service, the follow-up NDI from the baseline answer,
and a skipped pain drawing stored as missing."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from nnrr.audit.context import Actor
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, Response, Source
from nnrr.questionnaires.rendering import bind
from nnrr.questionnaires.validation import missing_for_completion, parse_submission
from nnrr.scheduling import services as scheduling
from tests.conftest import ST_OLAVS, book, make_patient
from tests.questionnaires.helpers import as_post, complete_answers

IMAGE_ITEMS = ("RadiologicalFExplainedPatient", "RadiologicalFRelevantPatientPains")
SESSIONS = (
    "Treatment_IndividualMonoDiciplinary",
    "Treatment_InvidualInterdisciplinary",
    "Treatment_GroupInterdisciplinary2018",
)


def missing_ids(answers: dict[str, Any]) -> set[str]:
    return {
        m.anchor.split("-", 1)[1] for m in missing_for_completion(get_definition("1b"), answers)
    }


def test_image_items_are_not_asked_when_no_imaging_is_ticked() -> None:
    definition = get_definition("1b")
    parsed = parse_submission(
        definition,
        {
            "Radiological_None": "1",
            "RadiologicalFExplainedPatient": "1",
            "RadiologicalFRelevantPatientPains": "2",
        },
        sections=["imaging", "imaging_findings"],
    )
    for item in IMAGE_ITEMS:
        assert item not in parsed.answers
    answers = complete_answers(definition)
    answers.update({"Radiological_None": True, "RadiologicalUS_CT": False})
    for item in IMAGE_ITEMS:
        answers.pop(item, None)
    assert not missing_ids(answers) & set(IMAGE_ITEMS)
    assert "radiological_findings" not in missing_ids(answers)
    # With an examination ticked they are asked (and mandatory).
    answers.update({"Radiological_None": False, "RadiologicalUS_MR": True})
    assert set(IMAGE_ITEMS) <= missing_ids(answers)


def test_session_counts_are_not_asked_when_specialist_treatment_is_not_recommended() -> None:
    definition = get_definition("1b")
    answers = complete_answers(definition)
    answers["Treatment_TreatmentInSpecialistServices"] = 0
    for item in SESSIONS:
        answers.pop(item, None)
    assert not missing_ids(answers) & set(SESSIONS)
    answers["Treatment_TreatmentInSpecialistServices"] = 1
    assert set(SESSIONS) <= missing_ids(answers)


def test_nei_with_sessions_is_refused_with_a_message() -> None:
    parsed = parse_submission(
        get_definition("1b"),
        {
            "Treatment_TreatmentInSpecialistServices": "0",
            "Treatment_InvidualInterdisciplinary": "2",
        },
        sections=["specialist_pathway"],
    )
    message = parsed.errors["Treatment_InvidualInterdisciplinary"]
    assert "kan ikke besvares" in message
    assert "«Nei»" in message
    assert "Treatment_InvidualInterdisciplinary" not in parsed.answers
    # "Ingen" is consistent with "Nei" and is simply not stored.
    parsed = parse_submission(
        get_definition("1b"),
        {
            "Treatment_TreatmentInSpecialistServices": "0",
            "Treatment_InvidualInterdisciplinary": "0",
        },
        sections=["specialist_pathway"],
    )
    assert parsed.ok


def test_fill_page_refuses_nei_with_sessions(persona: Any, as_persona: Any) -> None:
    course = book(persona("clinician"), make_patient(ST_OLAVS), planned_in_days=-1)
    draft = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    response = as_persona("clinician").post(
        reverse("questionnaires:fill", args=[draft.pk]),
        {
            "version": draft.version,
            "action": "save",
            "Treatment_TreatmentInSpecialistServices": "0",
            "Treatment_GroupInterdisciplinary2018": "3",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "kan ikke besvares" in html
    assert 'id="item-Treatment_GroupInterdisciplinary2018-error"' in html


def consented_course(persona: Any, *, neck_main: int | None) -> Any:
    course = book(persona("clinician"), make_patient(ST_OLAVS), planned_in_days=-1)
    answers: dict[str, Any] = {} if neck_main is None else {"IsNeckPainMainProblem": neck_main}
    scheduling.submit_patient_form(
        actor=Actor.system(),
        course=course,
        kind=FormKind.PRE_TREATMENT,
        answers=answers,
        consent=True,
        source=Source.PORTAL,
        now=timezone.now(),
    )
    return course


def ndi_asked(course: Any, answers: dict[str, Any]) -> bool:
    definition = get_definition("2")
    context = {**form_services.baseline_answers(course, "2"), **answers}
    form = bind(definition, context)
    return next(s for s in form.sections if s.section.id == "ndi").visible


def test_follow_up_ndi_follows_the_baseline_answer(persona: Any) -> None:
    neck = consented_course(persona, neck_main=1)
    # The neck improved: the patient says it is not the main problem any more; NDI still asked.
    assert ndi_asked(neck, {"IsNeckPainMainProblem": 0})
    back = consented_course(persona, neck_main=0)
    assert not ndi_asked(back, {"IsNeckPainMainProblem": 1})
    # No baseline answer: the follow-up's own answer decides.
    unknown = consented_course(persona, neck_main=None)
    assert ndi_asked(unknown, {"IsNeckPainMainProblem": 1})
    assert not ndi_asked(unknown, {"IsNeckPainMainProblem": 0})


def test_follow_up_ndi_answers_are_kept_when_baseline_said_neck(persona: Any) -> None:
    course = consented_course(persona, neck_main=1)
    definition = get_definition("2")
    parsed = parse_submission(
        definition,
        {"IsNeckPainMainProblem": "0", "NdiIntensity": "2"},
        previous=form_services.baseline_answers(course, "2"),
    )
    assert parsed.answers["NdiIntensity"] == 2
    stored = scheduling.submit_patient_form(
        actor=Actor.system(),
        course=course,
        kind=FormKind.FOLLOW_UP_6,
        answers=parsed.answers,
        consent=None,
        source=Source.PAPER,
        now=timezone.now(),
    )
    assert stored.answers["Baseline_IsNeckPainMainProblem"] == 1


def test_paper_page_of_the_follow_up_shows_ndi_for_a_baseline_neck_patient(
    persona: Any, as_persona: Any
) -> None:
    course = consented_course(persona, neck_main=1)
    html = (
        as_persona("clinician")
        .get(reverse("questionnaires:paper", args=[course.pk, "2"]))
        .content.decode()
    )
    section = html.split('id="section-ndi"', 1)[1][:400]
    assert "app-hidden" not in html.split('id="section-ndi"', 1)[0][-200:]
    assert "data-show-if" not in section.split(">", 1)[0]


def test_a_skipped_pain_drawing_is_stored_as_missing() -> None:
    definition = get_definition("1a")
    drawing = next(
        s for s in definition.sections if any(i.widget == "body-region" for i in s.items())
    )
    parsed = parse_submission(definition, {}, sections=[drawing.id])
    assert not any(key.startswith("IsPain") for key in parsed.answers)
    assert form_services.scores_for("1a", parsed.answers)["NofPainRegions"] is None
    ticked = parse_submission(definition, {"IsPainHead": "1"}, sections=[drawing.id])
    assert ticked.answers["IsPainHead"] is True
    assert ticked.answers["IsPainLowBack"] is False
    assert form_services.scores_for("1a", ticked.answers)["NofPainRegions"] == 1


def test_complete_clinician_answers_still_complete(persona: Any, as_persona: Any) -> None:
    course = book(persona("clinician"), make_patient(ST_OLAVS), planned_in_days=-1)
    draft = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    answers = complete_answers(get_definition("1b"))
    answers["Treatment_TreatmentInSpecialistServices"] = 0
    for item in SESSIONS:
        answers.pop(item, None)
    response = as_persona("clinician").post(
        reverse("questionnaires:fill", args=[draft.pk]),
        {"version": draft.version, "action": "complete", **as_post(answers)},
    )
    assert response.status_code == 302


def test_only_items_with_a_help_text_get_a_help_button(persona: Any, as_persona: Any) -> None:
    course = book(persona("clinician"), make_patient(ST_OLAVS), planned_in_days=-1)
    html = (
        as_persona("clinician")
        .get(reverse("questionnaires:paper", args=[course.pk, "1a"]))
        .content.decode()
    )
    definition = get_definition("1a")
    with_help = [i for i in definition.items() if i.help] + [
        g for g in definition.groups() if g.help
    ]
    assert html.count('<details class="app-help">') == len(with_help)
    odi = html.split('id="section-odi"', 1)[1].split("</section>", 1)[0]
    assert "app-help" not in odi  # ODI items have no help text: no empty "?" button
