"""What the reports show of other units: small counts as "<5", and "N<30" for small denominators.

Read through ``content.build`` (the reports' public entry), cell by cell: what a person comparing
units would see in the table.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import timezone

from nnrr.accounts.models import Unit
from nnrr.questionnaires.models import FormKind
from nnrr.reports import content
from nnrr.reports.content import common
from nnrr.scheduling.models import Order
from tests.conftest import HAUKELAND, ST_OLAVS, UNN_TROMSO
from tests.reports.builders import course

pytestmark = pytest.mark.django_db

NO_TEAM = {"Treatment_InvidualInterdisciplinary": 0, "Treatment_GroupInterdisciplinary2018": 0}


def report(kind: str, *, year: int = 2024, comparison: str = "all", sees_all: bool = False) -> Any:
    choices = content.Choices(
        kind, year, year, comparison, Unit.objects.get(pk=ST_OLAVS), viewer_sees_all=sees_all
    )
    return content.build(choices)


def cells(section: Any, row_label: str) -> dict[str, str]:
    """The row's cells by column header."""
    headers = section.table.headers[1:]
    for label, values in section.table.rows:
        if label == row_label:
            return dict(zip(headers, values, strict=True))
    raise AssertionError(f"no row {row_label!r} in {section.title}")


def section(built: Any, title: str) -> Any:
    return next(s for s in built.sections if s.title.startswith(title))


def make_courses(unit: int, n: int, visit: str = "2024-02-01") -> list[Any]:
    return [course(unit, visit, clinician=NO_TEAM, baseline={}) for _ in range(n)]


@pytest.mark.parametrize(("n", "shown"), [(5, "5 (100 %)"), (4, "<5")])
def test_another_units_count_of_five_is_shown_and_of_four_is_masked(
    db: Any, n: int, shown: str
) -> None:
    make_courses(ST_OLAVS, 3)
    make_courses(HAUKELAND, n)
    men = cells(section(report("pasientsammensetning"), "Kjønn"), "Mann")
    assert men["Haukeland"] == shown  # the limit itself is shown, one under it is not
    assert men["St. Olavs"].startswith("3 ")  # the viewer's own unit is never masked
    women = cells(section(report("pasientsammensetning"), "Kjønn"), "Kvinne")
    # Nothing to hide in an empty cell (its share goes with the total when that is hidden).
    assert women["Haukeland"] in ("0 (0 %)", "0")


def test_a_count_that_would_give_a_masked_one_away_is_hidden_too(db: Any) -> None:
    """With the whole country's total shown, another unit's 5 would give UNN's 4 away
    (12 − 3 − 5): one of them is hidden as well (x), so no "<5" can be worked out."""
    make_courses(ST_OLAVS, 3)
    make_courses(HAUKELAND, 5)
    make_courses(UNN_TROMSO, 4)
    men = cells(section(report("pasientsammensetning"), "Kjønn"), "Mann")
    assert men["UNN-Tromsø"] == "<5"
    assert men["St. Olavs"].startswith("3 ")
    assert "x" in (men["Haukeland"], men["Hele landet"])


def test_the_national_role_sees_the_small_counts_of_every_unit(db: Any) -> None:
    make_courses(ST_OLAVS, 1)
    make_courses(UNN_TROMSO, 4)
    men = cells(section(report("pasientsammensetning", sees_all=True), "Kjønn"), "Mann")
    assert men["UNN-Tromsø"].startswith("4 ")
    assert "<5" not in men.values()


def _followed_up(unit: int, sent: int, answered: int) -> None:
    """``sent`` courses whose 6-month form was sent (follow-up year 2024), ``answered`` of them
    with the form completed."""
    now = timezone.now()
    for index in range(sent):
        six = {"UseOfTreatment": 2} if index < answered else None
        made = course(unit, "2024-01-15", clinician=NO_TEAM, baseline={}, six=six)
        Order.objects.create(
            course=made,
            kind=FormKind.FOLLOW_UP_6,
            send_at=now,
            expires_at=now,
            sent_at=now,
            code_hash=uuid.uuid4().hex,
            token_hash=uuid.uuid4().hex,
            token_salt="salt",
        )


def test_a_numerator_of_three_in_forty_of_another_unit_is_not_shown_as_a_count(db: Any) -> None:
    _followed_up(ST_OLAVS, 2, 1)
    _followed_up(HAUKELAND, 40, 3)
    _followed_up(UNN_TROMSO, 40, 5)
    six = cells(section(report("svarprosent"), "Svarprosent 6"), "Haukeland")["2024"]
    assert "3 av" not in six and "40" in six
    own = cells(section(report("svarprosent"), "Svarprosent 6"), "St. Olavs")["2024"]
    assert "1 av 2" in own  # the viewer's own unit: every count shown
    national = cells(section(report("svarprosent", sees_all=True), "Svarprosent 6"), "Haukeland")
    assert "3 av 40" in national["2024"]


