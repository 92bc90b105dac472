"""Server-side validation of answers against a form definition.

Posted values are parsed item by item (type, range, code); conditions decide which items are
visible, and hidden items are dropped. Completion rules (mandatory items, "at least one tick" in a
group) are checked separately so a draft can always be saved.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from nnrr.lib.dates import in_supported_range, parse_iso_date
from nnrr.questionnaires import diagnoses
from nnrr.questionnaires.definitions import (
    Condition,
    Definition,
    Group,
    Item,
    Section,
    get_definition,
)

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
    value = answers.get(condition.source_key(answers))
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
            return diagnoses.validate_code(text).code, ""  # stored form: "M545"
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
    elements: Iterable[str] | None = None,
) -> Parsed:
    """Parse posted values of the given sections (all by default) over the previous answers;
    with ``elements``, only those items and groups of them (a part of a long section).

    Invalid values are reported and keep their previous value; nothing already saved is lost.
    """
    answers: dict[str, Any] = dict(previous or {})
    errors: dict[str, str] = {}
    raw: dict[str, Any] = {}
    wanted = set(sections) if sections is not None else {s.id for s in definition.sections}
    only = set(elements) if elements is not None else None
    for section in definition.sections:
        if section.id not in wanted:
            continue
        for element in section.elements:
            if only is not None and element.id not in only:
                continue
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
    errors.update(inconsistent_answers(definition, answers, wanted))
    answers = prune_hidden(definition, answers)
    drop_untouched_pain_drawing(definition, answers, wanted)
    warnings = diagnosis_checks(definition, answers, data, errors)
    return Parsed(answers=answers, errors=errors, warnings=warnings, raw=raw)


def inconsistent_answers(
    definition: Definition, answers: Mapping[str, Any], sections: Iterable[str] | None = None
) -> dict[str, str]:
    """Answers to ``refuse_when_hidden`` items given while their condition does not hold, e.g.
    a number of sessions while treatment in the specialist service is not recommended."""
    wanted = set(sections) if sections is not None else {s.id for s in definition.sections}
    errors: dict[str, str] = {}
    for section in definition.sections:
        if section.id not in wanted:
            continue
        for item in section.items():
            if not item.refuse_when_hidden or item.show_if is None:
                continue
            if answers.get(item.id) in (None, "", 0, False):
                continue
            if condition_holds(item.show_if, answers):
                continue
            source = definition.items_by_id.get(item.show_if.item)
            shown = source.code_label(answers.get(item.show_if.item)) if source else ""
            errors[item.id] = _(
                "«%(item)s» kan ikke besvares når «%(condition)s» er besvart med «%(answer)s». "
                "Velg «Ingen» eller endre svaret på «%(condition)s»."
            ) % {
                "item": item.label,
                "condition": source.label if source else item.show_if.item,
                "answer": shown or _("ikke besvart"),
            }
    return errors


def drop_untouched_pain_drawing(
    definition: Definition, answers: dict[str, Any], sections: Iterable[str] | None = None
) -> None:
    """A pain drawing with no region ticked was skipped: store its regions as not answered
    (missing), never as 32 unticked boxes that would count as 0 pain regions."""
    wanted = set(sections) if sections is not None else {s.id for s in definition.sections}
    for section in definition.sections:
        if section.id not in wanted:
            continue
        regions = [i.id for i in section.items() if i.widget == "body-region"]
        if regions and not any(answers.get(region) for region in regions):
            for region in regions:
                answers.pop(region, None)


def _group_exclusivity(group: Group, answers: Mapping[str, Any]) -> str:
    none_item = group.none_item
    if none_item is None or not answers.get(none_item.id):
        return ""
    if any(answers.get(i.id) for i in group.items if i is not none_item):
        return _("«%(none)s» kan ikke krysses av sammen med andre valg.") % {
            "none": none_item.label
        }
    return ""


def diagnosis_checks(
    definition: Definition,
    answers: dict[str, Any],
    data: Mapping[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, str]:
    """The live diagnosis rules; return the warnings (by item id) and add errors to ``errors``.

    Each code is stored as the registry stores it (``M545``) with ``DiagnosticNumberNName`` and
    ``DiagnosticNumberNType``: the group the clinician picked it under (posted as
    ``DiagnosticNumberNType``) when the code belongs to it, else its own group. A code repeated
    at a later position, and positions 2–6 filled while Diagnose 1 is empty, are errors; a
    Diagnose 1 that is not neck or back related gives the manual's warning.
    """
    errors = errors if errors is not None else {}
    data = data or {}
    items = [item for item in definition.items() if item.type == "diagnosis"]
    warnings: dict[str, str] = {}
    seen: dict[str, int] = {}
    for position, item in enumerate(items, start=1):
        type_key, name_key = f"{item.id}Type", f"{item.id}Name"
        diagnosis = diagnoses.lookup(str(answers.get(item.id) or ""))
        if diagnosis is None:
            if not answers.get(item.id):
                answers.pop(type_key, None)
                answers.pop(name_key, None)
            continue
        if diagnosis.code in seen:
            errors.setdefault(
                item.id,
                _("%(code)s er allerede registrert som diagnose %(n)d.")
                % {"code": diagnosis.display, "n": seen[diagnosis.code]},
            )
            for key in (item.id, type_key, name_key):
                answers.pop(key, None)
            continue
        seen[diagnosis.code] = position
        picked = data.get(type_key) if type_key in data else answers.get(type_key)
        answers[item.id] = diagnosis.code
        answers[type_key] = diagnoses.group_of(diagnosis.code, position=position, picked=picked)
        answers[name_key] = diagnosis.name_nb
        if position == 1 and not diagnosis.neck_back_related:
            warnings[item.id] = diagnoses.not_neck_back_warning()
    first_empty = bool(items) and not answers.get(items[0].id) and items[0].id not in errors
    if first_empty and any(answers.get(item.id) for item in items[1:]):
        errors[items[0].id] = _(
            "Diagnose 1 mangler: legg inn en nakke- eller ryggrelatert diagnose først."
        )
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


# --- The portal's pages ------------------------------------------------------------------------

# A phone page holds at most this many questions: a longer section (the 33 health complaints of
# UHI) is split into parts of about equal size.
MAX_QUESTIONS_PER_PAGE = 10


@dataclass(frozen=True)
class Page:
    """One page of the portal: a section, or a part of a long one."""

    section: Section
    elements: tuple[Item | Group, ...]
    part: int = 1
    parts: int = 1

    @property
    def element_ids(self) -> frozenset[str]:
        return frozenset(element.id for element in self.elements)

    def items(self) -> Iterable[Item]:
        for element in self.elements:
            yield from element.items if isinstance(element, Group) else (element,)


def _blocks(section: Section) -> list[list[Item | Group]]:
    """The section's elements with each conditional element kept beside the one it depends on:
    a condition on another page could not be followed on screen."""
    blocks: list[list[Item | Group]] = []
    for element in section.elements:
        condition = element.show_if
        if blocks and condition is not None:
            ids = {i.id for e in blocks[-1] for i in (e.items if isinstance(e, Group) else (e,))}
            if condition.item in ids:
                blocks[-1].append(element)
                continue
        blocks.append([element])
    return blocks


def split_section(section: Section) -> list[Page]:
    """A section as pages of at most ``MAX_QUESTIONS_PER_PAGE`` questions, of about equal size
    (33 → 9, 8, 8, 8; 11 → 6, 5). The pain drawing is one figure and never split."""
    count = len(section.elements)
    drawing = any(item.widget == "body-region" for item in section.items())
    if drawing or count <= MAX_QUESTIONS_PER_PAGE:
        return [Page(section, section.elements)]
    parts = math.ceil(count / MAX_QUESTIONS_PER_PAGE)
    chunks: list[list[Item | Group]] = [[]]
    placed = 0
    for block in _blocks(section):
        # The size of this part: what is left shared among the parts left.
        size = math.ceil((count - placed + len(chunks[-1])) / max(1, parts - len(chunks) + 1))
        if chunks[-1] and len(chunks[-1]) + len(block) > size:
            chunks.append([])
        chunks[-1].extend(block)
        placed += len(block)
    return [
        Page(section, tuple(chunk), part=number, parts=len(chunks))
        for number, chunk in enumerate(chunks, start=1)
    ]


def portal_pages(definition: Definition, answers: Mapping[str, Any]) -> list[Page]:
    """The portal's pages for these answers: the visible sections, long ones split."""
    return [
        page
        for section in definition.sections
        if section_visible(section, answers)
        for page in split_section(section)
    ]


