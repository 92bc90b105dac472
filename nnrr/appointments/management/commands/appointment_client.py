"""``nnrr appointment_client --unit RESH --client-id NAME``: a machine client for a unit's FHIR
appointment feed. Prints the bearer token once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError
from django.utils import timezone

from nnrr.accounts.models import Unit
from nnrr.appointments.clients import issue_client
from nnrr.audit.context import Actor


class Command(BaseCommand):
    help = "Make a machine client for a unit's FHIR appointment feed; prints its token once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", type=int, required=True, help="the unit's reshID")
        parser.add_argument("--client-id", required=True, help="a name, e.g. dips-stolav")

    def handle(self, *args: Any, **options: Any) -> None:
        unit = Unit.objects.filter(pk=options["unit"]).first()
        if unit is None:
            raise CommandError(f"no unit with reshID {options['unit']}")
        try:
            token = issue_client(
                actor=Actor.system("nnrr appointment_client"),
                unit=unit,
                client_id=options["client_id"],
                now=timezone.now(),
            )
        except IntegrityError as exc:
            raise CommandError(f"the client id {options['client_id']!r} is taken") from exc
        self.stdout.write(
            f"client {options['client_id']} for {unit.short_name}; token (shown once):"
        )
        self.stdout.write(token)
