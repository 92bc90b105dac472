"""The shared presentation filters (``{% load nnrr %}``): the registry's dates as its users read
them, the same text as Django's ``date`` filter with the formats the templates used before."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import engines
from django.template.defaultfilters import date as django_date
from hypothesis import given
from hypothesis import strategies as st

from nnrr.patients.templatetags.nnrr import day, day_time, day_time_seconds

FORMATS = {"day": "d.m.Y", "day_time": "d.m.Y H:i", "day_time_seconds": "d.m.Y H:i:s"}


def render(filter_name: str, value: object) -> str:
    template = engines["django"].from_string("{% load nnrr %}{{ value|" + filter_name + " }}")
    return template.render({"value": value})


def render_with_django(fmt: str, value: object) -> str:
    return engines["django"].from_string('{{ value|date:"' + fmt + '" }}').render({"value": value})


@given(
    moment=st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(2100, 12, 31),
        timezones=st.just(dt.UTC),
    )
)
def test_a_moment_reads_as_the_date_filter_writes_it_in_norwegian_time(
    moment: dt.datetime,
) -> None:
    for name, fmt in FORMATS.items():
        assert render(name, moment) == render_with_django(fmt, moment)


@given(day_=st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_a_date_reads_as_the_date_filter_writes_it(day_: dt.date) -> None:
    assert render("day", day_) == render_with_django("d.m.Y", day_)


def test_a_moment_just_after_midnight_in_oslo_is_that_oslo_day() -> None:
    # 23:30 UTC on 6 December is 00:30 on 7 December in Oslo (winter time); in summer, 22:30 UTC
    # on 30 June is 00:30 on 1 July.
    assert render("day", dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC)) == "07.12.2026"
    assert render("day_time", dt.datetime(2026, 6, 30, 22, 30, tzinfo=dt.UTC)) == "01.07.2026 00:30"
    assert (
        render("day_time_seconds", dt.datetime(2026, 3, 29, 1, 0, 9, tzinfo=dt.UTC))
        == "29.03.2026 03:00:09"  # the spring change: 02:00 Oslo does not exist
    )


@pytest.mark.parametrize("value", [None, "", "2026-12-07", 20261207, object()])
def test_what_is_not_a_date_shows_as_nothing(value: object) -> None:
    for name, fmt in FORMATS.items():
        assert render(name, value) == ""
        assert django_date(value, fmt) == ""


def test_a_date_has_no_time_of_day() -> None:
    assert day(dt.date(2026, 1, 2)) == "02.01.2026"
    assert day_time(dt.date(2026, 1, 2)) == ""
    assert day_time_seconds(dt.date(2026, 1, 2)) == ""
