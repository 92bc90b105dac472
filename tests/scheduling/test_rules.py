"""Questionnaire dispatch rules (domain.md §4): pure functions of dates and the current moment."""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnrr.lib.dates import OSLO
from nnrr.scheduling.rules import (
    Plan,
    plan_follow_up,
    plan_pre_treatment,
    purge_due_at,
    rebooked_pre_treatment,
    rebooking_keeps_order,
    reorder_expiry,
)

UTC = dt.UTC
D = dt.date


def oslo(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, s, tzinfo=OSLO)


def utc(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=UTC)


def iso(moment: dt.datetime | None) -> str | None:
    """Oslo wall time with its UTC offset, e.g. ``2027-03-28T08:00:00+02:00``."""
    return None if moment is None else moment.astimezone(OSLO).isoformat()


# --- Pre-treatment ---------------------------------------------------------------------------


def test_pre_treatment_normal_case():
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=oslo(2026, 5, 1, 10))
    assert iso(plan.send_at) == "2026-06-04T08:00:00+02:00"  # planned − 16 days
    assert iso(plan.remind_at) == "2026-06-18T08:00:00+02:00"  # planned − 2 days
    assert iso(plan.expires_at) == "2026-06-21T00:00:00+02:00"  # end of the consultation day
    assert plan.can_be_answered
    assert not plan.window_passed(oslo(2026, 6, 20, 23, 59))
    assert plan.window_passed(oslo(2026, 6, 21))


def test_pre_treatment_saved_07_59_on_send_day_is_sent_the_same_morning():
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=oslo(2026, 6, 4, 7, 59))
    assert iso(plan.send_at) == "2026-06-04T08:00:00+02:00"


def test_pre_treatment_saved_after_08_on_send_day_is_sent_next_morning():
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=oslo(2026, 6, 4, 8, 0, 1))
    assert iso(plan.send_at) == "2026-06-05T08:00:00+02:00"
    assert iso(plan.remind_at) == "2026-06-18T08:00:00+02:00"
    assert iso(plan.expires_at) == "2026-06-21T00:00:00+02:00"


def test_pre_treatment_saved_exactly_at_08_counts_as_passed():
    # The code treats "send_at <= saved_at" as passed, so send_at is always after saved_at.
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=oslo(2026, 6, 4, 8))
    assert iso(plan.send_at) == "2026-06-05T08:00:00+02:00"


def test_pre_treatment_the_following_day_is_the_oslo_day_after_saving():
    # 22:30 UTC on 3 June is 00:30 Oslo on 4 June: 08:00 on 4 June has not passed yet.
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=utc(2026, 6, 3, 22, 30))
    assert iso(plan.send_at) == "2026-06-04T08:00:00+02:00"
    # 06:30 UTC on 4 June is 08:30 Oslo: passed, so 08:00 on 5 June.
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=utc(2026, 6, 4, 6, 30))
    assert iso(plan.send_at) == "2026-06-05T08:00:00+02:00"
    # 22:30 UTC on 4 June is already 5 June in Oslo: the following day is 6 June, not 5 June.
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=utc(2026, 6, 4, 22, 30))
    assert iso(plan.send_at) == "2026-06-06T08:00:00+02:00"


def test_pre_treatment_saved_before_08_on_a_later_day_still_waits_for_the_following_day():
    # "If that moment has already passed ... sent at 08:00 the following day" is read literally:
    # a booking saved at 07:00 goes out tomorrow morning, not an hour later.
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=oslo(2026, 6, 10, 7))
    assert iso(plan.send_at) == "2026-06-11T08:00:00+02:00"


def test_pre_treatment_booked_four_days_before_keeps_the_reminder():
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=oslo(2026, 6, 16, 14))
    assert iso(plan.send_at) == "2026-06-17T08:00:00+02:00"
    assert iso(plan.remind_at) == "2026-06-18T08:00:00+02:00"


def test_pre_treatment_booked_three_days_before_has_no_reminder():
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=oslo(2026, 6, 17, 14))
    # Sent 08:00 on 18 June, which is exactly the reminder time: not after it, so no reminder.
    assert iso(plan.send_at) == "2026-06-18T08:00:00+02:00"
    assert plan.remind_at is None
    assert iso(plan.expires_at) == "2026-06-21T00:00:00+02:00"
    assert plan.can_be_answered


