"""``nnrr mllp --host --port``: receive the hospitals' HL7 v2 SIU appointment messages."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from nnrr.appointments import mllp, services
from nnrr.questionnaires.definitions import all_definitions


class Command(BaseCommand):
    help = "Receive HL7 v2 SIU appointment messages over MLLP; store, acknowledge, apply."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.MLLP_HOST)
        parser.add_argument("--port", type=int, default=settings.MLLP_PORT)
        parser.add_argument(
            "--poll", type=float, default=5.0, help="seconds between passes over stored messages"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Read the form definitions (a booking names the Behandlerskjema's version) before the
        # port opens, so the first message of the day does not wait for them.
        all_definitions()
        worker_id = services.new_worker_id()
        processor = mllp.Processor(poll=options["poll"], worker_id=worker_id)
        processor.start()

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            await mllp.serve(
                host=options["host"],
                port=options["port"],
                on_stored=processor.wake.set,
                ready=lambda server: self.stdout.write(
                    f"mllp {worker_id} listening on {options['host']}:{options['port']}"
                ),
                stop=stop,
            )

        try:
            asyncio.run(main())
        finally:
            processor.stop()
            processor.join(timeout=30)
            self.stdout.write(f"mllp {worker_id} stopped")
