"""Datakvalitet: how complete and consistent a unit's registrations are, per year.

What the registry's own data-quality report looks at (the R package's
``datakvalNNRR_2025.Rmd``): the completeness of every variable of each form, the relation
between the forms of a course, and consistency checks the Ferdigstill rules of the forms cannot
see. A course belongs to the year of its Besøksdato (its planned consultation date while the
Behandlerskjema has none); all its forms are counted in that year.

- **Completeness**, per form and item, among the completed forms of the form type: "Ikke svart"
  (the item was shown and left unanswered) and "ikke vist" (the form's answers did not show it,
  e.g. the NDI page when neck pain is not the main problem). Free-text items are left out.
- **Relation between forms**: Behandlerskjema without Pasientskjema før behandling and the
  reverse, follow-up forms answered without the pre-treatment form, forms completed long after
  the visit.
- **Consistency**: combinations each form accepts on its own but that do not fit together.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, F, FilteredRelation, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Substr
from django.utils.translation import gettext as _

from nnrr.accounts.models import Unit
from nnrr.lib.dates import date_of, oslo_date
from nnrr.lib.scopes import unit_scope
from nnrr.patients.models import Course
from nnrr.questionnaires import diagnoses
from nnrr.questionnaires.definitions import Definition, get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.questionnaires.validation import shown_items

FORM_ORDER = (
    FormKind.CLINICIAN,
    FormKind.PRE_TREATMENT,
    FormKind.FOLLOW_UP_6,
    FormKind.FOLLOW_UP_12,
)
# A form completed more than this many days after the Besøksdato is "completed late".
LATE_DAYS = 30
# A 6-month form answered before Besøksdato + this many days is answered too early.
EARLY_FOLLOW_UP_DAYS = 150


@dataclass
class ItemCompleteness:
    form: str
    item_id: str
    label: str
    forms: int = 0
    not_answered: int = 0  # shown, not answered ("Ikke svart")
    not_shown: int = 0

    @property
    def missing(self) -> int:
        return self.not_answered + self.not_shown

    @property
    def missing_share(self) -> float | None:
        return self.missing / self.forms if self.forms else None

    @property
    def missing_text(self) -> str:
        return shown_percent(self.missing_share)


@dataclass
class Finding:
    """One relation or consistency check: ``count`` of ``of`` courses or forms."""

    key: str
    label: str
    count: int = 0
    of: int = 0

    @property
    def share(self) -> float | None:
        return self.count / self.of if self.of else None

    @property
    def share_text(self) -> str:
        return shown_percent(self.share)


def shown_percent(value: float | None) -> str:
    """A share as the reports show it: one decimal, decimal comma; "–" when there is none."""
    return "–" if value is None else f"{100 * value:.1f} %".replace(".", ",")


@dataclass
class UnitQuality:
    unit: Unit
    year: int
    courses: int = 0
    forms: dict[str, int] = field(default_factory=dict)
    items: dict[str, list[ItemCompleteness]] = field(default_factory=dict)
    relations: list[Finding] = field(default_factory=list)
    checks: list[Finding] = field(default_factory=list)

    @property
    def sorted_items(self) -> list[tuple[FormKind, list[ItemCompleteness]]]:
        """Each form with its items, the most often missing first (for the page)."""
        return [(FormKind(kind), worst_items(self, kind)) for kind in FORM_ORDER]


def _items(definition: Definition) -> list[tuple[str, str]]:
    return [(item.id, str(item.label)) for item in definition.items() if item.type != "text"]


def _relations() -> list[Finding]:
    return [
        Finding(
            "1b_uten_1a", _("Behandlerskjema ferdigstilt, Pasientskjema før behandling mangler")
        ),
        Finding(
            "1a_uten_1b",
            _("Pasientskjema før behandling besvart, Behandlerskjema ikke ferdigstilt"),
        ),
        Finding("6mnd_uten_1a", _("6 måneder besvart uten Pasientskjema før behandling")),
        Finding("12mnd_uten_1a", _("12 måneder besvart uten Pasientskjema før behandling")),
        Finding(
            "1b_sent",
            _("Behandlerskjema ferdigstilt mer enn %(n)s dager etter besøksdato")
            % {"n": LATE_DAYS},
        ),
        Finding(
            "1a_sent",
            _("Pasientskjema før behandling besvart mer enn %(n)s dager etter besøksdato")
            % {"n": LATE_DAYS},
        ),
    ]


def _checks() -> list[Finding]:
    return [
        Finding("besok_for_henvisning", _("Besøksdato før henvisningsdato")),
        Finding(
            "besok_etter_ferdigstilt",
            _("Besøksdato etter datoen behandlerskjemaet ble ferdigstilt"),
        ),
        Finding(
            "6mnd_for_tidlig",
            _("6 måneder besvart mindre enn %(n)s dager etter besøksdato")
            % {"n": EARLY_FOLLOW_UP_DAYS},
        ),
        Finding("diagnose_ikke_nakke_rygg", _("Diagnose 1 ikke nakke- eller ryggrelatert")),
        Finding(
            "ikke_ansatt_i_arbeid",
            _("Ikke i arbeidsforhold, men «I arbeid» krysset av (før behandling)"),
        ),
    ]


def courses_in_year(unit_ids: Iterable[int], year: int) -> Any:
    """Active courses of the units placed in ``year`` (Besøksdato, else planned date)."""
    visit = KeyTextTransform("S1b_DateOfCompletion", "main__answers")
    with unit_scope(units=unit_ids):
        active = Course.objects.filter(status=Course.Status.ACTIVE)
    return (
        active.annotate(
            main=FilteredRelation("responses", condition=Q(responses__kind=FormKind.CLINICIAN))
        )
        .alias(
            placed=Coalesce(
                Substr(Cast(visit, CharField()), 1, 10),
                Cast(F("planned_consultation_date"), CharField()),
            )
        )
        .filter(placed__gte=f"{year:04d}-01-01", placed__lte=f"{year:04d}-12-31")
    )


def assess(*, units: list[Unit], year: int) -> list[UnitQuality]:
    """The data quality of each unit's courses in ``year``."""
    results = {unit.pk: UnitQuality(unit, year) for unit in units}
    item_lists = {kind: _items(get_definition(kind)) for kind in FORM_ORDER}
    for result in results.values():
        result.forms = dict.fromkeys(FORM_ORDER, 0)
        result.items = {
            kind: [ItemCompleteness(kind, item_id, label) for item_id, label in item_lists[kind]]
            for kind in FORM_ORDER
        }
        result.relations = _relations()
        result.checks = _checks()
    courses = courses_in_year(results, year)
    with unit_scope(units=results):
        forms = Response.objects.filter(course__in=courses.values("pk"))
    rows = (
        forms.exclude(status=FormStatus.SLETTET)
        .order_by("course_id", "kind")
        .values_list(
            "course_id",
            "course__unit_id",
            "course__referral_date",
            "kind",
            "status",
            "definition_version",
            "answers",
            "completed_at",
        )
    )
    current: list[tuple[Any, ...]] = []
    for row in rows.iterator(chunk_size=2000):
        if current and current[0][0] != row[0]:
            _course(results[current[0][1]], current)
            current = []
        current.append(row)
    if current:
        _course(results[current[0][1]], current)
    return [results[unit.pk] for unit in units]


