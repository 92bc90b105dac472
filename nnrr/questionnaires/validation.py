"""Server-side validation of answers against a form definition.

Posted values are parsed item by item (type, range, code); conditions decide which items are
visible, and hidden items are dropped. Completion rules (mandatory items, "at least one tick" in a
group) are checked separately so a draft can always be saved.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from nnrr.lib.dates import in_supported_range, parse_iso_date
from nnrr.questionnaires import diagnoses
from nnrr.questionnaires.definitions import Condition, Definition, Group, Item, Section

TRUE_VALUES = {"on", "1", "true", "yes", "ja"}


@dataclass
class Parsed:
    answers: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # what was typed, to show it again

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Missing:
    anchor: str  # the element id to jump to
    label: str


# --- Visibility ------------------------------------------------------------------------------


def condition_holds(condition: Condition | None, answers: Mapping[str, Any]) -> bool:
    if condition is None:
        return True
    value = answers.get(condition.item)
    if value is None and any(isinstance(v, bool) for v in condition.values):
        value = False  # an unticked checkbox
    return value in condition.values


def section_visible(section: Section, answers: Mapping[str, Any]) -> bool:
    return condition_holds(section.show_if, answers)


def visible_items(definition: Definition, answers: Mapping[str, Any]) -> Iterable[Item]:
    for section in definition.sections:
        if not section_visible(section, answers):
            continue
        for element in section.elements:
            if not condition_holds(element.show_if, answers):
                continue
            if isinstance(element, Group):
                yield from (i for i in element.items if condition_holds(i.show_if, answers))
            else:
                yield element


def prune_hidden(definition: Definition, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Answers of visible items only (conditions can chain, so repeat until stable)."""
    current = dict(answers)
    for _round in range(5):
        keep = {item.id for item in visible_items(definition, current)}
        pruned = {k: v for k, v in current.items() if k in keep or k not in definition.items_by_id}
        if pruned == current:
            break
        current = pruned
    return current


# --- Parsing one item ------------------------------------------------------------------------


def _parse_item(item: Item, raw: Any) -> tuple[Any, str]:
    """(value, error) for one posted value; value None means "not answered"."""
    if item.type == "boolean":
        return (str(raw).strip().lower() in TRUE_VALUES if raw not in (None, "") else False), ""
    text = "" if raw is None else str(raw).strip()
    if text == "":
        return None, ""
    if item.type == "choice":
        try:
            code = int(text)
        except ValueError:
            return None, _("Velg et av svaralternativene.")
        if code not in item.code_values():
            return None, _("Velg et av svaralternativene.")
        return code, ""
    if item.type == "integer":
        try:
            number = int(text)
        except ValueError:
            return None, _("Skriv et helt tall.")
        return _in_range(item, number)
    if item.type == "decimal":
        try:
            decimal = Decimal(text.replace(",", "."))
        except InvalidOperation:
            return None, _("Skriv et tall.")
        if not decimal.is_finite() or not math.isfinite(float(decimal)):
            return None, _("Skriv et tall.")  # NaN and infinity are not answers
        return _in_range(item, float(decimal))
    if item.type == "date":
        parsed = parse_iso_date(text)
        if parsed is None:
            return None, _("Skriv en gyldig dato (dd.mm.åååå).")
        if parsed.year < 1900:
            return None, _("Datoen er for langt tilbake i tid.")
        if not in_supported_range(parsed):
            return None, _("Datoen må være mellom 01.01.1900 og 31.12.2100.")
        return parsed.isoformat(), ""
    if item.type == "text":
        if len(text) > item.max_length:
            return None, _("Teksten kan være høyst %(n)d tegn.") % {"n": item.max_length}
        return text, ""
    if item.type == "diagnosis":
        try:
            return diagnoses.validate_code(text).code, ""
        except diagnoses.InvalidDiagnosis as exc:
            return None, str(exc)
    return None, _("Ukjent felttype.")


def _in_range(item: Item, number: float | int) -> tuple[Any, str]:
    if (item.minimum is not None and number < item.minimum) or (
        item.maximum is not None and number > item.maximum
    ):
        return None, _("Svaret må være mellom %(min)s og %(max)s.") % {
            "min": item.minimum,
            "max": item.maximum,
        }
    return number, ""


