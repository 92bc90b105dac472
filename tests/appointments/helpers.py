"""Sending SIU messages through the same intake the MLLP listener uses, then processing them."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import random
import threading
from dataclasses import dataclass
from typing import Any

import hl7

from nnrr.appointments import mllp, services
from nnrr.appointments.models import InboundMessage
from nnrr.appointments.siu import build_siu
from nnrr.demo.people import synthetic_id
from nnrr.lib.dates import OSLO

_serial = itertools.count(1)


def oslo(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=OSLO)


_issued: set[str] = set()


def new_national_id() -> str:
    """A synthetic fødselsnummer not handed out before in this test process: a birth date of its
    own for each (one date has only a few dozen valid numbers), checked against those issued."""
    while True:
        serial = next(_serial)
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=serial % 18000)
        number = synthetic_id(random.Random(serial * 7919), birth, "F")
        if number not in _issued:
            _issued.add(number)
            return number


@dataclass
class Reply:
    ack: hl7.Message
    message: InboundMessage

    @property
    def code(self) -> str:
        return str(self.ack.segment("MSA")(1))

    @property
    def text(self) -> str:
        try:
            return str(self.ack.segment("MSA")(3))
        except IndexError:
            return ""


def siu(**kwargs: Any) -> str:
    kwargs.setdefault("message_id", f"MSG{next(_serial):06d}")
    return build_siu(**kwargs)


def send(text: str, *, now: dt.datetime, process: bool = True) -> Reply:
    """The message received as over MLLP (stored, acknowledged), then processed at ``now``."""
    raw = mllp.receive(text.encode("utf-8"), now=now)
    if process:
        services.process_pending(worker_id="test", now=now)
    stored = InboundMessage.objects.order_by("-id").first()
    assert stored is not None
    return Reply(ack=hl7.parse(raw.decode("utf-8")), message=stored)


class Listener:
    """The MLLP listener on a thread of the test process; with ``processing`` its processor
    thread applies what arrives, as in ``nnrr mllp``. It listens on a free port the system
    gives (``port``), so parallel test processes never meet on one."""

    def __init__(self, *, processing: bool = False) -> None:
        self.processor = mllp.Processor(poll=0.2, worker_id="test-listener") if processing else None
        self.loop = asyncio.new_event_loop()
        self.stop: asyncio.Event | None = None
        self.started = threading.Event()
        self.stored = 0
        self.port = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.stop = asyncio.Event()
            await mllp.serve(
                host="127.0.0.1",
                port=0,
                on_stored=self._count,
                ready=self._ready,
                stop=self.stop,
            )

        self.loop.run_until_complete(main())

    def _ready(self, server: Any) -> None:
        self.port = server.sockets[0].getsockname()[1]
        self.started.set()

    def _count(self) -> None:
        self.stored += 1
        if self.processor is not None:
            self.processor.wake.set()

    def __enter__(self) -> Listener:
        if self.processor is not None:
            self.processor.start()
        self.thread.start()
        assert self.started.wait(10), "the listener did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)
        if self.processor is not None:
            self.processor.stop()
            self.processor.join(10)
