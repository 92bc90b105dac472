"""Server-side validation of posted answers against a definition."""

from __future__ import annotations

from typing import Any

import pytest

from nnrr.questionnaires.definitions import parse_definition
from nnrr.questionnaires.validation import (
    missing_for_completion,
    parse_submission,
    prune_hidden,
    unanswered_count,
)

DEFINITION = parse_definition(
    {
        "form": "1b",
        "version": "9.0",
        "title": "Test",
        "mandatory_default": True,
        "sections": [
            {
                "id": "a",
                "items": [
                    {"id": "Visit", "type": "date", "label": "Besøksdato"},
                    {
                        "id": "Surgery",
                        "type": "choice",
                        "label": "Operert",
                        "codes": [{"code": 1, "label": "Ja"}, {"code": 2, "label": "Nei"}],
                    },
                    {"id": "Children", "type": "integer", "label": "Barn", "min": 0, "max": 20},
                    {
                        "id": "Note",
                        "type": "text",
                        "label": "Merknad",
                        "mandatory": False,
                        "max_length": 10,
                    },
                    {
                        "group": "meds",
                        "label": "Medisiner",
                        "items": [
                            {"id": "MedNone", "label": "Ingen", "none": True},
                            {"id": "MedA", "label": "A"},
                            {"id": "MedB", "label": "B"},
                        ],
                    },
                    {
                        "id": "MedAFrequency",
                        "type": "choice",
                        "label": "Hvor ofte A",
                        "show_if": {"item": "MedA", "equals": True},
                        "codes": [
                            {"code": 1, "label": "Daglig"},
                            {"code": 2, "label": "Sjeldnere"},
                        ],
                    },
                ],
            },
            {
                "id": "neck",
                "show_if": {"item": "Surgery", "equals": 1},
                "items": [
                    {
                        "id": "Neck1",
                        "type": "choice",
                        "label": "Nakke",
                        "codes": [{"code": 1, "label": "x"}],
                    },
                ],
            },
        ],
    }
)


def test_values_are_typed() -> None:
    parsed = parse_submission(
        DEFINITION,
        {"Visit": "24.01.2026", "Surgery": "2", "Children": "3", "MedA": "on", "Note": " hei "},
    )
    assert parsed.ok
    assert parsed.answers == {
        "Visit": "2026-01-24",
        "Surgery": 2,
        "Children": 3,
        "MedA": True,
        "MedB": False,
        "MedNone": False,
        "Note": "hei",
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("Surgery", "3", "svaralternativene"),
        ("Surgery", "x", "svaralternativene"),
        ("Children", "21", "mellom 0 og 20"),
        ("Children", "-1", "mellom 0 og 20"),
        ("Children", "2.5", "helt tall"),
        ("Visit", "2026-02-30", "gyldig dato"),
        ("Visit", "01.01.1850", "for langt tilbake"),
        ("Note", "x" * 11, "høyst 10 tegn"),
    ],
)
def test_bad_values_are_reported_and_keep_the_previous_answer(
    field: str, value: str, message: str
) -> None:
    previous: dict[str, Any] = {"Surgery": 1, "Children": 2, "Visit": "2026-01-01", "Note": "før"}
    parsed = parse_submission(
        DEFINITION, {**{k: str(v) for k, v in previous.items()}, field: value}, previous=previous
    )
    assert message in parsed.errors[field]
    assert parsed.answers[field] == previous[field]


def test_none_box_cannot_be_ticked_with_others() -> None:
    parsed = parse_submission(DEFINITION, {"MedNone": "1", "MedA": "1"})
    assert "kan ikke krysses av sammen" in parsed.errors["meds"]


def test_hidden_items_are_dropped() -> None:
    parsed = parse_submission(
        DEFINITION, {"MedB": "1", "MedAFrequency": "1", "Surgery": "2", "Neck1": "1"}
    )
    assert "MedAFrequency" not in parsed.answers
    assert "Neck1" not in parsed.answers


def test_chained_conditions_are_pruned() -> None:
    assert prune_hidden(
        DEFINITION, {"Surgery": 2, "Neck1": 1, "MedA": False, "MedAFrequency": 1}
    ) == {"Surgery": 2, "MedA": False}


def test_missing_for_completion_lists_visible_mandatory_items_and_groups_in_order() -> None:
    missing = missing_for_completion(DEFINITION, {"MedA": True, "Surgery": 1})
    assert [m.anchor for m in missing] == [
        "item-Visit",
        "item-Children",
        "item-MedAFrequency",
        "item-Neck1",
    ]
    missing = missing_for_completion(
        DEFINITION, {"Visit": "2026-01-01", "Surgery": 2, "Children": 0}
    )
    assert [m.anchor for m in missing] == ["group-meds"]


def test_only_the_posted_sections_are_parsed() -> None:
    previous = {"Neck1": 1, "Surgery": 1}
    parsed = parse_submission(DEFINITION, {"Surgery": "1"}, previous=previous, sections=["a"])
    assert parsed.answers["Neck1"] == 1


def test_unanswered_count_skips_checkboxes_and_hidden_items() -> None:
    assert unanswered_count(DEFINITION, {"Surgery": 2}) == 3  # Visit, Children, Note


def test_arbitrary_junk_never_raises() -> None:
    junk = {"Visit": "\x00", "Surgery": "1e9", "Children": "∞", "MedA": ["x"], "Note": "<script>"}
    parsed = parse_submission(DEFINITION, junk)
    assert set(parsed.errors) == {"Visit", "Surgery", "Children"}
    assert parsed.answers["Note"] == "<script>"


def test_shown_items_of_a_stored_form_follow_its_conditions() -> None:
    from nnrr.questionnaires.definitions import get_definition
    from nnrr.questionnaires.models import FormKind
    from nnrr.questionnaires.validation import shown_items, visible_items

    version = get_definition(FormKind.PRE_TREATMENT).version
    neck = shown_items(FormKind.PRE_TREATMENT, version, {"IsNeckPainMainProblem": 1})
    back = shown_items(FormKind.PRE_TREATMENT, version, {"IsNeckPainMainProblem": 2, "OdiPain": 3})
    assert "NdiIntensity" in neck and "NdiIntensity" not in back
    assert "OdiPain" in neck and "OdiPain" in back
    sick = {"S2_SickLeave": True, "IsNeckPainMainProblem": 2}
    definition = get_definition(FormKind.PRE_TREATMENT)
    assert shown_items(FormKind.PRE_TREATMENT, version, sick) == frozenset(
        item.id for item in visible_items(definition, sick)
    )
    assert "S2_SickLeave_Percent" in shown_items(FormKind.PRE_TREATMENT, version, sick)
    assert "S2_SickLeave_Percent" not in back
    assert shown_items(FormKind.PRE_TREATMENT, "9.9", sick) == frozenset()  # unknown version
