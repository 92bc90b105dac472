"""The national indicator file (indicators.md): one row per course per indicator.

``context,orgnr,year,var,denominator,ind_id`` — a course appears once for every indicator whose
denominator it is in, with ``var`` 1 when it is also in the numerator. Coverage (``nnrr_dg``)
rows are aggregated: one per unit and year, ``var`` = registrations, ``denominator`` = eligible
patients. Rows are streamed from the database; the file is never held in memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO

from django.db.models import Case, F, IntegerField, Value, When

from nnrr.accounts.models import Unit
from nnrr.reports import indicators as ind

HEADER = ("context", "orgnr", "year", "var", "denominator", "ind_id")
CONTEXT = "caregiver"


def rows(first_year: int, last_year: int) -> Iterator[tuple[object, ...]]:
    orgnr = dict(Unit.objects.values_list("pk", "organisation_number"))
    for indicator in ind.INDICATORS:
        if indicator.year_rule == ind.REGISTRATION:
            continue
        year = ind.year_field(indicator)
        queryset = (
            ind.frame_for(indicator)
            .filter(indicator.denominator)
            .filter(ind.in_years(indicator.year_rule, first_year, last_year))
            .annotate(
                var=Case(
                    When(indicator.numerator, then=Value(1)),
                    default=Value(0),
                    output_field=IntegerField(),
                ),
                indicator_year=F(year),
            )
            .order_by(year, "unit_id", "pk")
            .values_list("unit_id", "indicator_year", "var")
        )
        for unit_id, indicator_year, var in queryset.iterator(chunk_size=5000):
            yield (CONTEXT, orgnr[unit_id], indicator_year, var, 1, indicator.id)
    registered = ind.registrations(first_year, last_year)
    for (unit_id, coverage_year), eligible in sorted(ind.eligible(first_year, last_year).items()):
        if eligible > 0:
            yield (
                CONTEXT,
                orgnr[unit_id],
                coverage_year,
                registered.get((unit_id, coverage_year), 0),
                eligible,
                ind.COVERAGE.id,
            )


def write(out: IO[str], first_year: int, last_year: int) -> int:
    """Write the file to ``out``; returns the number of data rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    count = 0
    for row in rows(first_year, last_year):
        writer.writerow(row)
        count += 1
    return count


class Echo:
    """A file-like object for StreamingHttpResponse: write returns the line."""

    def write(self, value: str) -> str:
        return value


def stream(first_year: int, last_year: int) -> Iterator[str]:
    writer = csv.writer(Echo(), lineterminator="\n")
    yield writer.writerow(HEADER)
    for row in rows(first_year, last_year):
        yield writer.writerow(row)
