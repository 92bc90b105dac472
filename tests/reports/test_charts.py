"""The report charts: a long title wraps and never overlaps the legend, and the legend speaks
the reader's language."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from matplotlib.backends.backend_agg import FigureCanvasAgg

from nnrr.reports import charts, content

LONG_TITLE = (
    "Tilbake i arbeid eller lavere sykmeldingsgrad etter seks måneder blant pasienter i "
    "arbeidsforhold, 2026 (ufullstendig år)"
)


def _drawn(band_labels: tuple[str, str, str, str]) -> Any:
    bars = [charts.Bar(f"Enhet {n}", 0.1 * n, 0.05 * n, 0.15 * n) for n in range(1, 6)]
    draw = charts._DRAWERS["indicator_chart"]
    figure = draw(LONG_TITLE, bars, 0.6, 0.4, "alt", band_labels=band_labels)
    FigureCanvasAgg(figure).draw()  # laid out as when it is saved
    return figure


def test_a_long_chart_title_wraps_and_never_overlaps_the_legend() -> None:
    from matplotlib.text import Text

    figure = _drawn(content.band_labels())
    wrapped = figure.axes[0].get_title(loc="left")
    (title,) = [t for t in figure.findobj(Text) if t.get_text() == wrapped]
    renderer = figure.canvas.get_renderer()
    title_box = title.get_window_extent(renderer)
    (legend,) = [*figure.legends, *filter(None, [figure.axes[0].get_legend()])]
    legend_box = legend.get_window_extent(renderer)
    assert not title_box.overlaps(legend_box)
    figure_box = figure.bbox
    assert title_box.x1 <= figure_box.x1  # the title does not run off the figure
    assert "\n" in wrapped and wrapped.replace("\n", " ") == LONG_TITLE  # over lines


def test_the_legend_of_the_bands_is_in_the_readers_language() -> None:
    with translation.override("en"):
        english = content.band_labels()
    assert english == ("Below min.", "Min.", "Below target", "Target")
    figure = _drawn(english)
    (legend,) = [*figure.legends, *filter(None, [figure.axes[0].get_legend()])]
    texts = [text.get_text() for text in legend.get_texts()]
    assert texts == ["Below min.", "Min.", "Target"]


def test_every_indicator_has_an_english_title_and_description() -> None:
    from nnrr.reports import indicators

    for indicator in (*indicators.INDICATORS, *indicators.OTHER_SHARES):
        assert indicator.title_en and indicator.title_en != indicator.title_nb, indicator.id
        assert indicator.description_en, indicator.id
