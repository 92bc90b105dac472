"""``RowUrl``: a row's link is the URL ``reverse()`` gives, with one reversal a page."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from nnrr.lib.links import RowUrl


@pytest.mark.parametrize(
    "view_name",
    ["patients:detail", "questionnaires:fill", "patients:course_owner", "patients:course_delete"],
)
def test_a_row_url_is_what_reverse_gives_for_every_id(view_name: str) -> None:
    url = RowUrl(view_name)
    for key in (uuid.uuid4(), uuid.uuid4(), uuid.UUID(int=0)):
        assert url(key) == reverse(view_name, args=[key])


def test_a_row_url_with_an_integer_key_is_what_reverse_gives() -> None:
    url = RowUrl("appointments:detail", key=int)
    assert url(7) == reverse("appointments:detail", args=[7])
    assert url(123_456) == reverse("appointments:detail", args=[123_456])


@pytest.mark.parametrize("bad", ["../../admin", "7", None, True, 7.0])
def test_a_row_url_takes_only_a_key_of_its_type(bad: object) -> None:
    with pytest.raises(TypeError):
        RowUrl("patients:detail")(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        RowUrl("appointments:detail", key=int)(bad)  # type: ignore[arg-type]
