"""The tables of a datadump and their columns, with the registry's own variable names.

Every table and column is described once here; the writers (CSV, Excel, SPSS, Stata, R) and the
codebook (``Kodebok``) are driven by these descriptions, so a column's name, label, type and
value labels are the same in every format.

Column names follow the registry's existing datadumps (the Rapporteket ``nnrr`` package reads
them): linkage columns first, then every item id of the form definition, then the stored scores.
The course table ``Forlop`` joins a course's forms on ``HovedskjemaGUID`` like the registry's own
analysis code does: the Behandlerskjema's columns unsuffixed, the pre-treatment form's with
``_pre``, the 6-month form's with ``_post`` and the 12-month form's with ``_post2``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from nnrr.exports import registry
from nnrr.questionnaires.definitions import Item, all_definitions
from nnrr.questionnaires.models import FormKind, FormStatus

# Column types: how a value is written and read back.
INT, FLOAT, DATE, DATETIME, STRING = "int", "float", "date", "datetime", "string"

TABLE_NAMES: dict[str, str] = {
    FormKind.CLINICIAN: "Behandlerskjema",
    FormKind.PRE_TREATMENT: "Pasientskjema_foer_behandling",
    FormKind.FOLLOW_UP_6: "Pasientskjema_6_maaneder",
    FormKind.FOLLOW_UP_12: "Pasientskjema_12_maaneder",
}
COURSE_TABLE = "Forlop"
CODEBOOK_TABLE = "Kodebok"


def table_label(name: str) -> str:
    """A table of the archive in the user's words ("Pasientskjema før behandling" for the file
    Pasientskjema_foer_behandling); the file names themselves stay as they are."""
    for kind, table in TABLE_NAMES.items():
        if table == name:
            return str(FormKind(kind).label)
    return {COURSE_TABLE: str(_("Forløp")), CODEBOOK_TABLE: str(_("Kodebok"))}.get(name, name)


FORM_ORDER = (
    FormKind.CLINICIAN,
    FormKind.PRE_TREATMENT,
    FormKind.FOLLOW_UP_6,
    FormKind.FOLLOW_UP_12,
)
# Suffixes of the patient forms' columns in the course table.
COURSE_SUFFIXES: dict[str, str] = {
    FormKind.PRE_TREATMENT: "_pre",
    FormKind.FOLLOW_UP_6: "_post",
    FormKind.FOLLOW_UP_12: "_post2",
}

YES_NO_TICK: tuple[tuple[int, str], ...] = ((0, "Nei"), (1, "Ja"))
GENDER_CODES: tuple[tuple[int, str], ...] = ((1, "Mann"), (2, "Kvinne"))
STATUS_CODES: tuple[tuple[int, str], ...] = tuple((int(s.value), str(s.label)) for s in FormStatus)
REGSTATUS_CODES: tuple[tuple[int, str], ...] = ((0, "Ikke besvart"), (1, "Ferdigstilt"))

# Stored scores by form (nnrr/questionnaires/scoring.py), with labels for the codebook.
SCORE_LABELS: dict[str, tuple[str, str]] = {
    "OdiScore": (FLOAT, "Oswestry Disability Index (0–100)"),
    "NdiScore": (FLOAT, "Neck Disability Index, poeng (0–50)"),
    "NdiPercent": (FLOAT, "Neck Disability Index, prosent (0–100)"),
    "HSCL10Score": (FLOAT, "HSCL-10, gjennomsnitt (1–4)"),
    "FABQScore1": (INT, "FABQ fysisk aktivitet (0–24)"),
    "FABQScore2": (INT, "FABQ arbeid (0–42)"),
    "UhiHighCount": (INT, "UHI, antall plager med skår ≥ 2 (utenom ledd 5–7)"),
    "NofPainRegions": (INT, "Antall smerteområder i smertetegningen (0–32)"),
    "Score_EQ5DL": (FLOAT, "EQ-5D-5L indeks"),
    "Score_EQ5DL_ValueSet": (STRING, "EQ-5D-5L verdisett brukt for indeksen"),
}
SCORES_BY_FORM: dict[str, tuple[str, ...]] = {
    FormKind.CLINICIAN: (),
    FormKind.PRE_TREATMENT: (
        "OdiScore",
        "NdiScore",
        "NdiPercent",
        "HSCL10Score",
        "FABQScore1",
        "FABQScore2",
        "UhiHighCount",
        "NofPainRegions",
        "Score_EQ5DL",
        "Score_EQ5DL_ValueSet",
    ),
    FormKind.FOLLOW_UP_6: (
        "OdiScore",
        "NdiScore",
        "NdiPercent",
        "Score_EQ5DL",
        "Score_EQ5DL_ValueSet",
    ),
    FormKind.FOLLOW_UP_12: (
        "OdiScore",
        "NdiScore",
        "NdiPercent",
        "Score_EQ5DL",
        "Score_EQ5DL_ValueSet",
    ),
}

Getter = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str
    get: Getter = field(compare=False, repr=False)
    codes: tuple[tuple[int, str], ...] = ()
    versions: str = ""
    free_text: bool = False  # patient-written or clinician-written text: identifiable exports only
    checkbox: bool = False  # the registry's field type "Avkrysning" (0/1)

    def renamed(self, suffix: str, getter: Getter) -> Column:
        return dataclasses.replace(self, name=self.name + suffix, get=getter)

    @property
    def field_type(self) -> str:
        """The registry's field type (its codebooks' "Felttype")."""
        if self.checkbox:
            return "Avkrysning"
        if self.codes:
            return "Enkeltvalg"
        return {INT: "Numerisk", FLOAT: "Numerisk", DATE: "Dato", DATETIME: "Dato"}.get(
            self.type, "Tekst"
        )


@dataclass(frozen=True)
class Table:
    name: str
    kind: str  # a FormKind value, or "course"
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


# --- Getters: a row is a mapping built by nnrr.exports.query -----------------------------------


def _key(name: str) -> Getter:
    return lambda row: row.get(name)


def _answer(item_id: str, item_type: str, not_answered: int | None = None) -> Getter:
    """An item's answer; ``not_answered``: the registry's code for an item that was shown in a
    completed form and left unanswered (an item not shown stays empty)."""
    if item_type == "boolean":

        def get_bool(row: Mapping[str, Any]) -> Any:
            value = row["answers"].get(item_id)
            return None if value is None else int(bool(value))

        return get_bool

    def get(row: Mapping[str, Any]) -> Any:
        value = row["answers"].get(item_id)
        if value in (None, ""):
            if not_answered is not None and _shown_unanswered(row, item_id):
                return not_answered
            return None
        return value

    return get


def _shown_unanswered(row: Mapping[str, Any], item_id: str) -> bool:
    return row.get("status") == FormStatus.FERDIGSTILT and item_id in row.get("shown", ())


def _score(name: str) -> Getter:
    return lambda row: row["scores"].get(name)


def _item_type(item: Item) -> str:
    return {
        "boolean": INT,
        "choice": INT,
        "integer": INT,
        "decimal": FLOAT,
        "date": DATE,
        "text": STRING,
        "diagnosis": STRING,
    }[item.type]


def _item_codes(item: Item) -> tuple[tuple[int, str], ...]:
    if item.type == "boolean":
        return YES_NO_TICK
    return tuple((c.code, c.label.nb) for c in item.codes)


@functools.cache
def item_columns(kind: str) -> tuple[Column, ...]:
    """Every item of every version of form ``kind``, newest version's order first."""
    definitions = sorted(
        (d for d in all_definitions() if d.form == kind),
        key=lambda d: (d.major, d.minor),
        reverse=True,
    )
    seen: dict[str, list[str]] = {}
    items: dict[str, Item] = {}
    for definition in definitions:
        for item in definition.items():
            seen.setdefault(item.id, []).append(definition.version)
            items.setdefault(item.id, item)
    columns: list[Column] = []
    for item_id, item in items.items():
        if item_id == "S1b_DateOfCompletion":  # a linkage column of every table
            continue
        versions = ", ".join(sorted(seen[item_id]))
        label = item.label.nb
        if item.group:
            group = next((g for d in definitions for g in d.groups() if g.id == item.group), None)
            if group is not None:
                label = f"{group.label.nb}: {label}"
        codes = _item_codes(item)
        missing = None
        if item.type == "choice":
            missing = registry.not_answered_code(kind, item_id, dict(codes))
        if missing is not None:
            label_missing = registry.NOT_ANSWERED[kind][item_id][1]
            codes = ((missing, label_missing), *codes)
        columns.append(
            Column(
                name=item_id,
                label=label,
                type=_item_type(item),
                get=_answer(item_id, item.type, missing),
                codes=codes,
                versions=versions,
                free_text=item.type == "text",
                checkbox=item.type == "boolean",
            )
        )
        if item.type == "diagnosis":
            columns.append(
                Column(
                    name=f"{item_id}Type",
                    label=f"{label}: NNRR-diagnosegruppe",
                    type=INT,
                    get=_answer(f"{item_id}Type", "integer"),
                    versions=versions,
                )
            )
    return tuple(columns)


