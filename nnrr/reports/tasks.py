"""Background jobs of the reports (run by ``manage.py db_worker``, queue "reports")."""

from __future__ import annotations

from django_tasks import task

from nnrr.reports import documents


@task(queue_name="reports")
def make_document(document_id: str) -> None:
    documents.make(document_id)
