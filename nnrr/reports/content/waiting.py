"""4. Ventetid fra henvisning til besøk: days from referral to visit."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext as _

from nnrr.reports import charts, frame, suppression
from nnrr.reports import config as report_config
from nnrr.reports.content.common import (
    CellKey,
    Choices,
    Report,
    Section,
    Table,
    active_units,
    columns,
    decimal,
    distribution_section,
    percent,
    protect_columns,
    suppression_notes,
)
from nnrr.reports.frame import CLINICIAN, DaysBetween
from nnrr.reports.stats import Mean, Share

WAIT_BINS = (
    ("0–25", 0, 25),
    ("26–50", 26, 50),
    ("51–75", 51, 75),
    ("76–100", 76, 100),
    ("101–125", 101, 125),
    ("126–150", 126, 150),
    ("> 150", 151, None),
)


def waiting_report(choices: Choices) -> Report:
    cfg = report_config.load()
    cols = columns(choices.comparison, choices.unit, active_units(), choices.viewer_sees_all)
    target = cfg.waiting_days_target
    base = (
        frame.courses()
        .filter(choices.visit_filter())
        .alias(
            wait=DaysBetween(
                KeyTextTransform("S1b_DateOfCompletion", f"{CLINICIAN}__answers"), "referral_date"
            )
        )
    )
    bins = Case(
        *[
            When(
                Q(wait__gte=low) & (Q(wait__lte=high) if high is not None else Q()),
                then=Value(label),
            )
            for label, low, high in WAIT_BINS
        ],
        default=Value(""),
        output_field=CharField(),
    )
    per_unit: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        base.annotate(bin=bins)
        .filter(wait__gte=0)
        .values("unit_id", "bin")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        per_unit[row["unit_id"]][row["bin"]] = row["n"]
    stats: dict[int, tuple[Share, Mean]] = {}
    for row in (
        base.filter(wait__gt=0)
        .values("unit_id")
        .annotate(
            n=Count("pk"),
            within=Count("pk", filter=Q(wait__lte=target)),
            total=Sum("wait"),
            squares=Sum(F("wait") * F("wait")),
        )
        .order_by()
    ):
        stats[row["unit_id"]] = (
            Share(row["within"], row["n"]),
            Mean(row["n"], float(row["total"] or 0), float(row["squares"] or 0)),
        )
    labels = [label for label, _low, _high in WAIT_BINS]
    distribution = distribution_section(
        _("Ventetid i dager, fordeling"), labels, per_unit, cols, cfg.small_cell
    )
    summed: dict[str, tuple[Share, Mean]] = {}
    counts: dict[CellKey, int] = {}
    for col in cols:
        share, mean = Share(0, 0), Mean(0, 0.0, 0.0)
        for unit_id in col.unit_ids:
            if unit_id in stats:
                share = share + stats[unit_id][0]
                mean = mean + stats[unit_id][1]
        summed[col.key] = (share, mean)
        counts[("n", col.key)] = share.denominator
        counts[("within", col.key)] = share.numerator
        counts[("over", col.key)] = share.denominator - share.numerator
    hidden = protect_columns(cols, counts, [("n", ["within", "over"])], cfg.small_cell)
    summary_rows = []
    bars = []
    for col in cols:
        share, mean = summed[col.key]
        if hidden.hidden(("n", col.key)):
            summary_rows.append((col.label, [hidden.mark(("n", col.key)) or "", "", ""]))
            continue
        interval = share.interval
        mean_interval = mean.interval
        share_shown = not (hidden.hidden(("within", col.key)) or hidden.hidden(("over", col.key)))
        summary_rows.append(
            (
                col.label,
                [
                    str(share.denominator),
                    (
                        f"{percent(share.value)}"
                        + (f" ({percent(interval[0])}–{percent(interval[1])})" if interval else "")
                        if share_shown
                        else suppression.SECONDARY_MARK
                    ),
                    ("–" if mean.value is None else decimal(mean.value))
                    + (
                        f" ({decimal(mean_interval[0])}–{decimal(mean_interval[1])})"
                        if mean_interval
                        else ""
                    ),
                ],
            )
        )
        if share.denominator and share_shown:
            low, high = interval or (None, None)
            bars.append(charts.Bar(col.label, share.value, low, high, highlight=col.own))
    title = _("Andel med ventetid høyst %(days)s dager") % {"days": target}
    summary = Section(
        title,
        Table(
            title,
            [
                _("Gruppe"),
                _("Antall"),
                _("Andel ≤ %(days)s dager (95 %% KI)") % {"days": target},
                _("Gjennomsnitt dager (95 %% KI)"),
            ],
            summary_rows,
        ),
        charts.indicator_chart(
            title,
            bars,
            None,
            None,
            title + ": " + "; ".join(f"{b.label} {percent(b.value)}" for b in bars),
        ),
        text=_("Dager fra henvisningsdato til besøksdato, blant forløp med ventetid over 0 dager."),
        notes=suppression_notes(hidden),
    )
    return Report(
        "ventetid",
        _("Ventetid fra henvisning til besøk"),
        _("Forløp med besøksdato i perioden."),
        [summary, distribution],
    )
