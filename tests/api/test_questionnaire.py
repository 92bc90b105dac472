"""Our form definitions as FHIR R4 Questionnaires (nnrr/api/questionnaire.py), validated with the
``fhir.resources`` R4B models, served at /fhir/Questionnaire and written by ``nnrr fhir
questionnaires``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaire import Questionnaire

from nnrr.api.questionnaire import (
    CONSENT_LINK_ID,
    ITEM_CONTROL_URL,
    MAX_VALUE_URL,
    MIN_VALUE_URL,
    box_lists,
    build_questionnaire,
)
from nnrr.questionnaires import wording
from nnrr.questionnaires.definitions import Group, all_definitions, get_definition
from tests.questionnaires.test_wording import write_wording

DEFINITIONS = all_definitions()


def walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from walk(item.get("item", []))


def by_link_id(questionnaire: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["linkId"]: item for item in walk(questionnaire["item"])}


def controls(item: dict[str, Any]) -> list[str]:
    return [
        coding["code"]
        for ext in item.get("extension", [])
        if ext["url"] == ITEM_CONTROL_URL
        for coding in ext["valueCodeableConcept"]["coding"]
    ]


def test_there_is_one_questionnaire_per_form_and_version_including_the_behandlerskjema() -> None:
    ids = sorted(build_questionnaire(d)["id"] for d in DEFINITIONS)
    assert ids == ["nnrr-1a-1.0", "nnrr-1b-1.0", "nnrr-2-1.0", "nnrr-3-1.0"]


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.form)
def test_every_questionnaire_is_valid_fhir_r4(definition: Any) -> None:
    resource = build_questionnaire(definition)
    parsed = Questionnaire.model_validate(resource)
    assert parsed.status == "active"
    assert parsed.publisher == "Norsk nakke- og ryggregister"
    assert parsed.version == definition.version
    assert parsed.url == f"https://nakkeryggreg.no/fhir/Questionnaire/nnrr-{definition.form}"
    assert parsed.title == definition.title.nb


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.form)
def test_every_variable_is_a_question_or_a_box_of_a_checkbox_list(definition: Any) -> None:
    resource = build_questionnaire(definition)
    link_ids = [item["linkId"] for item in walk(resource["item"])]
    assert len(link_ids) == len(set(link_ids)), "linkIds must be unique"
    items = by_link_id(resource)
    lists = box_lists(definition)
    boxes = {
        option["valueCoding"]["code"]
        for link_id in lists
        for option in items[link_id]["answerOption"]
    }
    for item in definition.items():
        assert item.id in items or item.id in boxes, item.id
        if item.id in items:
            assert items[item.id]["type"] != "group"
    for link_id in lists:
        assert items[link_id]["type"] == "choice"
        assert items[link_id]["repeats"] is True
        assert controls(items[link_id]) == ["check-box"]


def test_the_pain_drawing_is_one_checkbox_list_of_the_32_regions() -> None:
    items = by_link_id(build_questionnaire(get_definition("1a")))
    regions = items["pain_drawing"]
    codes = [o["valueCoding"]["code"] for o in regions["answerOption"]]
    assert len(codes) == 32
    assert all(code.startswith("IsPain") for code in codes)
    assert controls(regions) == ["check-box"]


def test_choices_carry_our_codes_and_labels() -> None:
    definition = get_definition("1a")
    items = by_link_id(build_questionnaire(definition))
    item = definition.item("FamilyStatus")
    options = items["FamilyStatus"]["answerOption"]
    assert [(o["valueCoding"]["code"], o["valueCoding"]["display"]) for o in options] == [
        (str(c.code), c.label.nb) for c in item.codes
    ]


def test_help_texts_are_text_children_with_the_help_item_control() -> None:
    definition = get_definition("1a")
    items = by_link_id(build_questionnaire(definition))
    with_help = [i for i in definition.items() if i.help and f"{i.id}-help" in items]
    assert with_help, "the 1a form has help texts"
    for item in with_help:
        child = items[f"{item.id}-help"]
        assert child["type"] == "text"
        assert controls(child) == ["help"]
        assert child["text"] == item.help.nb
        assert child in items[item.id]["item"]


def test_numbers_carry_min_and_max_and_mandatory_items_are_required() -> None:
    definition = get_definition("1b")
    items = by_link_id(build_questionnaire(definition))
    numbers = [i for i in definition.items() if i.type in {"integer", "decimal"}]
    for item in numbers:
        extensions = {e["url"]: e for e in items[item.id]["extension"]}
        assert next(v for k, v in extensions[MIN_VALUE_URL].items() if k != "url") == item.minimum
        assert next(v for k, v in extensions[MAX_VALUE_URL].items() if k != "url") == item.maximum
    mandatory = [i for i in definition.items() if i.mandatory and i.id in items]
    assert mandatory
    assert all(items[i.id].get("required") is True for i in mandatory)
    optional = [i for i in definition.items() if not i.mandatory and i.id in items]
    assert all("required" not in items[i.id] for i in optional)


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.form)
def test_skip_logic_is_enable_when_on_existing_questions_and_codes(definition: Any) -> None:
    resource = build_questionnaire(definition)
    items = by_link_id(resource)
    conditions = 0
    for item in walk(resource["item"]):
        for rule in item.get("enableWhen", []):
            conditions += 1
            target = items[rule["question"]]
            if "answerCoding" in rule:
                codes = [o["valueCoding"]["code"] for o in target["answerOption"]]
                assert rule["answerCoding"]["code"] in codes
            else:
                assert target["type"] == "boolean"
    assert conditions > 0


def test_a_condition_on_a_ticked_box_is_a_condition_on_its_lists_code() -> None:
    definition = get_definition("1a")
    items = by_link_id(build_questionnaire(definition))
    group = next(g for g in definition.groups() if g.id == "work_status")
    dependants = [
        i for i in definition.items() if i.show_if and i.show_if.item in {b.id for b in group.items}
    ]
    assert dependants
    for item in dependants:
        assert items[item.id]["enableWhen"] == [
            {
                "question": "work_status",
                "operator": "=",
                "answerCoding": {
                    "system": "https://nakkeryggreg.no/fhir/CodeSystem/work_status",
                    "code": item.show_if.item,
                },
            }
        ]


def test_a_section_shown_on_an_answer_has_enable_when_on_that_code() -> None:
    items = by_link_id(build_questionnaire(get_definition("1a")))
    assert items["section-ndi"]["enableWhen"] == [
        {
            "question": "IsNeckPainMainProblem",
            "operator": "=",
            "answerCoding": {
                "system": "https://nakkeryggreg.no/fhir/CodeSystem/IsNeckPainMainProblem",
                "code": "1",
            },
        }
    ]


def test_the_consent_question_comes_first_in_the_pre_treatment_form_only() -> None:
    pre = build_questionnaire(get_definition("1a"))
    first = pre["item"][0]
    consent = next(i for i in first["item"] if i["linkId"] == CONSENT_LINK_ID)
    assert consent["type"] == "boolean"
    assert consent["required"] is True
    assert first["item"][0]["type"] == "display"
    assert "Samtykke" in first["item"][0]["text"]
    for form in ("2", "3", "1b"):
        assert CONSENT_LINK_ID not in by_link_id(build_questionnaire(get_definition(form)))


def test_groups_with_a_none_box_offer_it_as_a_code() -> None:
    definition = get_definition("1a")
    items = by_link_id(build_questionnaire(definition))
    for group in definition.groups():
        assert isinstance(group, Group)
        codes = [o["valueCoding"]["code"] for o in items[group.id]["answerOption"]]
        assert codes == [box.id for box in group.items]


@pytest.fixture
def wording_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from nnrr.questionnaires.definitions import reload_definitions

    monkeypatch.setenv("NNRR_FORM_WORDING_DIR", str(tmp_path))
    reload_definitions()
    wording.reload()
    yield tmp_path
    monkeypatch.delenv("NNRR_FORM_WORDING_DIR")
    reload_definitions()
    wording.reload()


def test_placeholder_wording_is_marked_and_licensed_wording_replaces_it(wording_dir: Path) -> None:
    before = build_questionnaire(get_definition("1a"))
    tags = {t["code"] for t in before["meta"]["tag"]}
    assert "odi:plassholder" in tags
    write_wording(wording_dir, ("odi",))
    from nnrr.questionnaires.definitions import reload_definitions

    reload_definitions()
    wording.reload()
    after = build_questionnaire(get_definition("1a"))
    tags = {t["code"]: t["display"] for t in after["meta"]["tag"]}
    assert tags["odi:lisensiert"] == "ODI: ODI offisiell (2024)"
    odi_item = next(i for i in get_definition("1a").items() if i.instrument == "odi")
    assert by_link_id(after)[odi_item.id]["text"] == f"Lisensiert {odi_item.id}"


# --- Served and written ------------------------------------------------------------------------


def test_get_questionnaire_serves_each_form_version(db: Any) -> None:
    client = Client()
    for definition in DEFINITIONS:
        qid = f"nnrr-{definition.form}-{definition.version}"
        response = client.get(f"/fhir/Questionnaire/{qid}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/fhir+json")
        assert response.json() == build_questionnaire(definition)


@pytest.mark.parametrize("qid", ["nnrr-1a-9.9", "nnrr-7-1.0", "whatever", "nnrr-"])
def test_an_unknown_questionnaire_is_a_404_operation_outcome(db: Any, qid: str) -> None:
    response = Client().get(f"/fhir/Questionnaire/{qid}")
    assert response.status_code == 404
    outcome = OperationOutcome.model_validate(response.json())
    assert outcome.issue[0].code == "not-found"


def test_the_questionnaire_search_lists_every_form_and_the_capability_statement_answers(
    db: Any,
) -> None:
    client = Client()
    listed = client.get("/fhir/Questionnaire").json()
    assert len(listed["entry"]) == len(DEFINITIONS)
    one = client.get(
        "/fhir/Questionnaire", {"url": "https://nakkeryggreg.no/fhir/Questionnaire/nnrr-2"}
    )
    assert [e["resource"]["id"] for e in one.json()["entry"]] == ["nnrr-2-1.0"]
    metadata = client.get("/fhir/metadata")
    assert metadata.status_code == 200
    statement = CapabilityStatement.model_validate(metadata.json())
    assert statement.fhirVersion == "4.0.1"
    types = {r.type for r in statement.rest[0].resource}
    assert {"Questionnaire", "QuestionnaireResponse", "Patient", "Appointment"} <= types


def test_nnrr_fhir_questionnaires_writes_one_valid_file_per_form(tmp_path: Path) -> None:
    call_command("fhir", "questionnaires", "--out", str(tmp_path / "ut"))
    files = sorted(p.name for p in (tmp_path / "ut").iterdir())
    assert files == ["nnrr-1a-1.0.json", "nnrr-1b-1.0.json", "nnrr-2-1.0.json", "nnrr-3-1.0.json"]
    for path in (tmp_path / "ut").iterdir():
        Questionnaire.model_validate(json.loads(path.read_text(encoding="utf-8")))
