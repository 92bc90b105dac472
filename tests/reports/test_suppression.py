"""Small-cell suppression: no "<5" (or any other hidden count) can be worked out from a table.

The property test checks the function's answer independently of how it decides: for every hidden
cell it builds the reader's own integer program from the visible cells and the table's sums and
asks it for a second value of that cell.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from nnrr.reports import content
from nnrr.reports.suppression import Line, Suppressed, feasible_range, note, protect

SMALL = 5


def _another_value_exists(
    cell: Any, values: dict[Any, int], lines: list[Line], hidden: Suppressed
) -> bool:
    """Whether the reader, seeing every cell that is not hidden and knowing a "<5" is 1-4 and
    any other count at least 0, can fill in the table with ``cell`` different from its value."""
    unknown = sorted(hidden.primary | hidden.secondary, key=repr)
    at = {k: i for i, k in enumerate(unknown)}
    rows, rhs = [], []
    for line in lines:
        row = np.zeros(len(unknown))
        known = 0
        for k, sign in [(line.total, -1), *((m, 1) for m in line.members)]:
            if k in at:
                row[at[k]] += sign
            else:
                known += sign * values[k]
        if row.any():
            rows.append(row)
            rhs.append(-known)
        else:
            assert known == 0  # a fully visible line must add up
    low = [1 if k in hidden.primary else 0 for k in unknown]
    high = [SMALL - 1 if k in hidden.primary else math.inf for k in unknown]
    for side in ("below", "above"):
        bound_low, bound_high = list(low), list(high)
        i = at[cell]
        if side == "below":
            bound_high[i] = min(bound_high[i], values[cell] - 1)
        else:
            bound_low[i] = max(bound_low[i], values[cell] + 1)
        if bound_low[i] > bound_high[i]:
            continue
        result = milp(
            np.zeros(len(unknown)),
            constraints=[LinearConstraint(np.array(rows), rhs, rhs)] if rows else [],
            integrality=np.ones(len(unknown)),
            bounds=Bounds(bound_low, bound_high),
        )
        if result.status == 0:
            return True
    return False


@st.composite
def tables(draw: Any) -> tuple[dict[Any, int], list[Line], set[Any]]:
    """A unit × category table of counts with each unit's total, each category's national
    count and the national total; some units' columns are another unit's (masked)."""
    n_rows = draw(st.integers(1, 4))
    n_units = draw(st.integers(1, 4))
    counts = st.one_of(st.integers(0, 6), st.integers(0, 40))
    values: dict[Any, int] = {}
    for r in range(n_rows):
        for u in range(n_units):
            values[(r, u)] = draw(counts)
    for u in range(n_units):
        values[("total", u)] = sum(values[(r, u)] for r in range(n_rows))
    for r in [*range(n_rows), "total"]:
        values[(r, "all")] = sum(values[(r, u)] for u in range(n_units))
    lines = [
        Line(("total", c), tuple((r, c) for r in range(n_rows))) for c in [*range(n_units), "all"]
    ]
    lines += [
        Line((r, "all"), tuple((r, u) for u in range(n_units))) for r in [*range(n_rows), "total"]
    ]
    masked = draw(st.sets(st.integers(0, n_units - 1), min_size=1))
    primary = {k for k, v in values.items() if k[1] in masked and 0 < v < SMALL}
    return values, lines, primary


@settings(
    max_examples=int(os.environ.get("NNRR_PROPERTY_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(tables())
def test_no_hidden_count_can_be_worked_out_from_the_visible_ones(
    table: tuple[dict[Any, int], list[Line], set[Any]],
) -> None:
    values, lines, primary = table
    hidden = protect(values=values, lines=lines, primary=primary, small=SMALL)
    assert hidden.primary == primary
    for line in lines:
        in_line = [k for k in line.cells if hidden.hidden(k)]
        assert len(in_line) != 1, f"{in_line} alone hidden in {line}"
    # With every cell hidden, a reader who knows that "<5" is 1 to 4 can still pin a cell when
    # the small counts alone fill their sum (four "<5" under a "<5" total are all 1): no
    # suppression can protect such a cell, so the property is asked of the others.
    everything = Suppressed(frozenset(primary), frozenset(values) - frozenset(primary), SMALL)
    for cell in hidden.primary | hidden.secondary:
        if _another_value_exists(cell, values, lines, everything):
            assert _another_value_exists(cell, values, lines, hidden), f"{cell} is determined"


def test_small_counts_that_fill_their_small_total_are_pinned_whatever_is_hidden() -> None:
    # The limit of suppression: four "<5" under a "<5" total of 4 are 1 each, from the marks.
    values = {"a": 1, "b": 1, "c": 1, "d": 1, "total": 4}
    lines = [Line("total", ("a", "b", "c", "d"))]
    primary = set(values)
    hidden = protect(values=values, lines=lines, primary=primary, small=SMALL)
    assert hidden.primary == frozenset(values)
    assert not _another_value_exists("a", values, lines, hidden)


def test_the_reported_case_kirkenes_mann_is_no_longer_total_minus_the_rest() -> None:
    # Kvinne 5, Mann <5, Ikke svart 0, Totalt 9: Mann was 9 - 5 - 0 = 4.
    values = {"Kvinne": 5, "Mann": 4, "Ikke svart": 0, "Totalt": 9}
    lines = [Line("Totalt", ("Kvinne", "Mann", "Ikke svart"))]
    hidden = protect(values=values, lines=lines, primary={"Mann"}, small=SMALL)
    assert hidden.mark("Mann") == "<5"
    assert hidden.secondary == {"Kvinne"}  # the smallest non-zero cell beside it
    assert _another_value_exists("Mann", values, lines, hidden)


def test_two_small_cells_that_add_up_to_two_are_not_left_as_the_only_hidden_ones() -> None:
    # "<5" and "<5" with 2 between them: both must be 1. A third cell has to go.
    values = {"a": 1, "b": 1, "c": 7, "total": 9}
    lines = [Line("total", ("a", "b", "c"))]
    hidden = protect(values=values, lines=lines, primary={"a", "b"}, small=SMALL)
    assert hidden.secondary == {"c"}


def test_the_readers_own_figures_are_never_hidden_to_protect_another_unit() -> None:
    own = content.Column("own", "Eget", frozenset({1}), masked=False, own=True)
    other = content.Column("other", "Annen", frozenset({2}), masked=True)
    country = content.Column("national", "Hele landet", frozenset({1, 2}), masked=False)
    counts = {
        ("Kvinne", "own"): 6,
        ("Mann", "own"): 5,
        ("T", "own"): 11,
        ("Kvinne", "other"): 0,
        ("Mann", "other"): 2,
        ("T", "other"): 2,
        ("Kvinne", "national"): 6,
        ("Mann", "national"): 7,
        ("T", "national"): 13,
    }
    hidden = content.protect_columns(
        [own, other, country], counts, [("T", ["Kvinne", "Mann"])], SMALL
    )
    assert hidden.primary == {("Mann", "other"), ("T", "other")}
    assert not any(hidden.hidden((row, "own")) for row in ("Kvinne", "Mann", "T"))
    # Whole country minus the own unit would give the other unit away: the country's cells go.
    assert hidden.hidden(("Mann", "national")) and hidden.hidden(("T", "national"))


def test_a_table_without_small_counts_hides_nothing() -> None:
    values = {"a": 5, "b": 9, "t": 14}
    hidden = protect(values=values, lines=[Line("t", ("a", "b"))], primary=set(), small=SMALL)
    assert not hidden.primary and not hidden.secondary


def _two_units_table(small: int) -> tuple[dict[Any, int], list[Line]]:
    """Two other units (A and B, both masked) and the whole country, by sex; ``small`` is each
    of the three "<5" (A's Kvinne, B's Mann and B's total):

             A           B      Hele landet
    Kvinne   small       0      small
    Mann     6           small  6 + small
    Totalt   6 + small   small  6 + 2 small
    """
    values = {
        ("Kvinne", "A"): small,
        ("Mann", "A"): 6,
        ("Totalt", "A"): 6 + small,
        ("Kvinne", "B"): 0,
        ("Mann", "B"): small,
        ("Totalt", "B"): small,
        ("Kvinne", "all"): small,
        ("Mann", "all"): 6 + small,
        ("Totalt", "all"): 6 + 2 * small,
    }
    lines = [Line(("Totalt", c), (("Kvinne", c), ("Mann", c))) for c in ("A", "B", "all")]
    lines += [Line((r, "all"), ((r, "A"), (r, "B"))) for r in ("Kvinne", "Mann", "Totalt")]
    return values, lines


@pytest.mark.parametrize("small", [1, 4])  # both "<5" at their least, and at their most
def test_small_counts_given_away_only_by_all_the_sums_together_are_protected(small: int) -> None:
    values, lines = _two_units_table(small)
    primary = {("Kvinne", "A"), ("Mann", "B"), ("Totalt", "B")}
    # Hiding A's total and the country's Kvinne and Mann leaves two hidden cells in every sum,
    # yet the country's total = A's Kvinne + 6 + B's Mann, and both are "<5": with 8 or 14
    # there, both must be 1, or both 4.
    line_by_line = primary | {("Totalt", "A"), ("Kvinne", "all"), ("Mann", "all")}
    reader = feasible_range(
        key=("Kvinne", "A"),
        values=values,
        lines=lines,
        primary=primary,
        hidden=line_by_line,
        small=SMALL,
    )
    assert reader == (small, small)
    hidden = protect(values=values, lines=lines, primary=primary, small=SMALL)
    assert hidden.secondary == line_by_line - primary | {("Mann", "A")}
    for cell in hidden.primary | hidden.secondary:
        assert _another_value_exists(cell, values, lines, hidden), f"{cell} is determined"


def test_the_reader_takes_a_small_count_as_1_to_4_and_any_other_hidden_count_as_at_least_0() -> (
    None
):
    # Totalt 9 = Kvinne "<5" + Mann (hidden) + Ikke svart 0.
    values = {"Kvinne": 4, "Mann": 5, "Ikke svart": 0, "Totalt": 9}
    lines = [Line("Totalt", ("Kvinne", "Mann", "Ikke svart"))]
    hidden = {"Kvinne", "Mann"}

    def reader(key: str, primary: set[str]) -> tuple[float, float]:
        return feasible_range(
            key=key, values=values, lines=lines, primary=primary, hidden=hidden, small=SMALL
        )

    assert reader("Kvinne", {"Kvinne"}) == (1, 4)
    assert reader("Mann", {"Kvinne"}) == (5, 8)
    # Neither a "<5": anything from 0 to the total.
    assert reader("Kvinne", set()) == (0, 9)
    assert reader("Mann", set()) == (0, 9)
    # A "<5" in no sum at all.
    alone = feasible_range(key="a", values={"a": 3}, lines=[], primary={"a"}, hidden={"a"}, small=5)
    assert alone == (1, 4)


def test_a_table_with_hidden_cells_says_what_the_marks_mean() -> None:
    hidden = protect(
        values={"Kvinne": 5, "Mann": 4, "Totalt": 9},
        lines=[Line("Totalt", ("Kvinne", "Mann"))],
        primary={"Mann"},
        small=SMALL,
    )
    assert (hidden.mark("Mann"), hidden.mark("Kvinne"), hidden.mark("Totalt")) == ("<5", "x", None)
    assert note(hidden.small) == (
        "«<5»: færre enn 5 forløp hos en annen enhet. «x»: skjult for at et tall under 5 ikke "
        "skal kunne regnes ut av summene."
    )


def test_a_small_count_beside_only_the_readers_own_figures_stays_marked_and_nothing_else_goes() -> (
    None
):
    # Totalt 5 = own 3 + other "<5": the reader knows both 5 and 3, so nothing can protect the
    # other unit's 2 in this table; the cells are left as they are, and the report is still made.
    hidden = protect(
        values={"own": 3, "other": 2, "Totalt": 5},
        lines=[Line("Totalt", ("own", "other"))],
        primary={"other"},
        small=SMALL,
        known={"own", "Totalt"},
    )
    assert hidden.mark("other") == "<5"
    assert hidden.secondary == frozenset()


def test_a_given_away_count_with_nothing_left_beside_it_does_not_stop_the_protection() -> None:
    """Unit 1's whole column and the total beside it are hidden already, and its 4 still follows
    from the rest; the cells that free it are beside other given-away cells (the country's rows).
    This table once came back with six hidden counts a reader could work out."""
    column_0 = [0, 4, 0, 2]
    column_1 = [1, 2, 0, 1]
    values: dict[Any, int] = {}
    for row, (a, b) in enumerate(zip(column_0, column_1, strict=True)):
        values.update({(row, 0): a, (row, 1): b, (row, "all"): a + b})
    values.update(
        {("total", 0): 6, ("total", 1): 4, ("total", "all"): 10},
    )
    lines = [Line(("total", c), tuple((r, c) for r in range(4))) for c in (0, 1, "all")]
    lines += [Line((r, "all"), ((r, 0), (r, 1))) for r in (*range(4), "total")]
    primary = {k for k, n in values.items() if k[1] in (0, 1) and 0 < n < SMALL}
    hidden = protect(values=values, lines=lines, primary=primary, small=SMALL)
    for cell in hidden.primary | hidden.secondary:
        assert _another_value_exists(cell, values, lines, hidden), f"{cell} is determined"
