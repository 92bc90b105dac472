"""``nnrr worker``: sends due questionnaires and reminders, expires orders, purges unconsented
courses. Polls the database; run as many as you like, on as many machines as you like."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections, connections

from nnrr.audit.startup import refuse_unsafe_role
from nnrr.lib.dates import OSLO
from nnrr.scheduling import dispatch
from nnrr.scheduling.channels import get_channel

logger = logging.getLogger(__name__)


def parse_now(raw: str) -> dt.datetime:
    """An Oslo wall-clock time like "2026-12-01 08:05" (or ISO 8601 with an offset)."""
    try:
        moment = dt.datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise CommandError(f"--now must look like 2026-12-01 08:05, not {raw!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=OSLO)
    return moment


class Command(BaseCommand):
    help = "Run the dispatch worker (questionnaires, reminders, expiry, purge)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run one pass and exit")
        parser.add_argument(
            "--now",
            help='pretend it is this Oslo time, e.g. "2026-12-01 08:05" (one pass; demo/test)',
        )
        parser.add_argument("--poll", type=int, default=None, help="seconds between passes")
        parser.add_argument("--channel", choices=["file", "email", "none"], default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        channel = get_channel(options["channel"])
        worker_id = dispatch.new_worker_id()
        poll = options["poll"] or settings.WORKER_POLL_SECONDS
        if options["now"]:
            if settings.PRODUCTION:
                raise CommandError("--now is for demo and test environments only")
            now = parse_now(options["now"])
            result = dispatch.run_pass(worker_id=worker_id, now=now, channel=channel)
            dispatch.retire(worker_id)
            self.stdout.write(f"{now.isoformat()} {result}")
            return
        refuse_unsafe_role()  # production: never as a role that could lift the audit triggers
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"worker {worker_id} started (channel {channel.name}, every {poll}s)")
        try:
            while not stopping:
                close_old_connections()
                try:
                    result = dispatch.run_pass(
                        worker_id=worker_id,
                        now=dispatch.current_time(),
                        channel=channel,
                        stop=lambda: stopping,
                    )
                except DatabaseError as exc:
                    # The database restarted or is briefly away: drop the broken connection
                    # and try again after the poll interval. A message sent but not recorded
                    # is reconciled by the next pass (decision 0005), never sent again.
                    logger.warning("worker %s: database unavailable (%s); retrying", worker_id, exc)
                    connections.close_all()
                    for _ in range(poll * 10):
                        if stopping:
                            break
                        time.sleep(0.1)
                    continue
                busy = any(
                    (
                        result.sent,
                        result.invitations,
                        result.reminders,
                        result.expired,
                        result.purged,
                        result.failed,
                        result.reconciled,
                        result.missed,
                    )
                )
                if busy:
                    self.stdout.write(f"{dispatch.current_time().isoformat()} {result}")
                if options["once"]:
                    break
                if result.sent or result.invitations or result.reminders or result.skipped:
                    continue  # a backlog (a Monday morning): the next pass at once, no poll wait
                for _ in range(poll * 10):
                    if stopping:
                        break
                    time.sleep(0.1)
        finally:
            try:
                dispatch.retire(worker_id)
            except DatabaseError:
                logger.warning("worker %s: could not record its stop (database away)", worker_id)
            self.stdout.write(f"worker {worker_id} stopped")
