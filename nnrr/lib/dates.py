"""Calendar arithmetic in Europe/Oslo.

The registry's rules are about Norwegian calendar days and wall-clock times (a questionnaire is
sent at 08:00 Oslo time, an order expires at the end of a day in Oslo). Everything here works on
``date`` objects and builds aware datetimes in Oslo, so daylight-saving changes never shift a
time of day.
"""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")

# Dates the registry accepts from people: anything outside is a typo (and date arithmetic near
# year 1 or 9999 overflows), refused with a message before any calculation.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)


def in_supported_range(day: dt.date) -> bool:
    return EARLIEST_DATE <= day <= LATEST_DATE


def oslo_datetime(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    """The aware datetime at ``hour:minute`` Oslo wall-clock time on ``day``."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=OSLO)


def oslo_date(moment: dt.datetime) -> dt.date:
    """The Oslo calendar date of an aware datetime."""
    if moment.utcoffset() is None:  # naive, also when its tzinfo gives no offset
        raise ValueError("naive datetime: the registry only works with aware datetimes")
    return moment.astimezone(OSLO).date()


def start_of_next_day(day: dt.date) -> dt.datetime:
    """00:00 Oslo time on the day after ``day``: the end of ``day``."""
    return oslo_datetime(day + dt.timedelta(days=1))


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus calendar months; a day past the month's end clamps to the month's last day."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def today_oslo(now: dt.datetime) -> dt.date:
    return oslo_date(now)


def parse_iso_date(value: str) -> dt.date | None:
    """A date from ``YYYY-MM-DD`` or Norwegian ``DD.MM.YYYY``; None when it is not a real date."""
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
    return None
