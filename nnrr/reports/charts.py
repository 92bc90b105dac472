"""Server-side SVG charts (matplotlib), in Designsystemet colours, with Norwegian labels.

Making a report only describes its charts: each is a :class:`Chart` named by a digest of
everything it shows, its description kept in the "charts" cache (shared by every web process:
Redis, or a table of the database). Drawing is the slow part of a report (about 0.2 s a chart),
so the report page shows its tables at once and the browser fetches each chart as an image
(``reports:chart``), drawn once and kept; the PDF gets them inline (:attr:`Chart.uri`). Either
way the same figures give the same drawing. Charts work without JavaScript and under the strict
content security policy; every chart is shown beside a table with the same numbers ("Vis
tabell").
"""

from __future__ import annotations

import base64
import functools
import hashlib
import inspect
import io
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
from django.core.cache import caches

matplotlib.use("Agg")
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

# Designsystemet (Digdir theme) colours.
ACCENT = "#0062ba"
ACCENT_LIGHT = "#a5c8ef"
NEUTRAL = "#1e2b3c"
NEUTRAL_SUBTLE = "#6c7a8c"
SUCCESS_SURFACE = "#c8ebd0"
WARNING_SURFACE = "#fdf0c2"
DANGER_SURFACE = "#f9d9d9"
SERIES = [ACCENT, "#e66c00", "#068718", "#7a3fb8", NEUTRAL_SUBTLE, "#c01b1b"]

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",  # text stays text: searchable, selectable, scales with the page
        "font.family": "sans-serif",
        "font.size": 9,
        "axes.edgecolor": NEUTRAL_SUBTLE,
        "axes.labelcolor": NEUTRAL,
        "xtick.color": NEUTRAL,
        "ytick.color": NEUTRAL,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


CACHE_SECONDS = 3600  # a drawing
SPEC_SECONDS = 24 * 3600  # what to draw: a report page's images may be fetched a while later
SIGNED_AS = "nnrr.reports.chart"  # the signing salt of a chart image's link (reports:chart)

_DRAWERS: dict[str, Callable[..., Figure]] = {}


@dataclass(frozen=True)
class Chart:
    """A chart a report shows: its title, its text alternative, and the digest (``key``) of
    everything it shows, by which it is drawn, kept and fetched."""

    title: str
    alt: str
    key: str

    @property
    def uri(self) -> str:
        """The drawing as a ``data:`` URI (the PDF)."""
        svg = drawing(self.key)
        if svg is None:  # its description expired between making the report and now
            raise LookupError(f"chart {self.key} is no longer described")
        return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _cache() -> Any:
    return caches["charts"]


def chart(draw: Callable[..., Figure]) -> Callable[..., Chart]:
    """A chart kind: ``draw(title, …, alt, …)`` returns the figure. Calling the kind describes a
    chart (cheap: nothing is drawn) and keeps the description for :func:`drawing`."""
    _DRAWERS[draw.__name__] = draw
    signature = inspect.signature(draw)

    @functools.wraps(draw)
    def describe(*args: Any, **kwargs: Any) -> Chart:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        spec = (draw.__name__, bound.args, tuple(sorted(bound.kwargs.items())))
        key = hashlib.sha256(repr(spec).encode()).hexdigest()
        _cache().set(f"spec-{key}", spec, SPEC_SECONDS)
        return Chart(str(bound.arguments["title"]), str(bound.arguments["alt"]), key)

    return describe


def drawing(key: str) -> bytes | None:
    """The SVG of the chart with this key: drawn once, then kept; None when no chart with this
    key was described (or its description has expired)."""
    cache = _cache()
    svg: bytes | None = cache.get(f"svg-{key}")
    if svg is not None:
        return svg
    spec = cache.get(f"spec-{key}")
    if spec is None:
        return None
    name, args, kwargs = spec
    figure = _DRAWERS[name](*args, **dict(kwargs))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    cache.set(f"svg-{key}", svg, CACHE_SECONDS)
    return svg


def _percent_axis(axis: object, horizontal: bool = True) -> None:
    from matplotlib.ticker import PercentFormatter

    formatter = PercentFormatter(xmax=100, decimals=0, symbol=" %")
    if horizontal:
        axis.xaxis.set_major_formatter(formatter)  # type: ignore[attr-defined]
    else:
        axis.yaxis.set_major_formatter(formatter)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # share 0..1; None when not shown (N<30)
    low: float | None = None
    high: float | None = None
    note: str = ""  # text beside the bar, e.g. "N<30"
    highlight: bool = False


def wrapped(title: str, width_inches: float) -> str:
    """The title broken into lines that fit the figure (about 11 characters an inch at the
    title's 10 pt), so a long indicator name never runs into the legend or off the edge."""
    return textwrap.fill(title, width=max(30, int(width_inches * 11)), break_long_words=False)


def _title_and_legend(figure: Figure, axis: Any, title: str, width: float, legend: bool) -> None:
    """The title at the top left, wrapped; the legend (if any) below the chart, where it can
    never overlap the title."""
    axis.set_title(wrapped(title, width), loc="left", fontsize=10, color=NEUTRAL)
    if legend:
        handles, labels = axis.get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower left", fontsize=7, frameon=False, ncols=4)


