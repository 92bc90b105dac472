"""Paper forms printed by the system (WeasyPrint), straight from the form definition.

The manual lets a clinic offer the questionnaire on paper to patients who cannot use a phone or
PC, and obliges it to give patients who do not consent an equal offer. The printed form has the
same items and (licensed or placeholder) wording as the screen, in the order of the paper-entry
page, so the answers are easy to key in later: tick boxes for choices and ticks, number boxes for
numbers. It reads as a paper form: no answer codes beside the choices, no instruction to tap
(a section's ``paper_intro``), and the web's consent sentence. The pre-treatment form starts
with the consent page.

A printed form is for one patient and course (name, fødselsnummer and the course on every page
header) or blank: for the clinic's stock, and for patients who decline the registry, whose
answers stay in the clinic and never enter the system.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from nnrr.questionnaires import body_map, wording
from nnrr.questionnaires.definitions import Condition, Definition, Group, Item
from nnrr.questionnaires.validation import condition_holds


@dataclass(frozen=True)
class PaperChoice:
    code: int
    label: str


@dataclass
class PaperQuestion:
    """One question as printed: its label, the boxes to tick or fill, and when to answer it."""

    id: str
    label: str
    kind: str  # choice, scale, number, tick, ticks (a group), text, date
    choices: list[PaperChoice] = field(default_factory=list)
    digits: int = 0  # number boxes
    unit_hint: str = ""
    condition: str = ""
    help: str = ""
    ticks: list[PaperQuestion] = field(default_factory=list)

    @property
    def boxes(self) -> range:
        return range(self.digits)


@dataclass
class PaperSection:
    id: str
    title: str
    intro: str
    condition: str
    questions: list[PaperQuestion]
    pain_drawing: bool = False
    placeholder: str = ""


@dataclass
class PaperHeader:
    patient_name: str = ""
    national_id: str = ""
    course: str = ""
    unit: str = ""

    @property
    def blank(self) -> bool:
        return not self.patient_name


def _condition_text(condition: Condition | None, definition: Definition) -> str:
    if condition is None:
        return ""
    source = definition.items_by_id.get(condition.item)
    if source is None:
        return ""
    answers = []
    for value in condition.values:
        if source.type == "boolean":
            answers.append(_("avkrysset") if value else _("ikke avkrysset"))
        else:
            answers.append(source.code_label(value))
    shown = " / ".join(f"«{a}»" for a in answers)
    prefix = _("i skjemaet før behandling") + ": " if condition.baseline else ""
    return _("Svar bare hvis du svarte %(answer)s på «%(question)s»%(where)s.") % {
        "answer": shown,
        "question": source.label,
        "where": f" ({prefix.rstrip(': ')})" if prefix else "",
    }


def _question(item: Item, definition: Definition) -> PaperQuestion:
    question = PaperQuestion(
        id=item.id,
        label=str(item.label),
        kind="text",
        condition=_condition_text(item.show_if, definition),
        help=str(item.help),
    )
    if item.type == "choice":
        question.kind = "choice"
        question.choices = [PaperChoice(c.code, str(c.label)) for c in item.codes]
    elif item.type in ("integer", "decimal") and item.widget == "scale":
        low, high = int(item.minimum or 0), int(item.maximum or 10)
        question.kind = "scale"
        question.choices = [PaperChoice(n, str(n)) for n in range(low, high + 1)]
    elif item.type in ("integer", "decimal"):
        question.kind = "number"
        question.digits = max(len(str(int(item.maximum or 0))), 1)
        question.digits += 2 if item.type == "decimal" else 0
        question.unit_hint = f"{item.minimum}–{item.maximum}"
    elif item.type == "boolean":
        question.kind = "tick"
    elif item.type == "date":
        question.kind = "date"
    return question


def paper_sections(
    definition: Definition, answers: dict[str, Any] | None = None
) -> list[PaperSection]:
    """The sections to print, in the order of the paper-entry page. With ``answers`` (the
    baseline answers a follow-up's conditions read), a section whose condition is decided by
    them is printed only when it holds; otherwise its condition is printed as an instruction."""
    answers = answers or {}
    sections = []
    for section in definition.sections:
        condition = section.show_if
        if condition is not None and condition.source_key(answers) != condition.item:
            if not condition_holds(condition, answers):
                continue
            condition = None  # decided by the baseline: always asked for this patient
        questions: list[PaperQuestion] = []
        for element in section.elements:
            if isinstance(element, Group):
                group = PaperQuestion(
                    id=element.id,
                    label=str(element.label),
                    kind="ticks",
                    condition=_condition_text(element.show_if, definition),
                    help=str(element.help),
                    ticks=[_question(i, definition) for i in element.items],
                )
                questions.append(group)
            else:
                questions.append(_question(element, definition))
        drawing = any(i.widget == "body-region" for i in section.items())
        placeholder = ""
        instruments = {i.instrument for i in section.items() if i.instrument}
        if len(instruments) == 1:
            found = wording.active().get(next(iter(instruments)))
            placeholder = found.name if found is not None and not found.licensed else ""
        sections.append(
            PaperSection(
                id=section.id,
                title=str(section.title),
                intro=str(section.intro_on_paper),
                condition=_condition_text(condition, definition),
                questions=questions,
                pain_drawing=drawing,
                placeholder=placeholder,
            )
        )
    return sections


def render_paper_html(
    definition: Definition,
    *,
    header: PaperHeader,
    baseline: dict[str, Any] | None = None,
    printed: dt.date | None = None,
) -> str:
    return render_to_string(
        "questionnaires/paper_print.html",
        {
            "definition": definition,
            "sections": paper_sections(definition, baseline),
            "header": header,
            "consent": str(definition.consent),
            "with_consent": definition.form == "1a",
            "printed": printed,
            "outlines": body_map.OUTLINES,
            "regions": body_map.REGIONS,
        },
    )


def render_paper_pdf(
    definition: Definition,
    *,
    header: PaperHeader,
    baseline: dict[str, Any] | None = None,
    printed: dt.date | None = None,
) -> bytes:
    """The printed form as PDF bytes."""
    from weasyprint import HTML  # imported here: only printing pays for loading it

    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    html = render_paper_html(definition, header=header, baseline=baseline, printed=printed)
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    return pdf
