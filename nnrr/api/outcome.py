"""FHIR ``OperationOutcome``: what went wrong, in bokmål with the English text beside it.

Each issue's ``details.text`` is bokmål and carries the English text in the FHIR ``translation``
extension; ``diagnostics`` repeats the English for clients that read only that. ``expression``
names the ``linkId`` an issue is about.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.http import JsonResponse
from django.utils import translation

from nnrr.api.questionnaire import TRANSLATION_URL

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class Issue:
    nb: str
    en: str
    code: str = "invalid"
    link_id: str = ""
    severity: str = "error"


def bilingual(message: Callable[[], str]) -> tuple[str, str]:
    """The message built once in bokmål and once in English (gettext in each language)."""
    with translation.override("nb"):
        nb = message()
    with translation.override("en"):
        en = message()
    return nb, en


def issue(message: Callable[[], str], code: str = "invalid", link_id: str = "") -> Issue:
    nb, en = bilingual(message)
    return Issue(nb=nb, en=en, code=code, link_id=link_id)


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    rendered = []
    for item in issues:
        entry: dict[str, Any] = {
            "severity": item.severity,
            "code": item.code,
            "details": {
                "text": item.nb,
                "_text": {
                    "extension": [
                        {
                            "url": TRANSLATION_URL,
                            "extension": [
                                {"url": "lang", "valueCode": "en"},
                                {"url": "content", "valueString": item.en},
                            ],
                        }
                    ]
                },
            },
            "diagnostics": item.en,
        }
        if item.link_id:
            entry["expression"] = [f"QuestionnaireResponse.item.where(linkId='{item.link_id}')"]
        rendered.append(entry)
    return {"resourceType": "OperationOutcome", "issue": rendered}


def outcome_response(issues: Iterable[Issue], status: int) -> JsonResponse:
    return JsonResponse(operation_outcome(issues), status=status, content_type=FHIR_JSON)


class FhirError(Exception):
    """A request the API answers with an OperationOutcome and ``status``."""

    def __init__(self, status: int, issues: list[Issue]) -> None:
        super().__init__(issues[0].en if issues else "")
        self.status = status
        self.issues = issues

    def response(self) -> JsonResponse:
        return outcome_response(self.issues, self.status)
