"""Writers: tables into an encrypted archive as CSV, Excel, SPSS, Stata or R.

Every writer receives tables one at a time (``start_table``, ``write_row`` …, ``end_table``) and
puts its files into an open :class:`pyzipper.AESZipFile`. Nothing readable is written to disk
outside the encrypted archive, with two bounded exceptions the formats require: the Excel
writer's row files (XlsxWriter's constant-memory mode) and the SPSS/Stata writer's row spool and
file (both formats need the row count and text widths before the first row). Both live in the
job's private scratch folder (mode 0700) and are deleted as soon as they are copied into the
archive, and the folder itself in a ``finally`` by the caller.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import marshal
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyzipper
from django.utils import timezone

from nnrr.exports import statfiles
from nnrr.exports.columns import (
    COURSE_TABLE,
    DATE,
    DATETIME,
    FLOAT,
    INT,
    STRING,
    TABLE_NAMES,
    Column,
    Table,
    codes_text,
)
from nnrr.exports.registry import REGISTRY_TABLES

# A text cell that a spreadsheet could take for a formula (or a DDE command).
RISKY_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS = 1_048_576


_PLAIN_NUMBER = re.compile(r"-?[0-9]+")


def neutralise(text: str) -> str:
    """A text cell made inert in spreadsheets: a leading apostrophe, as Excel itself does.
    A plain whole number (a code such as -1) is no formula and stays as it is."""
    if text.startswith(RISKY_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class Writer(Protocol):
    extension: str

    def start_table(self, table: Table) -> None: ...
    def write_row(self, row: dict[str, Any]) -> None: ...
    def end_table(self) -> int: ...
    def abort(self) -> None: ...
    def finish(self) -> None: ...


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


# --- CSV ---------------------------------------------------------------------------------------


class CsvWriter:
    """UTF-8 with BOM (Excel reads æøå), ``;`` with decimal comma or ``,`` with decimal point."""

    extension = "csv"

    def __init__(self, archive: pyzipper.AESZipFile, *, delimiter: str = ";") -> None:
        self.archive = archive
        self.delimiter = delimiter
        self.decimal_comma = delimiter == ";"
        self._raw: BinaryIO | None = None
        self._text: io.TextIOWrapper | None = None
        self._csv: Any = None
        self._columns: tuple[Column, ...] = ()
        self._cells: list[tuple[Callable[[Any], Any], Callable[[Any], str]]] = []
        self._rows = 0

    def start_table(self, table: Table) -> None:
        self._raw = self.archive.open(f"{table.name}.csv", "w")
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._text, delimiter=self.delimiter, lineterminator="\r\n")
        self._columns = table.columns
        self._cells = [(c.get, self.formatter(c.type)) for c in table.columns]
        self._rows = 0
        self._csv.writerow(table.names)

    def formatter(self, column_type: str) -> Callable[[Any], str]:
        """The text of one cell of a column type (chosen once per column, not per cell)."""
        decimal_comma = self.decimal_comma

        def number(value: Any) -> str:
            if value is None:
                return ""
            return str(value)

        def decimal(value: Any) -> str:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return ""
            text = repr(float(value))
            if text.endswith(".0"):
                text = text[:-2]
            return text.replace(".", ",") if decimal_comma else text

        def date(value: Any) -> str:
            if value is None:
                return ""
            return value if isinstance(value, str) else value.isoformat()

        def moment(value: Any) -> str:
            return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")

        def text(value: Any) -> str:
            return "" if value is None else neutralise(_as_text(value))

        return {INT: number, FLOAT: decimal, DATE: date, DATETIME: moment, STRING: text}[
            column_type
        ]

    def cell(self, column: Column, value: Any) -> str:
        return self.formatter(column.type)(value)

    def write_row(self, row: dict[str, Any]) -> None:
        self._csv.writerow([fmt(get(row)) for get, fmt in self._cells])
        self._rows += 1

    def end_table(self) -> int:
        assert self._text is not None and self._raw is not None
        self._text.flush()
        self._text.detach()
        self._raw.close()
        self._raw = self._text = None
        return self._rows

    def abort(self) -> None:
        """Close the half-written entry so the archive can be closed (and then removed)."""
        if self._raw is not None:
            self._raw.close()
            self._raw = self._text = None

    def finish(self) -> None:
        pass


# --- Excel -------------------------------------------------------------------------------------


class XlsxWriter:
    """One sheet per table, the header frozen, dates as dates, text never a formula."""

    extension = "xlsx"

    def __init__(self, archive: pyzipper.AESZipFile, scratch: Path, name: str) -> None:
        import xlsxwriter

        self.archive = archive
        self.path = scratch / f"{name}.xlsx"
        self.arcname = f"{name}.xlsx"
        self.book = xlsxwriter.Workbook(
            str(self.path),
            {
                "constant_memory": True,
                "tmpdir": str(scratch),
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "default_date_format": "yyyy-mm-dd",
            },
        )
        self.bold = self.book.add_format({"bold": True})
        self.date = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.quoted = self.book.add_format({"quote_prefix": True})
        self._table: Table | None = None
        self._sheet: Any = None
        self._row = 0
        self._rows = 0
        self._part = 0

    def _new_sheet(self) -> None:
        assert self._table is not None
        self._part += 1
        title = self._table.name if self._part == 1 else f"{self._table.name[:26]} ({self._part})"
        self._sheet = self.book.add_worksheet(title[:31])
        for col, name in enumerate(self._table.names):
            self._sheet.write_string(0, col, name, self.bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def start_table(self, table: Table) -> None:
        self._table = table
        self._part = 0
        self._rows = 0
        self._new_sheet()

    def write_row(self, row: dict[str, Any]) -> None:
        assert self._table is not None
        if self._row >= EXCEL_MAX_ROWS:
            self._new_sheet()
        sheet, r = self._sheet, self._row
        for col, column in enumerate(self._table.columns):
            value = column.get(row)
            if value is None:
                continue
            if column.type == DATE:
                if isinstance(value, str):
                    value = dt.date.fromisoformat(value[:10])
                sheet.write_datetime(r, col, dt.datetime.combine(value, dt.time()), self.date)
            elif column.type == DATETIME:
                sheet.write_datetime(r, col, value, self.datetime)
            elif column.type in (INT, FLOAT):
                sheet.write_number(r, col, value)
            else:
                text = _as_text(value)
                if text.startswith(RISKY_PREFIXES):
                    sheet.write_string(r, col, text, self.quoted)
                else:
                    sheet.write_string(r, col, text)
        self._row += 1
        self._rows += 1

    def end_table(self) -> int:
        return self._rows

    def abort(self) -> None:
        pass

    def add_sheet(self, name: str, header: list[str], rows: list[list[str]]) -> None:
        sheet = self.book.add_worksheet(name)
        for col, text in enumerate(header):
            sheet.write_string(0, col, text, self.bold)
        sheet.freeze_panes(1, 0)
        for r, values in enumerate(rows, start=1):
            for col, text in enumerate(values):
                if text:
                    sheet.write_string(
                        r, col, text, self.quoted if text.startswith(RISKY_PREFIXES) else None
                    )

    def finish(self) -> None:
        self.book.close()
        try:
            self.archive.write(self.path, self.arcname)
        finally:
            self.path.unlink(missing_ok=True)


# --- SPSS and Stata ----------------------------------------------------------------------------

STATA_NAME_MAX = 32


def stata_names(names: list[str], labelled: set[str] | None = None) -> dict[str, str]:
    """Variable names Stata accepts (≤ 32 characters), unique; the codebook lists both.

    A variable with value labels gets ≤ 28, as in the first .dta exports (whose label sets were
    named after the variable plus a counter), so that a variable keeps its Stata name from one
    export to the next.
    """
    labelled = labelled or set()
    result: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        limit = STATA_NAME_MAX - (4 if name in labelled else 0)
        short = re.sub(r"[^A-Za-z0-9_]", "_", name)[:limit]
        n = 1
        while short in used:
            n += 1
            tail = f"_{n}"
            short = short[: limit - len(tail)] + tail
        used.add(short)
        result[name] = short
    return result


SPOOL_CHUNK = 1000  # rows of a table held in memory at a time by the SPSS/Stata writers


class StatWriter:
    """SPSS ``.sav`` or Stata ``.dta`` with variable and value labels, in flat memory.

    Both formats need the row count and each text column's width before the first row, so the
    rows go first into a spool file in the job's private scratch folder (a chunk at a time, the
    numbers already encoded for the format), and at the end of the table the file is written
    from the spool by :mod:`nnrr.exports.statfiles` into the scratch folder and copied into the
    archive. Spool and file are deleted as soon as they are used, or on ``abort``.
    """

    def __init__(self, archive: pyzipper.AESZipFile, scratch: Path, kind: str) -> None:
        self.archive = archive
        self.scratch = scratch
        self.kind = kind  # "sav" or "dta"
        self.extension = kind
        self._table: Table | None = None
        self._variables: list[statfiles.Variable] = []
        self._cells: list[tuple[Callable[[Any], Any], Callable[[Any], Any]]] = []
        self._text: list[int] = []
        self._widths: list[int] = []
        self._chunk: list[tuple[Any, ...]] = []
        self._rows = 0
        self._spool: BinaryIO | None = None
        self._paths: list[Path] = []
        self.renamed: dict[str, dict[str, str]] = {}

    def _path(self, suffix: str) -> Path:
        assert self._table is not None
        path = self.scratch / f"{self._table.name}.{suffix}"
        self._paths.append(path)
        return path

    def start_table(self, table: Table) -> None:
        self._table = table
        self._paths = []
        self._variables = [
            statfiles.Variable(
                name=c.name,
                label=c.label,
                kind=_STAT_KINDS[c.type],
                codes=c.codes,
                integer=c.type == INT,
            )
            for c in table.columns
        ]
        cell = statfiles.sav_cell if self.kind == "sav" else statfiles.dta_cell
        self._cells = [
            (c.get, cell(v.kind)) for c, v in zip(table.columns, self._variables, strict=True)
        ]
        self._text = [i for i, v in enumerate(self._variables) if v.kind == statfiles.TEXT]
        self._widths = [0] * len(self._variables)
        self._chunk = []
        self._rows = 0
        self.scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._spool = self._path(f"{self.kind}.rows").open("wb")
        if self.kind == "dta":
            names = stata_names(
                [c.name for c in table.columns], {c.name for c in table.columns if c.codes}
            )
            self.renamed[table.name] = {k: v for k, v in names.items() if k != v}

    def write_row(self, row: dict[str, Any]) -> None:
        values = tuple([encode(get(row)) for get, encode in self._cells])
        widths = self._widths
        for i in self._text:
            width = len(values[i])
            if width > widths[i]:
                widths[i] = width
        self._chunk.append(values)
        self._rows += 1
        if len(self._chunk) >= SPOOL_CHUNK:
            self._flush()

    def _flush(self) -> None:
        assert self._spool is not None
        if self._chunk:
            marshal.dump(self._chunk, self._spool)
            self._chunk = []

    def end_table(self) -> int:
        assert self._table is not None and self._spool is not None
        table = self._table
        try:
            self._flush()
            self._spool.close()
            self._spool = None
            spool = self._paths[0]
            path = self._path(self.kind)
            created = timezone.localtime().replace(tzinfo=None)
            with path.open("w+b", buffering=1 << 20) as buffered:
                if self.kind == "sav":
                    statfiles.write_sav(
                        buffered,
                        self._variables,
                        self._widths,
                        self._rows,
                        statfiles.read_spool(spool),
                        created=created,
                    )
                else:
                    names = [self.renamed[table.name].get(v.name, v.name) for v in self._variables]
                    statfiles.write_dta(
                        buffered,
                        self._variables,
                        names,
                        self._widths,
                        self._rows,
                        statfiles.read_spool(spool),
                        created=created,
                        strl_path=self._path("strls"),
                    )
            spool.unlink()
            self.archive.write(path, f"{table.name}.{self.kind}")
        finally:
            self._cleanup()
        return self._rows

    def _cleanup(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        for path in self._paths:
            path.unlink(missing_ok=True)
        self._paths = []
        self._chunk = []

    def abort(self) -> None:
        self._cleanup()

    def finish(self) -> None:
        pass


_STAT_KINDS = {
    INT: "number",
    FLOAT: "number",
    DATE: "date",
    DATETIME: "datetime",
    STRING: "text",
}


# --- R -----------------------------------------------------------------------------------------


def _r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


R_TYPES = {INT: "integer", FLOAT: "numeric", DATE: "Date", DATETIME: "POSIXct", STRING: "character"}
# The registry database's table names (the registry's R code reads them with SELECT * FROM …).
R_LIST_NAMES = {
    **{TABLE_NAMES[kind]: name for kind, name in REGISTRY_TABLES.items()},
    COURSE_TABLE: "forlop",
}

R_HELPERS = r"""# Leser NNRR-eksporten. Kjør i mappen med CSV-filene: source("les_data.R")
#
# Når skriptet kjøres, leses hver tabell inn som en data.frame med riktige typer og faktorer
# (Behandlerskjema, Pasientskjema_foer_behandling, ..., Forlop, Kodebok).
#
# nnrr_tabeller(faktorer = TRUE) gir de samme tabellene som en navngitt liste med registerets
# tabellnavn (behandlerskjema_1, pasientskjema_foer_behandling_2,
# pasientskjema_6_maaneder_etter_behandling_3, pasientskjema_12_maaneder_etter_behandling_8),
# pluss forlop og kodebok. Med faktorer = FALSE har hver kolonne typen registerets database gir:
# heltallskoder, Date-datoer, numeriske skårer og 0/1 for avkrysninger.
#
# nnrr_loadRegData(registryName, query) svarer som rapbase::loadRegData på registerets egne
# spørringer ("SELECT * FROM <tabell> WHERE S1b_DateOfCompletion >= '...' AND ... <= '...'"),
# så registerets R-kode kan kjøres på eksporten uten database.

