"""The registry's quality indicators: one definition each, computed by the database.

Definitions follow indicators.md to the letter, which follows the registry's production
indicator function (``nnrrBeregnIndikator`` of the R package ``nnrr``): same ids, same
conditions, and the relative changes computed in double precision as written there
((baseline − 6 m) ÷ baseline ≥ 0.30, so 10 → 7 is in). Targets and the presentation thresholds
are configuration (:mod:`nnrr.reports.config`). Each indicator is a denominator and a numerator
condition over the columns of the unit-of-analysis frame (:mod:`nnrr.reports.frame`); all
indicators of one year rule are counted in a single aggregate query grouped by unit and year.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, ExpressionWrapper, F, FloatField, Q, QuerySet, Value
from django.db.models.functions import Cast, NullIf

from nnrr.reports import frame
from nnrr.reports.frame import BASELINE, CLINICIAN, SIX, number, ticked
from nnrr.reports.models import CoverageEntry
from nnrr.reports.stats import Share

VISIT = "visit"
FOLLOW_UP = "followup"
REGISTRATION = "registration"

# The relative improvement the registry counts as clinically important (indicators.md).
RELATIVE_CHANGE = 0.30


def relative_drop(baseline: str, after: str) -> ExpressionWrapper:
    """(baseline − after) ÷ baseline in double precision; NULL when the baseline is 0 or missing.

    Both sides are cast to floating point first: a JSON integer would otherwise divide as an
    integer on SQLite (3 ÷ 10 = 0).
    """
    base = Cast(F(baseline), FloatField())
    return ExpressionWrapper(
        (base - Cast(F(after), FloatField())) / NullIf(base, Value(0.0)),
        output_field=FloatField(),
    )


# Columns of the frame the indicators use (``alias``ed: computed in the query, never selected).
PROCESS_COLUMNS: dict[str, Any] = {
    "indiv_interdisc": number(CLINICIAN, "Treatment_InvidualInterdisciplinary"),
    "group_interdisc": number(CLINICIAN, "Treatment_GroupInterdisciplinary2018"),
    "mastery": number(CLINICIAN, "TreatmentMasteryOrientedConversation"),
    "counselling": number(CLINICIAN, "TreatmentCouncellingLifeStyleAndMedication"),
    "work_mapped": number(CLINICIAN, "TreatmentAbilityToWorkFunctionLevel"),
    "employed_at_baseline": number(BASELINE, "IsEmployed"),
}
# VentetidFraHenvisningTilBesok: whole days from Henvisningsdato to Besøksdato.
WAITING_COLUMNS: dict[str, Any] = {
    "waiting_days": frame.DaysBetween(F("visit_text"), "referral_date")
}
OUTCOME_COLUMNS: dict[str, Any] = {
    "odi0": number(BASELINE, "OdiScore", "scores"),
    "odi6": number(SIX, "OdiScore", "scores"),
    "rest0": number(BASELINE, "PainExperiencesNoActivity"),
    "rest6": number(SIX, "PainExperiencesNoActivity"),
    "active0": number(BASELINE, "PainExperiencesActivity"),
    "active6": number(SIX, "PainExperiencesActivity"),
    "employed0": number(BASELINE, "IsEmployed"),
    "sick0": ticked(BASELINE, "S2_SickLeave"),
    "sickpct0": number(BASELINE, "S2_SickLeave_Percent"),
    "working6": ticked(SIX, "S2_Working"),
    "sick6": ticked(SIX, "S2_SickLeave"),
    "nav6": ticked(SIX, "S2_NAV"),
    "sickpct6": number(SIX, "S2_SickLeave_Percent"),
    "benefit6": number(SIX, "UseOfTreatment"),
    "satisfaction6": number(SIX, "TreatmentSatisfaction"),
}


def outcome_derived() -> dict[str, Any]:
    """Derived columns (need the ones above first), built with each query."""
    return {
        "odi_gain": F("odi0") - F("odi6"),
        "rest_gain": F("rest0") - F("rest6"),
        "active_gain": F("active0") - F("active6"),
        "odi_rel": relative_drop("odi0", "odi6"),
        "rest_rel": relative_drop("rest0", "rest6"),
        "active_rel": relative_drop("active0", "active6"),
    }


@dataclass(frozen=True)
class Indicator:
    id: str
    title_nb: str
    title_en: str
    year_rule: str
    denominator: Q
    numerator: Q
    description_nb: str
    description_en: str = ""
    # For a share shown beside an indicator in the reports (never in the national file): the
    # indicator's id; the report places it right after that indicator.
    beside: str = ""

    @property
    def is_outcome(self) -> bool:
        return self.year_rule == FOLLOW_UP

    def title(self, language: str = "nb") -> str:
        return self.title_en if language == "en" else self.title_nb


_ODI_BOTH = Q(has6=1, odi0__isnull=False, odi6__isnull=False)
_JOB_DENOMINATOR = Q(has6=1, employed0=1, sick0=1)
_JOB_NUMERATOR = Q(working6=1, sick6=0, nav6=0)


# Evaluated once, when INDICATORS is built at import: a mutation run could never switch one of
# its mutants on in time, so it is left out of the run and was checked by hand instead
# (docs/benchmarks.md, "Mutation testing, indicators after table() was removed").
def _pain(prefix: str) -> Q:
    # pragma: no mutate block
    return Q(has6=1, **{f"{prefix}0__isnull": False, f"{prefix}6__isnull": False}) & ~Q(
        **{f"{prefix}0": 0}
    )


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "nnrr_tverrfaglig_behandling",
        "Tverrfaglig behandling",
        "Interdisciplinary treatment",
        VISIT,
        Q(),
        Q(indiv_interdisc__gte=1) | Q(group_interdisc__gte=1),
        "Andel forløp der det anbefales individuell eller gruppebasert tverrfaglig behandling "
        "(to eller flere faggrupper involvert), av alle forløp. År: besøksdato.",
        "Share of courses with individual or group interdisciplinary treatment recommended.",
    ),
    Indicator(
        "nnrr_mestringsorientert_samtale",
        "Mestringsorientert samtale",
        "Coping-oriented conversation",
        VISIT,
        Q(mastery__in=[1, 2]),
        Q(mastery=1),
        "Andel forløp der pasienten fikk en mestringsorientert samtale, av forløp der spørsmålet "
        "er besvart. År: besøksdato.",
        "Share of courses with a coping-oriented conversation, among those answered.",
    ),
    Indicator(
        "nnrr_tid_henvisning_besok_50",
        "Ventetid fra henvisning til besøk høyst 50 dager",
        "Waiting time from referral to visit at most 50 days",
        VISIT,
        Q(waiting_days__isnull=False, waiting_days__gte=0),
        Q(waiting_days__lte=50),
        "Andel forløp med høyst 50 dager fra henvisningsdato til besøksdato, av forløp med "
        "kjent ventetid (negativ ventetid regnes som ukjent). År: besøksdato.",
        "Share of courses seen within 50 days of the referral, among those with a known "
        "waiting time (a negative waiting time counts as unknown).",
    ),
    Indicator(
        "nnrr_bedret_funksjon",
        "Klinisk viktig bedring i funksjon (ODI)",
        "Clinically important improvement in function (ODI)",
        FOLLOW_UP,
        _ODI_BOTH,
        Q(odi_rel__gte=RELATIVE_CHANGE),
        "Andel med minst 30 % lavere ODI etter 6 måneder enn før behandling ((før − 6 mnd.) ÷ "
        "før ≥ 0,30), av forløp med ODI både før og etter 6 måneder. ODI 0 før behandling "
        "teller i nevneren, aldri i telleren. År: besøksdato + 6 måneder.",
        "Share with an ODI at least 30 % lower at 6 months than at baseline.",
    ),
    Indicator(
        "nnrr_funksjons_nedsettelse",
        "Lite funksjonsnedsettelse etter 6 måneder (ODI ≤ 23)",
        "Minimal disability at 6 months (ODI ≤ 23)",
        FOLLOW_UP,
        _ODI_BOTH,
        Q(odi6__lte=23),
        "Andel med ODI høyst 23 etter 6 måneder, av forløp med ODI både før og etter 6 måneder. "
        "År: besøksdato + 6 måneder.",
        "Share with ODI at most 23 at 6 months.",
    ),
    Indicator(
        "nnrr_bedring_smerte_hvile",
        "Bedring av smerte i hvile",
        "Improvement of pain at rest",
        FOLLOW_UP,
        _pain("rest"),
        Q(rest_rel__gte=RELATIVE_CHANGE),
        "Andel med minst 30 % lavere smerte i hvile (NRS) etter 6 måneder enn før behandling, "
        "av forløp med svar både før og etter og smerte før behandling ulik 0. "
        "År: besøksdato + 6 måneder.",
        "Share with pain at rest at least 30 % lower at 6 months than at baseline.",
    ),
    Indicator(
        "nnrr_bedring_smerte_aktiv",
        "Bedring av smerte i aktivitet",
        "Improvement of pain in activity",
        FOLLOW_UP,
        _pain("active"),
        Q(active_rel__gte=RELATIVE_CHANGE),
        "Andel med minst 30 % lavere smerte i aktivitet (NRS) etter 6 måneder enn før "
        "behandling, av forløp med svar både før og etter og smerte før behandling ulik 0. "
        "År: besøksdato + 6 måneder.",
        "Share with pain in activity at least 30 % lower at 6 months than at baseline.",
    ),
    Indicator(
        "nnrr_jobb_ny_v1",
        "Tilbake i arbeid",
        "Back in work",
        FOLLOW_UP,
        _JOB_DENOMINATOR,
        _JOB_NUMERATOR,
        "Andel i arbeid, verken sykmeldt eller på arbeidsavklaringspenger etter 6 måneder, av "
        "forløp der pasienten var i arbeidsforhold og sykmeldt før behandling. "
        "År: besøksdato + 6 måneder.",
        "Share working, not sick-listed and not on AAP at 6 months, among employed and "
        "sick-listed at baseline.",
    ),
    Indicator(
        "nnrr_jobb_ny_v2",
        "Tilbake i arbeid eller lavere sykmeldingsgrad",
        "Back in work or lower sick-leave percentage",
        FOLLOW_UP,
        _JOB_DENOMINATOR,
        _JOB_NUMERATOR
        | Q(sickpct0__isnull=False, sickpct6__isnull=False, sickpct6__lt=F("sickpct0")),
        "Som «Tilbake i arbeid», eller lavere sykmeldingsgrad etter 6 måneder enn før "
        "behandling (begge oppgitt). År: besøksdato + 6 måneder.",
        "As 'Back in work', or a lower sick-leave percentage at 6 months (both given).",
    ),
    Indicator(
        "nnrr_bedring_av_behandling",
        "Nytte av behandlingen",
        "Benefit of treatment",
        FOLLOW_UP,
        Q(has6=1, benefit6__gte=1, benefit6__lte=7),
        Q(benefit6__gte=1, benefit6__lte=3),
        "Andel som etter 6 måneder er helt bra, mye bedre eller litt bedre, av dem som har "
        "svart. År: besøksdato + 6 måneder.",
        "Share completely well, much or a little better at 6 months, among those answering.",
    ),
    Indicator(
        "nnrr_misfornoeyd",
        "Fornøyd eller nøytral med behandlingen",
        "Satisfied or neutral with the treatment",
        FOLLOW_UP,
        Q(has6=1, satisfaction6__gte=1, satisfaction6__lte=5),
        Q(satisfaction6__gte=1, satisfaction6__lte=3),
        "Andel fornøyd, litt fornøyd eller verken fornøyd eller misfornøyd etter 6 måneder, av "
        "dem som har svart. År: besøksdato + 6 måneder.",
        "Share satisfied or neutral at 6 months, among those answering.",
    ),
    Indicator(
        "nnrr_dg",
        "Dekningsgrad",
        "Coverage",
        REGISTRATION,
        Q(),
        Q(),
        "Registrerte forløp (besøksår) delt på antall aktuelle pasienter enheten har meldt for "
        "året (summen av halvårene).",
        "Registered courses divided by the eligible patients the unit reported for the year.",
    ),
)
# Other shares the reports show, without a target and outside the national file.
OTHER_SHARES: tuple[Indicator, ...] = (
    # Klinisk viktig endring (poeng): the registry's report variables odi_klinisk_viktig_6mnd,
    # bedring_smerte_hvile_6mnd_v2 and bedring_smerte_aktiv_6mnd_v2, shown beside the indicator
    # with the same denominator. Differences in double precision as the registry computes them
    # (30.2 − 20.2 is 9.999… there too, and not counted).
    Indicator(
        "odi_klinisk_viktig_6mnd",
        "Klinisk viktig endring (poeng): ODI minst 10 poeng lavere",
        "Clinically important change (points): ODI at least 10 points lower",
        FOLLOW_UP,
        _ODI_BOTH,
        Q(odi_gain__gte=10),
        "Andel med minst 10 poeng lavere ODI etter 6 måneder enn før behandling, med samme "
        "nevner som «Klinisk viktig bedring i funksjon». Uten mål; ikke i den nasjonale filen. "
        "År: besøksdato + 6 måneder.",
        "Share with an ODI at least 10 points lower at 6 months; no target.",
        beside="nnrr_bedret_funksjon",
    ),
    Indicator(
        "bedring_smerte_hvile_6mnd_v2",
        "Klinisk viktig endring (poeng): smerte i hvile minst 2 poeng lavere",
        "Clinically important change (points): pain at rest at least 2 points lower",
        FOLLOW_UP,
        _pain("rest"),
        Q(rest_gain__gte=2),
        "Andel med minst 2 poeng lavere smerte i hvile (NRS) etter 6 måneder, med samme nevner "
        "som «Bedring av smerte i hvile». Uten mål; ikke i den nasjonale filen.",
        "Share with pain at rest at least 2 points lower at 6 months; no target.",
        beside="nnrr_bedring_smerte_hvile",
    ),
    Indicator(
        "bedring_smerte_aktiv_6mnd_v2",
        "Klinisk viktig endring (poeng): smerte i aktivitet minst 2 poeng lavere",
        "Clinically important change (points): pain in activity at least 2 points lower",
        FOLLOW_UP,
        _pain("active"),
        Q(active_gain__gte=2),
        "Andel med minst 2 poeng lavere smerte i aktivitet (NRS) etter 6 måneder, med samme "
        "nevner som «Bedring av smerte i aktivitet». Uten mål; ikke i den nasjonale filen.",
        "Share with pain in activity at least 2 points lower at 6 months; no target.",
        beside="nnrr_bedring_smerte_aktiv",
    ),
    Indicator(
        "nnrr_livsstilsraad",
        "Individuell rådgivning om livsstil og/eller medikamenter",
        "Individual advice on lifestyle and/or medication",
        VISIT,
        Q(counselling__in=[1, 2]),
        Q(counselling=1),
        "Andel forløp der det ble gitt individuell rådgivning om livsstil og/eller medikamenter, "
        "av forløp der spørsmålet er besvart. Uten mål. År: besøksdato.",
        "Share of courses with individual advice on lifestyle and/or medication, among those "
        "answered. No target. Year: visit date.",
    ),
    Indicator(
        "nnrr_arbeidsfunksjon_kartlagt",
        "Funksjon knyttet til arbeid kartlagt",
        "Work function mapped",
        VISIT,
        Q(employed_at_baseline=1, work_mapped__in=[1, 2]),
        Q(work_mapped=1),
        "Andel forløp der funksjonsevne knyttet til arbeid og utdanning ble kartlagt, blant "
        "pasienter i arbeidsforhold (svar før behandling). Uten mål. År: besøksdato.",
        "Share of courses where function related to work and education was mapped, among "
        "patients in employment (answers before treatment). No target. Year: visit date.",
    ),
)


def report_order() -> tuple[Indicator, ...]:
    """The indicators, each followed by the shares shown beside it, then the other shares."""
    ordered: list[Indicator] = []
    for indicator in INDICATORS:
        ordered.append(indicator)
        ordered += [share for share in OTHER_SHARES if share.beside == indicator.id]
    ordered += [share for share in OTHER_SHARES if not share.beside]
    return tuple(ordered)


BY_ID = {indicator.id: indicator for indicator in (*INDICATORS, *OTHER_SHARES)}
COVERAGE = BY_ID["nnrr_dg"]


def process_frame() -> QuerySet:
    return frame.courses().alias(**PROCESS_COLUMNS).alias(**WAITING_COLUMNS)


def outcome_frame() -> QuerySet:
    return frame.with_follow_up(frame.courses()).alias(**OUTCOME_COLUMNS).alias(**outcome_derived())


def frame_for(indicator: Indicator) -> QuerySet:
    return outcome_frame() if indicator.is_outcome else process_frame()


def year_field(indicator: Indicator) -> str:
    return "followup_year" if indicator.is_outcome else "visit_year"


def in_years(rule: str, first_year: int, last_year: int) -> Q:
    """The frame's courses counted in ``first_year``..``last_year`` under a year rule."""
    if rule == FOLLOW_UP:
        return frame.follow_ups_in(first_year, last_year)
    return frame.visits_in(first_year, last_year)