def parse_submission(
    definition: Definition,
    data: Mapping[str, Any],
    *,
    previous: Mapping[str, Any] | None = None,
    sections: Iterable[str] | None = None,
) -> Parsed:
    """Parse posted values of the given sections (all by default) over the previous answers.

    Invalid values are reported and keep their previous value; nothing already saved is lost.
    """
    answers: dict[str, Any] = dict(previous or {})
    errors: dict[str, str] = {}
    raw: dict[str, Any] = {}
    wanted = set(sections) if sections is not None else {s.id for s in definition.sections}
    for section in definition.sections:
        if section.id not in wanted:
            continue
        for element in section.elements:
            items = element.items if isinstance(element, Group) else (element,)
            for item in items:
                value = data.get(item.id)
                raw[item.id] = value
                parsed, error = _parse_item(item, value)
                if error:
                    errors[item.id] = error
                    continue
                if parsed is None:
                    answers.pop(item.id, None)
                else:
                    answers[item.id] = parsed
            if isinstance(element, Group):
                error = _group_exclusivity(element, answers)
                if error:
                    errors[element.id] = error
    answers = prune_hidden(definition, answers)
    warnings = _diagnosis_warnings(definition, answers)
    return Parsed(answers=answers, errors=errors, warnings=warnings, raw=raw)


def _group_exclusivity(group: Group, answers: Mapping[str, Any]) -> str:
    none_item = group.none_item
    if none_item is None or not answers.get(none_item.id):
        return ""
    if any(answers.get(i.id) for i in group.items if i is not none_item):
        return _("«%(none)s» kan ikke krysses av sammen med andre valg.") % {
            "none": none_item.label
        }
    return ""


def _diagnosis_warnings(definition: Definition, answers: dict[str, Any]) -> dict[str, str]:
    """Store each diagnosis' NNRR group and warn when the first is not neck/back related."""
    warnings: dict[str, str] = {}
    position = 0
    for item in definition.items():
        if item.type != "diagnosis":
            continue
        position += 1
        code = answers.get(item.id)
        type_key = f"{item.id}Type"
        if not code:
            answers.pop(type_key, None)
            continue
        answers[type_key] = diagnoses.group_of(code, position=position)
        if position == 1 and not diagnoses.is_neck_back_related(code):
            warnings[item.id] = diagnoses.NOT_NECK_BACK_WARNING
    return warnings


# --- Completion ------------------------------------------------------------------------------


def missing_for_completion(definition: Definition, answers: Mapping[str, Any]) -> list[Missing]:
    """Mandatory items and groups that are visible and unanswered, in form order."""
    missing: list[Missing] = []
    for section in definition.sections:
        if not section_visible(section, answers):
            continue
        for element in section.elements:
            if not condition_holds(element.show_if, answers):
                continue
            if isinstance(element, Group):
                if element.mandatory and not any(answers.get(i.id) for i in element.items):
                    missing.append(Missing(anchor=f"group-{element.id}", label=str(element.label)))
            elif element.mandatory and answers.get(element.id) in (None, ""):
                missing.append(Missing(anchor=f"item-{element.id}", label=str(element.label)))
    return missing


def unanswered_count(definition: Definition, answers: Mapping[str, Any]) -> int:
    """Visible questions without an answer (a group counts once; checkboxes count as answered)."""
    count = 0
    for section in definition.sections:
        if not section_visible(section, answers):
            continue
        for element in section.elements:
            if not condition_holds(element.show_if, answers):
                continue
            if isinstance(element, Group):
                continue
            if element.type == "boolean":
                continue
            if answers.get(element.id) in (None, ""):
                count += 1
    return count


def check_visit_date(
    answers: Mapping[str, Any], *, referral_date: dt.date, today: dt.date
) -> dict[str, str]:
    """Besøksdato: not before the referral date, not in the future."""
    raw = answers.get("S1b_DateOfCompletion")
    if not raw:
        return {}
    visit = dt.date.fromisoformat(raw)
    if visit > today:
        return {"S1b_DateOfCompletion": _("Besøksdato kan ikke være i fremtiden.")}
    if visit < referral_date:
        return {
            "S1b_DateOfCompletion": _("Besøksdato kan ikke være før henvisningsdato (%(date)s).")
            % {"date": referral_date.strftime("%d.%m.%Y")}
        }
    return {}
