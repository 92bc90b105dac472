"""Our form definitions as FHIR R4 ``Questionnaire`` resources, in the shape Helsenorge's form
filler (``@helsenorge/refero``) renders.

One Questionnaire per form and version (``nnrr-1a-1.0``): the form's sections are ``group`` items,
each question keeps the registry's variable name as its ``linkId``, and answer codes are our
codes (``valueCoding.code`` is the code as text). A set of checkboxes (a group of our definition,
and the 32 regions of the pain drawing) is one repeating ``choice`` item shown as a checkbox list
(item control ``check-box``) whose codes are the variable names of the boxes; a condition on one
box is ``enableWhen`` on that code. Help texts are child items of type ``text`` with the item
control ``help`` (what refero shows behind the "?" button); a section's introduction is a
``display`` child. The consent of the pre-treatment form comes first, as the required boolean
``Consent``. Texts are bokmål, with the English text in the FHIR ``translation`` extension.

The wording is the wording in force (the licensed overlay when it is loaded): the Questionnaire
says in ``useContext``-free terms, in a ``meta.tag`` per instrument, whether the wording of each
licensed instrument is the licensed one or our placeholder.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings

from nnrr.questionnaires import wording
from nnrr.questionnaires.definitions import (
    Condition,
    Definition,
    Group,
    Item,
    Section,
    Text,
    all_definitions,
)

PUBLISHER = "Norsk nakke- og ryggregister"
CONSENT_LINK_ID = "Consent"
PAIN_DRAWING_WIDGET = "body-region"

ITEM_CONTROL_URL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
MIN_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/maxValue"
TRANSLATION_URL = "http://hl7.org/fhir/StructureDefinition/translation"
WORDING_TAG_SYSTEM_PATH = "CodeSystem/nnrr-ordlyd"

# Our item types → FHIR item types (a checkbox group becomes a repeating choice, see above).
FHIR_TYPES = {
    "choice": "choice",
    "boolean": "boolean",
    "integer": "integer",
    "decimal": "decimal",
    "date": "date",
    "text": "string",
    "diagnosis": "string",
}


def canonical_base() -> str:
    return str(settings.FHIR_CANONICAL_BASE).rstrip("/")


def questionnaire_id(form: str, version: str) -> str:
    return f"nnrr-{form}-{version}"


def questionnaire_url(form: str) -> str:
    return f"{canonical_base()}/Questionnaire/nnrr-{form}"


def code_system(link_id: str) -> str:
    """The code system of one question's answer codes (the registry's variable name)."""
    return f"{canonical_base()}/CodeSystem/{link_id}"


def parse_questionnaire_id(raw: str) -> tuple[str, str] | None:
    """(form, version) of ``nnrr-<form>-<version>``; None for anything else."""
    if not raw.startswith("nnrr-"):
        return None
    form, _, version = raw[len("nnrr-") :].partition("-")
    if not form or not version:
        return None
    return form, version


def _text(text: Text) -> dict[str, Any]:
    """``text`` (bokmål) and its English translation as the ``_text`` extension."""
    result: dict[str, Any] = {"text": text.nb}
    if text.en and text.en != text.nb:
        result["_text"] = {
            "extension": [
                {
                    "url": TRANSLATION_URL,
                    "extension": [
                        {"url": "lang", "valueCode": "en"},
                        {"url": "content", "valueString": text.en},
                    ],
                }
            ]
        }
    return result


def _item_control(code: str) -> dict[str, Any]:
    return {
        "url": ITEM_CONTROL_URL,
        "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL_SYSTEM, "code": code}]},
    }


def _help(link_id: str, text: Text) -> list[dict[str, Any]]:
    """Refero's help text: a child of type ``text`` with the item control ``help``."""
    if not text:
        return []
    return [
        {
            "linkId": f"{link_id}-help",
            "type": "text",
            "extension": [_item_control("help")],
            **_text(text),
        }
    ]