Key = tuple[int, int]  # (unit id, year)


@dataclass
class Counts:
    """Numerator and denominator per (unit, year) of one indicator."""

    indicator: Indicator
    years: tuple[int, ...]
    cells: dict[Key, Share] = field(default_factory=dict)

    def unit(self, unit_id: int, year: int) -> Share:
        return self.cells.get((unit_id, year), Share(0, 0))

    def national(self, year: int) -> Share:
        total = Share(0, 0)
        for (_, cell_year), share in self.cells.items():
            if cell_year == year:
                total = total + share
        return total

    def rest(self, unit_id: int, year: int) -> Share:
        return self.national(year) - self.unit(unit_id, year)

    def unit_ids(self) -> set[int]:
        return {unit_id for unit_id, _ in self.cells}


def counted(indicators: Sequence[Indicator], first_year: int, last_year: int) -> dict[str, Counts]:
    """Count every indicator per unit and year over [first_year, last_year]."""
    years = tuple(range(first_year, last_year + 1))
    results = {ind.id: Counts(ind, years) for ind in indicators}
    for rule in (VISIT, FOLLOW_UP):
        group = [ind for ind in indicators if ind.year_rule == rule]
        if not group:
            continue
        source = outcome_frame() if rule == FOLLOW_UP else process_frame()
        year = "followup_year" if rule == FOLLOW_UP else "visit_year"
        aggregates: dict[str, Any] = {}
        for index, ind in enumerate(group):
            aggregates[f"d{index}"] = Count("pk", filter=ind.denominator)
            aggregates[f"n{index}"] = Count("pk", filter=ind.denominator & ind.numerator)
        rows = (
            source.filter(in_years(rule, first_year, last_year))
            .values("unit_id", year)
            .annotate(**aggregates)
            .order_by()
        )
        for row in rows:
            for index, ind in enumerate(group):
                if row[f"d{index}"]:
                    results[ind.id].cells[(row["unit_id"], row[year])] = Share(
                        row[f"n{index}"], row[f"d{index}"]
                    )
    if any(ind.year_rule == REGISTRATION for ind in indicators):
        results[COVERAGE.id].cells = coverage_cells(first_year, last_year)
    return results