def test_pre_treatment_booked_the_day_before_can_still_be_answered_that_morning():
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=oslo(2026, 6, 19, 12))
    assert iso(plan.send_at) == "2026-06-20T08:00:00+02:00"
    assert plan.remind_at is None
    assert plan.can_be_answered


def test_pre_treatment_booked_on_the_consultation_day_cannot_be_answered():
    saved = oslo(2026, 6, 20, 9)
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=saved)
    assert iso(plan.send_at) == "2026-06-21T08:00:00+02:00"
    assert iso(plan.expires_at) == "2026-06-21T00:00:00+02:00"
    assert plan.remind_at is None
    assert plan.send_at >= plan.expires_at
    assert not plan.can_be_answered
    assert not plan.window_passed(saved)  # the day is not over yet, but nothing will be sent


def test_pre_treatment_for_a_past_consultation_cannot_be_answered():
    saved = oslo(2026, 6, 17, 10)
    plan = plan_pre_treatment(D(2026, 6, 1), saved_at=saved)
    assert iso(plan.send_at) == "2026-06-18T08:00:00+02:00"
    assert iso(plan.expires_at) == "2026-06-02T00:00:00+02:00"
    assert plan.remind_at is None
    assert not plan.can_be_answered
    assert plan.window_passed(saved)


def test_can_be_answered_is_false_when_send_equals_expiry():
    moment = oslo(2026, 6, 21)
    assert not Plan(send_at=moment, remind_at=None, expires_at=moment).can_be_answered
    assert Plan(
        send_at=moment - dt.timedelta(seconds=1), remind_at=None, expires_at=moment
    ).can_be_answered


def test_pre_treatment_send_at_on_the_march_dst_day_is_08_summer_time():
    # The last Sunday of March 2027 is the 28th (02:00 → 03:00); 28 March + 16 days = 13 April.
    plan = plan_pre_treatment(D(2027, 4, 13), saved_at=oslo(2027, 1, 10, 12))
    assert iso(plan.send_at) == "2027-03-28T08:00:00+02:00"
    assert plan.send_at.astimezone(UTC) == utc(2027, 3, 28, 6)
    assert iso(plan.remind_at) == "2027-04-11T08:00:00+02:00"
    assert iso(plan.expires_at) == "2027-04-14T00:00:00+02:00"


def test_pre_treatment_send_at_on_the_october_dst_day_is_08_winter_time():
    # The last Sunday of October 2027 is the 31st (03:00 → 02:00); 31 October + 16 = 16 November.
    plan = plan_pre_treatment(D(2027, 11, 16), saved_at=oslo(2027, 8, 1, 12))
    assert iso(plan.send_at) == "2027-10-31T08:00:00+01:00"
    assert plan.send_at.astimezone(UTC) == utc(2027, 10, 31, 7)
    assert iso(plan.remind_at) == "2027-11-14T08:00:00+01:00"
    assert iso(plan.expires_at) == "2027-11-17T00:00:00+01:00"


def test_pre_treatment_08_stays_08_when_send_and_reminder_straddle_a_dst_change():
    # Send in winter time, reminder after the March change: both 08:00 on the wall clock.
    plan = plan_pre_treatment(D(2027, 3, 31), saved_at=oslo(2027, 1, 10, 12))
    assert iso(plan.send_at) == "2027-03-15T08:00:00+01:00"
    assert iso(plan.remind_at) == "2027-03-29T08:00:00+02:00"
    # 14 calendar days apart but one hour less in elapsed time.
    elapsed = plan.remind_at.astimezone(UTC) - plan.send_at.astimezone(UTC)
    assert elapsed == dt.timedelta(days=14, hours=-1)


@pytest.mark.parametrize(
    ("planned", "expected"),
    [
        # Midnight at the start of the DST days themselves (the change is at 02:00/03:00).
        (D(2027, 3, 27), "2027-03-28T00:00:00+01:00"),
        (D(2027, 3, 28), "2027-03-29T00:00:00+02:00"),
        (D(2027, 10, 30), "2027-10-31T00:00:00+02:00"),
        (D(2027, 10, 31), "2027-11-01T00:00:00+01:00"),
        (D(2026, 12, 31), "2027-01-01T00:00:00+01:00"),
    ],
)
def test_pre_treatment_expiry_is_midnight_oslo_after_the_consultation_day(planned, expected):
    plan = plan_pre_treatment(planned, saved_at=oslo(2026, 1, 1))
    assert iso(plan.expires_at) == expected


