"""Streaming SPSS (``.sav``) and Stata (``.dta``, format 118) files, row by row in flat memory.

Both formats want the number of rows and every string column's width in the header, before the
first row. :class:`StatWriter` (``writers.py``) therefore writes the rows first into a spool file
in the job's private scratch folder (chunks of ``marshal``-ed tuples: numbers already in the
target format's encoding, text as UTF-8 bytes), noting the count and the widest value of each
string column; at the end of the table it writes the file's dictionary and streams the spooled
rows into it. Memory holds one chunk of rows, whatever the size of the table.

Formats, as documented:

- SPSS system file: GNU PSPP's manual, "System File Format". Uncompressed data (the archive
  deflates it); records 2 (variables, with labels), 3/4 (value labels), 7.3 and 7.4 (machine
  integer and floating point info), 7.13 (long variable names), 7.14 (very long strings, over
  255 bytes), 7.20 (character encoding UTF-8), 999, then the cases. Dates are seconds since
  14 October 1582 with the formats ``DATE11`` and ``DATETIME20``; missing is system-missing.
- Stata ``.dta`` format 118 (Stata 14 and later, UTF-8): Stata's "dta" help file. Numbers are
  doubles (missing ``.``), dates ``%td`` (days since 1960) and ``%tc`` (milliseconds since 1960);
  text up to 2,045 bytes is ``str#``, longer text ``strL``.
"""

from __future__ import annotations

import datetime as dt
import marshal
import math
import re
import struct
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from nnrr.lib.dates import date_of

# --- Shared ------------------------------------------------------------------------------------

NUMBER, DATE, DATETIME, TEXT = "number", "date", "datetime", "text"


@dataclass(frozen=True)
class Variable:
    """One column as the file sees it: its name, label, kind and value labels."""

    name: str
    label: str
    kind: str  # NUMBER, DATE, DATETIME or TEXT
    codes: tuple[tuple[int, str], ...] = ()
    integer: bool = False  # whole numbers: shown without decimals