def _course(result: UnitQuality, rows: list[tuple[Any, ...]]) -> None:
    result.courses += 1
    forms: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        kind, status = row[3], row[4]
        if status == FormStatus.FERDIGSTILT:
            forms[kind] = row
        elif kind == FormKind.CLINICIAN:
            forms.setdefault("1b_draft", row)
    for kind in FORM_ORDER:
        if kind in forms:
            _count_items(result, kind, forms[kind])
    relations = {f.key: f for f in result.relations}
    checks = {f.key: f for f in result.checks}
    main, pre = forms.get(FormKind.CLINICIAN), forms.get(FormKind.PRE_TREATMENT)
    six, twelve = forms.get(FormKind.FOLLOW_UP_6), forms.get(FormKind.FOLLOW_UP_12)
    referral = rows[0][2]
    draft = main or forms.get("1b_draft")
    visit = date_of((draft[6] or {}).get("S1b_DateOfCompletion")) if draft else None

    def tally(finding: Finding, hit: bool) -> None:
        finding.of += 1
        finding.count += int(hit)

    if main is not None:
        tally(relations["1b_uten_1a"], pre is None)
    if pre is not None:
        tally(relations["1a_uten_1b"], main is None)
    if six is not None:
        tally(relations["6mnd_uten_1a"], pre is None)
    if twelve is not None:
        tally(relations["12mnd_uten_1a"], pre is None)
    if main is not None and visit and main[7]:
        completed = oslo_date(main[7])
        tally(relations["1b_sent"], (completed - visit).days > LATE_DAYS)
        tally(checks["besok_etter_ferdigstilt"], visit > completed)
    if pre is not None and visit and pre[7]:
        tally(relations["1a_sent"], (oslo_date(pre[7]) - visit).days > LATE_DAYS)
    if main is not None and visit and referral:
        tally(checks["besok_for_henvisning"], visit < referral)
    if six is not None and visit and six[7]:
        early = (oslo_date(six[7]) - visit).days < EARLY_FOLLOW_UP_DAYS
        tally(checks["6mnd_for_tidlig"], early)
    if main is not None:
        code = (main[6] or {}).get("DiagnosticNumber1")
        if code:
            tally(checks["diagnose_ikke_nakke_rygg"], not diagnoses.is_neck_back_related(code))
    if pre is not None:
        answers = pre[6] or {}
        if answers.get("IsEmployed") == 0:
            tally(checks["ikke_ansatt_i_arbeid"], answers.get("S2_Working") is True)


