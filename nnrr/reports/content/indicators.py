"""1. Kvalitetsindikatorer: the registry's quality indicators per comparison column, raw and
case-mix adjusted."""

from __future__ import annotations

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from nnrr.reports import adjust, charts
from nnrr.reports import config as report_config
from nnrr.reports import indicators as ind
from nnrr.reports.content.common import (
    Choices,
    Column,
    Report,
    Section,
    Table,
    active_units,
    band_labels,
    columns,
    percent,
    sum_counts,
)
from nnrr.reports.stats import Share, clopper_pearson


def indicator_report(choices: Choices) -> Report:
    cfg = report_config.load()
    units = active_units()
    counted = ind.counted_cached(ind.report_order(), choices.first_year, choices.last_year)
    coverage = counted[ind.COVERAGE.id]
    cols = columns(choices.comparison, choices.unit, units, choices.viewer_sees_all)
    latest = choices.last_year
    sections = []
    for indicator in ind.report_order():
        counts = counted[indicator.id]
        target = cfg.target(indicator.id)
        groups: list[tuple[Column, dict[int, Share], bool]] = []
        for col in cols:
            shares = {
                year: sum_counts(
                    {u: counts.unit(u, year) for u in col.unit_ids}, col.unit_ids, Share(0, 0)
                )
                for year in choices.years
            }
            low_cov = False
            if len(col.unit_ids) == 1:
                (only,) = col.unit_ids
                low_cov = cfg.coverage_low(coverage.unit(only, latest))
            groups.append((col, shares, low_cov))

        # Units sorted by the latest year (own unit and the summary columns keep their place
        # in tables; the chart sorts all bars).
        def sort_key(item: tuple[Column, dict[int, Share], bool]) -> tuple[bool, float]:
            share = item[1][latest]
            return (cfg.too_few(share), -(share.value or 0))

        ordered = sorted(groups, key=sort_key)
        bars = []
        for col, shares, low_cov in ordered:
            share = shares[latest]
            label = col.label + (" *" if low_cov else "")
            if cfg.too_few(share):
                bars.append(charts.Bar(label, None, note=cfg.too_few_mark, highlight=col.own))
            else:
                low, high = share.interval or (None, None)
                bars.append(charts.Bar(label, share.value, low, high, highlight=col.own))
        adjusted_shares = (
            adjust.adjusted(indicator, latest)
            if choices.adjusted and indicator.is_outcome
            else None
        )
        rows = []
        for col, shares, low_cov in ordered:
            hidden = cfg.too_few(shares[latest])
            cells = []
            for year in choices.years:
                share = shares[year]
                if hidden:
                    cells.append(cfg.too_few_mark)
                elif not share.denominator:
                    cells.append("–")
                else:
                    low, high = share.interval or (0.0, 0.0)
                    cells.append(
                        f"{percent(share.value)} ({percent(low)}–{percent(high)}), "
                        f"N={share.denominator}"
                    )
            if adjusted_shares is not None:
                cells.append(cfg.too_few_mark if hidden else _adjusted_cell(adjusted_shares, col))
            label = col.label + (" *" if low_cov else "")
            rows.append((label, cells))
        language = (get_language() or "nb")[:2]
        title = indicator.title(language)
        description = (
            indicator.description_en
            if language == "en" and indicator.description_en
            else indicator.description_nb
        )
        goal_text = _("Mål: %(goal)s") % {"goal": percent(target.goal)} if target.goal else ""
        if target.minimum is not None:
            goal_text += ", " + _("min.: %(min)s") % {"min": percent(target.minimum)}
        alt = _("%(title)s %(year)s, andel med 95 %% konfidensintervall per gruppe. %(goal)s. ") % {
            "title": title,
            "year": choices.year_label(latest),
            "goal": goal_text,
        } + "; ".join(
            f"{bar.label}: {cfg.too_few_mark if bar.value is None else percent(bar.value)}"
            for bar in bars
        )
        chart = charts.indicator_chart(
            f"{title}, {choices.year_label(latest)}",
            bars,
            target.goal,
            target.minimum,
            alt,
            band_labels=band_labels(),
        )
        notes = []
        if choices.adjusted and indicator.is_outcome:
            notes.append(
                _(
                    "Justert andel: landets andel × observert ÷ forventet antall, der forventet "
                    "kommer fra en logistisk modell for hele landet med alder, kjønn, ODI før "
                    "behandling, smerter i minst ett år og utdanning. Figuren viser ujusterte tall."
                )
                if adjusted_shares is not None
                else _("For få forløp til å justere for pasientsammensetning dette året.")
            )
        if any(low for _c, _s, low in groups):
            notes.append(
                _("* Dekningsgrad < %(limit)s") % {"limit": percent(cfg.coverage_flag_below)}
            )
        sections.append(
            Section(
                title,
                Table(
                    _("%(title)s: andel (95 %% konfidensintervall) og antall i nevneren")
                    % {"title": title},
                    [
                        _("Enhet"),
                        *[choices.year_label(y) for y in choices.years],
                        *(
                            [_("%(year)s justert for pasientsammensetning") % {"year": latest}]
                            if adjusted_shares is not None
                            else []
                        ),
                    ],
                    rows,
                ),
                chart,
                text=description + (f" {goal_text}." if goal_text else ""),
                notes=notes,
            )
        )
    return Report(
        "indikatorer",
        _("Kvalitetsindikatorer"),
        _(
            "Andeler med 95 %% eksakte (Clopper–Pearson) konfidensintervall. Enheter med færre "
            "enn %(n)s i nevneren siste år vises som «%(mark)s». Prosessindikatorer teller etter "
            "besøksår, resultatindikatorer etter oppfølgingsår (besøksdato + 6 måneder)."
        )
        % {"n": cfg.min_denominator, "mark": cfg.too_few_mark},
        sections,
    )


def _adjusted_cell(shares: dict[int, adjust.Adjusted], col: Column) -> str:
    observed = sum(shares[u].observed for u in col.unit_ids if u in shares)
    expected = sum(shares[u].expected for u in col.unit_ids if u in shares)
    count = sum(shares[u].denominator for u in col.unit_ids if u in shares)
    total_observed = sum(a.observed for a in shares.values())
    total_count = sum(a.denominator for a in shares.values())
    if not count or expected <= 0 or not total_count:
        return "–"
    national = total_observed / total_count
    low, high = clopper_pearson(observed, count)
    scale = national * count / expected
    value = min(1.0, national * observed / expected)
    return f"{percent(value)} ({percent(min(1.0, low * scale))}–{percent(min(1.0, high * scale))})"
