"""Form definitions: data files, one per form and version, loaded into typed objects.

A definition file (``definitions/<form>-v<major>.<minor>.yaml``) holds the form's sections; each
section holds *items* (one answer each, keyed by the NNRR column name) and *groups* (a set of
checkbox items of which at least one must be ticked, with a "none / not relevant" box). Items and
sections may carry a condition (``show_if``) on another item's answer; hidden items are neither
validated nor stored. See docs/forms.md for the file format.

An operator can replace the wording of licensed instruments (ODI, NDI, FABQ, HSCL-10, EQ-5D)
without code changes: YAML files in ``NNRR_FORM_WORDING_DIR`` override labels and answer texts of
existing items (see :func:`load_wording_overlays`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import get_language

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"

BASELINE_PREFIX = "Baseline_"

ITEM_TYPES = {"date", "choice", "boolean", "integer", "decimal", "text", "diagnosis"}


class DefinitionError(ValueError):
    """A definition file that is inconsistent; the message names the file and the item."""


@dataclass(frozen=True)
class Text:
    """A text in bokmål with an optional English translation."""

    nb: str
    en: str = ""

    def __str__(self) -> str:
        lang = (get_language() or "nb")[:2]
        return self.en if lang == "en" and self.en else self.nb

    def __bool__(self) -> bool:
        # An empty text is false, so templates show no "?" help button for an item without help.
        return bool(self.nb or self.en)

    @classmethod
    def parse(cls, raw: Any, where: str) -> Text:
        if raw is None:
            return cls("")
        if isinstance(raw, str):
            return cls(raw)
        if isinstance(raw, Mapping) and "nb" in raw:
            return cls(str(raw["nb"]), str(raw.get("en", "") or ""))
        raise DefinitionError(f"{where}: a text must be a string or a mapping with 'nb' (and 'en')")


@dataclass(frozen=True)
class Code:
    code: int
    label: Text


@dataclass(frozen=True)
class Condition:
    """Show an item or section only when ``item``'s answer is one of ``values``."""

    item: str
    values: tuple[Any, ...]
    # The answer that counts is the one given in the pre-treatment form (kept beside the answers
    # as ``Baseline_<item>``); the form's own answer only when the baseline did not answer it.
    baseline: bool = False

    @property
    def baseline_key(self) -> str:
        return f"{BASELINE_PREFIX}{self.item}"

    def source_key(self, answers: Mapping[str, Any]) -> str:
        """The answers key the condition reads: the baseline answer when there is one."""
        if self.baseline and answers.get(self.baseline_key) is not None:
            return self.baseline_key
        return self.item

    def holds(self, answers: Mapping[str, Any]) -> bool:
        return answers.get(self.source_key(answers)) in self.values


@dataclass(frozen=True)
class Item:
    id: str
    type: str
    label: Text
    help: Text = Text("")
    codes: tuple[Code, ...] = ()
    mandatory: bool = False
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 500
    widget: str = ""
    show_if: Condition | None = None
    group: str = ""
    instrument: str = ""
    exclusive: bool = False  # a "none / not relevant" box of a group
    # An answer given while the item's condition does not hold is refused with a message (an
    # inconsistent combination), not silently dropped. A zero code ("Ingen") is not an answer.
    refuse_when_hidden: bool = False

    def code_values(self) -> set[int]:
        return {c.code for c in self.codes}

    def code_label(self, value: Any) -> str:
        for c in self.codes:
            if c.code == value:
                return str(c.label)
        return "" if value is None else str(value)


@dataclass(frozen=True)
class Group:
    """Checkbox items answered together: at least one tick when the form is completed."""

    id: str
    label: Text
    help: Text
    items: tuple[Item, ...]
    mandatory: bool = False
    show_if: Condition | None = None

    @property
    def none_item(self) -> Item | None:
        return next((i for i in self.items if i.exclusive), None)


@dataclass(frozen=True)
class Section:
    id: str
    title: Text
    intro: Text
    elements: tuple[Item | Group, ...]
    show_if: Condition | None = None
    # The intro of the printed paper form when the screen's intro speaks of the screen ("trykk
    # på figuren"); the screen's intro otherwise.
    paper_intro: Text = Text("")

    @property
    def intro_on_paper(self) -> Text:
        return self.paper_intro or self.intro

    def items(self) -> Iterator[Item]:
        for element in self.elements:
            if isinstance(element, Group):
                yield from element.items
            else:
                yield element