def asks_for_an_answer(item: Item) -> bool:
    """A question the patient is expected to answer: a choice, a number, a date. A tick box is
    answered by leaving it blank, and a free-text box ("Andre årsaker") is optional."""
    return item.type not in ("boolean", "text")


def resume_step(definition: Definition, answers: Mapping[str, Any]) -> int | None:
    """The page (1-based, among the portal's pages) to open when a patient comes back to a
    saved questionnaire: the first with a question not yet answered; None when all are.

    Optional free-text boxes do not count. A page of checkboxes only (the pain drawing, a list of
    ticks) counts as unanswered until any of its boxes has been stored, ticked or not.
    """
    for step, page in enumerate(portal_pages(definition, answers), start=1):
        items = [
            item
            for element in page.elements
            if condition_holds(element.show_if, answers)
            for item in (element.items if isinstance(element, Group) else (element,))
            if condition_holds(item.show_if, answers)
        ]
        questions = [item for item in items if asks_for_an_answer(item)]
        if any(answers.get(item.id) in (None, "") for item in questions):
            return step
        ticks = [item for item in items if item.type == "boolean"]
        if not questions and ticks and all(item.id not in answers for item in ticks):
            return step
    return None


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


@dataclass
class CompletionCheck:
    """Why a Behandlerskjema cannot be ferdigstilt yet (empty when it can)."""

    missing: list[Missing] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    # Diagnose 1 when it is not neck or back related: Ferdigstill needs an explicit confirmation.
    unrelated_first: diagnoses.Diagnosis | None = None

    def blocks(self, *, confirmed: bool) -> bool:
        return bool(self.missing or self.errors or (self.unrelated_first and not confirmed))


