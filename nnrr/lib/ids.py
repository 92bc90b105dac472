"""Whole-number ids typed or posted by a browser (an owner, a user filter)."""

from __future__ import annotations

# The largest id a database integer column holds (PostgreSQL bigint, SQLite INTEGER).
MAX_ID = 2**63 - 1


def parse_id(value: object) -> int | None:
    """The id in ``value`` when it is ASCII digits naming a possible row, else None.

    ``str.isdigit`` accepts "²" and "١٢" and numbers beyond any column; none of those may reach a
    query (they raised 500s), so only 1–19 ASCII digits within the column's range pass.
    """
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > 19 or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None