@dataclass(frozen=True)
class Definition:
    form: str
    version: str
    title: Text
    filled_by: str
    sections: tuple[Section, ...]
    consent: Text = Text("")
    path: str = ""
    items_by_id: dict[str, Item] = field(default_factory=dict, compare=False, repr=False)

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def minor(self) -> int:
        return int(self.version.split(".")[1])

    def items(self) -> Iterator[Item]:
        for section in self.sections:
            yield from section.items()

    def item(self, item_id: str) -> Item:
        return self.items_by_id[item_id]

    def groups(self) -> Iterator[Group]:
        for section in self.sections:
            for element in section.elements:
                if isinstance(element, Group):
                    yield element

    def section_of(self, item_id: str) -> Section:
        for section in self.sections:
            if any(i.id == item_id for i in section.items()):
                return section
        raise KeyError(item_id)


# --- Parsing ---------------------------------------------------------------------------------


def _condition(raw: Any, where: str) -> Condition | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or "item" not in raw:
        raise DefinitionError(f"{where}: show_if needs 'item' and 'equals' or 'in'")
    if "equals" in raw:
        values: tuple[Any, ...] = (raw["equals"],)
    elif "in" in raw and isinstance(raw["in"], list):
        values = tuple(raw["in"])
    else:
        raise DefinitionError(f"{where}: show_if needs 'equals' or 'in'")
    return Condition(item=str(raw["item"]), values=values, baseline=bool(raw.get("baseline")))


