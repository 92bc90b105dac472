"""``{% received_appointments_notice %}``: the front page's notice when messages from the booking
system wait in "Mottatte avtaler"."""

from __future__ import annotations

from typing import Any

from django import template

from nnrr import access
from nnrr.accounts.profiles import Right
from nnrr.appointments.models import WAITING_STATES

register = template.Library()


@register.inclusion_tag("appointments/_notice.html", takes_context=True)
def received_appointments_notice(context: dict[str, Any]) -> dict[str, Any]:
    profile = context.get("profile")
    if profile is None or not profile.has(Right.RECEIVED_APPOINTMENTS):
        return {"count": 0}
    count = access.received_messages(profile).filter(state__in=WAITING_STATES).count()
    return {"count": count}
