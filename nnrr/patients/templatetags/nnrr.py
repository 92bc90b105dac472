"""Small presentation filters shared by the templates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django import template
from django.utils import timezone

from nnrr.lib import national_id as national_ids

register = template.Library()

_FORM_ORDER = {"1b": 0, "1a": 1, "2": 2, "3": 3}
_STATUS_COLORS = {1: "warning", 2: "success", 4: "neutral", 5: "danger"}
_ORDER_COLORS = {
    "planned": "info",
    "sent": "warning",
    "reminded": "warning",
    "answered": "success",
    "expired": "danger",
    "cancelled": "neutral",
    "missed": "danger",
}


@register.filter
def sort_forms(responses: Iterable[Any]) -> list[Any]:
    """The Behandlerskjema first, then the patient forms in time order."""
    return sorted(responses, key=lambda r: (_FORM_ORDER.get(r.kind, 9), r.created_at))


@register.filter
def status_color(status: int) -> str:
    return _STATUS_COLORS.get(int(status), "neutral")


@register.filter
def order_color(state: str) -> str:
    return _ORDER_COLORS.get(state, "neutral")


@register.filter
def expiry_day(expires_at: dt.datetime | None) -> dt.date | None:
    """The last valid day of an order (its expiry is 00:00 the day after)."""
    if expires_at is None:
        return None
    return (timezone.localtime(expires_at) - dt.timedelta(minutes=1)).date()


@register.filter
def national_id(value: str) -> str:
    """A national id as people read it (``Patient.national_id_formatted`` for a row read as
    values)."""
    return national_ids.formatted(value or "")


# The registry's dates and times as its users read them: 07.12.2026, 07.12.2026 14:05 and
# 07.12.2026 14:05:09, in Norwegian time. The same text as Django's ``date`` filter with
# "d.m.Y", "d.m.Y H:i" and "d.m.Y H:i:s" (a test compares them), at a twentieth of its cost: a
# page of 50 rows formats 100–150 dates, and ``date`` parses its format string every time.
def _day(value: dt.date) -> str:
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


@register.filter(expects_localtime=True)
def day(value: Any) -> str:
    """A date (or the Norwegian day of a moment): ``07.12.2026``; empty for anything else."""
    return _day(value) if isinstance(value, dt.date) else ""


@register.filter(expects_localtime=True)
def day_time(value: Any) -> str:
    """A moment in Norwegian time to the minute: ``07.12.2026 14:05``."""
    if not isinstance(value, dt.datetime):
        return ""
    return f"{_day(value)} {value.hour:02d}:{value.minute:02d}"


@register.filter(expects_localtime=True)
def day_time_seconds(value: Any) -> str:
    """A moment in Norwegian time to the second: ``07.12.2026 14:05:09`` (the Logg)."""
    if not isinstance(value, dt.datetime):
        return ""
    return f"{_day(value)} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"
