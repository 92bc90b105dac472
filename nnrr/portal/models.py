"""Portal state kept in the database so that every web process sees it."""

from __future__ import annotations

from django.db import models


class PortalThrottle(models.Model):
    """Failed one-time-code attempts per client address, to slow guessing."""

    address = models.CharField(max_length=64, primary_key=True)
    failures = models.PositiveIntegerField(default=0)
    blocked_until = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.address}: {self.failures}"
