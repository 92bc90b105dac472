"""Calendar arithmetic in Europe/Oslo.

The registry's rules are about Norwegian calendar days and wall-clock times (a questionnaire is
sent at 08:00 Oslo time, an order expires at the end of a day in Oslo). Everything here works on
``date`` objects and builds aware datetimes in Oslo, so daylight-saving changes never shift a
time of day.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any
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


def date_of(value: Any) -> dt.date | None:
    """The date of a stored value: a date, a datetime, or text beginning ``YYYY-MM-DD`` (as the
    answers hold the Besøksdato); None when empty or not a date."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def parse_iso_date(value: str) -> dt.date | None:
    """A date from ``YYYY-MM-DD`` or Norwegian ``DD.MM.YYYY``; None when it is not a real date."""
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
    return None


_BIRTH_DATE = re.compile(r"(\d{1,2})[.\s/-]+(\d{1,2})[.\s/-]+(\d{4})")


def parse_birth_date(value: str, *, today: dt.date | None = None) -> dt.date | None:
    """A date of birth as a patient types it on a phone, or None.

    Accepts ``15031975``, ``15.03.1975``, ``15 03 1975``, ``15/03/1975``, ``15-03-1975``,
    ``1975-03-15`` and one-digit day or month with a separator (``5.3.1975``). The year must be
    1900 or later and the date not in the future.
    """
    text = " ".join((value or "").split())
    if not text or len(text) > 20:
        return None
    parsed: dt.date | None = None
    digits = text.replace(" ", "")
    if len(digits) == 8 and digits.isascii() and digits.isdigit():
        day, month, year = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    elif match := _BIRTH_DATE.fullmatch(text):
        if not all(group.isascii() for group in match.groups()):
            return None
        day, month, year = (int(group) for group in match.groups())
    else:
        parsed = parse_iso_date(text) if text.isascii() else None
        if parsed is None:
            return None
        day, month, year = parsed.day, parsed.month, parsed.year
    try:
        parsed = dt.date(year, month, day)
    except ValueError:
        return None
    if parsed.year < 1900 or (today is not None and parsed > today):
        return None
    return parsed
