"""E-mail to staff (answers to access applications). No health data, ever.

With ``NNRR_CHANNEL=email`` the notices go by SMTP like the patients' messages; with ``file`` (the
demo) they are written as .eml files under the outbox folder (``staff/``); with ``none`` they are
not sent. A notice that cannot be sent is logged and does not undo the decision it reports.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction

logger = logging.getLogger(__name__)
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def _connection() -> Any:
    if settings.CHANNEL == "file" and settings.EMAIL_BACKEND == SMTP_BACKEND:
        folder = settings.OUTBOX_DIR / "staff"
        folder.mkdir(parents=True, exist_ok=True)
        return get_connection("django.core.mail.backends.filebased.EmailBackend", file_path=folder)
    return get_connection()


def send_staff_notice(to: str, subject: str, body: str) -> None:
    """Send after the surrounding transaction commits."""
    if settings.CHANNEL == "none" or not to:
        return

    def send() -> None:
        try:
            EmailMessage(
                subject=subject,
                body=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[to],
                headers={"Auto-Submitted": "auto-generated"},
                connection=_connection(),
            ).send(fail_silently=False)
        except OSError:
            logger.exception("staff notice could not be sent")

    transaction.on_commit(send)
