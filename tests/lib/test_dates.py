"""Oslo calendar helpers."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnrr.lib.dates import (
    OSLO,
    add_months,
    date_of,
    oslo_date,
    oslo_datetime,
    parse_iso_date,
    start_of_next_day,
    today_oslo,
)

UTC = dt.UTC
D = dt.date


def utc(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, s, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2026, 1, 15), 0, D(2026, 1, 15)),
        (D(2026, 1, 15), 1, D(2026, 2, 15)),
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),
        (D(2025, 8, 31), 6, D(2026, 2, 28)),
        (D(2027, 8, 31), 6, D(2028, 2, 29)),
        (D(2026, 3, 31), 6, D(2026, 9, 30)),
        (D(2026, 5, 31), 1, D(2026, 6, 30)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2028, 2, 29), 48, D(2032, 2, 29)),
        (D(2026, 12, 31), 1, D(2027, 1, 31)),
        (D(2026, 12, 15), 12, D(2027, 12, 15)),
        (D(2026, 7, 31), 6, D(2027, 1, 31)),
        (D(2026, 11, 30), 3, D(2027, 2, 28)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
        (D(2026, 1, 31), -1, D(2025, 12, 31)),
        (D(2026, 1, 15), -13, D(2024, 12, 15)),
    ],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


@given(
    day=st.dates(min_value=D(1900, 1, 1), max_value=D(2200, 12, 31)), months=st.integers(-60, 60)
)
def test_add_months_lands_in_the_target_month(day, months):
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day <= day.day
    if result.day < day.day:  # clamped: the last day of its month
        assert (result + dt.timedelta(days=1)).day == 1


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Winter (UTC+1): Oslo midnight is 23:00 UTC.
        (utc(2026, 1, 1, 22, 59, 59), D(2026, 1, 1)),
        (utc(2026, 1, 1, 23, 0), D(2026, 1, 2)),
        (utc(2026, 12, 31, 23, 30), D(2027, 1, 1)),
        # Summer (UTC+2): Oslo midnight is 22:00 UTC.
        (utc(2026, 7, 1, 21, 59, 59), D(2026, 7, 1)),
        (utc(2026, 7, 1, 22, 0), D(2026, 7, 2)),
        # The March 2027 change (28 March, 02:00 → 03:00): that midnight is still +01:00.
        (utc(2027, 3, 27, 22, 59), D(2027, 3, 27)),
        (utc(2027, 3, 27, 23, 0), D(2027, 3, 28)),
        (utc(2027, 3, 28, 1, 0), D(2027, 3, 28)),  # 03:00 summer time
        (utc(2027, 3, 28, 21, 59), D(2027, 3, 28)),
        (utc(2027, 3, 28, 22, 0), D(2027, 3, 29)),
        # The October 2027 change (31 October, 03:00 → 02:00): that midnight is still +02:00.
        (utc(2027, 10, 30, 21, 59), D(2027, 10, 30)),
        (utc(2027, 10, 30, 22, 0), D(2027, 10, 31)),
        (utc(2027, 10, 31, 22, 59), D(2027, 10, 31)),
        (utc(2027, 10, 31, 23, 0), D(2027, 11, 1)),
    ],
)
def test_oslo_date_around_midnight_and_dst(moment, expected):
    assert oslo_date(moment) == expected
    assert today_oslo(moment) == expected


def test_oslo_date_of_an_oslo_datetime_is_its_own_date():
    assert oslo_date(dt.datetime(2026, 5, 1, 0, 0, tzinfo=OSLO)) == D(2026, 5, 1)
    assert oslo_date(dt.datetime(2026, 5, 1, 23, 59, tzinfo=OSLO)) == D(2026, 5, 1)


def test_oslo_date_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="naive"):
        oslo_date(dt.datetime(2026, 5, 1, 12))


def test_oslo_date_refuses_a_tzinfo_without_offset():
    class NoOffset(dt.tzinfo):
        def utcoffset(self, _dt):
            return None

        def dst(self, _dt):
            return None

    with pytest.raises(ValueError, match="naive"):
        oslo_date(dt.datetime(2026, 5, 1, 12, tzinfo=NoOffset()))


@pytest.mark.parametrize(
    ("day", "hour", "expected"),
    [
        (D(2027, 1, 10), 8, "2027-01-10T08:00:00+01:00"),
        (D(2027, 3, 28), 8, "2027-03-28T08:00:00+02:00"),
        (D(2027, 3, 28), 0, "2027-03-28T00:00:00+01:00"),
        (D(2027, 10, 31), 8, "2027-10-31T08:00:00+01:00"),
        (D(2027, 10, 31), 0, "2027-10-31T00:00:00+02:00"),
        (D(2027, 7, 1), 8, "2027-07-01T08:00:00+02:00"),
    ],
)
def test_oslo_datetime_is_wall_clock(day, hour, expected):
    assert oslo_datetime(day, hour).isoformat() == expected


def test_oslo_datetime_minutes():
    assert oslo_datetime(D(2027, 1, 10), 8, 30).isoformat() == "2027-01-10T08:30:00+01:00"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 12, 31), "2027-01-01T00:00:00+01:00"),
        (D(2028, 2, 28), "2028-02-29T00:00:00+01:00"),
        (D(2027, 3, 27), "2027-03-28T00:00:00+01:00"),
        (D(2027, 3, 28), "2027-03-29T00:00:00+02:00"),
        (D(2027, 10, 30), "2027-10-31T00:00:00+02:00"),
        (D(2027, 10, 31), "2027-11-01T00:00:00+01:00"),
    ],
)
def test_start_of_next_day(day, expected):
    assert start_of_next_day(day).isoformat() == expected


@given(st.dates(min_value=D(1970, 1, 1), max_value=D(2100, 12, 31)))
def test_start_of_next_day_is_midnight_of_the_next_oslo_day(day):
    moment = start_of_next_day(day)
    assert oslo_date(moment.astimezone(UTC)) == day + dt.timedelta(days=1)
    assert oslo_date(moment.astimezone(UTC) - dt.timedelta(microseconds=1)) == day


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-04", D(2025, 3, 4)),
        ("04.03.2025", D(2025, 3, 4)),
        ("  2025-03-04 ", D(2025, 3, 4)),
        ("\t04.03.2025\n", D(2025, 3, 4)),
        ("29.02.2024", D(2024, 2, 29)),
        ("2024-02-29", D(2024, 2, 29)),
        ("31.12.1999", D(1999, 12, 31)),
    ],
)
def test_parse_iso_date_accepts_both_formats(text, expected):
    assert parse_iso_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "31.02.2025",
        "29.02.2025",
        "2025-02-29",
        "2025-13-01",
        "2025-00-10",
        "32.01.2025",
        "",
        "   ",
        "abc",
        "2025/03/04",
        "04-03-2025",
        "2025.03.04",
        "04.03.25",
        "2025-03-04T10:00",
    ],
)
def test_parse_iso_date_rejects_bad_input(text):
    assert parse_iso_date(text) is None


@given(st.text())
def test_parse_iso_date_never_raises_and_never_invents_a_date(text):
    result = parse_iso_date(text)
    if result is not None:
        # whatever was read is in the text: its year, and its day and month as numbers
        assert str(result.year) in text
        assert str(result.day) in text
        assert str(result.month) in text


@given(st.dates(min_value=D(1000, 1, 1), max_value=D(9999, 12, 31)))
def test_parse_iso_date_round_trips(day):
    assert parse_iso_date(day.isoformat()) == day
    assert parse_iso_date(day.strftime("%d.%m.%Y")) == day


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", D(2024, 3, 5)),
        ("2024-03-05T10:00:00", D(2024, 3, 5)),
        (D(2024, 3, 5), D(2024, 3, 5)),
        (dt.datetime(2024, 3, 5, 23, 59), D(2024, 3, 5)),
        ("", None),
        (None, None),
        ("05.03.2024", None),
        ("2024-02-30", None),
    ],
)
def test_date_of_a_stored_value(value: object, expected: dt.date | None) -> None:
    result = date_of(value)
    assert result == expected
    assert result is None or type(result) is dt.date