def cut_utf8(text: str, limit: int) -> bytes:
    """At most ``limit`` bytes of UTF-8, cut on a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return raw
    return raw[:limit].decode("utf-8", errors="ignore").encode("utf-8")


def read_spool(path: Path) -> Iterator[list[tuple[Any, ...]]]:
    with path.open("rb", buffering=1 << 20) as spool:
        while True:
            try:
                yield marshal.load(spool)  # noqa: S302 (our own file, in private scratch)
            except EOFError:
                return


def _seconds_since(epoch: int, when: dt.datetime) -> int:
    """Whole seconds from the start of the day with ordinal ``epoch`` to ``when`` (wall clock)."""
    days = when.toordinal() - epoch
    return days * 86400 + when.hour * 3600 + when.minute * 60 + when.second


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _as_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


# --- SPSS --------------------------------------------------------------------------------------

SAV_SYSMIS = -sys.float_info.max
SAV_HIGHEST = sys.float_info.max
SAV_LOWEST = struct.unpack("<d", bytes.fromhex("feffffffffffefff"))[0]
SAV_EPOCH = dt.date(1582, 10, 14).toordinal()
SAV_NAME_MAX = 64  # bytes
SAV_LABEL_MAX = 255  # bytes, variable labels
SAV_VALUE_LABEL_MAX = 120  # bytes, value labels (SPSS's own limit)
SAV_TEXT_MAX = 32_767  # bytes, the widest string variable SPSS reads
SAV_SEGMENT = 255  # bytes of data in each segment of a very long string
FMT_A, FMT_F, FMT_DATE, FMT_DATETIME = 1, 5, 20, 22


# Record 7.11 codes: measurement level and alignment.
SAV_NOMINAL, SAV_SCALE = 1, 3
SAV_LEFT, SAV_RIGHT = 0, 1


def _sav_format(kind: str, width: int, integer: bool) -> int:
    if kind == TEXT:
        return FMT_A << 16 | min(width, 255) << 8
    if kind == DATE:
        return FMT_DATE << 16 | 11 << 8
    if kind == DATETIME:
        return FMT_DATETIME << 16 | 20 << 8
    return FMT_F << 16 | 8 << 8 | (0 if integer else 2)


def sav_cell(kind: str) -> Any:
    """The function that turns a cell into what the spool holds for an SPSS column."""
    if kind == TEXT:
        # SPSS reads text up to 32,767 bytes; a longer value (free text only) is cut there.
        return lambda v: (
            b"" if v is None else cut_utf8(v if isinstance(v, str) else str(v), SAV_TEXT_MAX)
        )
    if kind == DATE:

        def date(value: Any) -> float:
            day = date_of(value)
            return SAV_SYSMIS if day is None else (day.toordinal() - SAV_EPOCH) * 86400.0

        return date
    if kind == DATETIME:

        def moment(value: Any) -> float:
            when = _as_datetime(value)
            if when is None:
                return SAV_SYSMIS
            return float(_seconds_since(SAV_EPOCH, when))

        return moment

    def number(value: Any) -> float:
        got = _as_float(value)
        return SAV_SYSMIS if got is None else got

    return number


def _segments(width: int) -> list[int]:
    """The widths of the segments of a string of ``width`` bytes (one unless > 255)."""
    if width <= 255:
        return [max(width, 1)]
    n = (width + 251) // 252
    return [255] * (n - 1) + [width - (n - 1) * 252]


def _storage(width: int) -> int:
    return (width + 7) // 8 * 8


_SAV_FIRST = re.compile(r"[A-Za-z@#$]")
_SAV_INVALID = re.compile(r"[^A-Za-z0-9_.@#$]")


class _ShortNames:
    """Unique eight-byte upper-case short names, as SPSS keeps beside the long ones."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, name: str) -> str:
        base = _SAV_INVALID.sub("_", name).upper()
        if not base or not _SAV_FIRST.match(base[0]):
            base = "V" + base
        short = base[:8]
        n = 0
        while short in self.used:
            n += 1
            tail = f"_{n}"
            short = base[: 8 - len(tail)] + tail
        self.used.add(short)
        return short


def sav_names(names: list[str]) -> list[str]:
    """Long variable names SPSS accepts (≤ 64 bytes, valid characters, unique ignoring case)."""
    result: list[str] = []
    used: set[str] = set()
    for name in names:
        clean = _SAV_INVALID.sub("_", name)
        if not clean or not _SAV_FIRST.match(clean[0]):
            clean = "V" + clean
        clean = clean[:SAV_NAME_MAX]
        candidate, n = clean, 1
        while candidate.upper() in used:
            n += 1
            tail = f"_{n}"
            candidate = clean[: SAV_NAME_MAX - len(tail)] + tail
        used.add(candidate.upper())
        result.append(candidate)
    return result