@chart
def indicator_chart(
    title: str,
    bars: Sequence[Bar],
    goal: float | None,
    minimum: float | None,
    alt: str,
    higher_is_better: bool = True,
    band_labels: tuple[str, str, str, str] = ("Under min.", "Min.", "Under mål", "Mål"),
) -> Figure:
    """Horizontal bars with 95 % intervals over the goal/minimum bands (``band_labels``: below
    the minimum, between minimum and goal, below the goal when no minimum is set, the goal)."""
    height = 1.5 + 0.32 * max(len(bars), 1)
    width = 7.0
    figure = Figure(figsize=(width, height), layout="constrained")
    axis = figure.add_subplot()
    top = 100.0
    under_min, between, under_goal, at_goal = band_labels
    if minimum is not None:
        axis.axvspan(0, minimum * 100, color=DANGER_SURFACE, zorder=0, label=under_min)
    if goal is not None:
        start = (minimum * 100) if minimum is not None else 0
        # Between the minimum and the goal; with no minimum set, simply below the goal.
        middle = between if minimum is not None else under_goal
        axis.axvspan(start, goal * 100, color=WARNING_SURFACE, zorder=0, label=middle)
        axis.axvspan(goal * 100, top, color=SUCCESS_SURFACE, zorder=0, label=at_goal)
    labels = [bar.label for bar in reversed(bars)]
    # One call per kind of mark (not one per bar): drawing time is per artist.
    shown = [(p, bar) for p, bar in enumerate(reversed(bars)) if bar.value is not None]
    if shown:
        axis.barh(
            [p for p, _bar in shown],
            [(bar.value or 0) * 100 for _p, bar in shown],
            color=[ACCENT if bar.highlight else ACCENT_LIGHT for _p, bar in shown],
            height=0.6,
            zorder=2,
        )
    with_interval = [(p, bar) for p, bar in shown if bar.low is not None and bar.high is not None]
    if with_interval:
        axis.errorbar(
            [(bar.value or 0) * 100 for _p, bar in with_interval],
            [p for p, _bar in with_interval],
            xerr=[
                [max(0.0, (bar.value or 0) - (bar.low or 0)) * 100 for _p, bar in with_interval],
                [max(0.0, (bar.high or 0) - (bar.value or 0)) * 100 for _p, bar in with_interval],
            ],
            fmt="none",
            ecolor=NEUTRAL,
            capsize=2,
            linewidth=0.8,
            zorder=3,
        )
    for position, bar in enumerate(reversed(bars)):
        if bar.value is None:
            axis.text(1, position, bar.note or "–", va="center", color=NEUTRAL, fontsize=8)
            continue
        text = f"{bar.value * 100:.0f} %".replace(".", ",")
        if bar.note:
            text += f"  {bar.note}"
        axis.text(min(bar.value * 100 + 1.5, 88), position + 0.3, text, fontsize=7, color=NEUTRAL)
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlim(0, top)
    axis.set_ylim(-0.6, len(labels) - 0.4)
    _percent_axis(axis)
    _title_and_legend(figure, axis, title, width, legend=goal is not None)
    return figure


@chart
def grouped_bars(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    alt: str,
    percent: bool = True,
    ylabel: str = "",
) -> Figure:
    """Vertical bars per category, one colour per series (unit or comparison group)."""
    width = max(5.0, min(10.0, 0.55 * len(categories) * max(1, len(series)) + 2))
    figure = Figure(figsize=(width, 3.6), layout="constrained")
    axis = figure.add_subplot()
    count = max(len(series), 1)
    bar_width = 0.8 / count
    for index, (name, values) in enumerate(series.items()):
        xs = [i + (index - (count - 1) / 2) * bar_width for i in range(len(categories))]
        ys = [((v or 0) * (100 if percent else 1)) for v in values]
        axis.bar(xs, ys, width=bar_width, color=SERIES[index % len(SERIES)], label=name)
    axis.set_xticks(
        range(len(categories)),
        categories,
        rotation=30 if len(categories) > 5 else 0,
        ha="right" if len(categories) > 5 else "center",
    )
    if percent:
        _percent_axis(axis, horizontal=False)
    if ylabel:
        axis.set_ylabel(ylabel)
    _title_and_legend(figure, axis, title, width, legend=len(series) > 1)
    return figure


@chart
def means_chart(
    title: str,
    timepoints: Sequence[str],
    series: Mapping[str, Sequence[tuple[float, float, float] | None]],
    alt: str,
    ylabel: str = "",
) -> Figure:
    """Means with 95 % intervals at each time point, one line per group."""
    width = 5.5
    figure = Figure(figsize=(width, 3.4), layout="constrained")
    axis = figure.add_subplot()
    for index, (name, points) in enumerate(series.items()):
        xs = [i + index * 0.06 for i, p in enumerate(points) if p is not None]
        present = [p for p in points if p is not None]
        if not present:
            continue
        means = [p[0] for p in present]
        errors = [[p[0] - p[1] for p in present], [p[2] - p[0] for p in present]]
        axis.errorbar(
            xs,
            means,
            yerr=errors,
            marker="o",
            capsize=3,
            color=SERIES[index % len(SERIES)],
            label=name,
            linewidth=1.2,
        )
    axis.set_xticks(range(len(timepoints)), timepoints)
    axis.yaxis.set_major_formatter(
        FuncFormatter(lambda value, _pos: f"{value:g}".replace(".", ","))
    )
    if ylabel:
        axis.set_ylabel(ylabel)
    handles, _labels = axis.get_legend_handles_labels()
    _title_and_legend(figure, axis, title, width, legend=len(handles) > 1)
    return figure
