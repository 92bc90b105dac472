"""Writers: tables into an encrypted archive as CSV, Excel, SPSS, Stata or R.

Every writer receives tables one at a time (``start_table``, ``write_row`` …, ``end_table``) and
puts its files into an open :class:`pyzipper.AESZipFile`. Nothing readable is written to disk
outside the encrypted archive, with two bounded exceptions the formats' libraries require: the
Excel writer's row files (XlsxWriter's constant-memory mode) and the SPSS/Stata file being written
by pyreadstat. Both live in the job's private scratch folder (mode 0700) and are deleted as soon
as they are copied into the archive, and the folder itself in a ``finally`` by the caller.
"""

from __future__ import annotations

import array
import csv
import datetime as dt
import io
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyzipper

from nnrr.exports.columns import (
    DATE,
    DATETIME,
    FLOAT,
    INT,
    STRING,
    Column,
    Table,
    codes_text,
)

# A text cell that a spreadsheet could take for a formula (or a DDE command).
RISKY_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS = 1_048_576


def neutralise(text: str) -> str:
    """A text cell made inert in spreadsheets: a leading apostrophe, as Excel itself does."""
    return "'" + text if text.startswith(RISKY_PREFIXES) else text


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

    A variable with value labels gets ≤ 28: its label set is named after it plus a counter
    (pyreadstat), and that name has the same 32-character limit.
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


def _bytes_max(text: str, limit: int) -> str:
    """At most ``limit`` bytes of UTF-8, cut on a character boundary."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


class StatWriter:
    """SPSS ``.sav`` or Stata ``.dta`` with variable and value labels (pyreadstat).

    pyreadstat writes a whole data frame at once, so a table's values are held in memory (a packed
    array of doubles per numeric column) until the table ends; see docs/benchmarks.md for what
    that costs.
    """

    def __init__(self, archive: pyzipper.AESZipFile, scratch: Path, kind: str) -> None:
        self.archive = archive
        self.scratch = scratch
        self.kind = kind  # "sav" or "dta"
        self.extension = kind
        self._table: Table | None = None
        # Numbers go into packed arrays of doubles (8 bytes a value, NaN = missing); text and
        # dates into lists.
        self._data: list[Any] = []
        self._cells: list[tuple[Callable[[Any], Any], Callable[[Any], None], bool]] = []
        self.renamed: dict[str, dict[str, str]] = {}

    def start_table(self, table: Table) -> None:
        self._table = table
        self._data = [array.array("d") if c.type in (INT, FLOAT) else [] for c in table.columns]
        self._cells = [
            (c.get, values.append, c.type in (INT, FLOAT))
            for c, values in zip(table.columns, self._data, strict=True)
        ]

    def write_row(self, row: dict[str, Any]) -> None:
        for get, append, numeric in self._cells:
            value = get(row)
            if numeric:
                append(math.nan if value is None else float(value))
            else:
                append(value)

    def _frame(self) -> Any:
        import numpy as np
        import pandas as pd

        assert self._table is not None
        series: dict[str, Any] = {}
        for values, column in zip(self._data, self._table.columns, strict=True):
            if column.type in (INT, FLOAT):
                series[column.name] = np.frombuffer(values, dtype="float64")
            elif column.type == DATE:
                # pyreadstat writes a column of date objects as dates (None: system-missing).
                series[column.name] = pd.Series(
                    [dt.date.fromisoformat(v[:10]) if isinstance(v, str) else v for v in values],
                    dtype="object",
                )
            elif column.type == DATETIME:
                series[column.name] = pd.to_datetime(
                    pd.Series(values, dtype="object"), errors="coerce"
                ).astype("datetime64[ns]")
            else:
                series[column.name] = pd.Series(
                    ["" if v is None else _as_text(v) for v in values], dtype="object"
                )
        frame = pd.DataFrame(series)
        self._data = []
        self._cells = []
        return frame

    def end_table(self) -> int:
        import pyreadstat

        assert self._table is not None
        table = self._table
        frame = self._frame()
        rows = len(frame)
        labels: dict[str, str | None] = {c.name: c.label[:250] for c in table.columns}
        value_labels = {
            c.name: {float(code): text for code, text in c.codes} for c in table.columns if c.codes
        }
        path = self.scratch / f"{table.name}.{self.kind}"
        try:
            if self.kind == "sav":
                pyreadstat.write_sav(
                    frame,
                    str(path),
                    column_labels=labels,
                    variable_value_labels=value_labels,
                    compress=True,
                )
            else:
                names = stata_names(list(frame.columns), set(value_labels))
                self.renamed[table.name] = {k: v for k, v in names.items() if k != v}
                frame = frame.rename(columns=names)
                pyreadstat.write_dta(
                    frame,
                    str(path),
                    column_labels={names[k]: _bytes_max(v or "", 80) for k, v in labels.items()},
                    variable_value_labels={names[k]: v for k, v in value_labels.items()},
                    version=15,
                )
            del frame
            self.archive.write(path, f"{table.name}.{self.kind}")
        finally:
            path.unlink(missing_ok=True)
        self._data = []
        return rows

    def abort(self) -> None:
        self._data = []
        self._cells = []

    def finish(self) -> None:
        pass


# --- R -----------------------------------------------------------------------------------------


def _r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def r_script(tables: list[Table]) -> str:
    """``les_data.R``: reads the CSV files with the right types and applies the value labels."""
    lines = [
        "# Leser NNRR-eksporten: én data.frame per tabell, med riktige typer og faktoretiketter",
        '# fra kodeboken. Kjør i mappen med CSV-filene: source("les_data.R")',
        "",
        "les_tabell <- function(fil, typer, faktorer) {",
        '  d <- utils::read.csv(fil, fileEncoding = "UTF-8-BOM", sep = ",", dec = ".",',
        '                       na.strings = "", colClasses = typer, check.names = FALSE)',
        "  for (v in names(typer)) {",
        '    if (typer[[v]] == "character") d[[v]] <- sub("^\'([-=+@\\t\\r])", "\\\\1", d[[v]])',
        "  }",
        "  for (v in names(faktorer)) {",
        "    koder <- faktorer[[v]]",
        "    d[[v]] <- factor(d[[v]], levels = as.integer(names(koder)), labels = unname(koder))",
        "  }",
        "  d",
        "}",
        "",
    ]
    r_types = {
        INT: "integer",
        FLOAT: "numeric",
        DATE: "Date",
        DATETIME: "character",
        STRING: "character",
    }
    for table in tables:
        types = ", ".join(
            f"{_r_string(c.name)} = {_r_string(r_types[c.type])}" for c in table.columns
        )
        factors = []
        for c in table.columns:
            if c.codes:
                codes = ", ".join(
                    f"{_r_string(str(code))} = {_r_string(text)}" for code, text in c.codes
                )
                factors.append(f"{_r_string(c.name)} = c({codes})")
        lines.append(f"{table.name} <- les_tabell({_r_string(table.name + '.csv')},")
        lines.append(f"  typer = c({types}),")
        lines.append(f"  faktorer = list({', '.join(factors)}))")
        datetimes = [c.name for c in table.columns if c.type == DATETIME]
        for name in datetimes:
            cell = f"{table.name}[[{_r_string(name)}]]"
            lines.append(
                f'{cell} <- as.POSIXct({cell}, tz = "Europe/Oslo", format = "%Y-%m-%d %H:%M:%S")'
            )
        lines.append("")
    lines.append(
        'Kodebok <- utils::read.csv("Kodebok.csv", fileEncoding = "UTF-8-BOM", '
        'colClasses = "character", check.names = FALSE)'
    )
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
