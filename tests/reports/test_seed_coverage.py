"""``nnrr seed`` gives the reports content: several years, all units, coverage figures."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command

from nnrr.demo.coverage import LATE_UNITS, LOW_COVERAGE_UNITS
from nnrr.lib.dates import oslo_date
from nnrr.reports import coverage
from nnrr.reports import indicators as ind
from nnrr.reports.models import CoverageEntry


def test_seed_makes_years_of_courses_with_coverage(db: Any) -> None:
    out = io.StringIO()
    call_command("seed", "--scale", "400", stdout=out)
    assert "coverage figures" in out.getvalue()
    from django.utils import timezone

    today = oslo_date(timezone.now())
    counts = ind.counted(ind.INDICATORS, today.year - 4, today.year - 1)
    tverr = counts["nnrr_tverrfaglig_behandling"]
    years_with_courses = {year for (_, year) in tverr.cells}
    assert len(years_with_courses) == 4
    assert len(tverr.unit_ids()) >= 12  # (almost) every unit, even at this small scale
    assert counts["nnrr_bedret_funksjon"].national(today.year - 2).denominator > 20
    dg = counts["nnrr_dg"]
    assert dg.national(today.year - 2).denominator > 0
    year, half = coverage.last_completed_half(today)
    late = CoverageEntry.objects.filter(unit_id__in=LATE_UNITS, year=year, half=half)
    assert not late.exists()
    for unit_id in LOW_COVERAGE_UNITS:
        share = dg.unit(unit_id, today.year - 2)
        if share.denominator:
            assert (share.value or 0) < 0.6
    # Running it again (make demo) changes nothing.
    entries = CoverageEntry.objects.count()
    out = io.StringIO()
    call_command("seed", "--scale", "400", "--once", stdout=out)
    assert "nothing changed" in out.getvalue()
    assert CoverageEntry.objects.count() == entries
