"""Build posted form data from a definition (what a user filling in every question sends)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from nnrr.questionnaires.definitions import Definition, Group
from nnrr.questionnaires.validation import condition_holds, section_visible


def complete_answers(definition: Definition, *, visit: dt.date | None = None) -> dict[str, Any]:
    """Typed answers to every visible item: the first code, the minimum, the first box of each
    group, today's date, M54.5 as the first diagnosis."""
    answers: dict[str, Any] = {}
    for _round in range(3):  # conditions reveal items; repeat until stable
        for section in definition.sections:
            if not section_visible(section, answers):
                continue
            for element in section.elements:
                if not condition_holds(element.show_if, answers):
                    continue
                if isinstance(element, Group):
                    boxes = [i for i in element.items if not i.exclusive]
                    for box in element.items:
                        answers.setdefault(box.id, box is boxes[0])
                    continue
                item = element
                if item.id in answers:
                    continue
                if item.type == "choice":
                    answers[item.id] = sorted(item.code_values())[0]
                elif item.type in {"integer", "decimal"}:
                    answers[item.id] = int(item.minimum or 0)
                elif item.type == "date":
                    answers[item.id] = (visit or dt.date.today()).isoformat()  # noqa: DTZ011
                elif item.type == "diagnosis" and item.id == "DiagnosticNumber1":
                    answers[item.id] = "M54.5"
                elif item.type == "boolean":
                    answers[item.id] = False
    return answers


def as_post(answers: dict[str, Any]) -> dict[str, str]:
    """The POST body a browser sends for these answers (unticked boxes are simply absent)."""
    data: dict[str, str] = {}
    for key, value in answers.items():
        if value is True:
            data[key] = "1"
        elif value is False or value is None:
            continue
        else:
            data[key] = str(value)
    return data
