"""Background jobs of the reports (run by ``manage.py db_worker``, queue "reports")."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from nnrr.reports import documents, notices


@task(queue_name="reports")
def make_document(document_id: str) -> None:
    documents.make(document_id)


@task(queue_name="reports")
def send_report_notices() -> int:
    """Send the subscription notices that are due (scheduled for each subscription's due time)."""
    return notices.send_due(timezone.now())
