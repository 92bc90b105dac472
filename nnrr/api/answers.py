"""QuestionnaireResponse items ↔ the registry's answers, by the Questionnaire of the form.

Reading a response turns its items into exactly what our portal's pages post (a value per
variable name, a ticked box as "1"), so the portal's own parser (type, range, codes, skip logic)
decides what is stored. Every item of the response must be a question of that Questionnaire,
answered with the FHIR type the Questionnaire asks for; problems are collected per ``linkId``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from nnrr.api.questionnaire import CONSENT_LINK_ID, code_system

ANSWER_KEYS = {
    "boolean": ("valueBoolean",),
    "integer": ("valueInteger",),
    "decimal": ("valueDecimal", "valueInteger"),
    "date": ("valueDate",),
    "string": ("valueString",),
    "choice": ("valueCoding",),
}
TYPE_NAMES = {
    "boolean": gettext_noop("ja/nei (valueBoolean)"),
    "integer": gettext_noop("heltall (valueInteger)"),
    "decimal": gettext_noop("tall (valueDecimal)"),
    "date": gettext_noop("dato (valueDate)"),
    "string": gettext_noop("tekst (valueString)"),
    "choice": gettext_noop("kode (valueCoding)"),
}
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Question:
    link_id: str
    type: str
    text: str
    repeats: bool
    codes: tuple[str, ...]  # the answerOption codes of a choice


@dataclass
class Problem:
    """One thing wrong with a response: a message in bokmål (the caller translates)."""

    message: str
    link_id: str = ""
    code: str = "invalid"  # the OperationOutcome issue type


@dataclass
class Read:
    data: dict[str, str] = field(default_factory=dict)  # what the portal's pages would post
    consent: bool | None = None
    problems: list[Problem] = field(default_factory=list)


def questions(questionnaire: Mapping[str, Any]) -> dict[str, Question]:
    """Every question (an item that takes answers) of a Questionnaire, by linkId."""
    found: dict[str, Question] = {}

    def walk(items: list[Mapping[str, Any]]) -> None:
        for item in items:
            if item["type"] in ANSWER_KEYS:
                found[item["linkId"]] = Question(
                    link_id=item["linkId"],
                    type=item["type"],
                    text=item.get("text", ""),
                    repeats=bool(item.get("repeats")),
                    codes=tuple(o["valueCoding"]["code"] for o in item.get("answerOption", [])),
                )
            walk(item.get("item", []))

    walk(list(questionnaire.get("item", [])))
    return found


def _items(items: Any) -> Iterator[Mapping[str, Any]]:
    """The response's items depth first (groups, and items nested under answers)."""
    if not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, Mapping):
            continue
        yield item
        yield from _items(item.get("item"))
        for answer in item.get("answer") or []:
            if isinstance(answer, Mapping):
                yield from _items(answer.get("item"))


def _value(question: Question, answer: Mapping[str, Any]) -> tuple[Any, bool]:
    """The answer's value and whether it has the type the question asks for."""
    for key in ANSWER_KEYS[question.type]:
        if key in answer:
            return answer[key], True
    return None, False


def read_items(questionnaire: Mapping[str, Any], items: Any, *, boxes: set[str]) -> Read:
    """The posted data of a response's items. ``boxes`` are the checkbox lists' linkIds (their
    codes are variable names, each ticked box posted as "1")."""
    asked = questions(questionnaire)
    containers = _container_ids(questionnaire)
    read = Read()
    seen: set[str] = set()
    for item in _items(items):
        link_id = str(item.get("linkId", ""))
        answers = [a for a in item.get("answer") or [] if isinstance(a, Mapping)]
        question = asked.get(link_id)
        if question is None:
            if link_id in containers and not answers:
                continue
            read.problems.append(
                Problem(
                    _("Ukjent spørsmål «%(link)s»: det finnes ikke i dette skjemaet.")
                    % {"link": link_id},
                    link_id,
                    "not-found",
                )
            )
            continue
        if link_id in seen:
            read.problems.append(
                Problem(
                    _("Spørsmålet «%(link)s» er besvart to ganger.") % {"link": link_id}, link_id
                )
            )
            continue
        seen.add(link_id)
        if len(answers) > 1 and not question.repeats:
            read.problems.append(
                Problem(
                    _("Spørsmålet «%(link)s» har ett svar, ikke flere.") % {"link": link_id},
                    link_id,
                )
            )
            continue
        for answer in answers:
            value, right_type = _value(question, answer)
            if not right_type:
                read.problems.append(
                    Problem(
                        _("Svaret på «%(link)s» har feil type: ventet %(type)s.")
                        % {"link": link_id, "type": _(TYPE_NAMES[question.type])},
                        link_id,
                    )
                )
                continue
            problem = _take(read, question, value, is_box_list=link_id in boxes)
            if problem:
                read.problems.append(Problem(problem, link_id))
    return read