def test_a_numerator_of_five_in_forty_of_another_unit_is_shown(db: Any) -> None:
    _followed_up(ST_OLAVS, 2, 1)
    _followed_up(UNN_TROMSO, 40, 5)
    at_limit = cells(section(report("svarprosent"), "Svarprosent 6"), "UNN-Tromsø")["2024"]
    assert "5 av 40" in at_limit


@pytest.mark.parametrize(("n", "hidden"), [(29, True), (30, False)])
def test_a_unit_is_shown_as_n_under_30_exactly_below_30_in_the_denominator(
    db: Any, n: int, hidden: bool
) -> None:
    make_courses(ST_OLAVS, n)
    built = report("indikatorer", comparison="own")
    own = cells(section(built, "Tverrfaglig behandling"), "St. Olavs")["2024"]
    assert (own == "N<30") is hidden
    if not hidden:
        assert "N=30" in own


def test_the_comparison_columns_mask_only_single_other_units_for_a_local_viewer(db: Any) -> None:
    units = list(Unit.objects.filter(pk__in=[ST_OLAVS, HAUKELAND, UNN_TROMSO]).order_by("pk"))
    own = Unit.objects.get(pk=ST_OLAVS)
    everyone = frozenset(u.pk for u in units)
    only = content.columns(content.OWN_ONLY, own, units, False)
    assert [(c.key, c.unit_ids, c.masked, c.own) for c in only] == [
        (str(ST_OLAVS), frozenset({ST_OLAVS}), False, True)
    ]
    rest = content.columns(content.OWN_VS_REST, own, units, False)
    assert [(c.key, c.label, c.unit_ids, c.masked, c.own) for c in rest] == [
        (str(ST_OLAVS), own.short_name, frozenset({ST_OLAVS}), False, True),
        ("rest", "Resten av landet", everyone - {ST_OLAVS}, False, False),
    ]
    each = content.columns(content.ALL_UNITS, own, units, False)
    assert [(c.key, c.masked, c.own) for c in each] == [
        (str(ST_OLAVS), False, True),
        (str(HAUKELAND), True, False),
        (str(UNN_TROMSO), True, False),
        ("national", False, False),
    ]
    assert each[-1].label == "Hele landet" and each[-1].unit_ids == everyone
    assert not any(c.masked for c in content.columns(content.ALL_UNITS, own, units, True))
    assert content.chart_columns(each) == [each[0], each[-1]]
    assert content.chart_columns(rest) == rest


def test_a_distribution_shows_shares_of_the_groups_total_and_the_totals_row(db: Any) -> None:
    make_courses(ST_OLAVS, 4)
    make_courses(HAUKELAND, 6)
    sex = section(report("pasientsammensetning", comparison="rest"), "Kjønn")
    assert cells(sex, "Mann") == {"St. Olavs": "4 (100 %)", "Resten av landet": "6 (100 %)"}
    assert cells(sex, "Kvinne") == {"St. Olavs": "0 (0 %)", "Resten av landet": "0 (0 %)"}
    assert cells(sex, "Totalt") == {"St. Olavs": "4", "Resten av landet": "6"}
    assert "St. Olavs: Kvinne 0 %, Mann 100 %" in sex.chart.alt


OWN = content.Column("1", "Eget", frozenset({1}), False, own=True)


def distribution(cols: list[Any], per_unit: dict[int, dict[str, int]], **kw: Any) -> Any:
    return common.distribution_section("Kjønn", ["Mann", "Kvinne"], per_unit, cols, 5, **kw)


