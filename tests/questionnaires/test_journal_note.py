"""The journal note and summary: Norwegian number format, "ikke aktuelt", NRS as 6/10, the UHI
count explained, the EQ-5D value set named, NDI's top band, the change from baseline at 6 and 12
months with its direction, and the English note in English."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone, translation

from nnrr.audit.context import Actor
from nnrr.patients.models import Course
from nnrr.questionnaires import scoring
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import Response, Source
from nnrr.questionnaires.summary import build_summary, journal_note, number
from nnrr.scheduling import services
from tests.conftest import ST_OLAVS, book, make_patient

ODI = ("OdiPain", "OdiPersonalCare", "OdiLift", "OdiWalk", "OdiSit", "OdiStand", "OdiSleep",
       "OdiSex", "OdiSocial", "OdiTravel")  # fmt: skip
NDI = ("NdiIntensity", "NdiPersonalCare", "NdiLift", "NdiRead", "NdiHeadache",
       "NdiConcentration", "NdiWork", "NdiDriving", "NdiSleep", "NdiLeisure")  # fmt: skip
EQ5D = ("Eq5d_L_spm1", "Eq5d_L_spm2", "Eq5d_L_spm3", "Eq5d_L_spm4", "Eq5d_L_spm5")


@pytest.fixture
def course(persona: Any) -> Course:
    return book(persona("clinician"), make_patient(ST_OLAVS), planned_in_days=-1)


def submit(course: Course, kind: str, answers: dict[str, Any]) -> Response:
    return services.submit_patient_form(
        actor=Actor.system(),
        course=course,
        kind=kind,
        answers=answers,
        consent=True if kind == "1a" else None,
        source=Source.PAPER,
        now=timezone.now(),
    )


def note(response: Response, language: str = "nb") -> str:
    definition = get_definition(response.kind, response.definition_version)
    with translation.override(language):
        return journal_note(response, definition, build_summary(response, definition))


def baseline_answers(*, neck: int = 0) -> dict[str, Any]:
    answers: dict[str, Any] = dict.fromkeys(ODI, 3)  # ODI 40
    answers.update(dict.fromkeys(EQ5D, 2))
    answers.update(
        IsNeckPainMainProblem=neck,
        PainExperiencesNoActivity=6,
        PainExperiencesActivity=8,
        Eq5d_L_spm6=50,
        HSCL10Score=None,
    )
    for n in range(1, 11):
        answers[f"Hscl10Q{n}"] = 2 if n % 2 else 3  # mean 2.5
    for n in range(1, 34):
        answers[f"UhiQ{n}"] = 2 if n <= 4 else 0
    answers.pop("HSCL10Score")
    if neck:
        answers.update(dict.fromkeys(NDI, 4))  # NDI 30
    return answers


def test_number_format_follows_the_language() -> None:
    with translation.override("nb"):
        assert number(2.1) == "2,1"
        assert number(30.0) == "30"
        assert number(0.7512, 3) == "0,751"
    with translation.override("en"):
        assert number(2.1) == "2.1"


def test_baseline_note_formats(course: Course) -> None:
    stored = submit(course, "1a", baseline_answers())
    text = note(stored)
    assert "ODI (funksjon, 0–100): 40 – Moderat funksjonsnedsettelse" in text
    assert "HSCL-10 (psykiske plager, 1–4): 2,5 – Betydelig psykisk plage" in text
    # NDI was not asked (the neck is not the main problem): not "mangler".
    assert "NDI (nakkefunksjon, 0–50): ikke aktuelt" in text
    assert "6/10" in text and "8/10" in text
    assert "antall av 30 plager" in text and "nakke- og ryggsmerter ikke talt med" in text
    uhi = next(line for line in text.splitlines() if line.startswith("Subjektive helseplager"))
    assert uhi.endswith(": 4")  # UhiQ1–4 at «en del»; items 5–7 (neck and back pain) excluded
    assert "verdisett: Norway (Garratt et al. 2024)" in text
    # A skipped pain drawing is missing, not 0 regions.
    assert "Antall smerteområder (0–32): mangler" in text


def test_ndi_top_band_is_saerlig_uttalt() -> None:
    top = scoring.band("NdiScore", 40)
    assert top is not None and top.nb == "Særlig uttalt funksjonsnedsettelse"


def test_six_month_note_shows_the_change_from_baseline(course: Course) -> None:
    submit(course, "1a", baseline_answers(neck=1))
    follow_up: dict[str, Any] = dict.fromkeys(ODI, 2)  # ODI 20
    follow_up.update(dict.fromkeys(NDI, 5))  # NDI 40: worse
    follow_up.update(dict.fromkeys(EQ5D, 1))  # 11111 = 1
    follow_up.update(
        PainExperiencesNoActivity=6, PainExperiencesActivity=3, IsNeckPainMainProblem=0
    )
    stored = submit(course, "2", follow_up)
    text = note(stored)
    assert "Endring fra før behandling:" in text
    assert "ODI: 20 (før behandling 40; endring −20, bedre)" in text
    assert "NDI: 40 (før behandling 30; endring +10, verre)" in text
    assert "Smerte i hvile (NRS): 6 (før behandling 6; endring ±0, uendret)" in text
    assert "Smerte i aktivitet (NRS): 3 (før behandling 8; endring −5, bedre)" in text
    eq5d = next(line for line in text.splitlines() if line.startswith("EQ-5D-5L indeks:"))
    assert eq5d.startswith("EQ-5D-5L indeks: 1 (før behandling 0,")
    assert eq5d.endswith(", bedre)")


def test_the_english_note_is_in_english(course: Course) -> None:
    submit(course, "1a", baseline_answers(neck=1))
    follow_up: dict[str, Any] = dict.fromkeys(ODI, 2)
    follow_up.update(PainExperiencesNoActivity=2)
    stored = submit(course, "3", follow_up)
    text = note(stored, "en")
    assert "Norwegian Neck and Back Registry" in text
    assert "Change from before treatment:" in text
    assert "ODI: 20 (before treatment 40; change −20, better)" in text
    assert "2/10" in text
    for norwegian in ("før behandling", "mangler", "ikke aktuelt", "bedre", "Smerte", "Norsk"):
        assert norwegian not in text, norwegian
