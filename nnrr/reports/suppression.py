"""Small-cell suppression of report tables: a count under the limit hidden, and kept hidden.

A count under the small-cell limit (``small_cell``, 5) in one unit's figures shown to another unit
is shown as "<5" (*primary* suppression). Hiding it alone is not enough when the table also shows
the sums it is part of: with "Kvinne 5, Mann <5, Ikke svart 0, Totalt 9" anyone can subtract.
So every table is described as cells and *sum lines* (a total equals the sum of its members),
and further cells are hidden (*complementary* suppression, shown as "x") until no hidden cell can
be worked out from what is shown: for every hidden cell the lines, with the visible values put
in, admit at least two values. The reader is assumed to know that a "<5" cell is 1 to 4 and that
every count is a whole number of at least 0.

Complements are chosen as small and as far from the reader's own figures as possible: non-zero
before zero (a hidden zero is soon pinned by the zeros beside it), then the cells the caller ranks
first (other units' category counts before totals and summary columns), smallest first; cells
the reader knows anyway (``known``: their own unit's) are never hidden. A count a table implies
without printing it (the courses without a recommendation, beside a share of the total) is a
cell like any other: it is hidden when small.

Whether a hidden cell is determined is decided exactly, as an integer program per cell (its
smallest and largest value under the lines; scipy's HiGHS), after a cheap pass line by line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from scipy.optimize import Bounds, LinearConstraint, milp

Key = Hashable

SECONDARY_MARK = "x"


@dataclass(frozen=True)
class Line:
    """``total`` equals the sum of ``members``."""

    total: Key
    members: tuple[Key, ...]

    @property
    def cells(self) -> tuple[Key, ...]:
        return (self.total, *self.members)


@dataclass(frozen=True)
class Suppressed:
    """Which cells of a table are hidden, and why."""

    primary: frozenset[Key]
    secondary: frozenset[Key]
    small: int

    def hidden(self, key: Key) -> bool:
        return key in self.primary or key in self.secondary

    def mark(self, key: Key) -> str | None:
        """What a hidden cell shows instead of its value ("<5" or "x"); None when shown."""
        if key in self.primary:
            return _("<%(n)s") % {"n": self.small}
        if key in self.secondary:
            return SECONDARY_MARK
        return None


def note(small: int) -> str:
    """The sentence a report with hidden cells carries."""
    return _(
        "«<%(n)s»: færre enn %(n)s forløp hos en annen enhet. «x»: skjult for at et tall under "
        "%(n)s ikke skal kunne regnes ut av summene."
    ) % {"n": small}


def _bounds(key: Key, primary: frozenset[Key], small: int) -> tuple[float, float]:
    return (1.0, float(small - 1)) if key in primary else (0.0, math.inf)


def _program(
    values: Mapping[Any, int],
    lines: Sequence[Line],
    primary: frozenset[Key],
    hidden: Iterable[Key],
    small: int,
) -> tuple[dict[Key, int], list[LinearConstraint], Bounds]:
    unknown = sorted(set(hidden) | primary, key=repr)
    index = {k: i for i, k in enumerate(unknown)}
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    for line in lines:
        if not any(k in index for k in line.cells):
            continue
        row = np.zeros(len(unknown))
        constant = 0.0
        for k, sign in ((line.total, -1.0), *((m, 1.0) for m in line.members)):
            if k in index:
                row[index[k]] += sign
            else:
                constant += sign * values[k]
        rows.append(row)
        rhs.append(-constant)
    constraints = [LinearConstraint(np.array(rows), np.array(rhs), np.array(rhs))] if rows else []
    bounds = Bounds(
        np.array([_bounds(k, primary, small)[0] for k in unknown]),
        np.array([_bounds(k, primary, small)[1] for k in unknown]),
    )
    return index, constraints, bounds


def _extreme(
    key: Key,
    sign: float,
    index: dict[Key, int],
    constraints: list[LinearConstraint],
    bounds: Bounds,
) -> float:
    """The smallest (sign 1) or largest (sign -1) whole value ``key`` can have (inf: no
    largest)."""
    objective = np.zeros(len(index))
    objective[index[key]] = sign
    solved = milp(
        objective, constraints=constraints, integrality=np.ones(len(index)), bounds=bounds
    )
    if solved.status != 0 or solved.x is None:
        return math.inf
    return float(round(solved.x[index[key]]))


def feasible_range(
    *,
    key: Key,
    values: Mapping[Any, int],
    lines: Sequence[Line],
    primary: Iterable[Key],
    hidden: Iterable[Key],
    small: int,
) -> tuple[float, float]:
    """The smallest and largest whole value ``key`` (a hidden cell) can have, given the visible
    cells, the sum lines and the bounds a reader knows (a "<5" cell is 1 to small-1, any other
    hidden cell at least 0)."""
    index, constraints, bounds = _program(values, lines, frozenset(primary), hidden, small)
    return _extreme(key, 1.0, index, constraints, bounds), _extreme(
        key, -1.0, index, constraints, bounds
    )


def _determined(
    key: Key,
    value: int,
    index: dict[Key, int],
    constraints: list[LinearConstraint],
    bounds: Bounds,
) -> bool:
    """Whether ``key`` (whose true value is ``value``) can have no other value: one program
    when another value is found at once, two otherwise."""
    high = _extreme(key, -1.0, index, constraints, bounds)
    if high > value:
        return False
    return _extreme(key, 1.0, index, constraints, bounds) >= value


def _line_determined(
    line: Line, values: Mapping[Any, int], hidden: set[Key], primary: frozenset[Key], small: int
) -> Key | None:
    """A hidden cell of ``line`` that the line alone pins to one value, if any."""
    signed = [(line.total, -1), *((m, 1) for m in line.members)]
    unknown = [(k, s) for k, s in signed if k in hidden]
    if not unknown:
        return None
    constant = sum(s * values[k] for k, s in signed if k not in hidden)
    # sum(s * x for unknown) == -constant
    for key, sign in unknown:
        low_rest = high_rest = 0.0
        for other, s in unknown:
            if other == key:
                continue
            lo, hi = _bounds(other, primary, small)
            a, b = s * lo, s * hi
            low_rest += min(a, b)
            high_rest += max(a, b)
        # sign * x = -constant - rest
        candidates = [(-constant - high_rest) * sign, (-constant - low_rest) * sign]
        lo, hi = min(candidates), max(candidates)
        own_lo, own_hi = _bounds(key, primary, small)
        lo, hi = max(lo, own_lo), min(hi, own_hi)
        if hi - lo < 1:
            return key
    return None


def protect(
    *,
    values: Mapping[Any, int],
    lines: Sequence[Line],
    primary: Iterable[Key],
    small: int,
    rank: Callable[[Key], int] = lambda key: 0,
    known: Iterable[Key] = (),
) -> Suppressed:
    """Hide ``primary`` and as few further cells as it takes for no hidden cell to be
    determined by the visible ones. ``values`` holds every cell of ``lines``; ``known`` cells
    the reader knows anyway (their own unit's figures) and are never hidden."""
    primary_set = frozenset(primary)
    known_set = frozenset(known)
    hidden: set[Key] = set(primary_set)
    if not primary_set:
        return Suppressed(frozenset(), frozenset(), small)
    lines_of: dict[Key, list[Line]] = {}
    for line in lines:
        for k in line.cells:
            lines_of.setdefault(k, []).append(line)

    def hide_beside(cell: Key) -> bool:
        candidates = [
            (values[k] == 0, rank(k), values[k], n, k)
            for n, line in enumerate(lines_of.get(cell, []))
            for k in line.cells
            if k not in hidden and k not in known_set
        ]
        if not candidates:
            return False
        hidden.add(min(candidates, key=lambda c: c[:4])[4])
        return True

    def hide_near(cell: Key) -> bool:
        """Hide a cell beside ``cell``; when its sums have nothing left to hide, beside the
        hidden cells of those sums, one sum further out at a time (a cell there can free the
        sums that pin it)."""
        seen = {cell}
        frontier = [cell]
        while frontier:
            if any(hide_beside(c) for c in frontier):
                return True
            further = []
            for c in frontier:
                for line in lines_of.get(c, []):
                    for k in line.cells:
                        if k in hidden and k not in seen:
                            seen.add(k)
                            further.append(k)
            frontier = further
        return False

    while True:
        # Cheap: one line at a time, until no line pins a cell.
        changed = True
        while changed:
            changed = False
            for line in lines:
                pinned = _line_determined(line, values, hidden, primary_set, small)
                if pinned is not None and hide_beside(pinned):
                    changed = True
        # Exact: every hidden cell against all lines together. A pinned cell whose lines have
        # nothing left to hide does not end the search: hiding a cell further out, or beside
        # another pinned one, may free it too. Stop only when nothing near a pinned cell is
        # left to hide.
        index, constraints, bounds = _program(values, lines, primary_set, hidden, small)
        pinned_cells = (
            cell
            for cell in sorted(hidden, key=repr)
            if _determined(cell, values[cell], index, constraints, bounds)
        )
        if not any(hide_near(cell) for cell in pinned_cells):
            break
    secondary = frozenset(hidden - primary_set)
    return Suppressed(primary_set, secondary, small)
