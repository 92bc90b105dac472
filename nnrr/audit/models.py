"""The audit event: who did what to which patient's data, as which profile, when, from where."""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    """Audit events are never changed or deleted by the application."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit events cannot be deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events cannot be updated")


class Outcome(models.TextChoices):
    OK = "ok", _("utført")
    DENIED = "denied", _("avvist")
    FAILED = "failed", _("feilet")
    CONFLICT = "conflict", _("konflikt")


class AuditEvent(models.Model):
    """One audited action. Holds no clinical values, answers, passwords or tokens."""

    at = models.DateTimeField(_("tidspunkt"), db_index=True)
    actor = models.ForeignKey(
        "accounts.User",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(_("bruker"), max_length=200, blank=True)
    role = models.CharField(_("rolle"), max_length=30, blank=True)
    unit = models.ForeignKey(
        "accounts.Unit",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(_("handling"), max_length=80, db_index=True)
    outcome = models.CharField(
        _("utfall"), max_length=10, choices=Outcome.choices, default=Outcome.OK
    )
    # A plain reference, not a foreign key: the trail outlives the patient record it points to.
    patient_id = models.UUIDField(_("pasient"), null=True, blank=True, db_index=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    client_address = models.GenericIPAddressField(_("adresse"), null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["unit", "-at"], name="audit_unit_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
        ]
        verbose_name = _("logghendelse")
        verbose_name_plural = _("logghendelser")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} ({self.outcome})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Guard, not a domain rule: there is no update path for audit rows.
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events cannot be deleted")
