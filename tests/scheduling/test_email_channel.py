"""E-mail end to end: the worker hands invitations to a real (local) SMTP server."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from nnrr.lib.dates import OSLO
from nnrr.patients.models import Course
from nnrr.portal.services import order_by_token
from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import dispatch
from nnrr.scheduling.channels import EmailChannel
from nnrr.scheduling.models import Message, MessageState, Order, OrderState
from tests.conftest import ST_OLAVS, Persona, book, make_patient

BOOKED_AT = dt.datetime(2026, 3, 2, 14, 0, tzinfo=OSLO)
SEND_AT = dt.datetime(2026, 3, 3, 8, 0, tzinfo=OSLO)
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Collector:
    """An aiosmtpd handler keeping what it received."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[Collector]:
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND=SMTP_BACKEND,
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_TIMEOUT=5,
        ):
            yield collector
    finally:
        controller.stop()


@pytest.fixture
def smtp_down() -> Iterator[None]:
    """Settings pointing at a port where nothing listens."""
    with override_settings(
        EMAIL_BACKEND=SMTP_BACKEND,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=free_port(),
        EMAIL_USE_TLS=False,
        EMAIL_TIMEOUT=5,
    ):
        yield


@pytest.fixture
def booked(persona: Callable[[str], Persona]) -> Callable[..., Course]:
    def make(email_address: str = "kari.pasient@example.no") -> Course:
        patient = make_patient(ST_OLAVS, name="Kari Pasient", email=email_address)
        return book(persona("clinician"), patient, planned_in_days=10, now=BOOKED_AT)

    return make


def invitation(course: Course) -> Message:
    return Message.objects.get(order__course=course, order__kind=FormKind.PRE_TREATMENT)


def test_invitation_arrives_by_smtp_with_the_link_and_a_message_id_from_the_outbox_key(
    smtp_server: Collector, booked: Callable[..., Course]
) -> None:
    course = booked()

    result = dispatch.run_pass(worker_id="w-mail", now=SEND_AT, channel=EmailChannel())

    assert result.sent == 1
    assert len(smtp_server.received) == 1
    _sender, recipients, raw = smtp_server.received[0]
    assert recipients == ["kari.pasient@example.no"]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    message = invitation(course)
    assert parsed["Message-ID"] == f"<{message.key}@nnrr.invalid>"
    assert message.key == f"{message.order_id}-invitation"
    assert parsed["Auto-Submitted"] == "auto-generated"
    body = parsed.get_content()
    link = next(line.strip() for line in body.splitlines() if "/eprom/lenke/" in line)
    found = order_by_token(link.rstrip("/").rsplit("/", 1)[-1])
    assert found is not None and found.pk == message.order_id
    assert "Kari" not in body
    assert message.state == MessageState.SENT
    assert message.channel == "email"
    assert message.recipient == "k***@example.no"


def test_patient_without_email_gives_a_failed_message_with_an_explanation(
    smtp_server: Collector, booked: Callable[..., Course]
) -> None:
    course = booked(email_address="")

    result = dispatch.run_pass(worker_id="w-mail", now=SEND_AT, channel=EmailChannel())

    message = invitation(course)
    assert result.failed == 1
    assert smtp_server.received == []
    assert message.state == MessageState.FAILED
    assert "Ingen adresse" in message.outcome
    assert "Bestill på nytt" in message.outcome  # tells staff what to do instead
    # The order itself stays open: staff can hand over a one-time code.
    assert Order.objects.get(pk=message.order_id).state == OrderState.SENT


def test_smtp_server_down_is_retried_later(smtp_down: None, booked: Callable[..., Course]) -> None:
    course = booked()

    result = dispatch.run_pass(worker_id="w-mail", now=SEND_AT, channel=EmailChannel())

    message = invitation(course)
    assert result.sent == 0 and result.failed == 0
    assert message.state == MessageState.PENDING
    assert message.attempts == 1
    assert message.next_attempt_at is not None and message.next_attempt_at > SEND_AT
    assert message.claimed_by == ""
    assert message.outcome.startswith("SMTP")


def test_smtp_server_down_fails_after_max_attempts(
    smtp_down: None, booked: Callable[..., Course]
) -> None:
    course = booked()
    now = SEND_AT
    states = []
    for _ in range(dispatch.MAX_ATTEMPTS):
        dispatch.run_pass(worker_id="w-mail", now=now, channel=EmailChannel())
        message = invitation(course)
        states.append(message.state)
        if message.next_attempt_at is not None:
            now = max(now, message.next_attempt_at)

    assert states[:-1] == [MessageState.PENDING] * (dispatch.MAX_ATTEMPTS - 1)
    assert states[-1] == MessageState.FAILED
    message = invitation(course)
    assert message.attempts == dispatch.MAX_ATTEMPTS
    dispatch.run_pass(worker_id="w-mail", now=now + dt.timedelta(days=1), channel=EmailChannel())
    assert invitation(course).attempts == dispatch.MAX_ATTEMPTS  # no further tries


def test_retry_succeeds_when_the_server_is_back(booked: Callable[..., Course]) -> None:
    course = booked()
    port = free_port()
    settings_ = {
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "EMAIL_USE_TLS": False,
        "EMAIL_TIMEOUT": 5,
    }
    with override_settings(**settings_):
        dispatch.run_pass(worker_id="w-mail", now=SEND_AT, channel=EmailChannel())
        retry_at = invitation(course).next_attempt_at
        assert retry_at is not None
        collector = Collector()
        controller = Controller(collector, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            dispatch.run_pass(
                worker_id="w-mail", now=retry_at - dt.timedelta(seconds=1), channel=EmailChannel()
            )
            assert collector.received == []  # not before its time
            dispatch.run_pass(worker_id="w-mail", now=retry_at, channel=EmailChannel())
        finally:
            controller.stop()

    assert len(collector.received) == 1
    assert invitation(course).state == MessageState.SENT