def _linkage(kind: str, identifiable: bool) -> list[Column]:
    columns = [
        Column(
            "PasientGUID",
            "Pasientens pseudonym (samme person, samme verdi)",
            STRING,
            _key("PasientGUID"),
        ),
    ]
    if identifiable:
        columns += [
            Column("Fodselsnummer", "Fødselsnummer", STRING, _key("national_id")),
            Column("Navn", "Pasientens navn", STRING, _key("patient_name")),
        ]
    columns += [
        Column("SkjemaGUID", "Skjemaets id", STRING, _key("SkjemaGUID")),
        Column(
            "HovedskjemaGUID", "Behandlerskjemaets id (forløpet)", STRING, _key("HovedskjemaGUID")
        ),
        Column("UnitId", "Enhetens reshID", INT, _key("unit_id")),
        Column("SykehusNavn", "Enhetens navn", STRING, _key("unit_name")),
        Column(
            "FormTypeId",
            "Skjematype (registerets id: 1 = 1b, 2 = 1a, 3 = 6 mnd., 8 = 12 mnd.)",
            INT,
            lambda row: registry.FORM_TYPE_IDS.get(row["kind"]),
            codes=registry.FORM_TYPE_CODES,
        ),
        Column("MajorVersion", "Skjemaversjon, hoveddel", INT, _key("major")),
        Column("MinorVersion", "Skjemaversjon, underdel", INT, _key("minor")),
        Column("FormStatus", "Skjemastatus", INT, _key("status"), codes=STATUS_CODES),
        Column("FormDate", "Skjemadato", DATE, _key("form_date")),
        Column("LastUpdate", "Sist endret", DATETIME, _key("last_update")),
        Column("PatientAge", "Pasientens alder på besøksdatoen (år)", INT, _key("age")),
        Column("PatientGender", "Pasientens kjønn", INT, _key("gender"), codes=GENDER_CODES),
        Column(
            "S1b_DateOfCompletion", "Besøksdato (fra behandlerskjemaet)", DATE, _key("visit_date")
        ),
    ]
    if kind != FormKind.CLINICIAN:
        columns.append(
            Column(
                "DateOfCompletion", "Dato pasienten besvarte skjemaet", DATE, _key("completed_date")
            )
        )
    return columns