nnrr_les_tabell <- function(fil, typer, faktorer) {
  d <- utils::read.csv(fil, fileEncoding = "UTF-8-BOM", sep = ",", dec = ".",
                       na.strings = "", colClasses = typer, check.names = FALSE)
  for (v in names(typer)) {
    if (typer[[v]] == "character") d[[v]] <- sub("^'([-=+@\t\r])", "\\1", d[[v]])
  }
  for (v in names(faktorer)) {
    koder <- faktorer[[v]]
    d[[v]] <- factor(d[[v]], levels = as.integer(names(koder)), labels = unname(koder))
  }
  d
}

nnrr_les_definisjon <- function(def, faktorer, mappe) {
  typer <- def$typer
  tid <- names(typer)[typer == "POSIXct"]
  typer[tid] <- "character"
  d <- nnrr_les_tabell(file.path(mappe, def$fil), typer,
                       if (isTRUE(faktorer)) def$faktorer else list())
  for (v in tid) d[[v]] <- as.POSIXct(d[[v]], tz = "Europe/Oslo", format = "%Y-%m-%d %H:%M:%S")
  d
}

nnrr_tabeller <- function(faktorer = TRUE, mappe = ".") {
  ut <- list()
  for (def in nnrr_definisjoner) {
    if (file.exists(file.path(mappe, def$fil))) {
      ut[[def$registernavn]] <- nnrr_les_definisjon(def, faktorer, mappe)
    }
  }
  ut[["kodebok"]] <- utils::read.csv(file.path(mappe, "Kodebok.csv"), fileEncoding = "UTF-8-BOM",
                                     colClasses = "character", check.names = FALSE)
  ut
}

