"""Questionnaire dispatch rules as pure functions of dates and the current moment.

All day arithmetic is in Europe/Oslo calendar days and times of day are Oslo wall-clock (08:00
stays 08:00 across daylight-saving changes). ``expires_at`` is always 00:00 Oslo time at the
start of the day after the last valid day. This interface is fixed; everything else uses it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from nnrr.lib.dates import add_months, oslo_date, oslo_datetime, start_of_next_day

SEND_HOUR = 8
PRE_TREATMENT_DAYS_BEFORE = 16
PRE_TREATMENT_REMINDER_DAYS_BEFORE = 2
FOLLOW_UP_REMINDER_DAYS = 14
FOLLOW_UP_VALID_DAYS = 42
REORDER_MIN_VALID_DAYS = 7
# A sent pre-treatment order survives a rebooking that moves the date at most this far.
REBOOK_KEEP_ORDER_DAYS = 30
# A course without a consented pre-treatment form is purged this long after the planned date.
PURGE_AFTER_DAYS = 30


@dataclass(frozen=True)
class Plan:
    send_at: dt.datetime
    remind_at: dt.datetime | None
    expires_at: dt.datetime

    @property
    def can_be_answered(self) -> bool:
        """False when the order would expire before it could be sent."""
        return self.send_at < self.expires_at

    def window_passed(self, now: dt.datetime) -> bool:
        """True when the whole answering window lies in the past."""
        return now >= self.expires_at


def plan_pre_treatment(planned_consultation: dt.date, saved_at: dt.datetime) -> Plan:
    """The pre-treatment form: 08:00 sixteen days before the consultation, or next morning.

    If 08:00 on (planned − 16 days) has already passed when the booking is saved, the form is sent
    at 08:00 the day after the booking. The reminder goes at 08:00 two days before the
    consultation, unless that is not after the send time. The order expires at the end of the
    consultation day.
    """
    saved_day = oslo_date(saved_at)  # refuses a naive datetime with ValueError
    send_at = oslo_datetime(
        planned_consultation - dt.timedelta(days=PRE_TREATMENT_DAYS_BEFORE), SEND_HOUR
    )
    if send_at <= saved_at:
        send_at = oslo_datetime(saved_day + dt.timedelta(days=1), SEND_HOUR)
    remind_at: dt.datetime | None = oslo_datetime(
        planned_consultation - dt.timedelta(days=PRE_TREATMENT_REMINDER_DAYS_BEFORE), SEND_HOUR
    )
    if remind_at is not None and remind_at <= send_at:
        remind_at = None
    return Plan(
        send_at=send_at, remind_at=remind_at, expires_at=start_of_next_day(planned_consultation)
    )


def plan_follow_up(visit_date: dt.date, months: int) -> Plan:
    """A follow-up form ``months`` calendar months after the visit.

    Sent at 08:00 on Besøksdato + ``months`` (a day past the month's end clamps to its last day),
    reminded 14 days later at 08:00, valid for 42 days after the day it is sent.
    """
    send_day = add_months(visit_date, months)
    return Plan(
        send_at=oslo_datetime(send_day, SEND_HOUR),
        remind_at=oslo_datetime(send_day + dt.timedelta(days=FOLLOW_UP_REMINDER_DAYS), SEND_HOUR),
        expires_at=start_of_next_day(send_day + dt.timedelta(days=FOLLOW_UP_VALID_DAYS)),
    )


def reorder_expiry(planned_consultation: dt.date, now: dt.datetime) -> dt.datetime:
    """Expiry of a re-ordered form: the end of the later of the consultation day and today + 7."""
    last_day = max(planned_consultation, oslo_date(now) + dt.timedelta(days=REORDER_MIN_VALID_DAYS))
    return start_of_next_day(last_day)


def rebooking_keeps_order(old_planned: dt.date, new_planned: dt.date) -> bool:
    """A sent pre-treatment order stays valid when the consultation moves at most 30 days."""
    return abs((new_planned - old_planned).days) <= REBOOK_KEEP_ORDER_DAYS


def rebooked_pre_treatment(new_planned: dt.date, sent_at: dt.datetime) -> Plan:
    """Reminder and expiry of an already sent pre-treatment order after a rebooking."""
    oslo_date(sent_at)  # refuses a naive datetime with ValueError
    remind_at: dt.datetime | None = oslo_datetime(
        new_planned - dt.timedelta(days=PRE_TREATMENT_REMINDER_DAYS_BEFORE), SEND_HOUR
    )
    if remind_at is not None and remind_at <= sent_at:
        remind_at = None
    return Plan(send_at=sent_at, remind_at=remind_at, expires_at=start_of_next_day(new_planned))


def purge_due_at(planned_consultation: dt.date) -> dt.datetime:
    """When a course still lacking consent is purged: 30 days after the consultation day."""
    return start_of_next_day(planned_consultation + dt.timedelta(days=PURGE_AFTER_DAYS))
