"""Orders of patient questionnaires, the outbox of messages, and worker heartbeats."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nnrr.lib.scopes import ScopedManager
from nnrr.questionnaires.models import FormKind


class OrderState(models.TextChoices):
    PLANNED = "planned", _("Planlagt")
    SENT = "sent", _("Sendt")
    REMINDED = "reminded", _("Purret")
    ANSWERED = "answered", _("Besvart")
    EXPIRED = "expired", _("Utgått")
    CANCELLED = "cancelled", _("Kansellert")
    MISSED = "missed", _("Ikke sendt (fristen var passert)")


OPEN_STATES = (OrderState.PLANNED, OrderState.SENT, OrderState.REMINDED)
# States in which the patient can open the questionnaire.
FILLABLE_STATES = (OrderState.SENT, OrderState.REMINDED)


class Order(models.Model):
    """An order ("ePROM-bestilling") of one patient form for one course and time point."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey("patients.Course", on_delete=models.CASCADE, related_name="orders")
    kind = models.CharField(_("skjema"), max_length=2, choices=FormKind.choices)
    state = models.CharField(
        _("status"), max_length=10, choices=OrderState.choices, default=OrderState.PLANNED
    )
    send_at = models.DateTimeField(_("sendes"))
    remind_at = models.DateTimeField(_("påminnelse"), null=True, blank=True)
    expires_at = models.DateTimeField(_("utløper"))
    sent_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)
    # "Jeg vil varsle mottaker selv": staff hand the one-time code over; no message is sent.
    notify_self = models.BooleanField(default=False)
    # Secrets are stored only as keyed hashes; the code is shown to staff once.
    code_hash = models.CharField(max_length=64, unique=True)
    # The code sealed with the installation's secret (codes.seal_code), so staff can show a
    # pending order's code again; cleared when the order closes.
    code_sealed = models.TextField(blank=True, default="")
    token_hash = models.CharField(max_length=64, unique=True)
    token_salt = models.CharField(max_length=32)
    code_failures = models.PositiveSmallIntegerField(default=0)
    code_locked_at = models.DateTimeField(null=True, blank=True)
    code_used_at = models.DateTimeField(null=True, blank=True)
    response = models.OneToOneField(
        "questionnaires.Response",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="order",
    )
    replaces = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaced_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    # Patient data: queried only inside a unit scope (nnrr.lib.scopes).
    objects = ScopedManager["Order"]()
    unit_path: ClassVar[str] = "course__unit"

    class Meta:
        ordering = ["send_at"]
        constraints = [
            # One live order per course and form; "Bestill på nytt" closes the old one first.
            models.UniqueConstraint(
                fields=["course", "kind"],
                condition=models.Q(state__in=["planned", "sent", "reminded"]),
                name="order_one_open_per_course_kind",
            )
        ]
        indexes = [
            models.Index(fields=["state", "send_at"], name="order_due_send"),
            models.Index(fields=["state", "remind_at"], name="order_due_remind"),
            models.Index(fields=["state", "expires_at"], name="order_due_expire"),
        ]
        verbose_name = _("ePROM-bestilling")
        verbose_name_plural = _("ePROM-bestillinger")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_state_display()})"


class MessageKind(models.TextChoices):
    INVITATION = "invitation", _("Invitasjon")
    REMINDER = "reminder", _("Påminnelse")


class MessageState(models.TextChoices):
    PENDING = "pending", _("Venter")
    SENDING = "sending", _("Sendes")
    SENT = "sent", _("Sendt")
    SKIPPED = "skipped", _("Ikke sendt")
    FAILED = "failed", _("Feilet")
    UNCERTAIN = "uncertain", _("Uvisst (avbrutt under sending)")


class Message(models.Model):
    """The outbox: one row per order and message kind, so nothing is ever sent twice."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    key = models.CharField(max_length=80, unique=True)
    state = models.CharField(
        max_length=10, choices=MessageState.choices, default=MessageState.PENDING
    )
    channel = models.CharField(max_length=20)
    recipient = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    # Patient data: queried only inside a unit scope (nnrr.lib.scopes).
    objects = ScopedManager["Message"]()
    unit_path: ClassVar[str] = "order__course__unit"

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="message_one_per_order_kind")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="message_pending")]
        verbose_name = _("melding")
        verbose_name_plural = _("meldinger")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key} ({self.get_state_display()})"


class WorkerHeartbeat(models.Model):
    """A running worker process; a claim by a worker that stopped beating may be reconciled."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}"
