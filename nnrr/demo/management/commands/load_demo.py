"""``nnrr load_demo``: the demo users and ~50 patients in every state (idempotent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from nnrr.demo.loader import load_demo


class Command(BaseCommand):
    help = "Load the demo data set (only with NNRR_DEMO=1). Running it twice changes nothing."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO:
            raise CommandError("Demo data is only loaded with NNRR_DEMO=1.")
        load_demo(now=timezone.now(), out=self.stdout)