def test_a_distribution_adds_every_units_categories_up_in_the_whole_countrys_column(
    db: Any,
) -> None:
    from nnrr.reports import charts

    cols = [
        OWN,
        content.Column("2", "Annen", frozenset({2}), False),
        content.Column("national", "Hele landet", frozenset({1, 2}), False),
    ]
    # "Ukjent" is not a listed category: it counts in the totals only.
    built = distribution(cols, {1: {"Mann": 3, "Kvinne": 1, "Ukjent": 2}, 2: {"Mann": 4}})
    assert built.table.caption == "Kjønn: antall (andel)"
    assert built.table.headers == ["Kategori", "Eget", "Annen", "Hele landet"]
    assert built.table.rows == [
        ("Mann", ["3 (50 %)", "4 (100 %)", "7 (70 %)"]),
        ("Kvinne", ["1 (17 %)", "0 (0 %)", "1 (10 %)"]),
        ("Totalt", ["6", "4", "10"]),
    ]
    # The chart: the own unit against the whole country, with its description.
    alt = "Kjønn: Eget: Mann 50 %, Kvinne 17 %; Hele landet: Mann 70 %, Kvinne 10 %"
    assert built.chart == charts.grouped_bars(
        "Kjønn", ["Mann", "Kvinne"], {"Eget": [3 / 6, 1 / 6], "Hele landet": [7 / 10, 1 / 10]}, alt
    )
    assert (built.text, built.notes) == ("", [])


@pytest.mark.parametrize(("women", "men_share"), [(1, "60 %"), (2, "55 %"), (4, "46 %")])
def test_another_units_small_count_is_hidden_in_the_distributions_table_and_chart(
    db: Any, women: int, men_share: str
) -> None:
    from nnrr.reports import suppression

    rest = content.Column("rest", "Resten av landet", frozenset({2}), True)
    built = distribution(
        [OWN, rest],
        {1: {"Mann": 3}, 2: {"Mann": 6, "Kvinne": women, "Ukjent": 3}},
        text="Om tabellen",
    )
    # 1 to 4 women: "<5"; the 3 not listed are hidden with them (the total − 6 − 3 would give
    # the count away).
    assert built.table.rows == [
        ("Mann", ["3 (100 %)", f"6 ({men_share})"]),
        ("Kvinne", ["0 (0 %)", "<5"]),
        ("Totalt", ["3", str(9 + women)]),
    ]
    assert built.chart.alt == (
        f"Kjønn: Eget: Mann 100 %, Kvinne 0 %; Resten av landet: Mann {men_share}, Kvinne –"
    )
    assert built.text == "Om tabellen"
    assert built.notes == [suppression.note(5)]


def test_a_distribution_whose_total_is_hidden_shows_its_counts_without_shares(db: Any) -> None:
    cols = [
        OWN,
        content.Column("2", "Annen", frozenset({2}), True),
        content.Column("national", "Hele landet", frozenset({1, 2}), False),
    ]
    built = common.distribution_section(
        "Kjønn",
        ["Mann", "Kvinne", "Annet"],
        {1: {"Mann": 3, "Kvinne": 1}, 2: {"Annet": 3}},
        cols,
        5,
    )
    # The country's total (7) would give the other unit's 3 away: hidden, and with it the
    # country's shares (3 of 7); its counts of men and women are the own unit's and shown.
    assert built.table.rows == [
        ("Mann", ["3 (75 %)", "0", "3"]),
        ("Kvinne", ["1 (25 %)", "0", "1"]),
        ("Annet", ["0 (0 %)", "<5", "x"]),
        ("Totalt", ["4", "<5", "x"]),
    ]
    assert built.chart.alt.endswith("Hele landet: Mann –, Kvinne –, Annet –")


def test_with_two_units_the_rest_of_the_country_is_the_other_unit_masked_for_a_local_viewer(
    db: Any,
) -> None:
    own = Unit.objects.get(pk=ST_OLAVS)
    units = [own, Unit.objects.get(pk=HAUKELAND)]
    rest = content.columns(content.OWN_VS_REST, own, units, False)[1]
    assert (rest.unit_ids, rest.masked) == (frozenset({HAUKELAND}), True)
    # The national role sees every unit's small counts.
    assert not content.columns(content.OWN_VS_REST, own, units, True)[1].masked


def test_a_distributions_chart_gives_no_share_of_a_hidden_total() -> None:
    """Another unit's only patients are 3 men: the men and the total are "<5", its 0 women a
    count; the chart shows no share of that hidden total (0 % of it would say there is one)."""
    from nnrr.reports.content.common import Column, distribution_section

    own = Column("1", "Egen", frozenset({1}), False, own=True)
    rest = Column("rest", "Resten av landet", frozenset({2}), True)
    built = distribution_section(
        "Kjønn",
        ["Mann", "Kvinne"],
        {1: {"Mann": 6, "Kvinne": 4}, 2: {"Mann": 3}},
        [own, rest],
        5,
    )
    shown = dict(built.table.rows)
    assert shown["Mann"] == ["6 (60 %)", "<5"]
    assert shown["Kvinne"] == ["4 (40 %)", "0"]
    assert shown["Totalt"] == ["10", "<5"]
    assert built.chart.alt.endswith("Resten av landet: Mann –, Kvinne –")
