"""URLs of a page's rows, reversed once per page.

A list page links every row to the same few views, each with the row's own id. ``{% url %}`` in the
row template reverses the name for every row: on a worklist of 50 rows that was 150 reversals and
half the page's time (``docs/benchmarks.md``, "Rows: URLs reversed once a page"). A ``RowUrl`` is
reversed once, with a stand-in id, and fills each row's id into that text.

Only ids are filled in (a UUID or an integer key): their text needs no quoting, and it matches the
URL pattern's converter, which the one real ``reverse()`` has checked with the stand-in.
"""

from __future__ import annotations

import uuid

from django.urls import reverse

# A stand-in that ``<uuid:…>`` accepts and no view name or prefix contains.
_UUID_STAND_IN = uuid.UUID("00000000-0000-4000-8000-00000000b00c")
_INT_STAND_IN = 987_654_321_012


class RowUrl:
    """``reverse(view_name, args=[id])`` for many ids, with one ``reverse()``.

    >>> patient_url = RowUrl("patients:detail")           # doctest: +SKIP
    >>> patient_url(row["patient_id"])                     # doctest: +SKIP
    '/pasient/…/'
    """

    def __init__(self, view_name: str, *, key: type[uuid.UUID] | type[int] = uuid.UUID) -> None:
        self._key = key
        stand_in = str(_UUID_STAND_IN if key is uuid.UUID else _INT_STAND_IN)
        head, found, tail = reverse(view_name, args=[stand_in]).partition(stand_in)
        if not found:  # pragma: no cover - a URL that rewrites its id is not a row URL
            raise ValueError(f"{view_name} does not put its id in the URL as given")
        self._head = head
        self._tail = tail

    def __call__(self, key: uuid.UUID | int) -> str:
        # bool is an int: a True would become "/…/True/", not a key.
        if not isinstance(key, self._key) or isinstance(key, bool):
            raise TypeError(f"a row URL takes a {self._key.__name__} key, not {key!r}")
        return f"{self._head}{key}{self._tail}"