def _wording(instrument: str) -> Getter:
    def get(row: Mapping[str, Any]) -> Any:
        stored = row.get("wording", {}).get(instrument)
        if not isinstance(stored, Mapping) or not stored.get("id"):
            return None
        return f"{stored['id']} {stored.get('version', '')}".strip()

    return get


def wording_columns(kind: str) -> list[Column]:
    """Which wording (id and version) each licensed instrument of the form was answered under:
    ``Ordlyd_ODI`` = "nnrr-plassholder 1" or the licensed file's id and version."""
    from nnrr.questionnaires import wording

    asked = {
        item.instrument
        for definition in all_definitions()
        if definition.form == kind
        for item in definition.items()
        if item.instrument
    }
    return [
        Column(
            f"Ordlyd_{wording.NAMES[i].replace('-', '')}",
            f"Ordlyd (id og versjon) {wording.NAMES[i]} ble besvart med",
            STRING,
            _wording(i),
        )
        for i in wording.LICENSED_INSTRUMENTS
        if i in asked
    ]


def _registry_getter(kind: str, spec: Mapping[str, Any]) -> Getter:
    source = spec.get("source")
    if source:
        coded = spec["kind"] == "code" and (0, registry.IKKE_SVART) in spec["codes"]
        return _answer(source, "integer", 0 if coded else None)
    if spec.get("derived") == "waiting_days":

        def waiting(row: Mapping[str, Any]) -> Any:
            visit, referral = row.get("visit_date"), row.get("referral_date")
            return (visit - referral).days if visit and referral else None

        return waiting
    return lambda row: None


