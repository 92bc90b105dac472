"""The quarterly and annual PDF reports, made from the same report sections as the pages.

WeasyPrint renders ``reports/pdf.html``: a cover, a table of contents with page numbers, then
each report's sections (chart, its table, notes). The worker makes the PDF as a background job
and records progress on the :class:`ReportDocument` so the page can show it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

from django.template.loader import render_to_string
from django.utils import timezone, translation

from nnrr.lib.dates import oslo_date
from nnrr.reports import config as report_config
from nnrr.reports import content
from nnrr.reports.models import ReportDocument

log = logging.getLogger(__name__)


def last_completed_quarter_end(today: dt.date) -> dt.date:
    """The last day of the last quarter that has ended by ``today``."""
    quarter_start_month = 3 * ((today.month - 1) // 3) + 1
    return dt.date(today.year, quarter_start_month, 1) - dt.timedelta(days=1)


def four_quarters(end: dt.date) -> tuple[dt.date, dt.date]:
    """The four quarters ending ``end`` (a quarter's last day): (first day, last day)."""
    month = end.month - 11
    year = end.year
    if month < 1:
        month += 12
        year -= 1
    return dt.date(year, month, 1), end


def quarter_name(end: dt.date) -> str:
    return f"{(end.month - 1) // 3 + 1}. kvartal {end.year}"


Part = tuple[str, Callable[[content.Choices], content.Report]]

QUARTERLY_PARTS: tuple[Part, ...] = (
    ("pasientsammensetning", content.patient_mix_report),
    ("ventetid", content.waiting_report),
    ("indikatorer", content.indicator_report),
    ("svarprosent", content.response_report),
)
ANNUAL_PARTS: tuple[Part, ...] = (("indikatorer", content.indicator_report),)


# The parts of a quarterly report that count by visit date take its four quarters; the others
# count by calendar year (indicators by visit or follow-up year), and a year not over when the
# document is made is marked "ufullstendig år" in their headings, tables and chart titles.
BY_VISIT_DATE = {"pasientsammensetning", "ventetid"}


def _choices(document: ReportDocument, key: str, made: dt.date) -> content.Choices:
    end = document.period_end
    if document.kind == ReportDocument.Kind.QUARTERLY:
        start, stop = four_quarters(end)
        dated = key in BY_VISIT_DATE
        return content.Choices(
            report=key,
            first_year=end.year - 2,
            last_year=end.year,
            comparison=content.OWN_VS_REST,
            unit=document.unit,
            viewer_sees_all=document.national,
            visit_from=start if dated else None,
            visit_to=stop if dated else None,
            as_of=made,
        )
    return content.Choices(
        report=key,
        first_year=end.year - 2,
        last_year=end.year,
        comparison=content.ALL_UNITS,
        unit=document.unit,
        viewer_sees_all=document.national,
        as_of=made,
    )


def title(document: ReportDocument) -> str:
    if document.kind == ReportDocument.Kind.QUARTERLY:
        return f"Kvartalsrapport {document.unit.short_name}, {quarter_name(document.period_end)}"
    return f"Årsrapport {document.period_end.year}"


def render(document: ReportDocument, progress: Callable[[int, str], None]) -> bytes:
    import weasyprint

    parts = QUARTERLY_PARTS if document.kind == ReportDocument.Kind.QUARTERLY else ANNUAL_PARTS
    made = oslo_date(timezone.now())
    reports = []
    with translation.override("nb"):
        for index, (key, build) in enumerate(parts):
            progress(5 + int(80 * index / len(parts)), content.REPORTS[key][0])
            choices = _choices(document, key, made)
            reports.append(dataclasses.replace(build(choices), period=choices.period_label))
    progress(88, "PDF")
    start, stop = (
        four_quarters(document.period_end)
        if document.kind == ReportDocument.Kind.QUARTERLY
        else (dt.date(document.period_end.year - 2, 1, 1), document.period_end)
    )
    with translation.override("nb"):
        html = render_to_string(
            "reports/pdf.html",
            {
                "document": document,
                "title": title(document),
                "reports": reports,
                "period": f"{start:%d.%m.%Y}–{stop:%d.%m.%Y}",
                "made": made,
                "config": report_config.load(),
            },
        )
    return weasyprint.HTML(string=html).write_pdf()


def make(document_id: str) -> None:
    """Make one document (the job the worker runs); failures are recorded, not raised."""
    document = ReportDocument.objects.select_related("unit").get(pk=document_id)
    if document.state == ReportDocument.State.DONE:
        return

    def progress(percent: int, step: str) -> None:
        ReportDocument.objects.filter(pk=document.pk).update(
            state=ReportDocument.State.RUNNING, progress=percent, step=step[:200]
        )

    try:
        pdf = render(document, progress)
    except Exception as exc:  # recorded for the user; the traceback goes to the log
        log.exception("report document %s failed", document.pk)
        ReportDocument.objects.filter(pk=document.pk).update(
            state=ReportDocument.State.FAILED,
            error=str(exc)[:500],
            finished_at=timezone.now(),
        )
        return
    ReportDocument.objects.filter(pk=document.pk).update(
        state=ReportDocument.State.DONE,
        progress=100,
        step="",
        pdf=pdf,
        finished_at=timezone.now(),
    )