def _container_ids(questionnaire: Mapping[str, Any]) -> set[str]:
    ids: set[str] = set()

    def walk(items: list[Mapping[str, Any]]) -> None:
        for item in items:
            if item["type"] not in ANSWER_KEYS:
                ids.add(item["linkId"])
            walk(item.get("item", []))

    walk(list(questionnaire.get("item", [])))
    return ids


def _take(read: Read, question: Question, value: Any, *, is_box_list: bool) -> str:
    """Put one typed answer into the posted data; an error message, or "" when it fits."""
    link_id = question.link_id
    if question.type == "boolean":
        if not isinstance(value, bool):
            return _("Svaret på «%(link)s» må være true eller false.") % {"link": link_id}
        if link_id == CONSENT_LINK_ID:
            read.consent = value
        elif value:
            read.data[link_id] = "1"
        return ""
    if question.type == "choice":
        if not isinstance(value, Mapping) or not isinstance(value.get("code"), str):
            return _("Svaret på «%(link)s» må være en kode.") % {"link": link_id}
        system = value.get("system")
        if system not in (None, code_system(link_id)) or value["code"] not in question.codes:
            return _("«%(code)s» er ikke et av svaralternativene på «%(link)s».") % {
                "code": value["code"],
                "link": link_id,
            }
        if is_box_list:
            read.data[value["code"]] = "1"
        else:
            read.data[link_id] = value["code"]
        return ""
    if question.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return _("Svaret på «%(link)s» må være et heltall.") % {"link": link_id}
        read.data[link_id] = str(value)
        return ""
    if question.type == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            return _("Svaret på «%(link)s» må være et tall.") % {"link": link_id}
        read.data[link_id] = str(value)
        return ""
    if question.type == "date":
        text = value.isoformat() if isinstance(value, dt.date) else value
        if not isinstance(text, str) or not DATE_PATTERN.match(text):
            return _("Svaret på «%(link)s» må være en hel dato (ÅÅÅÅ-MM-DD).") % {"link": link_id}
        read.data[link_id] = text
        return ""
    if not isinstance(value, str):
        return _("Svaret på «%(link)s» må være tekst.") % {"link": link_id}
    read.data[link_id] = value
    return ""


# --- Stored answers → response items ------------------------------------------------------------


def _answer(question: Question, value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if question.type == "boolean":
        return {"valueBoolean": bool(value)}
    if question.type == "choice":
        code = str(value)
        if code not in question.codes:
            return None
        return {"valueCoding": {"system": code_system(question.link_id), "code": code}}
    if question.type == "integer":
        return {"valueInteger": int(value)}
    if question.type == "decimal":
        return {"valueDecimal": float(value)}
    if question.type == "date":
        return {"valueDate": str(value)}
    return {"valueString": str(value)}


def response_items(
    questionnaire: Mapping[str, Any],
    answers: Mapping[str, Any],
    *,
    consent: bool | None,
    boxes: set[str],
) -> list[dict[str, Any]]:
    """The stored answers as the items of a QuestionnaireResponse, in the Questionnaire's
    sections; unanswered questions and empty sections are left out."""

    def walk(items: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for item in items:
            link_id = item["linkId"]
            if item["type"] == "group":
                children = walk(item.get("item", []))
                if children:
                    out.append({"linkId": link_id, "text": item.get("text", ""), "item": children})
                continue
            if item["type"] not in ANSWER_KEYS:
                continue
            question = questions({"item": [item]})[link_id]
            if link_id == CONSENT_LINK_ID:
                values: list[Any] = [] if consent is None else [consent]
            elif link_id in boxes:
                values = [code for code in question.codes if answers.get(code) is True]
            else:
                values = [answers.get(link_id)]
            rendered = [a for a in (_answer(question, v) for v in values) if a is not None]
            if link_id in boxes:
                rendered = [
                    {"valueCoding": {"system": code_system(link_id), "code": str(v)}}
                    for v in values
                ]
            if rendered:
                out.append({"linkId": link_id, "text": item.get("text", ""), "answer": rendered})
        return out

    return walk(list(questionnaire.get("item", [])))