def test_expiry_midnight_on_dst_days_in_utc():
    # 00:00 Oslo on 28 March 2027 is still winter time; on 31 October 2027 still summer time.
    assert plan_pre_treatment(D(2027, 3, 27), oslo(2027, 1, 1)).expires_at.astimezone(UTC) == utc(
        2027, 3, 27, 23
    )
    assert plan_pre_treatment(D(2027, 10, 30), oslo(2027, 1, 1)).expires_at.astimezone(UTC) == utc(
        2027, 10, 30, 22
    )


def test_pre_treatment_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="naive"):
        plan_pre_treatment(D(2026, 6, 20), saved_at=dt.datetime(2026, 5, 1, 10))


def test_pre_treatment_accepts_any_aware_timezone():
    new_york = ZoneInfo("America/New_York")
    # 02:30 in New York on 4 June is 08:30 in Oslo: the 08:00 send time has passed.
    saved = dt.datetime(2026, 6, 4, 2, 30, tzinfo=new_york)
    plan = plan_pre_treatment(D(2026, 6, 20), saved_at=saved)
    assert iso(plan.send_at) == "2026-06-05T08:00:00+02:00"


# --- Follow-ups ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("visit", "months", "send_day"),
    [
        (D(2025, 8, 31), 6, D(2026, 2, 28)),
        (D(2027, 8, 31), 6, D(2028, 2, 29)),  # leap year
        (D(2026, 3, 31), 6, D(2026, 9, 30)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2028, 2, 29), 6, D(2028, 8, 29)),
        (D(2026, 1, 15), 6, D(2026, 7, 15)),
        (D(2026, 1, 15), 12, D(2027, 1, 15)),
        (D(2026, 7, 31), 6, D(2027, 1, 31)),  # across the year end
        (D(2026, 12, 31), 6, D(2027, 6, 30)),
        (D(2026, 5, 31), 12, D(2027, 5, 31)),
    ],
)
def test_follow_up_send_day_clamps_to_month_end(visit, months, send_day):
    plan = plan_follow_up(visit, months)
    local = plan.send_at.astimezone(OSLO)
    assert local.date() == send_day
    assert local.time() == dt.time(8, 0)


def test_follow_up_reminder_and_expiry():
    plan = plan_follow_up(D(2026, 1, 15), 6)
    assert iso(plan.send_at) == "2026-07-15T08:00:00+02:00"
    assert iso(plan.remind_at) == "2026-07-29T08:00:00+02:00"  # 14 days after sending
    # Last valid day = send day + 42 (26 August), so it expires at 00:00 on 27 August.
    assert iso(plan.expires_at) == "2026-08-27T00:00:00+02:00"
    assert plan.expires_at.astimezone(OSLO).date() - D(2026, 7, 15) == dt.timedelta(days=43)
    assert plan.can_be_answered


def test_follow_up_reminder_stays_08_across_the_march_change():
    plan = plan_follow_up(D(2026, 9, 20), 6)
    assert iso(plan.send_at) == "2027-03-20T08:00:00+01:00"
    assert iso(plan.remind_at) == "2027-04-03T08:00:00+02:00"
    assert iso(plan.expires_at) == "2027-05-02T00:00:00+02:00"


def test_follow_up_reminder_stays_08_across_the_october_change():
    plan = plan_follow_up(D(2027, 4, 25), 6)
    assert iso(plan.send_at) == "2027-10-25T08:00:00+02:00"
    assert iso(plan.remind_at) == "2027-11-08T08:00:00+01:00"
    assert iso(plan.expires_at) == "2027-12-07T00:00:00+01:00"
    elapsed = plan.remind_at.astimezone(UTC) - plan.send_at.astimezone(UTC)
    assert elapsed == dt.timedelta(days=14, hours=1)


