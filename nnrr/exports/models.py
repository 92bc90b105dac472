"""Export jobs: one requested datadump, its state while the worker builds it, and its archive.

The job row never holds the archive's password. Between the web request that chose it and the
worker that encrypts with it, the password travels sealed (AES-GCM under a key derived from the
installation secret) in ``sealed_password``; the worker wipes it when it claims the job, so it is
in the database for the seconds a job waits in the queue and never afterwards (see
docs/decisions/0015-export-password-handoff.md).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV (Excel, alle statistikkprogram)")
    XLSX = "xlsx", _("Excel (.xlsx)")
    SAV = "sav", _("SPSS (.sav)")
    DTA = "dta", _("Stata (.dta)")
    R = "r", _("R (CSV-filer og les_data.R)")


class ExportJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("I kø")
        RUNNING = "running", _("Lages")
        READY = "ready", _("Klar")
        FAILED = "failed", _("Feilet")
        EXPIRED = "expired", _("Slettet etter utløp")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="export_jobs"
    )
    membership_id = models.BigIntegerField()
    role = models.CharField(max_length=30)
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    client_address = models.GenericIPAddressField(null=True, blank=True)
    purpose = models.TextField(_("formål"))
    # The delivery step's one-time token: sending the same form twice (a reload) orders nothing
    # new and never shows the password again.
    request_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    filters = models.JSONField(default=dict)
    format = models.CharField(max_length=4, choices=ExportFormat.choices)
    identifiable = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    sealed_password = models.BinaryField(null=True, blank=True, editable=False)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    row_counts = models.JSONField(default=dict, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="exportjob_user_created"),
            models.Index(fields=["state", "expires_at"], name="exportjob_state_expires"),
        ]
        verbose_name = _("eksport")
        verbose_name_plural = _("eksporter")

    def __str__(self) -> str:
        return f"Eksport {self.created_at:%Y-%m-%d %H:%M} ({self.get_state_display()})"

    @property
    def archive_path(self) -> Path:
        return Path(settings.EXPORT_DIR) / f"{self.pk}.zip"

    @property
    def scratch_dir(self) -> Path:
        return Path(settings.EXPORT_DIR) / "tmp" / str(self.pk)

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.READY, self.State.FAILED, self.State.EXPIRED)

    @property
    def named_row_counts(self) -> list[tuple[str, int]]:
        """Rows per table, the tables named in the user's words (the files keep their names)."""
        from nnrr.exports.columns import table_label

        return [(table_label(name), count) for name, count in (self.row_counts or {}).items()]

    @property
    def archive_name(self) -> str:
        """The downloaded file's name: the format and the time to the second, so two exports
        never get the same name."""
        stamp = timezone.localtime(self.created_at).strftime("%Y%m%d-%H%M%S")
        return f"nnrr-eksport-{self.format}-{stamp}.zip"

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 0 if self.state != self.State.READY else 100
        return min(100, round(100 * self.rows_done / self.rows_total))
