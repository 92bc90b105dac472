"""The English translation: pages follow the language cookie, and the catalogue is complete.

The source strings are Norwegian bokmål (the labels of the user manual); English comes from
nnrr/locale/en/LC_MESSAGES/django.po, compiled to django.mo next to it.
"""

from __future__ import annotations

import ast
import gettext
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

LOCALE_DIR = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")

PAGES = {
    "accounts:login": (
        "Log in to the Norwegian Neck and Back Registry",
        "Logg inn i Norsk nakke- og ryggregister",
    ),
    "portal:start": ("Answer a questionnaire", "Svar på spørreskjema"),
}


@pytest.fixture(autouse=True)
def _back_to_norwegian() -> Iterator[None]:
    """The middleware activates the cookie's language for the thread; do not leak it."""
    yield
    translation.deactivate()


# --- Pages ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", sorted(PAGES))
def test_page_is_english_with_the_language_cookie(client: Client, url_name: str) -> None:
    english, norwegian = PAGES[url_name]
    client.cookies["django_language"] = "en"

    response = client.get(reverse(url_name))
    html = response.content.decode()

    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert '<html lang="en"' in html
    assert english in html
    assert norwegian not in html


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", sorted(PAGES))
def test_page_is_norwegian_without_the_language_cookie(client: Client, url_name: str) -> None:
    english, norwegian = PAGES[url_name]

    response = client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    html = response.content.decode()

    assert response.status_code == 200
    assert response["Content-Language"] == "nb"
    assert '<html lang="nb"' in html
    assert norwegian in html
    assert english not in html


@pytest.mark.django_db
def test_the_chosen_language_is_kept_across_logins_and_browser_restarts(as_persona: Any) -> None:
    client = as_persona("clinician")
    chosen = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    cookie = chosen.cookies["django_language"]
    assert cookie.value == "en"
    assert int(cookie["max-age"]) >= 300 * 24 * 3600  # not gone when the browser closes
    client.post(reverse("accounts:logout"))
    login = client.get(reverse("accounts:login"))
    assert login["Content-Language"] == "en"
    assert "Log in to the Norwegian Neck and Back Registry" in login.content.decode()


# --- The catalogue -------------------------------------------------------------------------


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def msgid(self) -> str:
        return self.fields.get("msgid", "")

    @property
    def translations(self) -> dict[str, str]:
        return {k: v for k, v in self.fields.items() if k.startswith("msgstr")}

    def __str__(self) -> str:
        return f"django.po line {self.line}: {self.msgid!r}"


def parse_po(text: str) -> list[Entry]:
    """Entries of a .po file (obsolete "#~" entries are comments and left out)."""
    entries: list[Entry] = []
    current: Entry | None = None
    key = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            current = None
            continue
        if current is None:
            current = Entry(line=number)
            entries.append(current)
        if line.startswith("#,"):
            current.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current.fields[key] += ast.literal_eval(line)
        else:
            key, _sep, value = line.partition(" ")
            current.fields[key] = ast.literal_eval(value)
    return [e for e in entries if "msgid" in e.fields]


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    entries = parse_po(PO_FILE.read_text(encoding="utf-8"))
    assert entries and entries[0].msgid == "", "django.po has no header entry"
    return entries[1:]


def test_catalogue_has_no_untranslated_or_fuzzy_entries(catalogue: list[Entry]) -> None:
    assert len(catalogue) > 100
    fuzzy = [str(e) for e in catalogue if "fuzzy" in e.flags]
    untranslated = [str(e) for e in catalogue if not all(e.translations.values())]
    assert not fuzzy, "fuzzy entries:\n" + "\n".join(fuzzy)
    assert not untranslated, "untranslated entries:\n" + "\n".join(untranslated)


def test_plural_entries_have_both_forms(catalogue: list[Entry]) -> None:
    for entry in catalogue:
        if "msgid_plural" in entry.fields:
            assert set(entry.translations) == {"msgstr[0]", "msgstr[1]"}, str(entry)


def test_translations_keep_the_placeholders(catalogue: list[Entry]) -> None:
    for entry in catalogue:
        sources = [entry.msgid, entry.fields.get("msgid_plural", entry.msgid)]
        for index, (name, text) in enumerate(sorted(entry.translations.items())):
            source = sources[min(index, 1)]
            assert sorted(set(PLACEHOLDER.findall(text))) == sorted(
                set(PLACEHOLDER.findall(source))
            ), f"{entry} ({name})"


def test_compiled_catalogue_matches_the_po_file(catalogue: list[Entry]) -> None:
    """django.mo is committed next to django.po; it must be compiled from the current .po."""
    with MO_FILE.open("rb") as stream:
        compiled = gettext.GNUTranslations(stream)
    stale = []
    for entry in catalogue:
        context = entry.fields.get("msgctxt")
        if "msgid_plural" in entry.fields:
            plural = entry.fields["msgid_plural"]
            if context is None:
                got = (
                    compiled.ngettext(entry.msgid, plural, 1),
                    compiled.ngettext(entry.msgid, plural, 2),
                )
            else:
                got = (
                    compiled.npgettext(context, entry.msgid, plural, 1),
                    compiled.npgettext(context, entry.msgid, plural, 2),
                )
            wanted = (entry.fields["msgstr[0]"], entry.fields["msgstr[1]"])
        else:
            if context is None:
                got = (compiled.gettext(entry.msgid),)
            else:
                got = (compiled.pgettext(context, entry.msgid),)
            wanted = (entry.fields["msgstr"],)
        if got != wanted:
            stale.append(str(entry))
    assert not stale, "run `make messages` (compilemessages); stale in django.mo:\n" + "\n".join(
        stale
    )


# Staff pages added after the first translation: each in English with the cookie, with none of
# the Norwegian strings that have an English entry.
STAFF_PAGES = {
    ("exporter", "exports:index"): (
        ["Export forms", "Show advanced options", "Counting forms …"],
        ["Eksporter skjema", "Vis avanserte valg", "Teller skjema"],
    ),
    ("report_reader", "reports:index"): (
        # The list of reports under "The reports" comes from a table in the code.
        ["Make report", "Report menu", "Quality indicators", "Patient mix"],
        ["Lag rapport", "Rapportmeny", "Kvalitetsindikatorer", "Pasientsammensetning"],
    ),
    ("national_admin", "accounts:applications"): (
        ["Access requests", "No requests are waiting."],
        ["Søknader om tilgang", "Ingen søknader venter."],
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "url_name"), sorted(STAFF_PAGES))
def test_staff_page_is_english_with_the_language_cookie(
    as_persona: Any, role: str, url_name: str
) -> None:
    english, norwegian = STAFF_PAGES[(role, url_name)]
    client = as_persona(role)
    client.cookies["django_language"] = "en"

    response = client.get(reverse(url_name))
    html = response.content.decode()

    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    for text in english:
        assert text in html
    for text in norwegian:
        assert text not in html
