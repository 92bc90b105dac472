"""Sending SIU messages through the same intake the MLLP listener uses, then processing them."""

from __future__ import annotations

import datetime as dt
import itertools
import random
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


def new_national_id() -> str:
    return synthetic_id(random.Random(next(_serial) * 7919), dt.date(1971, 6, 5), "F")


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
