"""Synthetic coverage figures (eligible patients per unit and half-year) for the seeded courses.

Each unit gets a coverage level of its own (most between 65 and 95 %, a few below the 60 % flag),
and the eligible count of every half-year is the registered courses divided by it. A few units
have corrected a figure once (the history shows both), and the smallest units have not yet
reported the last completed half-year, so the front-page reminder has something to say.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import Count

from nnrr.accounts.models import Unit
from nnrr.lib.dates import oslo_date, oslo_datetime
from nnrr.reports import frame
from nnrr.reports.coverage import last_completed_half
from nnrr.reports.models import CoverageEntry

LATE_UNITS = (101831, 102169)  # Kirkenes, Sandnessjøen: the last half-year is not in yet
LOW_COVERAGE_UNITS = (700735, 701433)  # UNN-Harstad, Stord: below the 60 % flag
ENTERED_BY = "Enhetens registeransvarlige (syntetisk)"


def seed_coverage(*, now: dt.datetime, seed: int = 1) -> int:
    """Write coverage entries for every unit and completed half-year with courses; idempotent
    per unit and half-year (existing entries are kept). Returns the number of entries made."""
    rng = random.Random(seed)
    today = oslo_date(now)
    last_year, last_half = last_completed_half(today)
    counts: dict[tuple[int, int, int], int] = {}
    rows = frame.courses().values("unit_id", "visit_year", "visit_month").annotate(n=Count("pk"))
    for row in rows.order_by():
        key = (row["unit_id"], row["visit_year"], 1 if row["visit_month"] <= 6 else 2)
        counts[key] = counts.get(key, 0) + row["n"]
    existing = set(CoverageEntry.objects.values_list("unit_id", "year", "half"))
    entries = []
    for unit in Unit.objects.order_by("pk"):
        level = (
            rng.uniform(0.45, 0.58) if unit.pk in LOW_COVERAGE_UNITS else rng.uniform(0.65, 0.95)
        )
        for (unit_id, year, half), registered in sorted(counts.items()):
            if unit_id != unit.pk or (year, half) > (last_year, last_half):
                continue
            if (unit_id, year, half) in existing:
                continue
            if unit.pk in LATE_UNITS and (year, half) == (last_year, last_half):
                continue
            eligible = max(registered, round(registered / level))
            month = 7 if half == 1 else 1
            entered_year = year if half == 1 else year + 1
            at = oslo_datetime(dt.date(entered_year, month, rng.randint(5, 25)), 10)
            if rng.random() < 0.1:  # a first figure later corrected
                entries.append(
                    CoverageEntry(
                        unit=unit,
                        year=year,
                        half=half,
                        eligible=eligible + rng.randint(5, 30),
                        entered_by_name=ENTERED_BY,
                        entered_at=at,
                    )
                )
                at += dt.timedelta(days=rng.randint(3, 20))
                note = "Rettet etter ny opptelling"
            else:
                note = ""
            entries.append(
                CoverageEntry(
                    unit=unit,
                    year=year,
                    half=half,
                    eligible=eligible,
                    note=note,
                    entered_by_name=ENTERED_BY,
                    entered_at=min(at, now),
                )
            )
    CoverageEntry.objects.bulk_create(entries, batch_size=1000)
    return len(entries)
