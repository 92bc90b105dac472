"""One renderer: a form definition + answers + errors → structures the templates draw.

Used by the staff pages (whole form on one page) and the patient portal (one section per page).
The HTML lives in ``templates/questionnaires/_section.html`` and ``_item.html``: labels tied to
inputs, fieldsets with legends for choices and groups, errors linked with aria-describedby.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from nnrr.questionnaires import body_map, diagnoses, wording
from nnrr.questionnaires.definitions import Definition, Group, Item, Section
from nnrr.questionnaires.validation import Page, condition_holds, section_visible


@dataclass
class BoundItem:
    item: Item
    value: Any
    raw: Any
    error: str = ""
    warning: str = ""
    visible: bool = True
    readonly: bool = False
    context: Mapping[str, Any] | None = None  # all answers, for values stored beside this one

    @property
    def id(self) -> str:
        return self.item.id

    @property
    def html_id(self) -> str:
        return f"item-{self.item.id}"

    @property
    def display_value(self) -> str:
        """The answer as text: a code's label, a date as dd.mm.yyyy, Ja/Nei for a checkbox."""
        value = self.value
        if value is None or value == "":
            return ""
        if self.item.type == "choice":
            return self.item.code_label(value)
        if self.item.type == "boolean":
            return _("Ja") if value else _("Nei")
        if self.item.type == "date":
            year, month, day = str(value).split("-")
            return f"{day}.{month}.{year}"
        if self.item.type == "diagnosis" and self.diagnosis is not None:
            return self.diagnosis.display
        return str(value)

    @property
    def input_value(self) -> str:
        """What goes back into the input: what was typed on error, else the stored answer."""
        if self.error and self.raw is not None:
            return str(self.raw)
        if self.item.type == "diagnosis" and self.diagnosis is not None:
            return self.diagnosis.display
        return "" if self.value is None else str(self.value)

    @property
    def checked(self) -> bool:
        return bool(self.value)

    @property
    def show_if_attrs(self) -> dict[str, str]:
        attrs = _show_if_attrs(self.item.show_if, self.context)
        if attrs and self.item.refuse_when_hidden:
            attrs["data-clear-when-hidden"] = ""
        return attrs

    @property
    def scale(self) -> list[int]:
        if self.item.minimum is None or self.item.maximum is None:
            return []
        return list(range(int(self.item.minimum), int(self.item.maximum) + 1))

    @property
    def region(self) -> body_map.Region | None:
        return body_map.REGIONS.get(self.item.id)

    @property
    def diagnosis(self) -> diagnoses.Diagnosis | None:
        if self.item.type != "diagnosis" or not self.value:
            return None
        return diagnoses.lookup(str(self.value))

    @property
    def diagnosis_name(self) -> str:
        diagnosis = self.diagnosis
        return diagnosis.name_nb if diagnosis else ""

    @property
    def diagnosis_position(self) -> int:
        digits = "".join(ch for ch in self.item.id if ch.isdigit())
        return int(digits) if digits else 1

    @property
    def diagnosis_type(self) -> Any:
        return (self.context or {}).get(f"{self.item.id}Type", "")

    @property
    def diagnosis_type_choices(self) -> list[tuple[int, str]]:
        """The groups to choose from when the code is in more than one (M47.2: 11 or 21)."""
        return diagnoses.type_choices(self.diagnosis, position=self.diagnosis_position)

    @property
    def diagnosis_group_label(self) -> str:
        if self.diagnosis_position > 3:
            return ""
        return diagnoses.group_label(self.diagnosis_type)


@dataclass
class BoundGroup:
    group: Group
    items: list[BoundItem]
    error: str = ""
    visible: bool = True

    @property
    def html_id(self) -> str:
        return f"group-{self.group.id}"

    @property
    def show_if_attrs(self) -> dict[str, str]:
        return _show_if_attrs(self.group.show_if)

    @property
    def ticked(self) -> list[BoundItem]:
        return [i for i in self.items if i.checked]


