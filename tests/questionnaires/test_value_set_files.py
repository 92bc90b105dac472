"""A malformed EQ-5D value set file is refused at start-up with a message naming the file and
the field, never loaded half-right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nnrr.questionnaires import scoring

GOOD = {
    "name": "test_2000",
    "title": "Test",
    "country": "Nowhere",
    "citation": "A test   value set\n  nobody published.",
    "doi": '"10.0000/test"',
    "intercept": "0.05",
    "mobility": "[0.1, 0.2, 0.3, 0.4]",
    "published": '"21111": 0.85',
}


def _write(tmp_path: Path, **changes: str | None) -> Path:
    fields = {**GOOD, **changes}
    lines = []
    for key in ("name", "title", "country", "citation", "doi", "intercept"):
        if fields[key] is not None:
            lines.append(f"{key}: {fields[key]!s}".replace("\n", "\n  "))
    if fields["mobility"] is not None:
        lines += [
            "decrements:",
            f"  mobility: {fields['mobility']}",
            "  self_care: [0.1, 0.1, 0.1, 0.1]",
            "  usual_activities: [0.1, 0.1, 0.1, 0.1]",
            "  pain_discomfort: [0.1, 0.1, 0.1, 0.1]",
            "  anxiety_depression: [0.1, 0.1, 0.1, 0.1]",
        ]
    if fields["published"] is not None:
        lines += ["published_values:", f"  {fields['published']}"]
    path = tmp_path / f"{GOOD['name']}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_well_formed_file_gives_its_values(tmp_path: Path) -> None:
    value_set = scoring._parse_value_set(_write(tmp_path))
    assert value_set.name == "test_2000"
    assert (value_set.title, value_set.country, value_set.doi) == (
        "Test",
        "Nowhere",
        "10.0000/test",
    )
    assert value_set.citation == "A test value set nobody published."
    assert value_set.intercept == 0.05
    assert value_set.decrements[0] == (0.0, 0.1, 0.2, 0.3, 0.4)
    assert value_set.index([2, 1, 1, 1, 1]) == pytest.approx(0.85)
    assert value_set.index([1, 1, 1, 1, 1]) == 1.0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "other_2000"}, "must equal the file name"),
        ({"name": None}, "'name' must be a non-empty text"),
        ({"title": '"  "'}, "'title' must be a non-empty text"),
        ({"country": "42"}, "'country' must be a non-empty text"),
        ({"citation": None}, "'citation' must be a non-empty text"),
        ({"doi": None}, "'doi' must be a non-empty text"),
        ({"intercept": "abc"}, "intercept: 'abc' is not a number"),
        ({"intercept": "true"}, "intercept: True is not a number"),
        ({"intercept": ".nan"}, "intercept: nan is not a number"),
        ({"intercept": "-0.1"}, "intercept must not be negative"),
        ({"mobility": None}, "'decrements' must list exactly"),
        ({"mobility": "[0.1, 0.2, 0.3]"}, "decrements.mobility: give four decrements"),
        ({"mobility": "0.1"}, "decrements.mobility: give four decrements"),
        ({"mobility": "[0.1, 0.3, 0.2, 0.4]"}, "must be non-negative and non-decreasing"),
        ({"mobility": "[-0.1, 0.2, 0.3, 0.4]"}, "must be non-negative and non-decreasing"),
        ({"mobility": "[0.1, x, 0.3, 0.4]"}, "decrements.mobility: 'x' is not a number"),
        ({"published": None}, "'published_values' must give at least one"),
        ({"published": "- 0.85"}, "'published_values' must give at least one"),
        ({"published": '"2111": 0.9'}, "a state is five digits"),
        ({"published": '"2111a": 0.9'}, "a state is five digits"),
        ({"published": '"61111": 0.9'}, "published_values['61111']"),
        ({"published": '"21111": 0.5'}, "the decrements give 0.850000, the publication 0.5"),
        ({"published": '"21111": many'}, "is not a number"),
    ],
)
def test_a_malformed_value_set_file_is_refused_naming_the_file(
    tmp_path: Path, changes: dict[str, str | None], message: str
) -> None:
    with pytest.raises(scoring.ValueSetError) as caught:
        scoring._parse_value_set(_write(tmp_path, **changes))
    assert str(caught.value).startswith("test_2000.yaml: ")
    assert message in str(caught.value)


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "test_2000.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(scoring.ValueSetError, match=r"^test_2000.yaml: expected a mapping"):
        scoring._parse_value_set(path)


@pytest.mark.parametrize(
    "levels",
    [[1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 6], [1, 1, 1, 1, 0], [True, 1, 1, 1, 1]],
)
def test_a_value_set_refuses_a_state_that_is_not_five_levels_from_1_to_5(levels: list[Any]) -> None:
    from nnrr.questionnaires.scoring import get_value_set

    with pytest.raises(ValueError):
        get_value_set("norway_2024").index(levels)