class Shape:
    """Where each variable of a definition sits in the Questionnaire: its own question, or a
    code of a checkbox list (``box_list[item id] = list link id``)."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self.box_list: dict[str, str] = {}
        self.lists: dict[str, tuple[Item, ...]] = {}
        for section in definition.sections:
            regions = tuple(i for i in section.items() if i.widget == PAIN_DRAWING_WIDGET)
            if regions:
                self.lists[section.id] = regions
                for region in regions:
                    self.box_list[region.id] = section.id
            for element in section.elements:
                if isinstance(element, Group):
                    self.lists[element.id] = element.items
                    for box in element.items:
                        self.box_list[box.id] = element.id


def _enable_when(condition: Condition | None, shape: Shape) -> dict[str, Any]:
    """Our ``show_if`` as ``enableWhen``. A condition on a box is a condition on its list's code;
    ``false`` on a standalone checkbox holds also when it was never ticked."""
    if condition is None:
        return {}
    definition = shape.definition
    target = definition.items_by_id[condition.item]
    rules: list[dict[str, Any]] = []
    for value in condition.values:
        if condition.item in shape.box_list:
            list_id = shape.box_list[condition.item]
            answer = {
                "answerCoding": {"system": code_system(list_id), "code": condition.item},
            }
            operator = "=" if value is True else "!="
            rules.append({"question": list_id, "operator": operator, **answer})
        elif target.type == "boolean":
            if value is True:
                rules.append({"question": condition.item, "operator": "=", "answerBoolean": True})
            else:
                rules.append(
                    {"question": condition.item, "operator": "exists", "answerBoolean": False}
                )
                rules.append({"question": condition.item, "operator": "=", "answerBoolean": False})
        elif target.type == "choice":
            rules.append(
                {
                    "question": condition.item,
                    "operator": "=",
                    "answerCoding": {"system": code_system(condition.item), "code": str(value)},
                }
            )
        else:  # pragma: no cover - the definition check allows conditions on codes and boxes only
            raise ValueError(f"no enableWhen for a condition on {target.type} {target.id}")
    result: dict[str, Any] = {"enableWhen": rules}
    if len(rules) > 1:
        result["enableBehavior"] = "any"
    return result


def _question(item: Item, shape: Shape) -> dict[str, Any]:
    question: dict[str, Any] = {
        "linkId": item.id,
        **_text(item.label),
        "type": FHIR_TYPES[item.type],
    }
    extensions: list[dict[str, Any]] = []
    if item.type == "choice":
        question["answerOption"] = [
            {
                "valueCoding": {
                    "system": code_system(item.id),
                    "code": str(code.code),
                    "display": code.label.nb,
                }
            }
            for code in item.codes
        ]
        extensions.append(_item_control("radio-button"))
    if item.type in {"integer", "decimal"}:
        kind = "valueInteger" if item.type == "integer" else "valueDecimal"
        if item.minimum is not None:
            extensions.append({"url": MIN_VALUE_URL, kind: item.minimum})
        if item.maximum is not None:
            extensions.append({"url": MAX_VALUE_URL, kind: item.maximum})
    if item.type in {"text", "diagnosis"}:
        question["maxLength"] = 8 if item.type == "diagnosis" else item.max_length
    if extensions:
        question["extension"] = extensions
    if item.mandatory:
        question["required"] = True
    question.update(_enable_when(item.show_if, shape))
    children = _help(item.id, item.help)
    if children:
        question["item"] = children
    return question


def _box_list(link_id: str, label: Text, help_text: Text, boxes: Iterable[Item]) -> dict[str, Any]:
    return {
        "linkId": link_id,
        **_text(label),
        "type": "choice",
        "repeats": True,
        "extension": [_item_control("check-box")],
        "answerOption": [
            {
                "valueCoding": {
                    "system": code_system(link_id),
                    "code": box.id,
                    "display": box.label.nb,
                }
            }
            for box in boxes
        ],
    } | ({"item": _help(link_id, help_text)} if help_text else {})


def _group(group: Group, shape: Shape) -> dict[str, Any]:
    item = _box_list(group.id, group.label, group.help, group.items)
    if group.mandatory:
        item["required"] = True
    item.update(_enable_when(group.show_if, shape))
    return item


def _section(section: Section, shape: Shape) -> dict[str, Any]:
    children: list[dict[str, Any]] = []
    if section.intro:
        children.append(
            {"linkId": f"{section.id}-intro", "type": "display", **_text(section.intro)}
        )
    regions = [i for i in section.items() if i.widget == PAIN_DRAWING_WIDGET]
    if regions:
        children.append(_box_list(section.id, section.title, Text(""), regions))
    for element in section.elements:
        if isinstance(element, Group):
            children.append(_group(element, shape))
        elif element.widget != PAIN_DRAWING_WIDGET:
            children.append(_question(element, shape))
    return {
        "linkId": f"section-{section.id}",
        **_text(section.title),
        "type": "group",
        "item": children,
        **_enable_when(section.show_if, shape),
    }


def _consent(definition: Definition) -> dict[str, Any]:
    lines = [line for line in definition.consent.nb.split("\n") if line.strip()]
    english = [line for line in definition.consent.en.split("\n") if line.strip()]
    title = Text(lines[0] if lines else "", english[0] if english else "")
    return {
        "linkId": "section-consent",
        **_text(title),
        "type": "group",
        "item": [
            {"linkId": "consent-text", "type": "display", **_text(definition.consent)},
            {
                "linkId": CONSENT_LINK_ID,
                "type": "boolean",
                "required": True,
                **_text(
                    Text(
                        "Jeg samtykker i å delta i Norsk nakke- og ryggregister",
                        "I consent to take part in the Norwegian Neck and Back Registry",
                    )
                ),
            },
        ],
    }


def build_questionnaire(definition: Definition) -> dict[str, Any]:
    """The R4 Questionnaire of one form definition, with the wording in force."""
    shape = Shape(definition)
    items = [_section(section, shape) for section in definition.sections]
    if definition.consent:
        items.insert(0, _consent(definition))
    in_force = wording.for_definition(definition)
    tags = [
        {
            "system": f"{canonical_base()}/{WORDING_TAG_SYSTEM_PATH}",
            "code": f"{instrument}:{'lisensiert' if stored['licensed'] else 'plassholder'}",
            "display": (
                f"{wording.NAMES.get(instrument, instrument)}: {stored['id']} ({stored['version']})"
                if stored["licensed"]
                else f"{wording.NAMES.get(instrument, instrument)}: plassholder, ikke lisensiert "
                "ordlyd"
            ),
        }
        for instrument, stored in sorted(in_force.items())
    ]
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": questionnaire_id(definition.form, definition.version),
        "url": questionnaire_url(definition.form),
        "version": definition.version,
        "name": f"NNRR_{definition.form}".replace(".", "_"),
        "title": definition.title.nb,
        "status": "active",
        "subjectType": ["Patient"],
        "language": "nb-NO",
        "publisher": PUBLISHER,
        "item": items,
    }
    if tags:
        resource["meta"] = {"tag": tags}
    return resource


def all_questionnaires() -> list[dict[str, Any]]:
    return [build_questionnaire(d) for d in all_definitions()]


def box_lists(definition: Definition) -> set[str]:
    """The linkIds of the checkbox lists, whose codes are the variable names of their boxes."""
    return set(Shape(definition).lists)