@dataclass
class BoundSection:
    section: Section
    elements: list[BoundItem | BoundGroup]
    visible: bool = True
    is_pain_drawing: bool = False

    answers: Mapping[str, Any] | None = None
    part: int = 1  # a long section is split into parts on the portal's pages
    parts: int = 1

    @property
    def show_if_attrs(self) -> dict[str, str]:
        return _show_if_attrs(self.section.show_if, self.answers)

    def regions(self, view: str) -> list[BoundItem]:
        return [
            e
            for e in self.elements
            if isinstance(e, BoundItem) and e.region is not None and e.region.view == view
        ]

    @property
    def body_views(self) -> list[tuple[str, list[BoundItem], str]]:
        return [
            ("front", self.front, _("Kroppen forfra")),
            ("back", self.back, _("Kroppen bakfra")),
        ]

    @property
    def placeholder_instrument(self) -> str:
        """The instrument of this section when it is shown with placeholder wording."""
        instruments = {item.instrument for item in self.section.items() if item.instrument}
        if len(instruments) != 1:
            return ""
        found = wording.active().get(next(iter(instruments)))
        return found.name if found is not None and not found.licensed else ""

    @property
    def front(self) -> list[BoundItem]:
        return self.regions("front")

    @property
    def back(self) -> list[BoundItem]:
        return self.regions("back")


@dataclass
class BoundForm:
    definition: Definition
    sections: list[BoundSection]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def error_links(self) -> list[tuple[str, str, str]]:
        """(anchor, question, message) for the error summary at the top of the page."""
        groups = {g.id: g for g in self.definition.groups()}
        links = []
        for key, message in self.errors.items():
            if key in self.definition.items_by_id:
                item = self.definition.items_by_id[key]
                links.append((f"item-{key}", str(item.label), message))
            elif key in groups:
                links.append((f"group-{key}", str(groups[key].label), message))
        return links

    @property
    def outlines(self) -> dict[str, str]:
        return body_map.OUTLINES


def _show_if_attrs(condition: Any, answers: Mapping[str, Any] | None = None) -> dict[str, str]:
    if condition is None:
        return {}
    if answers is not None and condition.source_key(answers) != condition.item:
        return {}  # decided by the pre-treatment answer, which this page cannot change
    values = ["true" if v is True else "false" if v is False else str(v) for v in condition.values]
    attrs = {"data-show-if": condition.item, "data-show-values": json.dumps(values)}
    return attrs


def bind(
    definition: Definition,
    answers: Mapping[str, Any],
    *,
    errors: Mapping[str, str] | None = None,
    warnings: Mapping[str, str] | None = None,
    raw: Mapping[str, Any] | None = None,
    sections: Iterable[str] | None = None,
    page: Page | None = None,
    readonly: bool = False,
) -> BoundForm:
    """Bind answers (and errors) to the definition, for the given sections or all of them, or
    for one page of the portal (a section or a part of a long one)."""
    errors = errors or {}
    warnings = warnings or {}
    raw = raw or {}
    wanted = set(sections) if sections is not None else None
    if page is not None:
        wanted = {page.section.id}
    bound_sections = []
    for section in definition.sections:
        if wanted is not None and section.id not in wanted:
            continue
        elements: list[BoundItem | BoundGroup] = []
        for element in section.elements:
            if page is not None and element.id not in page.element_ids:
                continue
            if isinstance(element, Group):
                items = [
                    BoundItem(
                        i, answers.get(i.id), raw.get(i.id), errors.get(i.id, ""), readonly=readonly
                    )
                    for i in element.items
                ]
                elements.append(
                    BoundGroup(
                        element,
                        items,
                        errors.get(element.id, ""),
                        visible=condition_holds(element.show_if, answers),
                    )
                )
            else:
                elements.append(
                    BoundItem(
                        element,
                        answers.get(element.id),
                        raw.get(element.id),
                        errors.get(element.id, ""),
                        warnings.get(element.id, ""),
                        visible=condition_holds(element.show_if, answers) or element.id in errors,
                        readonly=readonly,
                        context=answers,
                    )
                )
        bound_sections.append(
            BoundSection(
                section,
                elements,
                visible=section_visible(section, answers),
                is_pain_drawing=any(
                    isinstance(e, BoundItem) and e.item.widget == "body-region" for e in elements
                ),
                answers=answers,
                part=page.part if page is not None else 1,
                parts=page.parts if page is not None else 1,
            )
        )
    return BoundForm(definition, bound_sections, dict(errors))
