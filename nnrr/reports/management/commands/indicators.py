"""``nnrr indicators --from-year Y --to-year Y --out FILE.csv``: the national indicator file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from nnrr.reports import config, national_file

MAX_YEAR = 2100


def _year(value: str) -> int:
    if not value.isdigit() or len(value) != 4:
        raise CommandError(f"a year is four digits, like 2024, not {value!r}")
    return int(value)


class Command(BaseCommand):
    help = "Write the national indicator file (one row per course per indicator) as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from-year", required=True, help="first year, e.g. 2022")
        parser.add_argument("--to-year", required=True, help="last year, e.g. 2024")
        parser.add_argument("--out", required=True, help="the CSV file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        first, last = _year(options["from_year"]), _year(options["to_year"])
        earliest = config.load().national_file_from_year
        if first < earliest:
            raise CommandError(f"the national file starts in {earliest}; --from-year {first}")
        if last < first:
            raise CommandError(f"--to-year {last} is before --from-year {first}")
        if last > MAX_YEAR:
            raise CommandError(f"--to-year {last} is not a plausible year")
        out = Path(options["out"])
        if out.is_dir():
            raise CommandError(f"--out {out} is a directory; give a file name")
        if not out.parent.exists():
            raise CommandError(f"--out: the directory {out.parent} does not exist")
        started = time.monotonic()
        try:
            with out.open("w", encoding="utf-8", newline="") as handle:
                count = national_file.write(handle, first, last)
        except OSError as exc:
            raise CommandError(f"--out {out}: {exc.strerror}") from exc
        seconds = time.monotonic() - started
        self.stdout.write(f"{count} rows for {first}–{last} written to {out} in {seconds:.1f} s")