def data_version() -> str:
    """Changes whenever a form, course, patient or coverage figure is added, changed or removed.

    A counter moved by database triggers on those tables (reports migration 0002): one indexed
    read, whatever the size of the registry's history. A write that is still uncommitted when a
    report is computed may already have moved the counter; its change then shows when the next
    write moves it again, or when the cached counts expire (``REPORTS_CACHE_SECONDS``).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT last_value, is_called FROM reports_data_version")
        else:
            cursor.execute("SELECT n, 1 FROM reports_data_version WHERE id = 1")
        row = cursor.fetchone()
    return f"{connection.alias}:{row[0]}:{row[1]}" if row else "none"


def counted_cached(
    indicators: Sequence[Indicator], first_year: int, last_year: int
) -> dict[str, Counts]:
    """:func:`counted`, kept for ``REPORTS_CACHE_SECONDS`` while the data do not change.

    The counts are per unit and the same for every viewer (suppression and "<5" are applied
    when they are shown), so one computation serves every profile's report.
    """
    import hashlib

    from django.conf import settings
    from django.core.cache import cache

    seconds = getattr(settings, "REPORTS_CACHE_SECONDS", 600)
    if seconds <= 0:
        return counted(indicators, first_year, last_year)
    ids = ",".join(i.id for i in indicators)
    digest = hashlib.sha256(f"{ids}|{first_year}|{last_year}|{data_version()}".encode())
    key = f"nnrr-indicators-{digest.hexdigest()}"
    result = cache.get(key)
    if result is None:
        result = counted(indicators, first_year, last_year)
        cache.set(key, result, seconds)
    return result


def registrations(first_year: int, last_year: int) -> dict[Key, int]:
    rows = (
        frame.courses()
        .filter(frame.visits_in(first_year, last_year))
        .values("unit_id", "visit_year")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(row["unit_id"], row["visit_year"]): row["n"] for row in rows}


def eligible(first_year: int, last_year: int) -> dict[Key, int]:
    """The eligible patients per unit and year: the newest entry of each half-year, summed."""
    newest: dict[tuple[int, int, int], int] = {}
    entries = CoverageEntry.objects.filter(year__gte=first_year, year__lte=last_year).order_by(
        "unit_id", "year", "half", "-entered_at", "-pk"
    )
    for unit_id, year, half, count in entries.values_list("unit_id", "year", "half", "eligible"):
        newest.setdefault((unit_id, year, half), count)
    totals: dict[Key, int] = defaultdict(int)
    for (unit_id, year, _), count in newest.items():
        totals[(unit_id, year)] += count
    return dict(totals)


def coverage_cells(first_year: int, last_year: int) -> dict[Key, Share]:
    """Registrations ÷ eligible, for units that reported eligible patients for the year.

    A unit that registers more than it reported is capped at 100 % in the share (the count
    stays as registered in the national file).
    """
    counts = registrations(first_year, last_year)
    cells = {}
    for key, denominator in eligible(first_year, last_year).items():
        if denominator > 0:
            cells[key] = Share(min(counts.get(key, 0), denominator), denominator)
    return cells
