"""``nnrr report_notices``: send the report subscription notices that are due (one pass).

The worker (``db_worker``) runs this at each subscription's due time; the command is the same
pass for cron or for catching up after downtime.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from nnrr.reports import notices
from nnrr.scheduling.management.commands.worker import parse_now


class Command(BaseCommand):
    help = "Send due report subscription notices (one pass)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="pretend it is this Oslo time (demo/test only)")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["now"]:
            if settings.PRODUCTION:
                from django.core.management.base import CommandError

                raise CommandError("--now is for demo and test environments only")
            now = parse_now(options["now"])
        sent = notices.send_due(now)
        self.stdout.write(f"{sent} report notices sent")
