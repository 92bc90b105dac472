"""Subscriptions: due notices with a frozen clock, no health data in the mail, cancel, renew."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from nnrr.lib.dates import oslo_datetime
from nnrr.reports import notices
from nnrr.reports.models import ReportDocument, Subscription

URL = reverse("reports:subscriptions")


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nnrr.reports.views.oslo_date", lambda now: dt.date(2026, 1, 5))
    monkeypatch.setattr("nnrr.reports.forms.oslo_date", lambda now: dt.date(2026, 1, 5))


@pytest.fixture
def subscription(as_persona: Any, persona: Any, frozen: None, settings: Any) -> Subscription:
    settings.CHANNEL = "email"
    reader = persona("report_reader")
    reader.user.email = "randi@stolav.example"
    reader.user.save()
    response = as_persona("report_reader").post(
        URL, {"hyppighet": "monthly", "start": "2026-01-31", "epost": "randi@stolav.example"}
    )
    assert response.status_code == 302
    return Subscription.objects.get()


def test_subscribing_sets_three_years_and_schedules_the_worker(subscription: Subscription) -> None:
    assert subscription.unit_id == 104293
    assert subscription.end_date == dt.date(2029, 1, 30)
    assert subscription.next_due == dt.date(2026, 1, 31)
    from django_tasks_db.models import DBTaskResult

    job = DBTaskResult.objects.get(task_path="nnrr.reports.tasks.send_report_notices")
    assert job.run_after == oslo_datetime(dt.date(2026, 1, 31), 7)


def test_due_notices_with_a_frozen_clock(subscription: Subscription, client: Any) -> None:
    assert notices.send_due(oslo_datetime(dt.date(2026, 1, 30), 12)) == 0
    assert notices.send_due(oslo_datetime(dt.date(2026, 1, 31), 6, 59)) == 0  # before 07:00
    assert notices.send_due(oslo_datetime(dt.date(2026, 1, 31), 7)) == 1
    assert notices.send_due(oslo_datetime(dt.date(2026, 1, 31), 9)) == 0  # never twice
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["randi@stolav.example"]
    assert message.subject == "NNRR: Kvartalsrapport St. Olavs, 4. kvartal 2025"
    # No attachment and no figures: a link behind login (docs/decisions/0016).
    assert message.attachments == []
    assert "%" not in message.body and "N=" not in message.body
    document = ReportDocument.objects.get()
    link = reverse("reports:document", kwargs={"document_id": document.pk})
    assert link in message.body
    assert client.get(link).status_code == 302  # not logged in: to the login page
    # Month-end clamping does not drift: 31 Jan → 28 Feb → 31 Mar.
    subscription.refresh_from_db()
    assert subscription.next_due == dt.date(2026, 2, 28)
    assert notices.send_due(oslo_datetime(dt.date(2026, 2, 28), 8)) == 1
    subscription.refresh_from_db()
    assert subscription.next_due == dt.date(2026, 3, 31)


def test_no_notice_after_the_end_or_when_cancelled(
    subscription: Subscription, as_persona: Any
) -> None:
    Subscription.objects.filter(pk=subscription.pk).update(next_due=dt.date(2029, 1, 31))
    assert notices.send_due(oslo_datetime(dt.date(2029, 2, 1), 8)) == 0  # ended 30.01.2029
    Subscription.objects.filter(pk=subscription.pk).update(next_due=dt.date(2026, 1, 31))
    client = as_persona("report_reader")
    change = reverse("reports:subscription_change", kwargs={"subscription_id": subscription.pk})
    assert client.post(change, {"handling": "avslutt"}).status_code == 302
    assert notices.send_due(oslo_datetime(dt.date(2026, 2, 1), 8)) == 0
    assert mail.outbox == []


def test_renewing_extends_by_three_years(subscription: Subscription, as_persona: Any) -> None:
    client = as_persona("report_reader")
    change = reverse("reports:subscription_change", kwargs={"subscription_id": subscription.pk})
    client.post(change, {"handling": "avslutt"})
    client.post(change, {"handling": "forny"})
    subscription.refresh_from_db()
    assert subscription.cancelled_at is None
    assert subscription.end_date == dt.date(2029, 1, 4)


def test_the_secretariat_sends_to_another_recipient(
    as_persona: Any, frozen: None, settings: Any
) -> None:
    settings.CHANNEL = "email"
    client = as_persona("national_admin")
    response = client.post(
        URL,
        {
            "hyppighet": "quarterly",
            "start": "2026-01-05",
            "epost": "leder@haukeland.example",
            "enhet": "102959",
        },
    )
    assert response.status_code == 302
    subscription = Subscription.objects.get()
    assert (subscription.unit_id, subscription.user) == (102959, None)
    assert notices.send_due(oslo_datetime(dt.date(2026, 1, 5), 8)) == 1
    assert mail.outbox[0].to == ["leder@haukeland.example"]
    assert "Haukeland" in mail.outbox[0].subject


def test_others_cannot_see_or_change_a_subscription(
    subscription: Subscription, as_persona: Any
) -> None:
    other = as_persona("haukeland_local_admin")
    assert "randi@stolav.example" not in other.get(URL).content.decode()
    change = reverse("reports:subscription_change", kwargs={"subscription_id": subscription.pk})
    assert other.post(change, {"handling": "avslutt"}).status_code == 404
    subscription.refresh_from_db()
    assert subscription.cancelled_at is None


def test_bad_input_gets_a_message(as_persona: Any, frozen: None) -> None:
    client = as_persona("report_reader")
    for bad in (
        {"hyppighet": "daily", "start": "2026-02-01", "epost": "a@b.no"},
        {"hyppighet": "monthly", "start": "2025-12-01", "epost": "a@b.no"},
        {"hyppighet": "monthly", "start": "i morgen", "epost": "a@b.no"},
        {"hyppighet": "monthly", "start": "2026-02-01", "epost": "ikke-epost"},
    ):
        response = client.post(URL, bad)
        assert response.status_code == 400
        assert 'class="ds-validation-message"' in response.content.decode()
    assert not Subscription.objects.exists()


def test_a_subscriber_who_lost_the_report_role_gets_nothing(
    subscription: Subscription, persona: Any
) -> None:
    reader = persona("report_reader")
    reader.membership.valid_until = dt.date(2026, 1, 1)
    reader.membership.save()
    assert notices.send_due(oslo_datetime(dt.date(2026, 1, 31), 8)) == 0
    assert mail.outbox == []
    subscription.refresh_from_db()
    assert subscription.cancelled_at is not None


def test_in_the_demo_the_notice_is_a_file_in_the_outbox(
    subscription: Subscription, settings: Any, tmp_path: Any
) -> None:
    settings.CHANNEL = "file"
    settings.OUTBOX_DIR = tmp_path
    assert notices.send_due(oslo_datetime(dt.date(2026, 1, 31), 8)) == 1
    (eml,) = tmp_path.glob("*.eml")
    text = eml.read_text()
    assert "Kvartalsrapport St. Olavs" in text and "/rapporter/pdf/" in text
    assert "Content-Disposition: attachment" not in text