nnrr_loadRegData <- function(registryName, query, dbType = NULL, ...) {
  tabell <- sub("(?is).*\\bFROM\\s+`?([A-Za-z0-9_]+)`?.*", "\\1", query, perl = TRUE)
  def <- Filter(function(d) identical(d$registernavn, tabell), nnrr_definisjoner)
  if (!length(def) || !file.exists(def[[1]]$fil)) stop("Tabellen ", tabell, " er ikke i eksporten.")
  d <- nnrr_les_definisjon(def[[1]], faktorer = FALSE, mappe = ".")
  grens <- function(op) {
    m <- regexpr(paste0("(?i)S1b_DateOfCompletion\\s*", op, "\\s*'[0-9-]+'"), query, perl = TRUE)
    regmatches(query, m)
  }
  fra <- grens(">=")
  til <- grens("<=")
  dato <- function(x) as.Date(sub(".*'([0-9-]+)'", "\\1", x))
  if (length(fra)) d <- d[!is.na(d$S1b_DateOfCompletion) & d$S1b_DateOfCompletion >= dato(fra), ]
  if (length(til)) d <- d[!is.na(d$S1b_DateOfCompletion) & d$S1b_DateOfCompletion <= dato(til), ]
  d
}
"""


def r_script(tables: list[Table]) -> str:
    """``les_data.R``: the tables with the right types and value labels, as data frames when
    sourced and as the registry's named list from ``nnrr_tabeller()``."""
    lines = [R_HELPERS, "nnrr_definisjoner <- list("]
    entries = []
    for table in tables:
        types = ", ".join(
            f"{_r_string(c.name)} = {_r_string(R_TYPES[c.type])}" for c in table.columns
        )
        factors = []
        for c in table.columns:
            if c.codes:
                codes = ", ".join(
                    f"{_r_string(str(code))} = {_r_string(text)}" for code, text in c.codes
                )
                factors.append(f"{_r_string(c.name)} = c({codes})")
        entries.append(
            "\n".join(
                [
                    f"  {table.name} = list(",
                    f"    fil = {_r_string(table.name + '.csv')},",
                    f"    registernavn = {_r_string(R_LIST_NAMES.get(table.name, table.name))},",
                    f"    typer = c({types}),",
                    f"    faktorer = list({', '.join(factors)}))",
                ]
            )
        )
    lines.append(",\n".join(entries))
    lines.append(")")
    lines.append("")
    lines.append("local({")
    lines.append("  tabeller <- nnrr_tabeller(faktorer = TRUE)")
    lines.append("  for (navn in names(nnrr_definisjoner)) {")
    lines.append("    d <- tabeller[[nnrr_definisjoner[[navn]]$registernavn]]")
    lines.append("    if (!is.null(d)) assign(navn, d, envir = globalenv())")
    lines.append("  }")
    lines.append('  assign("Kodebok", tabeller[["kodebok"]], envir = globalenv())')
    lines.append("})")
    return "\n".join(lines) + "\n"


def codebook_csv(header: list[str], rows: list[list[str]], delimiter: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


__all__ = [
    "CsvWriter",
    "StatWriter",
    "XlsxWriter",
    "codebook_csv",
    "codes_text",
    "neutralise",
    "r_script",
    "stata_names",
]