def _count_items(result: UnitQuality, kind: str, row: tuple[Any, ...]) -> None:
    result.forms[kind] += 1
    answers = row[6] or {}
    shown = shown_items(kind, str(row[5]), answers) or shown_items(
        kind, get_definition(kind).version, answers
    )
    for item in result.items[kind]:
        item.forms += 1
        if item.item_id not in shown:
            item.not_shown += 1
        elif answers.get(item.item_id) in (None, ""):
            item.not_answered += 1


# --- CSV ----------------------------------------------------------------------------------------

CSV_HEADER = (
    "enhet_resh",
    "enhet",
    "aar",
    "del",
    "skjema",
    "variabel",
    "etikett",
    "antall",
    "ikke_svart",
    "ikke_vist",
    "andel_mangler",
)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}"


def csv_rows(results: list[UnitQuality]) -> Iterator[list[Any]]:
    for result in results:
        head = [result.unit.pk, result.unit.short_name, result.year]
        for kind in FORM_ORDER:
            for item in result.items[kind]:
                yield [
                    *head,
                    "utfylling",
                    kind,
                    item.item_id,
                    item.label,
                    item.forms,
                    item.not_answered,
                    item.not_shown,
                    _percent(item.missing_share),
                ]
        for part, findings in (("forhold", result.relations), ("konsistens", result.checks)):
            for finding in findings:
                yield [
                    *head,
                    part,
                    "",
                    finding.key,
                    finding.label,
                    finding.of,
                    finding.count,
                    "",
                    _percent(finding.share),
                ]


def csv_text(results: list[UnitQuality]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in csv_rows(results):
        writer.writerow(row)
    return "\ufeff" + buffer.getvalue()


def worst_items(result: UnitQuality, kind: str, limit: int | None = None) -> list[ItemCompleteness]:
    """The form's items, the most often missing first."""
    items = sorted(result.items[kind], key=lambda i: (-(i.missing_share or 0), i.item_id))
    return items[:limit] if limit else items
