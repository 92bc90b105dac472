"""5. Svarprosent på oppfølgingsskjema: the follow-up forms' response rates."""

from __future__ import annotations

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
)
from django.utils.translation import gettext as _

from nnrr.lib.scopes import unscoped
from nnrr.questionnaires.models import FormKind
from nnrr.reports import charts, frame, suppression
from nnrr.reports import config as report_config
from nnrr.reports.content.common import (
    CellKey,
    Choices,
    Report,
    Section,
    Table,
    active_units,
    band_labels,
    columns,
    percent,
    protect_columns,
    sum_counts,
    suppression_notes,
)
from nnrr.reports.stats import Share
from nnrr.scheduling.models import Order


def response_report(choices: Choices) -> Report:
    cols = columns(choices.comparison, choices.unit, active_units(), choices.viewer_sees_all)
    cfg = report_config.load()
    base = frame.with_follow_up(frame.courses(), twelve=True)
    with unscoped(frame.REPORTS_SPAN):
        sent = {
            months: Exists(
                Order.objects.filter(course=OuterRef("pk"), kind=kind, sent_at__isnull=False)
            )
            for months, kind in ((6, FormKind.FOLLOW_UP_6), (12, FormKind.FOLLOW_UP_12))
        }
    sections = []
    for months, year_expr, has, in_years in (
        (6, F("followup_year"), "has6", frame.follow_ups_in(choices.first_year, choices.last_year)),
        (
            12,
            F("visit_year") + 1,
            "has12",
            frame.visits_in(choices.first_year - 1, choices.last_year - 1),
        ),
    ):
        rows = (
            base.alias(sent=sent[months])
            .annotate(fu_year=year_expr)
            .filter(in_years, sent=True)
            .values("unit_id", "fu_year")
            .annotate(sent_n=Count("pk"), answered=Count("pk", filter=Q(**{has: 1})))
            .order_by()
        )
        per: dict[tuple[int, int], Share] = {
            (r["unit_id"], r["fu_year"]): Share(r["answered"], r["sent_n"]) for r in rows
        }
        shares: dict[tuple[int, str], Share] = {}
        counts: dict[CellKey, int] = {}
        for col in cols:
            for year in choices.years:
                share = sum_counts(
                    {u: per.get((u, year), Share(0, 0)) for u in col.unit_ids},
                    col.unit_ids,
                    Share(0, 0),
                )
                shares[(year, col.key)] = share
                counts[((year, "sent"), col.key)] = share.denominator
                counts[((year, "answered"), col.key)] = share.numerator
                counts[((year, "unanswered"), col.key)] = share.denominator - share.numerator
        hidden = protect_columns(
            cols,
            counts,
            [((y, "sent"), [(y, "answered"), (y, "unanswered")]) for y in choices.years],
            cfg.small_cell,
        )
        table_rows = []
        bars = []
        for col in cols:
            cells = []
            for year in choices.years:
                share = shares[(year, col.key)]
                sent_mark = hidden.mark(((year, "sent"), col.key))
                answered = hidden.mark(((year, "answered"), col.key))
                unanswered = hidden.mark(((year, "unanswered"), col.key))
                if sent_mark is not None:
                    cells.append(sent_mark)
                elif answered is not None or unanswered is not None:
                    # The share would give the hidden count away: only how many were sent.
                    cells.append(
                        _("%(answered)s av %(sent)s")
                        % {
                            "answered": answered or suppression.SECONDARY_MARK,
                            "sent": share.denominator,
                        }
                    )
                elif share.denominator:
                    cells.append(
                        f"{percent(share.value)} ({share.numerator} av {share.denominator})"
                    )
                else:
                    cells.append("–")
                shown = all(m is None for m in (sent_mark, answered, unanswered))
                if year == choices.last_year and share.denominator and shown:
                    low, high = share.interval or (None, None)
                    bars.append(charts.Bar(col.label, share.value, low, high, highlight=col.own))
            table_rows.append((col.label, cells))
        title = _("Svarprosent %(months)s måneder") % {"months": months}
        sections.append(
            Section(
                title,
                Table(
                    title + " " + _("(besvarte av sendte, etter oppfølgingsår)"),
                    [_("Gruppe"), *[choices.year_label(y) for y in choices.years]],
                    table_rows,
                ),
                charts.indicator_chart(
                    f"{title}, {choices.year_label(choices.last_year)}",
                    bars,
                    None,
                    None,
                    title + ": " + "; ".join(f"{b.label} {percent(b.value)}" for b in bars),
                    band_labels=band_labels(),
                ),
                notes=suppression_notes(hidden),
            )
        )
    return Report(
        "svarprosent",
        _("Svarprosent på oppfølgingsskjema"),
        _(
            "Besvarte 6- og 12-månedersskjema delt på forløp der skjemaet ble sendt, etter "
            "oppfølgingsår (besøksdato + 6 eller 12 måneder)."
        ),
        sections,
    )
