"""Report subscriptions: when one is due, the quarterly report is made and a notice sent.

The notice carries no personal or health data: the unit's name, the report's name and a link to
the report behind login (docs/decisions/0016-report-notices-without-attachments.md). Sending is
idempotent: a subscription row is locked, and its next due date moves before the mail goes, so
two workers (or a rerun) never send the same notice twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from nnrr.lib.dates import add_months, oslo_date, oslo_datetime
from nnrr.reports import documents
from nnrr.reports.models import ReportDocument, Subscription
from nnrr.scheduling.channels import FileChannel, OutgoingMessage

log = logging.getLogger(__name__)

RUNS_FOR_YEARS = 3
SEND_HOUR = 7
MONTHS = {
    Subscription.Frequency.MONTHLY: 1,
    Subscription.Frequency.QUARTERLY: 3,
    Subscription.Frequency.YEARLY: 12,
}


def end_for(start: dt.date) -> dt.date:
    """A subscription ends after three years unless renewed."""
    return add_months(start, 12 * RUNS_FOR_YEARS) - dt.timedelta(days=1)


def next_after(due: dt.date, frequency: str, start: dt.date) -> dt.date:
    """The next due date: counted from the start date, so month-end clamping never drifts."""
    months = MONTHS[Subscription.Frequency(frequency)]
    step = 1
    while True:
        candidate = add_months(start, months * step)
        if candidate > due:
            return candidate
        step += 1


def due_moment(day: dt.date) -> dt.datetime:
    return oslo_datetime(day, SEND_HOUR)


@dataclass(frozen=True)
class Notice:
    to: str
    subject: str
    body: str
    key: str


def notice_for(subscription: Subscription, document: ReportDocument) -> Notice:
    link = settings.REPORTS_BASE_URL + reverse(
        "reports:document", kwargs={"document_id": document.pk}
    )
    title = documents.title(document)
    body = (
        f"{title} fra Norsk nakke- og ryggregister er klar.\n\n"
        f"Logg inn for å lese rapporten:\n{link}\n\n"
        "Lenken krever innlogging med en profil som har tilgang til enhetens rapporter. "
        "E-posten inneholder ingen pasientopplysninger.\n\n"
        f"Du får denne e-posten fordi du abonnerer på rapporten til og med "
        f"{subscription.end_date:%d.%m.%Y}. Abonnementet kan avsluttes eller fornyes under "
        "Rapporter → Abonnement.\n"
    )
    return Notice(subscription.email, f"NNRR: {title}", body, f"report-{document.pk}")


def deliver(notice: Notice) -> bool:
    """Hand the notice to the configured channel; False when no channel sends mail."""
    if settings.CHANNEL == "file":  # the demo: an .eml file in the outbox folder
        FileChannel().send(OutgoingMessage(notice.key, notice.to, notice.subject, notice.body))
        return True
    if settings.CHANNEL == "email":
        EmailMessage(
            subject=notice.subject,
            body=notice.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notice.to],
            headers={"Auto-Submitted": "auto-generated"},
        ).send(fail_silently=False)
        return True
    log.info("report notice %s not sent: NNRR_CHANNEL=none", notice.key)
    return False


def active(today: dt.date) -> Q:
    return Q(cancelled_at__isnull=True, end_date__gte=today)


def send_due(now: dt.datetime) -> int:
    """Send every notice due by ``now``; returns how many were sent."""
    today = oslo_date(now)
    if now < due_moment(today):
        today -= dt.timedelta(days=1)  # before 07:00, today's notices are not due yet
    due_ids = list(
        Subscription.objects.filter(active(today), next_due__lte=today).values_list("pk", flat=True)
    )
    sent = 0
    for subscription_id in due_ids:
        if _send_one(subscription_id, today, now):
            sent += 1
    return sent


def _send_one(subscription_id: uuid.UUID, today: dt.date, now: dt.datetime) -> bool:
    from nnrr.reports import tasks

    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update()
            .select_related("unit")
            .filter(active(today), pk=subscription_id, next_due__lte=today)
            .first()
        )
        if subscription is None:
            return False  # sent by another worker meanwhile, or cancelled
        if subscription.user_id is not None and not _still_allowed(subscription):
            # The subscriber no longer holds a report role at the unit: the subscription ends.
            subscription.cancelled_at = now
            subscription.save(update_fields=["cancelled_at"])
            return False
        document = ReportDocument.objects.create(
            kind=ReportDocument.Kind.QUARTERLY,
            unit=subscription.unit,
            period_end=documents.last_completed_quarter_end(today),
            requested_by=subscription.user,
            requested_unit=subscription.unit,
        )
        subscription.next_due = next_after(
            subscription.next_due, subscription.frequency, subscription.start_date
        )
        subscription.last_sent_at = now
        subscription.save(update_fields=["next_due", "last_sent_at"])
        transaction.on_commit(lambda: tasks.make_document.enqueue(str(document.pk)))
        notice = notice_for(subscription, document)
        deliver(notice)  # an error rolls the due date back: the next pass tries again
    if subscription.next_due <= subscription.end_date:
        schedule(subscription)
    return True


def _still_allowed(subscription: Subscription) -> bool:
    from nnrr.accounts.profiles import ROLE_RIGHTS, Right, active_memberships

    roles = [role for role, rights in ROLE_RIGHTS.items() if Right.REPORTS in rights]
    user_id = subscription.user_id
    if user_id is None:  # a recipient the secretariat chose
        return True
    return (
        active_memberships()
        .filter(user_id=user_id, role__in=roles)
        .filter(Q(unit_id=subscription.unit_id) | Q(role__in=_national_roles()))
        .exists()
    )


def _national_roles() -> list[str]:
    from nnrr.accounts.profiles import ROLE_RIGHTS, Right

    return [role for role, rights in ROLE_RIGHTS.items() if Right.ADMINISTER in rights]


def schedule(subscription: Subscription) -> None:
    """Ask the worker to look at this subscription when it is next due."""
    from nnrr.reports import tasks

    when = due_moment(subscription.next_due)
    tasks.send_report_notices.using(run_after=when).enqueue()
