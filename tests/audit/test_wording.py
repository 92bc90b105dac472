"""Every audit event the system writes has words a patient understands, in Norwegian and English.

The codes are read from the source (every string literal shaped like an event code, and the
object kinds passed to ``not_found``), so a new event without words fails here, not in a patient's
innsyn list."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from django.utils import translation

from nnrr.audit.wording import ACTION_GROUPS, OBJECT_NAMES, describe

SOURCE = Path(__file__).resolve().parents[2] / "nnrr"
CODE = re.compile(r"^nnrr\.[a-z_]+(\.[a-z_]+)+$")
# Strings shaped like a code that are not events: signing salts and logger names.
NOT_EVENTS = {
    "nnrr.audit.national_id",
    "nnrr.reports.chart",
    "nnrr.worker",
    "nnrr.questionnaires.confirm_not_neck_back",
}
# Functions whose literal ``kind`` argument becomes ``nnrr.<kind>.access_denied``.
DENIED_KINDS_FROM = {"not_found", "_get", "_lookup"}


def _is_python_name(name: str) -> bool:
    """A module, or a module's attribute ("nnrr.wsgi.application")."""
    parent, _dot, attribute = name.rpartition(".")
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        pass
    try:
        return hasattr(importlib.import_module(parent), attribute)
    except ImportError:
        return False


def _composed_code(node: ast.JoinedStr) -> bool:
    """An f-string that builds an event code (only ``nnrr.<kind>.access_denied`` may: its kinds
    are collected from the calls of ``not_found``)."""
    parts = [p.value for p in node.values if isinstance(p, ast.Constant)]
    return bool(parts) and str(parts[0]).startswith("nnrr.") and parts[-1] != ".access_denied"


def event_codes() -> set[str]:
    codes: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and _composed_code(node):
                pytest.fail(f"{path}:{node.lineno}: an event code must be a literal string")
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
                if CODE.match(value) and value not in NOT_EVENTS and not _is_python_name(value):
                    codes.add(value)
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in DENIED_KINDS_FROM:
                    for arg in node.args:
                        value = arg.value if isinstance(arg, ast.Constant) else None
                        if isinstance(value, str) and re.fullmatch(r"[a-z_]+", value):
                            codes.add(f"nnrr.{value}.access_denied")
    # The prefixes the Logg's action filter matches on are not events.
    prefixes = {prefix for _label, group in ACTION_GROUPS.values() for prefix in group}
    return codes - prefixes


def test_the_source_has_the_events_this_test_looks_for() -> None:
    codes = event_codes()
    # The collector finds codes written in every way the code base writes them.
    assert "nnrr.export.log_viewed" in codes  # record_event(action=...)
    assert "nnrr.order.form_opened" in codes  # access.audit_view(request, "...")
    assert "nnrr.worklist.mine.viewed" in codes  # a table of list events
    assert "nnrr.report_document.access_denied" in codes  # not_found(request, kind)
    assert "nnrr.patient.access_denied" in codes  # _get(request, queryset, "patient", ...)
    assert len(codes) > 80


@pytest.mark.parametrize("language", ["nb", "en"])
def test_every_event_code_has_words_in_norwegian_and_english(language: str) -> None:
    missing = []
    for code in sorted(event_codes()):
        with translation.override(language):
            words = describe(code, {"kind": "1b"})
        with translation.override("nb"):
            norwegian = describe(code, {"kind": "1b"})
        if code.endswith(".access_denied") and code.split(".")[1] not in OBJECT_NAMES:
            missing.append(f"{code} (no name for what was opened)")
        elif "nnrr." in words or "Annen hendelse" in words or "Other event" in words:
            missing.append(code)
        elif language == "en" and words == norwegian:
            missing.append(f"{code} (not translated: {words})")
    assert not missing, "events without words: " + ", ".join(missing)


def test_viewing_the_export_log_creating_and_downloading_an_export_read_differently() -> None:
    words = {
        describe("nnrr.export.log_viewed", {}),
        describe("nnrr.export.completed", {}),
        describe("nnrr.export.downloaded", {}),
    }
    assert words == {
        "Så eksportloggen",
        "Lagde en eksport av data",
        "Lastet ned en eksport av data",
    }


def test_a_refused_portal_entry_reads_as_a_sentence() -> None:
    used = describe("nnrr.portal.entry", {"state": "used"}, outcome="denied")
    assert used == "Pasienten prøvde å åpne et skjema som allerede er sendt inn"
    late = describe("nnrr.portal.entry", {"state": "expired"}, outcome="denied")
    assert late == "Pasienten prøvde å åpne et skjema etter svarfristen"
    assert describe("nnrr.portal.entry", {}, outcome="ok") == "Pasienten åpnet skjema i portalen"
    # An event whose words do not already say it was refused gets a clause that does.
    refused = describe("nnrr.patient.viewed", {}, outcome="denied")
    assert refused == "Åpnet pasient – ble ikke tillatt"
