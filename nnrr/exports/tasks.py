"""Background tasks of the export queue (django-tasks, run by ``manage.py db_worker``)."""

from __future__ import annotations

from django_tasks import task

from nnrr.exports import services


@task(queue_name="exports")
def run_export(job_id: str) -> str:
    return str(services.run_export_job(job_id))


@task(queue_name="exports")
def delete_export(job_id: str) -> int:
    """Runs when a ready archive's download window has passed."""
    return services.purge_expired()