def _int32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def write_sav(
    out: BinaryIO,
    variables: list[Variable],
    widths: list[int],
    rows: int,
    chunks: Iterable[list[tuple[Any, ...]]],
    *,
    created: dt.datetime,
) -> None:
    """An uncompressed SPSS system file: dictionary, then ``rows`` spooled cases."""
    names = sav_names([v.name for v in variables])
    shorts = _ShortNames()
    records: list[bytes] = []
    long_names: list[str] = []
    very_long: list[str] = []
    label_sets: list[tuple[tuple[tuple[int, str], ...], list[int]]] = []
    fields: list[str] = []
    fixers: list[tuple[int, Any]] = []
    # Variable display parameters (record 7.11): measurement level, column width, alignment,
    # for every variable record that is not a continuation (each segment of a very long string).
    display: list[int] = []
    index = 0  # 1-based dictionary index of the next variable record
    for position, (variable, name) in enumerate(zip(variables, names, strict=True)):
        width = widths[position] if variable.kind == TEXT else 0
        short = shorts.make(name)
        long_names.append(f"{short}={name}")
        label = cut_utf8(variable.label, SAV_LABEL_MAX)
        first_index = index + 1
        if variable.kind != TEXT:
            records.append(
                _variable_record(0, short, label, _sav_format(variable.kind, 0, variable.integer))
            )
            index += 1
            fields.append("d")
            # Coded answers are categories; scores, counts, ages and dates are scales.
            display += [SAV_NOMINAL if variable.codes else SAV_SCALE, 8, SAV_RIGHT]
        else:
            segments = _segments(width)
            if len(segments) > 1:
                very_long.append(f"{short}={width:05d}\0\t")
            total = 0
            for number, seg_width in enumerate(segments):
                seg_short = short if number == 0 else shorts.make(f"{name[:5]}{number}")
                records.append(
                    _variable_record(
                        seg_width,
                        seg_short,
                        label if number == 0 else b"",
                        _sav_format(TEXT, seg_width, False),
                    )
                )
                for _ in range(_storage(seg_width) // 8 - 1):
                    records.append(_int32(2, -1, 0, 0, 0, 0) + b" " * 8)
                index += _storage(seg_width) // 8
                total += _storage(seg_width)
                display += [SAV_NOMINAL, max(1, min(seg_width, 40)), SAV_LEFT]
            fields.append(f"{total}s")
            fixers.append((position, _sav_padder(segments)))
        if variable.codes and variable.kind != TEXT:
            label_sets.append((variable.codes, [first_index]))

    now = created
    header = b"".join(
        [
            b"$FL2",
            b"@(#) SPSS DATA FILE NNRR".ljust(60, b" "),
            _int32(2, index, 0, 0, rows),
            struct.pack("<d", 100.0),
            now.strftime("%d %b %y").encode("ascii").ljust(9, b" ")[:9],
            now.strftime("%H:%M:%S").encode("ascii"),
            b" " * 64,
            b"\0" * 3,
        ]
    )
    out.write(header)
    for record in records:
        out.write(record)
    for codes, indexes in label_sets:
        body = [_int32(3, len(codes))]
        for code, text in codes:
            raw = cut_utf8(text, SAV_VALUE_LABEL_MAX)
            entry = bytes([len(raw)]) + raw
            entry += b" " * (-len(entry) % 8)
            body.append(struct.pack("<d", float(code)) + entry)
        body.append(_int32(4, len(indexes), *indexes))
        out.write(b"".join(body))
    out.write(_int32(7, 3, 4, 8, 1, 0, 0, -1, 1, 1, 2, 65001))
    out.write(_int32(7, 4, 8, 3) + struct.pack("<3d", SAV_SYSMIS, SAV_HIGHEST, SAV_LOWEST))
    out.write(_int32(7, 11, 4, len(display), *display))
    blob = "\t".join(long_names).encode("utf-8")
    out.write(_int32(7, 13, 1, len(blob)) + blob)
    if very_long:
        blob = "".join(very_long).encode("utf-8")
        out.write(_int32(7, 14, 1, len(blob)) + blob)
    out.write(_int32(7, 20, 1, 5) + b"UTF-8")
    out.write(_int32(999, 0))

    packer = struct.Struct("<" + "".join(fields))
    pack = packer.pack
    for chunk in chunks:
        block = bytearray()
        for row in chunk:
            if fixers:
                cells = list(row)
                for position, fix in fixers:
                    cells[position] = fix(cells[position])
                block += pack(*cells)
            else:
                block += pack(*row)
        out.write(block)


def _variable_record(type_: int, short: str, label: bytes, fmt: int) -> bytes:
    record = _int32(2, type_, 1 if label else 0, 0, fmt, fmt) + short.encode("ascii").ljust(8)
    if label:
        record += _int32(len(label)) + label + b" " * (-len(label) % 4)
    return record


def _sav_padder(segments: list[int]) -> Any:
    """Space-pads a value into its segments (255 bytes of data in each but the last)."""
    if len(segments) == 1:
        size = _storage(segments[0])
        return lambda raw: raw.ljust(size, b" ")

    storages = [_storage(w) for w in segments]

    def pad(raw: bytes) -> bytes:
        parts = []
        for number, size in enumerate(storages):
            parts.append(raw[number * SAV_SEGMENT : (number + 1) * SAV_SEGMENT].ljust(size, b" "))
        return b"".join(parts)

    return pad


# --- Stata -------------------------------------------------------------------------------------

DTA_MISSING = struct.unpack("<d", struct.pack("<Q", 0x7FE0000000000000))[0]
DTA_EPOCH = dt.date(1960, 1, 1).toordinal()
DTA_STR_MAX = 2045
DTA_STRL = 32768
DTA_DOUBLE = 65526
DTA_LABEL_CHARS = 80
DTA_NAME_BYTES = 129
DTA_FORMAT_BYTES = 57
DTA_LABEL_BYTES = 321


def dta_cell(kind: str) -> Any:
    """The function that turns a cell into what the spool holds for a Stata column."""
    if kind == TEXT:
        return lambda v: b"" if v is None else (v if isinstance(v, str) else str(v)).encode()
    if kind == DATE:

        def date(value: Any) -> float:
            day = date_of(value)
            return DTA_MISSING if day is None else float(day.toordinal() - DTA_EPOCH)

        return date
    if kind == DATETIME:

        def moment(value: Any) -> float:
            when = _as_datetime(value)
            if when is None:
                return DTA_MISSING
            return _seconds_since(DTA_EPOCH, when) * 1000.0

        return moment

    def number(value: Any) -> float:
        got = _as_float(value)
        return DTA_MISSING if got is None else got

    return number


def _fixed(text: str, size: int) -> bytes:
    return cut_utf8(text, size - 1).ljust(size, b"\0")


def _dta_label(text: str) -> bytes:
    return _fixed(text[:DTA_LABEL_CHARS], DTA_LABEL_BYTES)


def write_dta(
    out: BinaryIO,
    variables: list[Variable],
    names: list[str],
    widths: list[int],
    rows: int,
    chunks: Iterable[list[tuple[Any, ...]]],
    *,
    created: dt.datetime,
    strl_path: Path,
) -> None:
    """A Stata 118 file; ``out`` must be seekable (the map is filled in at the end). Texts over
    2,045 bytes (strL) go first into ``strl_path`` (scratch, removed here) and follow the data."""
    k = len(variables)
    types: list[int] = []
    formats: list[str] = []
    long_text: list[int] = []
    fields: list[str] = []
    for position, variable in enumerate(variables):
        if variable.kind == TEXT:
            width = max(widths[position], 1)
            if width <= DTA_STR_MAX:
                types.append(width)
                formats.append(f"%{min(width, 2045)}s")
                fields.append(f"{width}s")
            else:
                types.append(DTA_STRL)
                formats.append("%9s")
                fields.append("Q")
                long_text.append(position)
        else:
            types.append(DTA_DOUBLE)
            formats.append(
                {DATE: "%td", DATETIME: "%tc"}.get(
                    variable.kind, "%10.0g" if variable.integer else "%9.0g"
                )
            )
            fields.append("d")
    label_names = [names[i] if v.codes else "" for i, v in enumerate(variables)]

    start = out.tell()
    offsets: dict[str, int] = {}

    def mark(tag: str) -> None:
        offsets[tag] = out.tell() - start

    stamp = created.strftime("%d %b %Y %H:%M").encode("ascii")
    out.write(b"<stata_dta><header><release>118</release><byteorder>LSF</byteorder>")
    out.write(b"<K>" + struct.pack("<H", k) + b"</K>")
    out.write(b"<N>" + struct.pack("<Q", rows) + b"</N>")
    out.write(b"<label>" + struct.pack("<H", 0) + b"</label>")
    out.write(b"<timestamp>" + bytes([len(stamp)]) + stamp + b"</timestamp></header>")
    mark("map")
    map_at = out.tell()
    out.write(b"<map>" + b"\0" * 8 * 14 + b"</map>")
    mark("variable_types")
    out.write(b"<variable_types>" + struct.pack(f"<{k}H", *types) + b"</variable_types>")
    mark("varnames")
    out.write(b"<varnames>" + b"".join(_fixed(n, DTA_NAME_BYTES) for n in names) + b"</varnames>")
    mark("sortlist")
    out.write(b"<sortlist>" + b"\0\0" * (k + 1) + b"</sortlist>")
    mark("formats")
    out.write(b"<formats>" + b"".join(_fixed(f, DTA_FORMAT_BYTES) for f in formats) + b"</formats>")
    mark("value_label_names")
    out.write(
        b"<value_label_names>"
        + b"".join(_fixed(n, DTA_NAME_BYTES) for n in label_names)
        + b"</value_label_names>"
    )
    mark("variable_labels")
    out.write(
        b"<variable_labels>"
        + b"".join(_dta_label(v.label) for v in variables)
        + b"</variable_labels>"
    )
    mark("characteristics")
    out.write(b"<characteristics></characteristics>")
    mark("data")
    out.write(b"<data>")
    pack = struct.Struct("<" + "".join(fields)).pack
    row_number = 0
    with strl_path.open("w+b") as strl_file:
        try:
            for chunk in chunks:
                block = bytearray()
                for row in chunk:
                    row_number += 1
                    if long_text:
                        cells = list(row)
                        for position in long_text:
                            raw = cells[position]
                            if raw:
                                # (v, o): the variable in the low 2 bytes, the row in the high 6.
                                cells[position] = (position + 1) | row_number << 16
                                strl_file.write(_gso(position + 1, row_number, raw))
                            else:
                                cells[position] = 0
                        block += pack(*cells)
                    else:
                        block += pack(*row)
                out.write(block)
            out.write(b"</data>")
            mark("strls")
            out.write(b"<strls>")
            strl_file.seek(0)
            while piece := strl_file.read(1 << 20):
                out.write(piece)
            out.write(b"</strls>")
        finally:
            strl_path.unlink(missing_ok=True)
    mark("value_labels")
    out.write(b"<value_labels>")
    for variable, label_name in zip(variables, label_names, strict=True):
        if variable.codes:
            out.write(_value_label_table(label_name, variable.codes))
    out.write(b"</value_labels>")
    mark("end")
    out.write(b"</stata_dta>")
    end = out.tell()
    order = [
        0,
        offsets["map"],
        offsets["variable_types"],
        offsets["varnames"],
        offsets["sortlist"],
        offsets["formats"],
        offsets["value_label_names"],
        offsets["variable_labels"],
        offsets["characteristics"],
        offsets["data"],
        offsets["strls"],
        offsets["value_labels"],
        offsets["end"],
        end - start,
    ]
    out.seek(map_at + len(b"<map>"))
    out.write(struct.pack("<14Q", *order))
    out.seek(end)


def _gso(variable: int, observation: int, raw: bytes) -> bytes:
    content = raw + b"\0"
    return b"GSO" + struct.pack("<IQBI", variable, observation, 130, len(content)) + content


def _value_label_table(name: str, codes: tuple[tuple[int, str], ...]) -> bytes:
    offsets: list[int] = []
    text = bytearray()
    for _code, label in codes:
        offsets.append(len(text))
        text += cut_utf8(label, 32000) + b"\0"
    n = len(codes)
    table = (
        struct.pack("<ii", n, len(text))
        + struct.pack(f"<{n}i", *offsets)
        + struct.pack(f"<{n}i", *(int(code) for code, _ in codes))
        + bytes(text)
    )
    return (
        b"<lbl>"
        + struct.pack("<i", len(table))
        + _fixed(name, DTA_NAME_BYTES)
        + b"\0" * 3
        + table
        + b"</lbl>"
    )
