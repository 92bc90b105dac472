"""A hospital booking system for the demo and the tests: realistic SIU messages to the MLLP port.

Each appointment follows one scenario, in turn: a new booking; moved by days; moved by months
after the questionnaire went out (the clinic hands the patient the form at once, "Jeg vil varsle
mottaker selv", so it is out before the move); cancelled; no-show; sent twice; moves arriving
out of order; without a referral date (waits in "Mottatte avtaler"); an invalid fødselsnummer;
a message with a start time that cannot be read. Synthetic people only (the demo's test numbers).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import hl7
from hl7.client import MLLPClient

from nnrr.appointments.siu import build_siu
from nnrr.demo.people import synthetic_id
from nnrr.lib.scopes import unscoped

SCENARIOS = (
    "new",
    "moved_days",
    "moved_months_after_sending",
    "cancelled",
    "no_show",
    "duplicated",
    "out_of_order",
    "no_referral",
    "invalid_national_id",
    "malformed",
)

FIRST_NAMES = ("Kari", "Ola", "Ingrid", "Per", "Sigrid", "Lars", "Marit", "Nils", "Astrid", "Jon")
LAST_NAMES = ("Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Berg")


@dataclass(frozen=True)
class Step:
    text: str
    scenario: str
    # Before this message: wait until the booking it moves is applied, then hand out the form.
    hand_out_first: str = ""


def steps(*, unit: int, count: int, now: dt.datetime, seed: int = 2026) -> Iterator[Step]:
    rng = random.Random(seed + int(now.timestamp()))
    serial = 0

    def message_id() -> str:
        nonlocal serial
        serial += 1
        return f"SIM{int(now.timestamp())}-{serial:05d}"

    for number in range(count):
        scenario = SCENARIOS[number % len(SCENARIOS)]
        born = dt.date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28))
        nid = synthetic_id(rng, born, rng.choice("MF"))
        appointment = f"SIM-{int(now.timestamp())}-{number}"
        first = now + dt.timedelta(days=rng.randint(20, 60))
        first = first.replace(hour=rng.choice((8, 9, 10, 12, 13)), minute=0, second=0)
        if scenario == "moved_months_after_sending":
            first = now + dt.timedelta(days=10)
        base: dict[str, Any] = {
            "unit": unit,
            "appointment_id": appointment,
            "national_id": nid,
            "given_name": rng.choice(FIRST_NAMES),
            "family_name": rng.choice(LAST_NAMES),
            "referral_date": (now - dt.timedelta(days=rng.randint(5, 40))).date(),
        }

        def at(minutes: int, number: int = number) -> dt.datetime:
            return now + dt.timedelta(minutes=minutes, seconds=number)

        if scenario == "no_referral":
            base["referral_date"] = None
        if scenario == "invalid_national_id":
            base["national_id"] = nid[:10] + str((int(nid[10]) + 1) % 10)
        if scenario == "malformed":
            # A header the unit can be read from, and a start time no one can read.
            broken = build_siu(
                trigger="S12", message_id=message_id(), sent_at=at(0), start=first, **base
            )
            yield Step(broken.replace(first.strftime("%Y%m%d"), "neste tirsdag"), scenario)
            continue
        booking = build_siu(
            trigger="S12", message_id=message_id(), sent_at=at(0), start=first, **base
        )
        yield Step(booking, scenario)
        if scenario == "moved_days":
            yield Step(
                build_siu(
                    trigger="S13",
                    message_id=message_id(),
                    sent_at=at(1),
                    start=first + dt.timedelta(days=rng.choice((3, 7, 10))),
                    **base,
                ),
                scenario,
            )
        elif scenario == "moved_months_after_sending":
            yield Step(
                build_siu(
                    trigger="S13",
                    message_id=message_id(),
                    sent_at=at(1),
                    start=first + dt.timedelta(days=45),
                    **base,
                ),
                scenario,
                hand_out_first=appointment,
            )
        elif scenario == "cancelled":
            yield Step(
                build_siu(
                    trigger="S15", message_id=message_id(), sent_at=at(1), start=first, **base
                ),
                scenario,
            )
        elif scenario == "no_show":
            yield Step(
                build_siu(
                    trigger="S26", message_id=message_id(), sent_at=at(1), start=first, **base
                ),
                scenario,
            )
        elif scenario == "duplicated":
            yield Step(booking, scenario)
        elif scenario == "out_of_order":
            newer = build_siu(
                trigger="S14",
                message_id=message_id(),
                sent_at=at(2),
                start=first + dt.timedelta(days=3),
                **base,
            )
            older = build_siu(
                trigger="S13",
                message_id=message_id(),
                sent_at=at(1),
                start=first + dt.timedelta(days=1),
                **base,
            )
            yield Step(newer, scenario)
            yield Step(older, scenario)


@unscoped("the appointment simulator: a demo unit's booking system")
def run(
    *,
    host: str,
    port: int,
    unit: int,
    count: int,
    now: dt.datetime,
    hand_out: Callable[[str], bool],
    say: Callable[[str], None] = lambda line: None,
) -> Counter[str]:
    """Send the scenarios' messages over one MLLP connection; returns the ACK codes counted.
    ``hand_out(appointment_id)`` hands out the pre-treatment form of the course the booking
    created (False while the booking is not applied yet)."""
    acks: Counter[str] = Counter()
    with MLLPClient(host, port) as client:
        for step in steps(unit=unit, count=count, now=now):
            if step.hand_out_first:
                for _attempt in range(100):
                    if hand_out(step.hand_out_first):
                        break
                    time.sleep(0.1)
            reply = client.send_message(step.text).decode("utf-8", "replace")
            ack = hl7.parse(reply.strip("\x0b\x1c\r\n"))
            code = str(ack.segment("MSA")(1))
            acks[code] += 1
            detail = ""
            if code != "AA":
                try:
                    detail = f": {ack.segment('MSA')(3)}"
                except IndexError:
                    detail = ""
            say(f"{step.scenario:28} {code}{detail}")
    return acks
