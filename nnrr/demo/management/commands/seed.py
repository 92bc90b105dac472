"""``nnrr seed --scale N``: N synthetic courses spread over the units and several years."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from nnrr.demo.bulk import seed
from nnrr.demo.coverage import seed_coverage
from nnrr.lib.scopes import unscoped
from nnrr.patients.models import Course


class Command(BaseCommand):
    help = "Generate synthetic courses for benchmarks and report development (demo/test only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", type=int, required=True, help="number of courses")
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed (same seed, same data)"
        )
        parser.add_argument(
            "--no-answers",
            action="store_true",
            help="leave form answers empty (faster; enough for page benchmarks)",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="do nothing when the database already holds --scale courses (for make demo)",
        )
        parser.add_argument(
            "--no-coverage",
            action="store_true",
            help="do not add coverage figures (eligible patients per unit and half-year)",
        )

    @unscoped("nnrr seed: synthetic courses at every unit")
    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Synthetic data is never generated with NNRR_PRODUCTION=1.")
        if options["scale"] < 1:
            raise CommandError("--scale must be at least 1")
        if options["once"] and Course.objects.count() >= options["scale"]:
            self.stdout.write("Synthetic courses already there; nothing changed.")
            return
        started = time.monotonic()
        count = seed(
            scale=options["scale"],
            now=timezone.now(),
            out=self.stdout,
            answers=not options["no_answers"],
            seed=options["seed"],
        )
        self.stdout.write(f"{count} courses in {time.monotonic() - started:.1f} s")
        if not options["no_coverage"]:
            entries = seed_coverage(now=timezone.now(), seed=options["seed"])
            self.stdout.write(f"{entries} coverage figures (eligible patients per half-year)")