def test_follow_up_is_reminded_after_14_days_and_valid_for_42_days_after_sending():
    plan = plan_follow_up(dt.date(2026, 1, 15), 6)
    assert plan.send_at == dt.datetime(2026, 7, 15, 8, 0, tzinfo=OSLO)
    assert plan.remind_at == dt.datetime(2026, 7, 29, 8, 0, tzinfo=OSLO)
    # open through the 42nd day after sending: it expires at the start of the 43rd
    assert plan.expires_at == dt.datetime(2026, 8, 27, 0, 0, tzinfo=OSLO)


# --- Re-order --------------------------------------------------------------------------------

NOW = oslo(2026, 5, 10, 12)  # today + 7 = 17 May


@pytest.mark.parametrize(
    ("planned", "expected"),
    [
        (D(2026, 6, 20), "2026-06-21T00:00:00+02:00"),  # future: end of the consultation day
        (D(2026, 4, 1), "2026-05-18T00:00:00+02:00"),  # past: end of today + 7
        (D(2026, 5, 10), "2026-05-18T00:00:00+02:00"),  # today
        (D(2026, 5, 14), "2026-05-18T00:00:00+02:00"),  # within the 7 days
        (D(2026, 5, 17), "2026-05-18T00:00:00+02:00"),  # exactly today + 7
        (D(2026, 5, 18), "2026-05-19T00:00:00+02:00"),  # one day later
    ],
)
def test_reorder_expiry(planned, expected):
    assert iso(reorder_expiry(planned, NOW)) == expected


def test_reorder_expiry_uses_the_oslo_date_of_now():
    # 23:30 UTC on 31 December is 00:30 on 1 January in Oslo: today is 1 January.
    now = utc(2026, 12, 31, 23, 30)
    assert iso(reorder_expiry(D(2026, 12, 1), now)) == "2027-01-09T00:00:00+01:00"
    # One hour earlier it is still 31 December in Oslo.
    assert iso(reorder_expiry(D(2026, 12, 1), utc(2026, 12, 31, 22, 30))) == (
        "2027-01-08T00:00:00+01:00"
    )


def test_reorder_expiry_counts_calendar_days_not_hours():
    # Re-ordered at 23:59 on 21 March 2027: today + 7 = 28 March, the DST day, so the window
    # ends at 00:00 on 29 March, which is 6 days 23 h 1 min later.
    now = oslo(2027, 3, 21, 23, 59)
    expires = reorder_expiry(D(2027, 3, 1), now)
    assert iso(expires) == "2027-03-29T00:00:00+02:00"
    assert expires.astimezone(UTC) - now.astimezone(UTC) == dt.timedelta(
        days=6, hours=23, minutes=1
    )


def test_reorder_expiry_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="naive"):
        reorder_expiry(D(2026, 6, 20), dt.datetime(2026, 5, 10, 12))


# --- Rebooking and purge ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "keeps"),
    [
        (D(2026, 6, 20), D(2026, 6, 20), True),
        (D(2026, 6, 20), D(2026, 7, 20), True),  # 30 days later
        (D(2026, 6, 20), D(2026, 7, 21), False),  # 31 days later
        (D(2026, 6, 20), D(2026, 5, 21), True),  # 30 days earlier
        (D(2026, 6, 20), D(2026, 5, 20), False),  # 31 days earlier
    ],
)
def test_rebooking_keeps_order_within_30_days(old, new, keeps):
    assert rebooking_keeps_order(old, new) is keeps


def test_rebooked_pre_treatment_follows_the_new_date():
    sent = oslo(2026, 6, 4, 8)
    plan = rebooked_pre_treatment(D(2026, 7, 10), sent)
    assert plan.send_at == sent
    assert iso(plan.remind_at) == "2026-07-08T08:00:00+02:00"
    assert iso(plan.expires_at) == "2026-07-11T00:00:00+02:00"


def test_rebooked_pre_treatment_drops_a_reminder_that_is_not_after_sending():
    sent = oslo(2026, 6, 4, 8)
    assert rebooked_pre_treatment(D(2026, 6, 6), sent).remind_at is None
    assert rebooked_pre_treatment(D(2026, 6, 5), sent).remind_at is None
    assert iso(rebooked_pre_treatment(D(2026, 6, 7), sent).remind_at) == (
        "2026-06-05T08:00:00+02:00"
    )


