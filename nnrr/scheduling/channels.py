"""Channels that carry messages to patients: e-mail (SMTP), file (.eml files, the demo default),
and none. Helsenorge or Digipost adapters plug in behind the same interface.

Messages carry no health data: a link, the deadline and plain instructions.
"""

from __future__ import annotations

import email.policy
import os
import tempfile
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import Message as MimeMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from nnrr.patients.models import Patient


class ChannelError(Exception):
    """The message could not be handed over; ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class OutgoingMessage:
    key: str  # the outbox key: one message per order and kind
    to: str
    subject: str
    body: str


class Channel(Protocol):
    name: str

    def address_for(self, patient: Patient) -> str | None:
        """Where this channel reaches the patient, or None if it cannot."""

    def send(self, message: OutgoingMessage) -> None:
        """Hand the message over; raise :class:`ChannelError` on failure."""

    def confirm(self, key: str) -> bool | None:
        """After a crash: was the message with ``key`` handed over? None when unknowable."""


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_SMTP_COMPAT = email.policy.compat32.clone(linesep="\r\n")


def _encoded(value: str) -> str:
    """A header value as RFC 2047 encoded words when it is not plain ASCII."""
    return value if value.isascii() else Header(value, "utf-8").encode()


def _message_id(key: str) -> str:
    return f"<{key}@nnrr.invalid>"


class EmailChannel:
    name = "email"

    def address_for(self, patient: Patient) -> str | None:
        return patient.email or None

    def send(self, message: OutgoingMessage) -> None:
        mail = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={"Message-ID": _message_id(message.key), "Auto-Submitted": "auto-generated"},
            connection=get_connection(fail_silently=False),
        )
        try:
            mail.send(fail_silently=False)
        except OSError as exc:  # smtplib errors are OSError subclasses
            raise ChannelError(f"SMTP: {exc}") from exc

    def confirm(self, key: str) -> bool | None:
        return None  # an SMTP server cannot be asked afterwards


class FileChannel:
    """Writes each message as ``<key>.eml`` into a folder, atomically (the demo channel)."""

    name = "file"

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory or settings.OUTBOX_DIR)

    def address_for(self, patient: Patient) -> str | None:
        # The demo shows every message, so a patient without e-mail still gets one on file.
        return patient.email or f"pasient-{str(patient.pk)[:8]}@demo.invalid"

    def path_for(self, key: str) -> Path:
        return self.directory / f"{key}.eml"

    def send(self, message: OutgoingMessage) -> None:
        # The classic email API: the same RFC 5322 message (UTF-8, quoted-printable) at a fifth
        # of the cost of the header registry, which dominated a busy morning's dispatch.
        mime = MimeMessage()
        mime.set_payload(message.body, _UTF8_QP)  # text/plain; charset="utf-8", quoted-printable
        mime["From"] = _encoded(settings.DEFAULT_FROM_EMAIL)
        mime["To"] = _encoded(message.to)
        mime["Subject"] = _encoded(message.subject)
        mime["Date"] = format_datetime(timezone.now())
        mime["Message-ID"] = _message_id(message.key) if message.key else make_msgid()
        try:
            # The messages hold portal links: owner-only folder, and mkstemp's 0600 files.
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
            with os.fdopen(fd, "wb") as fh:
                fh.write(mime.as_bytes(policy=_SMTP_COMPAT))
            os.replace(tmp, self.path_for(message.key))
        except OSError as exc:
            raise ChannelError(f"file: {exc}") from exc

    def confirm(self, key: str) -> bool | None:
        return self.path_for(key).exists()


class NoneChannel:
    """Sends nothing: staff notify the patient themselves."""

    name = "none"

    def address_for(self, patient: Patient) -> str | None:
        return None

    def send(self, message: OutgoingMessage) -> None:
        raise ChannelError("no channel configured", permanent=True)

    def confirm(self, key: str) -> bool | None:
        return False


def get_channel(name: str | None = None) -> Channel:
    name = name or settings.CHANNEL
    if name == "email":
        return EmailChannel()
    if name == "file":
        return FileChannel()
    return NoneChannel()
