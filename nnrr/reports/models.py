"""Coverage figures, report documents (PDF jobs) and report subscriptions."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CoverageEntry(models.Model):
    """The number of eligible patients a unit reported for one half-year.

    Never updated: a correction is a new entry, so the history (who, when, what) is kept; the
    newest entry for a unit and half-year is the one in use.
    """

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("år"))
    half = models.PositiveSmallIntegerField(
        _("halvår"), choices=[(1, _("1. halvår")), (2, _("2. halvår"))]
    )
    eligible = models.PositiveIntegerField(_("antall aktuelle pasienter"))
    note = models.CharField(_("merknad"), max_length=300, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    entered_by_name = models.CharField(max_length=200, blank=True)
    entered_at = models.DateTimeField()

    class Meta:
        ordering = ["unit", "-year", "-half", "-entered_at"]
        indexes = [
            models.Index(fields=["unit", "year", "half", "-entered_at"], name="coverage_period")
        ]
        verbose_name = _("dekningsgradstall")
        verbose_name_plural = _("dekningsgradstall")

    def __str__(self) -> str:
        return f"{self.unit_id} {self.year}-{self.half}: {self.eligible}"


class ReportDocument(models.Model):
    """A PDF report made by the worker; the page shows its progress until it is ready."""

    class Kind(models.TextChoices):
        QUARTERLY = "quarterly", _("Kvartalsrapport")
        ANNUAL = "annual", _("Årsrapport")

    class State(models.TextChoices):
        QUEUED = "queued", _("I kø")
        RUNNING = "running", _("Lages")
        DONE = "done", _("Ferdig")
        FAILED = "failed", _("Feilet")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The unit the report is about (quarterly) or the requesting profile's unit (annual).
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    period_end = models.DateField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The unit whose profile asked: only that unit's profiles (or the secretariat) may open it.
    requested_unit = models.ForeignKey(
        "accounts.Unit", on_delete=models.PROTECT, null=True, related_name="+"
    )
    national = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    step = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)
    pdf = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("rapportdokument")
        verbose_name_plural = _("rapportdokumenter")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.unit_id} {self.period_end}"


class Subscription(models.Model):
    """A standing order of a unit's quarterly report: a notice (link behind login) when due."""

    class Frequency(models.TextChoices):
        MONTHLY = "monthly", _("Månedlig")
        QUARTERLY = "quarterly", _("Kvartalsvis")
        YEARLY = "yearly", _("Årlig")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    # Set when the secretariat sends to someone without an account profile here.
    email = models.EmailField(_("e-post"))
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    created_by_unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    frequency = models.CharField(_("hyppighet"), max_length=10, choices=Frequency.choices)
    start_date = models.DateField(_("startdato"))
    end_date = models.DateField(_("sluttdato"))
    next_due = models.DateField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["unit", "-created_at"]
        indexes = [models.Index(fields=["next_due"], name="subscription_due")]
        verbose_name = _("abonnement")
        verbose_name_plural = _("abonnementer")

    def __str__(self) -> str:
        return f"{self.email} {self.unit_id} {self.frequency}"

    @property
    def is_active(self) -> bool:
        return self.cancelled_at is None
