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
