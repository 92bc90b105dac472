"""``nnrr demo appointments --unit RESH --count N``: a hospital booking system sending SIU
messages to the MLLP port (demo and test environments only)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from nnrr.accounts.models import Unit
from nnrr.appointments.models import Appointment
from nnrr.audit.context import Actor
from nnrr.demo import appointments as simulator
from nnrr.lib.scopes import unscoped
from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import services as scheduling


def hand_out(unit: Unit, appointment_id: str) -> bool:
    """The clinic hands the patient the pre-treatment form at once ("Jeg vil varsle mottaker
    selv"), so it is out before the appointment moves. False while the booking is not applied."""
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_related("course")
            .filter(unit=unit, appointment_id=appointment_id, course__status=Course.Status.ACTIVE)
            .first()
        )
        if appointment is None or appointment.course is None:
            return False
        scheduling.order_questionnaire(
            actor=Actor.system("demo-klinikk", unit_id=unit.pk),
            course=appointment.course,
            kind=FormKind.PRE_TREATMENT,
            notify_self=True,
            now=timezone.now(),
        )
    return True


class Command(BaseCommand):
    help = "Demo data sources. 'appointments': send realistic SIU messages to the MLLP port."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        appointments = sub.add_parser("appointments", help="a booking system's SIU messages")
        appointments.add_argument("--unit", type=int, required=True, help="the unit's reshID")
        appointments.add_argument("--count", type=int, default=20, help="appointments to send")
        appointments.add_argument("--host", default=settings.MLLP_HOST)
        appointments.add_argument("--port", type=int, default=settings.MLLP_PORT)

    @unscoped("nnrr demo: hands out a demo unit's appointments")
    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.DEMO or settings.TESTING):
            raise CommandError("nnrr demo is for demo and test environments only (NNRR_DEMO=1)")
        unit = Unit.objects.filter(pk=options["unit"]).first()
        if unit is None:
            raise CommandError(f"no unit with reshID {options['unit']}")
        if options["count"] < 1:
            raise CommandError("--count must be at least 1")
        try:
            acks = simulator.run(
                host=options["host"],
                port=options["port"],
                unit=unit.pk,
                count=options["count"],
                now=timezone.now(),
                hand_out=lambda appointment_id: hand_out(unit, appointment_id),
                say=self.stdout.write,
            )
        except ConnectionError as exc:
            raise CommandError(
                f"nothing listens on {options['host']}:{options['port']} ({exc}); "
                "start it with `nnrr mllp` or NNRR_MLLP_PORT for bin/serve"
            ) from exc
        summary = ", ".join(f"{code} {n}" for code, n in sorted(acks.items()))
        self.stdout.write(f"sent to {unit.short_name}: {summary}")