@functools.cache
def registry_columns(kind: str) -> tuple[Column, ...]:
    """Columns the registry's database has and its analysis code reads, not items of ours
    (:mod:`nnrr.exports.registry`); filled from an item of ours where one measures the same."""
    columns = []
    for spec in registry.extra_columns(kind):
        asked = "source" in spec or "derived" in spec
        checkbox = spec["kind"] == "tick"
        columns.append(
            Column(
                name=spec["name"],
                label=spec["label"],
                type=FLOAT if spec["kind"] == "float" else INT,
                get=_registry_getter(kind, spec),
                codes=YES_NO_TICK if checkbox else spec.get("codes", ()),
                versions="" if asked else registry.NOT_ASKED,
                checkbox=checkbox,
            )
        )
    return tuple(columns)


def form_table(kind: str, *, identifiable: bool) -> Table:
    columns = _linkage(kind, identifiable) + list(item_columns(kind)) + list(registry_columns(kind))
    for name in SCORES_BY_FORM[kind]:
        col_type, label = SCORE_LABELS[name]
        columns.append(Column(name, label, col_type, _score(name)))
    columns += wording_columns(kind)
    if not identifiable:
        columns = [c for c in columns if not c.free_text]
    return Table(TABLE_NAMES[kind], kind, tuple(columns))


def _from_part(part: str, getter: Getter) -> Getter:
    def get(row: Mapping[str, Any]) -> Any:
        sub = row.get(part)
        return None if sub is None else getter(sub)

    return get


def course_table(*, identifiable: bool) -> Table:
    """One row per course; a row is ``{"1b": row, "1a": row | None, "2": …, "3": …, …}``."""
    columns: list[Column] = [
        c.renamed("", _from_part(FormKind.CLINICIAN, c.get))
        for c in form_table(FormKind.CLINICIAN, identifiable=identifiable).columns
    ]
    # (VentetidFraHenvisningTilBesok is a Behandlerskjema column, as in the registry.)
    columns.append(Column("Henvisningsdato", "Henvisningsdato", DATE, _key("referral_date")))
    for kind, suffix in COURSE_SUFFIXES.items():
        columns.append(
            Column(
                f"regstatus{suffix}",
                f"{TABLE_NAMES[kind]} ferdigstilt",
                INT,
                _key(f"regstatus{suffix}"),
                codes=REGSTATUS_CODES,
            )
        )
    for kind, suffix in COURSE_SUFFIXES.items():
        for c in form_table(kind, identifiable=identifiable).columns:
            columns.append(c.renamed(suffix, _from_part(kind, c.get)))
    return Table(COURSE_TABLE, "course", tuple(columns))


def codes_text(codes: tuple[tuple[int, str], ...]) -> str:
    return "; ".join(f"{code} = {label}" for code, label in codes)


CODEBOOK_COLUMNS = ("tabell", "variabel", "etikett", "type", "koder", "skjemaversjon")
CODEBOOK_LONG_TABLE = "Kodebok_lang"
CODEBOOK_LONG_COLUMNS = ("tabell", "variabel", "etikett", "felttype", "kode", "kodetekst")


def codebook_rows(tables: list[Table]) -> list[list[str]]:
    rows = []
    for table in tables:
        for column in table.columns:
            rows.append(
                [
                    table.name,
                    column.name,
                    column.label,
                    column.type,
                    codes_text(column.codes),
                    column.versions,
                ]
            )
    return rows


def codebook_long_rows(tables: list[Table]) -> list[list[str]]:
    """The codebook in the registry's own long form: one row per variable and code (one row
    with no code for a variable without codes), with the registry's field types (Avkrysning,
    Enkeltvalg, Numerisk, Dato, Tekst)."""
    rows = []
    for table in tables:
        for column in table.columns:
            label = column.label
            if column.versions == registry.NOT_ASKED:
                label = f"{label} ({registry.NOT_ASKED})"
            head = [table.name, column.name, label, column.field_type]
            if not column.codes:
                rows.append([*head, "", ""])
            for code, text in column.codes:
                rows.append([*head, str(code), text])
    return rows
