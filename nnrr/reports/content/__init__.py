"""The reports under "Rapporter", one module each; ``build`` makes the chosen one."""

from __future__ import annotations

from collections.abc import Callable

from nnrr.reports.content.common import (
    ALL_UNITS,
    OWN_ONLY,
    OWN_VS_REST,
    Choices,
    Column,
    Report,
    Section,
    Table,
    active_units,
    band_labels,
    chart_columns,
    columns,
    decimal,
    percent,
    protect_columns,
    sum_counts,
)
from nnrr.reports.content.diagnoses import diagnosis_report
from nnrr.reports.content.indicators import indicator_report
from nnrr.reports.content.outcomes import outcome_report
from nnrr.reports.content.pathways import pathway_report
from nnrr.reports.content.patient_mix import patient_mix_report
from nnrr.reports.content.response_rates import response_report
from nnrr.reports.content.waiting import waiting_report

__all__ = [
    "ALL_UNITS",
    "OWN_ONLY",
    "OWN_VS_REST",
    "REPORTS",
    "Choices",
    "Column",
    "Report",
    "Section",
    "Table",
    "active_units",
    "band_labels",
    "build",
    "chart_columns",
    "columns",
    "decimal",
    "diagnosis_report",
    "indicator_report",
    "outcome_report",
    "pathway_report",
    "patient_mix_report",
    "percent",
    "protect_columns",
    "response_report",
    "sum_counts",
    "waiting_report",
]

REPORTS: dict[str, tuple[str, Callable[[Choices], Report]]] = {
    "indikatorer": ("Kvalitetsindikatorer", indicator_report),
    "pasientsammensetning": ("Pasientsammensetning", patient_mix_report),
    "utvikling": ("Skårer før og etter behandling", outcome_report),
    "ventetid": ("Ventetid fra henvisning til besøk", waiting_report),
    "svarprosent": ("Svarprosent på oppfølgingsskjema", response_report),
    "behandling": ("Anbefalte behandlingsforløp", pathway_report),
    "diagnoser": ("De 20 vanligste diagnosene", diagnosis_report),
}


def build(choices: Choices) -> Report:
    return REPORTS[choices.report][1](choices)