class CompletionRefused(ValueError):
    """Ferdigstill refused; ``check`` says why (missing items, errors, confirmation needed)."""

    def __init__(self, check: CompletionCheck) -> None:
        super().__init__(_("Skjemaet kan ikke ferdigstilles."))
        self.check = check


def check_completion(
    definition: Definition,
    answers: Mapping[str, Any],
    *,
    referral_date: dt.date,
    today: dt.date,
) -> CompletionCheck:
    """Every rule of Ferdigstill: mandatory items, Besøksdato, and the diagnosis rules."""
    check = CompletionCheck(missing=missing_for_completion(definition, answers))
    try:
        check.errors.update(check_visit_date(answers, referral_date=referral_date, today=today))
    except ValueError:
        check.errors["S1b_DateOfCompletion"] = _("Skriv en gyldig dato (dd.mm.åååå).")
    items = [item for item in definition.items() if item.type == "diagnosis"]
    codes = [answers.get(item.id) or None for item in items]
    if items and codes[0]:
        try:
            parsed, warnings = diagnoses.validate_diagnoses(
                [str(c) if c else None for c in codes],
                picked=[answers.get(f"{item.id}Type") for item in items],
            )
        except diagnoses.InvalidDiagnosis as exc:
            position = exc.position or 1
            check.errors[items[position - 1].id] = str(exc)
        else:
            if warnings:
                check.unrelated_first = parsed[0]
    elif items and any(codes):
        check.errors[items[0].id] = _(
            "Diagnose 1 mangler: legg inn en nakke- eller ryggrelatert diagnose først."
        )
    return check


# --- Which items a stored form showed ---------------------------------------------------------


def shown_items(kind: str, version: str, answers: Mapping[str, Any]) -> frozenset[str]:
    """The ids of the items form ``kind`` at ``version`` showed with these answers (empty for an
    unknown version). Only the answers the form's conditions read decide it, so forms answered
    alike share one computation (exports and Datakvalitet ask this for every stored form)."""
    try:
        keys = _condition_keys(kind, str(version))
    except LookupError:
        return frozenset()
    values = tuple((key, answers.get(key)) for key in keys)
    if any(isinstance(value, list | dict) for _key, value in values):
        definition = get_definition(kind, str(version))
        return frozenset(item.id for item in visible_items(definition, answers))
    return _shown_for(kind, str(version), values)


@functools.cache
def _condition_keys(kind: str, version: str) -> tuple[str, ...]:
    definition = get_definition(kind, version)
    keys: set[str] = set()
    for section in definition.sections:
        conditions = [section.show_if]
        for element in section.elements:
            conditions.append(element.show_if)
            if isinstance(element, Group):
                conditions += [item.show_if for item in element.items]
        for condition in conditions:
            if condition is not None:
                keys.update((condition.item, condition.baseline_key))
    return tuple(sorted(keys))


@functools.lru_cache(maxsize=4096)
def _shown_for(kind: str, version: str, values: tuple[tuple[str, Any], ...]) -> frozenset[str]:
    definition = get_definition(kind, version)
    answers = {key: value for key, value in values if value is not None}
    return frozenset(item.id for item in visible_items(definition, answers))
