"""Which wording of the licensed instruments is in use, and whether it is the licensed one.

ODI, NDI, FABQ, HSCL-10 and EQ-5D-5L are licensed by their owners. The bundled form files carry
short placeholder labels (and ODI/NDI one generic six-step scale), so scores computed from them
are not ODI or NDI scores. A registry with a licence loads the official wording as overlay files
from ``NNRR_FORM_WORDING_DIR`` (docs/forms.md), each file naming its wording::

    wording: {id: "ODI 2.1b norsk", version: "2023"}
    items: {OdiPain: {label: …, codes: {1: …}}, …}

An instrument counts as licensed when every item of it, in every form file, is overlaid by a file
with a ``wording`` id and version. Every response stores the wording of each instrument it was
answered under (``Response.wording``); with ``NNRR_PRODUCTION=1`` the system check refuses to
start unless ODI, NDI and EQ-5D-5L are licensed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nnrr.questionnaires.definitions import Definition, all_definitions

# Instruments whose wording must be licensed before a production start.
REQUIRED_IN_PRODUCTION = ("odi", "ndi", "eq5d5l")
NAMES = {
    "odi": "ODI",
    "ndi": "NDI",
    "fabq": "FABQ",
    "hscl10": "HSCL-10",
    "eq5d5l": "EQ-5D-5L",
    "uhi": "UHI",
}
# Instruments with licensed wording (UHI's is ours).
LICENSED_INSTRUMENTS = ("odi", "ndi", "fabq", "hscl10", "eq5d5l")
PLACEHOLDER_ID = "nnrr-plassholder"


@dataclass(frozen=True)
class Wording:
    instrument: str
    id: str
    version: str
    licensed: bool

    def as_stored(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "licensed": self.licensed}

    @property
    def name(self) -> str:
        return NAMES.get(self.instrument, self.instrument)


def _directory() -> Path | None:
    env = os.environ.get("NNRR_FORM_WORDING_DIR", "")
    return Path(env) if env else None


def _overlay_files(directory: Path | None) -> dict[str, tuple[str, str]]:
    """Item id -> (wording id, version) of the overlay file that sets it ('' if undeclared)."""
    found: dict[str, tuple[str, str]] = {}
    if directory is None or not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        if not isinstance(data, Mapping):
            continue
        header = data.get("wording") or {}
        ident = str(header.get("id", "")) if isinstance(header, Mapping) else ""
        version = str(header.get("version", "")) if isinstance(header, Mapping) else ""
        for item_id in data.get("items", {}) or {}:
            found[str(item_id)] = (ident, version)
    return found


def _instrument_items(definitions: Iterable[Definition]) -> dict[str, set[str]]:
    items: dict[str, set[str]] = {}
    for definition in definitions:
        for item in definition.items():
            if item.instrument:
                items.setdefault(item.instrument, set()).add(item.id)
    return items


@functools.cache
def active() -> dict[str, Wording]:
    """The wording in use for each instrument of the form files."""
    overlays = _overlay_files(_directory())
    result: dict[str, Wording] = {}
    for instrument, items in _instrument_items(all_definitions()).items():
        headers = {overlays.get(item) for item in items}
        if instrument in LICENSED_INSTRUMENTS and len(headers) == 1:
            header = next(iter(headers))
            if header is not None and header[0] and header[1]:
                result[instrument] = Wording(instrument, header[0], header[1], licensed=True)
                continue
        own = instrument not in LICENSED_INSTRUMENTS
        result[instrument] = Wording(
            instrument, "nnrr" if own else PLACEHOLDER_ID, "1", licensed=own
        )
    return result


def reload() -> None:
    active.cache_clear()


def missing_for_production() -> list[str]:
    """Names of the instruments that must be licensed in production but are not."""
    wordings = active()
    return [NAMES[i] for i in REQUIRED_IN_PRODUCTION if i in wordings and not wordings[i].licensed]


def for_definition(definition: Definition) -> dict[str, dict[str, Any]]:
    """What a response of this form stores: the wording of each instrument it asks."""
    wordings = active()
    instruments = sorted({item.instrument for item in definition.items() if item.instrument})
    return {i: wordings[i].as_stored() for i in instruments if i in wordings}


def describe(stored: Mapping[str, Any] | None) -> list[str]:
    """A response's stored wordings as lines for summaries: "ODI: ODI 2.1b norsk (2023)"."""
    lines = []
    for instrument, value in sorted((stored or {}).items()):
        if not isinstance(value, Mapping):
            continue
        name = NAMES.get(instrument, instrument)
        if value.get("id") == PLACEHOLDER_ID:
            lines.append(f"{name}: plassholder (ikke lisensiert ordlyd)")
        else:
            lines.append(f"{name}: {value.get('id')} ({value.get('version')})")
    return lines


def placeholder_names(stored: Mapping[str, Any] | None) -> list[str]:
    """Names of the instruments a response was answered under placeholder wording ("ODI")."""
    return [
        NAMES.get(instrument, instrument)
        for instrument, value in sorted((stored or {}).items())
        if isinstance(value, Mapping) and value.get("id") == PLACEHOLDER_ID
    ]


def placeholders_of_patient_forms() -> list[str]:
    """Names of the instruments the patient forms currently show with placeholder wording."""
    wordings = active()
    return [
        wordings[i].name for i in LICENSED_INSTRUMENTS if i in wordings and not wordings[i].licensed
    ]
