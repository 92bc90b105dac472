"""The MLLP listener: each HL7 message is stored, then acknowledged; a processor thread applies
stored messages (``nnrr mllp``). python-hl7's asyncio MLLP streams do the framing."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connections
from django.utils import timezone
from hl7.mllp import start_hl7_server
from hl7.mllp.exceptions import InvalidBlockError

from nnrr.appointments import hl7feed, services

log = logging.getLogger(__name__)

# A message larger than this is refused by the framing (1 MiB: a SIU is a few hundred bytes).
MAX_MESSAGE_BYTES = 1024 * 1024


def receive(block: bytes, *, now: dt.datetime, units: services.Units | None = None) -> bytes:
    """One framed message in, its ACK out. The message is committed to the database before the
    ACK is written; if it cannot be stored the answer is AE, so the sender keeps it and resends.
    ``units``: the units (and their feed settings) already looked up."""
    text = hl7feed.decode(block)
    try:
        parsed = hl7feed.read(text, units=units)
    except Exception:  # the unit's look-up needs the database; answer AE, never drop it
        log.exception("an HL7 message could not be read")
        parsed = hl7feed.Parsed(
            message=None,
            failure="NNRR kunne ikke lese meldingen nå; send den på nytt.",
            ack="AE",
            error=hl7feed.ERR_INTERNAL,
        )
    try:
        stored = services.store_message(
            transport="mllp",
            raw=text,
            now=now,
            source=parsed.source,
            unit_code=parsed.unit_code,
            unit=parsed.unit,
            message_id=parsed.message_id,
            message_type=parsed.message_type,
            event=parsed.event,
            failure=parsed.failure,
            ack_code=parsed.ack,
        )
    except Exception:
        log.exception("an HL7 message could not be stored")
        parsed = hl7feed.replace(
            parsed,
            failure="NNRR kunne ikke lagre meldingen; send den på nytt.",
            ack="AE",
            error=hl7feed.ERR_INTERNAL,
        )
    else:
        if not parsed.failure:
            services.read_at_intake.keep(stored, hl7feed.replace(parsed, message=None))
    return hl7feed.ack(parsed).encode("utf-8")


# How long the database thread trusts its connection and what it looked up: a burst of messages
# is not checked and looked up message by message.
FRESH_SECONDS = 1.0


class _Intake(threading.local):
    def __init__(self) -> None:
        self.units = services.Units()
        self.checked = -math.inf


_intake = _Intake()


def _receive_on_thread(block: bytes) -> bytes:
    moment = time.monotonic()
    if moment - _intake.checked > FRESH_SECONDS:
        # The thread keeps its database connection between messages: drop a broken one (it is
        # checked before use), and look the units up again. So a message is read (and
        # acknowledged) with its unit's field map as it was at most a second ago; the processor
        # looks the units and their filters up afresh for each batch it applies.
        close_old_connections()
        _intake.units = services.Units()
        _intake.checked = moment
    return receive(block, now=timezone.now(), units=_intake.units)


class Processor(threading.Thread):
    """Applies stored messages soon after they arrive (woken by each one), and every ``poll``
    seconds in any case (messages left by a stopped process, "Behandle på nytt")."""

    def __init__(self, *, poll: float, worker_id: str) -> None:
        super().__init__(name="nnrr-appointments", daemon=True)
        self.poll = poll
        self.worker_id = worker_id
        self.wake = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        checked = -math.inf
        while not self.stopping.is_set():
            self.wake.wait(self.poll)
            self.wake.clear()
            try:
                if time.monotonic() - checked > FRESH_SECONDS:
                    close_old_connections()  # a broken connection is dropped, checked before use
                    checked = time.monotonic()
                services.process_pending(worker_id=self.worker_id, now=timezone.now())
            except Exception:
                log.exception("processing received appointments failed; retrying")
                checked = -math.inf
        connections.close_all()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()


async def serve(
    *,
    host: str,
    port: int,
    on_stored: Callable[[], None] = lambda: None,
    ready: Callable[[asyncio.AbstractServer], None] = lambda server: None,
    stop: asyncio.Event | None = None,
) -> None:
    """Listen on ``host:port`` until ``stop`` is set."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    block = await reader.readblock()  # type: ignore[attr-defined]
                except (asyncio.IncompleteReadError, ConnectionError):
                    break  # the sender closed the connection
                except (InvalidBlockError, ValueError) as exc:
                    log.warning(
                        "MLLP framing error from %s: %s", writer.get_extra_info("peername"), exc
                    )
                    break
                reply = await loop.run_in_executor(database, _receive_on_thread, block)
                writer.writeblock(reply)  # type: ignore[attr-defined]
                await writer.drain()
                on_stored()
        finally:
            writer.close()

    # One thread stores every message, in the order received, on its own connection.
    database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnrr-mllp-db")
    loop = asyncio.get_running_loop()
    server = await start_hl7_server(client, host, port, limit=MAX_MESSAGE_BYTES)
    ready(server)
    try:
        async with server:
            if stop is None:
                await server.serve_forever()
            else:
                await stop.wait()
    finally:
        await loop.run_in_executor(database, connections.close_all)
        database.shutdown()
