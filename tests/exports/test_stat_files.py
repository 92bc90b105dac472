"""The streaming SPSS and Stata writers, read back by pyreadstat and pandas, at their edges.

The whole-export tests (test_formats.py) show the registry's own tables; these drive the writer
with small hand-made tables for what those rarely contain: no rows, nothing answered, æøå,
long text, dates before 1970 and more rows than one spool chunk.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest

from nnrr.exports import writers
from nnrr.exports.columns import DATE, DATETIME, FLOAT, INT, STRING, Column, Table
from nnrr.exports.writers import StatWriter


def _key(name: str) -> Any:
    return lambda row: row.get(name)


COLUMNS = (
    Column("Id", "Radnummer", INT, _key("id")),
    Column("Kjonn", "Pasientens kjønn", INT, _key("sex"), codes=((1, "Mann"), (2, "Kvinne"))),
    Column(
        "Smerte",
        "Smerte i ryggen – æøå ÆØÅ",
        INT,
        _key("pain"),
        codes=((0, "Ingen smerte"), (1, "Litt vondt i nakke/skulder (æøå)"), (2, "Svært vondt")),
    ),
    Column("Score", "Oswestry Disability Index (0–100)", FLOAT, _key("score")),
    Column("Besoksdato", "Besøksdato", DATE, _key("visit")),
    Column("SistEndret", "Sist endret", DATETIME, _key("changed")),
    Column("Tekst", "Fritekst", STRING, _key("text")),
    Column(
        "Et_svaert_langt_variabelnavn_som_Stata_ikke_godtar_uten_aa_korte",
        "Langt navn",
        INT,
        _key("long_name"),
        codes=((1, "Ja"),),
    ),
)
TABLE = Table("Proeve", "1b", COLUMNS)
LONG_NAME = COLUMNS[-1].name


def write(tmp_path: Path, kind: str, rows: list[dict[str, Any]]) -> tuple[Path, StatWriter]:
    """One table through the writer into an archive; the file taken out again."""
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    with zipfile.ZipFile(tmp_path / "out.zip", "w") as archive:
        writer = StatWriter(archive, scratch, kind)
        writer.start_table(TABLE)
        for row in rows:
            writer.write_row(row)
        assert writer.end_table() == len(rows)
        writer.finish()
    assert list(scratch.iterdir()) == [], "spool and file are removed from the scratch folder"
    path = tmp_path / f"Proeve.{kind}"
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        path.write_bytes(archive.read(f"Proeve.{kind}"))
    return path, writer


def read(path: Path, kind: str) -> tuple[pd.DataFrame, Any]:
    reader = pyreadstat.read_sav if kind == "sav" else pyreadstat.read_dta
    return reader(str(path))


def name(kind: str, writer: StatWriter, column: str) -> str:
    return writer.renamed.get("Proeve", {}).get(column, column) if kind == "dta" else column


FULL: dict[str, Any] = {
    "id": 1,
    "sex": 2,
    "pain": 1,
    "score": 42.5,
    "visit": dt.date(1950, 3, 4),
    "changed": dt.datetime(1969, 12, 31, 23, 59, 58),
    "text": "Smerter i nakke – æøå",
    "long_name": 1,
}


@pytest.mark.parametrize("kind", ["sav", "dta"])
def test_labels_and_values_with_aeoeaa_and_dates_before_1970(tmp_path: Path, kind: str) -> None:
    later = {
        **FULL,
        "id": 2,
        "visit": "2024-02-29",
        "changed": dt.datetime(2025, 6, 1, 8, 30),
        "score": 0.125,
    }
    path, writer = write(tmp_path, kind, [FULL, later])
    frame, meta = read(path, kind)
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["Kjonn"] == "Pasientens kjønn"
    assert labels["Smerte"] == "Smerte i ryggen – æøå ÆØÅ"
    assert meta.variable_value_labels["Smerte"] == {
        0: "Ingen smerte",
        1: "Litt vondt i nakke/skulder (æøå)",
        2: "Svært vondt",
    }
    assert meta.variable_value_labels["Kjonn"] == {1: "Mann", 2: "Kvinne"}
    assert list(frame["Id"]) == [1, 2]
    assert list(frame["Score"]) == [42.5, 0.125]
    assert list(frame["Besoksdato"]) == [dt.date(1950, 3, 4), dt.date(2024, 2, 29)]
    assert list(frame["SistEndret"]) == [
        dt.datetime(1969, 12, 31, 23, 59, 58),
        dt.datetime(2025, 6, 1, 8, 30),
    ]
    assert list(frame["Tekst"]) == ["Smerter i nakke – æøå"] * 2
    short = name(kind, writer, LONG_NAME)
    assert short in meta.column_names and meta.variable_value_labels[short] == {1: "Ja"}
    if kind == "sav":
        assert short == LONG_NAME, "SPSS keeps names up to 64 bytes"
        assert meta.original_variable_types["Besoksdato"].startswith("DATE")
        assert meta.original_variable_types["SistEndret"].startswith("DATETIME")
    else:
        assert len(short) <= 32
        assert meta.original_variable_types["Besoksdato"] == "%td"
        assert meta.original_variable_types["SistEndret"] == "%tc"


@pytest.mark.parametrize("kind", ["sav", "dta"])
def test_empty_table_keeps_its_columns_and_labels(tmp_path: Path, kind: str) -> None:
    path, writer = write(tmp_path, kind, [])
    frame, meta = read(path, kind)
    assert len(frame) == 0
    assert meta.column_names == [name(kind, writer, c.name) for c in COLUMNS]
    assert meta.variable_value_labels["Kjonn"] == {1: "Mann", 2: "Kvinne"}


@pytest.mark.parametrize("kind", ["sav", "dta"])
def test_nothing_answered_is_system_missing_not_zero(tmp_path: Path, kind: str) -> None:
    path, _ = write(tmp_path, kind, [{"id": 1}, {"id": 2, "score": float("nan"), "visit": ""}])
    frame, _meta = read(path, kind)
    assert list(frame["Id"]) == [1, 2]
    for column in ("Kjonn", "Smerte", "Score"):
        assert frame[column].isna().all(), column
    assert all(
        v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v))
        for v in frame["Besoksdato"]
    )
    assert frame["SistEndret"].isna().all()
    assert list(frame["Tekst"]) == ["", ""]


@pytest.mark.parametrize("kind", ["sav", "dta"])
@pytest.mark.parametrize("length", [255, 256, 600, 3000, 40_000])
def test_long_text_comes_back_whole(tmp_path: Path, kind: str, length: int) -> None:
    text = ("Lang fritekst med æøå. " * 2000)[:length]
    rows = [{**FULL, "id": 1, "text": text}, {**FULL, "id": 2, "text": "kort"}, {"id": 3}]
    path, _ = write(tmp_path, kind, rows)
    frame, _meta = read(path, kind)
    if kind == "sav" and length > 32_767:
        text = text.encode()[:32_767].decode(errors="ignore")  # the widest text SPSS reads
    assert list(frame["Tekst"]) == [text, "kort", ""]
    assert list(frame["Id"]) == [1, 2, 3], "the columns after the long text are in place"


@pytest.mark.parametrize("kind", ["sav", "dta"])
def test_more_rows_than_one_spool_chunk_keep_their_order(tmp_path: Path, kind: str) -> None:
    count = 2 * writers.SPOOL_CHUNK + 17
    rows = [
        {
            "id": n,
            "sex": 1 + n % 2,
            "score": n / 4 if n % 7 else None,
            "visit": dt.date(2020, 1, 1) + dt.timedelta(days=n),
            "text": "x" * (n % 40),
        }
        for n in range(count)
    ]
    path, _ = write(tmp_path, kind, rows)
    frame, _meta = read(path, kind)
    assert len(frame) == count
    assert list(frame["Id"]) == list(range(count))
    assert list(frame["Kjonn"]) == [1 + n % 2 for n in range(count)]
    assert frame["Score"].isna().sum() == len([n for n in range(count) if n % 7 == 0])
    assert frame["Score"].iloc[count - 2] == (count - 2) / 4
    assert frame["Besoksdato"].iloc[-1] == dt.date(2020, 1, 1) + dt.timedelta(days=count - 1)
    assert list(frame["Tekst"]) == ["x" * (n % 40) for n in range(count)]


def test_dta_reads_in_pandas_with_value_labels(tmp_path: Path) -> None:
    rows = [FULL, {**FULL, "id": 2, "sex": 1, "pain": None, "text": "x" * 3000}, {"id": 3}]
    path, writer = write(tmp_path, "dta", rows)
    frame = pd.read_stata(path, convert_categoricals=False)
    assert list(frame["Id"]) == [1, 2, 3]
    assert frame["Besoksdato"].iloc[0] == pd.Timestamp(1950, 3, 4)
    assert frame["SistEndret"].iloc[0] == pd.Timestamp(1969, 12, 31, 23, 59, 58)
    assert frame["Smerte"].isna().tolist() == [False, True, True]
    assert list(frame["Tekst"]) == ["Smerter i nakke – æøå", "x" * 3000, ""]
    with pd.io.stata.StataReader(path) as reader:
        assert reader.variable_labels()["Smerte"] == "Smerte i ryggen – æøå ÆØÅ"
        labels = reader.value_labels()
    assert labels["Kjonn"] == {1: "Mann", 2: "Kvinne"}
    assert labels["Smerte"][1] == "Litt vondt i nakke/skulder (æøå)"
    labelled = pd.read_stata(path)
    assert labelled["Kjonn"].tolist()[:2] == ["Kvinne", "Mann"]
    assert pd.isna(labelled["Kjonn"].iloc[2])
    assert name("dta", writer, LONG_NAME) in labelled.columns


@pytest.mark.parametrize("kind", ["sav", "dta"])
def test_a_stopped_table_leaves_nothing_in_scratch(tmp_path: Path, kind: str) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with zipfile.ZipFile(tmp_path / "out.zip", "w") as archive:
        writer = StatWriter(archive, scratch, kind)
        writer.start_table(TABLE)
        for n in range(writers.SPOOL_CHUNK + 1):
            writer.write_row({**FULL, "id": n})
        assert any(scratch.iterdir()), "rows are spooled to scratch, not held in memory"
        writer.abort()
    assert list(scratch.iterdir()) == []


@pytest.mark.slow
def test_sav_reads_in_pspp(tmp_path: Path) -> None:
    """GNU PSPP, whose manual documents the format, reads the file too (when installed)."""
    if shutil.which("pspp-convert") is None:
        pytest.skip("pspp-convert is not installed: the .sav file was read by pyreadstat only")
    rows = [FULL, {**FULL, "id": 2, "text": "æ" * 400}, {"id": 3}]
    path, _ = write(tmp_path, "sav", rows)
    out = tmp_path / "p.csv"
    done = subprocess.run(
        ["pspp-convert", str(path), str(out)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and not done.stderr, done.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("Id,Kjonn,Smerte,Score,Besoksdato,SistEndret,Tekst,")
    assert lines[1] == "1,2,1,42.5,03/04/1950,12/31/1969 23:59:58,Smerter i nakke – æøå,1"
    assert lines[2].split(",")[6] == "æ" * 400
    assert lines[3].startswith("3, , , , , ,")


def test_sav_says_which_variables_are_categories(tmp_path: Path) -> None:
    """Coded answers open in SPSS as nominal variables, scores and dates as scales, text as
    nominal, also when a long text is stored in several segments."""
    rows = [FULL, {**FULL, "id": 2, "text": "æ" * 400}]
    path, _ = write(tmp_path, "sav", rows)
    _, meta = read(path, "sav")
    assert meta.variable_measure["Kjonn"] == "nominal"
    assert meta.variable_measure["Smerte"] == "nominal"
    assert meta.variable_measure["Score"] == "scale"
    assert meta.variable_measure["Besoksdato"] == "scale"
    assert meta.variable_measure["Tekst"] == "nominal"
    assert meta.variable_measure[LONG_NAME] == "nominal"
    assert meta.variable_alignment["Score"] == "right"
    assert meta.variable_alignment["Tekst"] == "left"
    if shutil.which("pspp") is None:
        return
    syntax = tmp_path / "show.sps"
    syntax.write_text(
        f"GET FILE='{path}'.\nDISPLAY DICTIONARY /VARIABLES=Kjonn Score Tekst.\n",
        encoding="utf-8",
    )
    shown = subprocess.run(
        ["pspp", "-O", "format=txt", str(syntax)], capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "warning" not in shown.stdout.lower(), shown.stdout
    level = {
        line.split("|")[1].strip(): line
        for line in shown.stdout.splitlines()
        if line.startswith("|") and line.split("|")[1].strip() in {"Kjonn", "Score", "Tekst"}
    }
    assert "Nominal" in level["Kjonn"] and "Scale" in level["Score"]
    assert "Nominal" in level["Tekst"]