def _codes(raw: Any, code_lists: Mapping[str, Any], where: str) -> tuple[Code, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        if raw not in code_lists:
            raise DefinitionError(f"{where}: unknown code list {raw!r}")
        raw = code_lists[raw]
    if not isinstance(raw, list):
        raise DefinitionError(f"{where}: codes must be a list or the name of a code list")
    codes = []
    for entry in raw:
        if not isinstance(entry, Mapping) or "code" not in entry:
            raise DefinitionError(f"{where}: each code needs 'code' and 'label'")
        if not isinstance(entry["code"], int) or isinstance(entry["code"], bool):
            raise DefinitionError(f"{where}: code {entry['code']!r} is not a whole number")
        codes.append(Code(entry["code"], Text.parse(entry.get("label"), where)))
    return tuple(codes)


def _item(raw: Mapping[str, Any], ctx: dict[str, Any], where: str, group: str = "") -> Item:
    if "id" not in raw:
        raise DefinitionError(f"{where}: an item without 'id'")
    item_id = str(raw["id"])
    where = f"{where} item {item_id}"
    item_type = raw.get("type", "boolean" if group else None)
    if item_type not in ITEM_TYPES:
        raise DefinitionError(f"{where}: unknown type {item_type!r}")
    codes = _codes(raw.get("codes"), ctx["code_lists"], where)
    if item_type == "choice" and not codes:
        raise DefinitionError(f"{where}: a choice item needs codes")
    if item_type != "choice" and codes:
        raise DefinitionError(f"{where}: only choice items have codes")
    minimum, maximum = raw.get("min"), raw.get("max")
    if item_type in {"integer", "decimal"} and (minimum is None or maximum is None):
        raise DefinitionError(f"{where}: a number item needs 'min' and 'max'")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise DefinitionError(f"{where}: min is above max")
    return Item(
        id=item_id,
        type=item_type,
        label=Text.parse(raw.get("label"), where),
        help=Text.parse(raw.get("help"), where),
        codes=codes,
        mandatory=bool(raw.get("mandatory", ctx["mandatory_default"])) and not group,
        minimum=minimum,
        maximum=maximum,
        max_length=int(raw.get("max_length", 500)),
        widget=str(raw.get("widget", "")),
        show_if=_condition(raw.get("show_if"), where),
        group=group,
        instrument=str(raw.get("instrument", ctx.get("section_instrument", ""))),
        exclusive=bool(raw.get("none", False)),
        refuse_when_hidden=bool(raw.get("refuse_when_hidden", False)),
    )


def parse_definition(data: Mapping[str, Any], path: str = "") -> Definition:
    """Build a :class:`Definition` from parsed YAML; raises :class:`DefinitionError`."""
    where = path or "definition"
    for key in ("form", "version", "title", "sections"):
        if key not in data:
            raise DefinitionError(f"{where}: missing {key!r}")
    version = str(data["version"])
    parts = version.split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise DefinitionError(f"{where}: version must be MAJOR.MINOR, not {version!r}")
    ctx: dict[str, Any] = {
        "code_lists": data.get("code_lists", {}) or {},
        "mandatory_default": bool(data.get("mandatory_default", False)),
    }
    sections = []
    for raw_section in data["sections"]:
        section_where = f"{where} section {raw_section.get('id', '?')}"
        ctx["section_instrument"] = raw_section.get("instrument", "")
        elements: list[Item | Group] = []
        for raw in raw_section.get("items", []):
            if "group" in raw:
                group_id = str(raw["group"])
                group_items = tuple(
                    _item(i, ctx, f"{section_where} group {group_id}", group=group_id)
                    for i in raw.get("items", [])
                )
                if any(i.type != "boolean" for i in group_items):
                    raise DefinitionError(
                        f"{section_where} group {group_id}: items must be boolean"
                    )
                if not group_items:
                    raise DefinitionError(f"{section_where} group {group_id}: no items")
                elements.append(
                    Group(
                        id=group_id,
                        label=Text.parse(raw.get("label"), section_where),
                        help=Text.parse(raw.get("help"), section_where),
                        items=group_items,
                        mandatory=bool(raw.get("mandatory", ctx["mandatory_default"])),
                        show_if=_condition(raw.get("show_if"), section_where),
                    )
                )
            else:
                elements.append(_item(raw, ctx, section_where))
        sections.append(
            Section(
                id=str(raw_section.get("id", "")),
                title=Text.parse(raw_section.get("title"), section_where),
                intro=Text.parse(raw_section.get("intro"), section_where),
                elements=tuple(elements),
                show_if=_condition(raw_section.get("show_if"), section_where),
                paper_intro=Text.parse(raw_section.get("paper_intro"), section_where),
            )
        )
    definition = Definition(
        form=str(data["form"]),
        version=version,
        title=Text.parse(data["title"], where),
        filled_by=str(data.get("filled_by", "patient")),
        sections=tuple(sections),
        consent=Text.parse(data.get("consent"), where),
        path=path,
    )
    items: dict[str, Item] = {}
    for item in definition.items():
        if item.id in items:
            raise DefinitionError(f"{where}: duplicate item id {item.id}")
        items[item.id] = item
    definition.items_by_id.update(items)
    _check_references(definition)
    return definition


def _check_references(definition: Definition) -> None:
    where = definition.path or definition.form
    ids = definition.items_by_id
    section_ids = [s.id for s in definition.sections]
    if len(section_ids) != len(set(section_ids)):
        raise DefinitionError(f"{where}: duplicate section ids")
    conditions: list[tuple[str, Condition]] = []
    for section in definition.sections:
        if section.show_if:
            conditions.append((f"section {section.id}", section.show_if))
        for element in section.elements:
            if element.show_if:
                conditions.append((element.id, element.show_if))
            if isinstance(element, Group):
                conditions.extend((i.id, i.show_if) for i in element.items if i.show_if)
                if sum(1 for i in element.items if i.exclusive) > 1:
                    raise DefinitionError(
                        f"{where}: group {element.id} has more than one 'none' box"
                    )
    for owner, condition in conditions:
        target = ids.get(condition.item)
        if target is None:
            raise DefinitionError(
                f"{where}: {owner} has a condition on missing item {condition.item}"
            )
        if condition.item == owner:
            raise DefinitionError(f"{where}: {owner} has a condition on itself")
        for value in condition.values:
            if target.type == "choice" and value not in target.code_values():
                raise DefinitionError(
                    f"{where}: {owner} has a condition on {condition.item} = {value!r}, "
                    "which is not one of its codes"
                )
            if target.type == "boolean" and not isinstance(value, bool):
                raise DefinitionError(
                    f"{where}: {owner} has a condition on checkbox {condition.item}; use true/false"
                )


# --- Loading ---------------------------------------------------------------------------------


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def definition_files() -> list[Path]:
    return sorted(DEFINITIONS_DIR.glob("*.yaml"))


def load_wording_overlays(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    """Official instrument wording, by item id, from ``NNRR_FORM_WORDING_DIR`` (if set).

    Each YAML file maps item ids to ``label`` and/or ``codes`` (code → text); texts are strings
    or ``{nb: …, en: …}``. Unknown ids or codes are reported by the system check.
    """
    if directory is None:
        env = os.environ.get("NNRR_FORM_WORDING_DIR", "")
        directory = Path(env) if env else None
    overlays: dict[str, dict[str, Any]] = {}
    if directory is None or not directory.is_dir():
        return overlays
    for path in sorted(directory.glob("*.yaml")):
        data = _read_yaml(path) or {}
        items = data.get("items", {}) if isinstance(data, Mapping) else {}
        if not isinstance(items, Mapping):
            raise DefinitionError(f"{path}: 'items' must map item ids to wording")
        for item_id, wording in items.items():
            overlays[str(item_id)] = {"source": str(path), **(wording or {})}
    return overlays


def _apply_overlay(data: dict[str, Any], overlays: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Merge wording into raw definition data in place; returns the item ids it changed."""
    applied: set[str] = set()
    for section in data.get("sections", []):
        for raw in section.get("items", []):
            for item in raw.get("items", []) if "group" in raw else [raw]:
                wording = overlays.get(str(item.get("id")))
                if not wording:
                    continue
                applied.add(str(item["id"]))
                if "label" in wording:
                    item["label"] = wording["label"]
                if "codes" in wording and isinstance(item.get("codes"), list):
                    texts = {int(k): v for k, v in wording["codes"].items()}
                    unknown = set(texts) - {c["code"] for c in item["codes"]}
                    if unknown:
                        raise DefinitionError(
                            f"{wording['source']}: item {item['id']} has no codes {sorted(unknown)}"
                        )
                    item["codes"] = [
                        {**c, "label": texts.get(c["code"], c["label"])} for c in item["codes"]
                    ]
    return applied


def _resolve_code_lists(data: dict[str, Any]) -> None:
    """Expand named code lists on items so overlays can replace a single item's texts."""
    lists = data.get("code_lists", {}) or {}
    for section in data.get("sections", []):
        for raw in section.get("items", []):
            for item in raw.get("items", []) if "group" in raw else [raw]:
                codes = item.get("codes")
                if isinstance(codes, str) and codes in lists:
                    item["codes"] = [dict(c) for c in lists[codes]]


@functools.cache
def _load_all() -> dict[tuple[str, str], Definition]:
    overlays = load_wording_overlays()
    applied: set[str] = set()
    loaded: dict[tuple[str, str], Definition] = {}
    for path in definition_files():
        data = _read_yaml(path)
        if not isinstance(data, dict):
            raise DefinitionError(f"{path}: not a mapping")
        _resolve_code_lists(data)
        applied |= _apply_overlay(data, overlays)
        definition = parse_definition(data, str(path.name))
        key = (definition.form, definition.version)
        if key in loaded:
            raise DefinitionError(f"{path}: form {key[0]} version {key[1]} is defined twice")
        loaded[key] = definition
    unknown = set(overlays) - applied
    if unknown:
        raise DefinitionError(f"wording overlay names unknown items: {', '.join(sorted(unknown))}")
    return loaded


def reload_definitions() -> None:
    _load_all.cache_clear()


def all_definitions() -> list[Definition]:
    return list(_load_all().values())


def get_definition(form: str, version: str | None = None) -> Definition:
    """The definition of ``form`` at ``version``, or its newest version."""
    definitions = _load_all()
    if version is not None:
        try:
            return definitions[(form, version)]
        except KeyError:
            raise LookupError(f"no definition for form {form} version {version}") from None
    candidates = [d for (f, _), d in definitions.items() if f == form]
    if not candidates:
        raise LookupError(f"no definition for form {form}")
    return max(candidates, key=lambda d: (d.major, d.minor))


def current_version(form: str) -> str:
    return get_definition(form).version