def test_rebooked_pre_treatment_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="naive"):
        rebooked_pre_treatment(D(2026, 7, 10), dt.datetime(2026, 6, 4, 8))


def test_purge_is_due_when_the_30_days_after_the_consultation_are_over():
    assert iso(purge_due_at(D(2026, 6, 1))) == "2026-07-02T00:00:00+02:00"
    assert iso(purge_due_at(D(2027, 2, 26))) == "2027-03-29T00:00:00+02:00"  # DST day + 1


# --- Properties ------------------------------------------------------------------------------

ZONES = st.sampled_from(
    [
        UTC,
        OSLO,
        ZoneInfo("America/New_York"),
        ZoneInfo("Pacific/Kiritimati"),
        ZoneInfo("Etc/GMT+12"),
    ]
)
dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2060, 12, 31))
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2060, 12, 31),
    timezones=ZONES,
    allow_imaginary=False,
)


def at_oslo_time(moment: dt.datetime, hour: int) -> bool:
    return moment.astimezone(OSLO).time() == dt.time(hour, 0)


def check_plan_invariants(plan: Plan) -> None:
    assert plan.send_at.utcoffset() is not None
    assert plan.expires_at.utcoffset() is not None
    assert at_oslo_time(plan.send_at, 8)
    assert at_oslo_time(plan.expires_at, 0)
    if plan.remind_at is not None:
        assert at_oslo_time(plan.remind_at, 8)
        assert plan.send_at < plan.remind_at < plan.expires_at


@given(planned=dates, saved_at=moments)
def test_pre_treatment_properties(planned, saved_at):
    plan = plan_pre_treatment(planned, saved_at)
    check_plan_invariants(plan)
    assert plan.send_at > saved_at
    assert plan.expires_at.astimezone(OSLO).date() == planned + dt.timedelta(days=1)
    nominal = dt.datetime.combine(planned - dt.timedelta(days=16), dt.time(8), tzinfo=OSLO)
    if nominal > saved_at:
        assert plan.send_at == nominal
    else:
        next_day = saved_at.astimezone(OSLO).date() + dt.timedelta(days=1)
        assert plan.send_at.astimezone(OSLO).date() == next_day
    # Sent at most a day and a few hours after saving when the nominal moment has passed.
    assert plan.send_at.astimezone(UTC) - saved_at.astimezone(UTC) <= max(
        dt.timedelta(hours=33), nominal.astimezone(UTC) - saved_at.astimezone(UTC)
    )


@given(visit=dates, months=st.sampled_from([6, 12]) | st.integers(0, 36))
def test_follow_up_properties(visit, months):
    plan = plan_follow_up(visit, months)
    check_plan_invariants(plan)
    assert plan.remind_at is not None
    index = visit.year * 12 + visit.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    send_day = plan.send_at.astimezone(OSLO).date()
    assert (send_day.year, send_day.month) == (year, month)
    assert send_day.day == min(visit.day, calendar.monthrange(year, month)[1])
    assert plan.remind_at.astimezone(OSLO).date() == send_day + dt.timedelta(days=14)
    assert plan.expires_at.astimezone(OSLO).date() == send_day + dt.timedelta(days=43)


@given(planned=dates, now=moments)
def test_reorder_expiry_properties(planned, now):
    expires = reorder_expiry(planned, now)
    assert at_oslo_time(expires, 0)
    assert expires >= dt.datetime.combine(planned + dt.timedelta(days=1), dt.time(), tzinfo=OSLO)
    # Seven calendar days, not 7 × 24 h: over the March change it can be an hour less.
    assert expires.astimezone(UTC) - now.astimezone(UTC) > dt.timedelta(days=7, hours=-1)
    last_day = expires.astimezone(OSLO).date() - dt.timedelta(days=1)
    assert last_day == max(planned, now.astimezone(OSLO).date() + dt.timedelta(days=7))


@given(planned=dates, sent_at=moments)
def test_rebooked_pre_treatment_properties(planned, sent_at):
    plan = rebooked_pre_treatment(planned, sent_at)
    assert plan.send_at == sent_at
    assert at_oslo_time(plan.expires_at, 0)
    if plan.remind_at is not None:
        assert at_oslo_time(plan.remind_at, 8)
        assert sent_at < plan.remind_at < plan.expires_at
