"""Which forms an export may contain, and the rows it streams.

``exports_scope(profile, filters)`` is the one way in to exported data, like nnrr/access.py for
pages: it takes the active profile and queries in its unit scope (``nnrr.lib.scopes``), so only
the national role (Registeradministrator) reaches beyond its own unit, on the web and on the
export worker alike. Only active courses whose patient consented (a completed pre-treatment form
with consent) are exported: no consent, no registry data.

Rows are streamed with a server-side cursor (``iterator``), so memory does not grow with the
number of forms.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, F, FilteredRelation, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _

from nnrr.accounts.models import Unit
from nnrr.accounts.profiles import Profile, Right
from nnrr.exports.columns import COURSE_SUFFIXES, FORM_ORDER
from nnrr.exports.pseudonym import Pseudonymiser
from nnrr.lib.dates import OSLO, date_of, oslo_date
from nnrr.lib.scopes import unit_scope
from nnrr.patients.models import Course
from nnrr.questionnaires.models import (
    PATIENT_FORM_KINDS,
    FormKind,
    FormStatus,
    Response,
    consent_exists,
)
from nnrr.questionnaires.validation import shown_items

CHUNK = 2000
EXPORTABLE_STATUSES = (FormStatus.FERDIGSTILT, FormStatus.KLADD, FormStatus.RETURNERT)
FORM_CODES = {kind.value: kind for kind in FORM_ORDER}


# How each table is placed in a period (README.txt).
PERIOD_RULES = {
    "visit": [
        "  Behandlerskjema: besøksdatoen i perioden; et skjema uten besøksdato ennå: skjemadatoen.",
        "  Pasientskjemaene: forløpets besøksdato (fra behandlerskjemaet) i perioden; der",
        "    behandlerskjemaet ennå ikke har besøksdato, skjemaets egen dato (ingen skjema faller",
        "    bort fordi besøksdatoen mangler).",
        "  Forlop: som Behandlerskjema; pasientskjemaene hentes for de samme forløpene.",
    ],
    "form": [
        "  Hver tabell: skjemaets egen dato (skjemadato) i perioden.",
        "  Forlop: behandlerskjemaets skjemadato; pasientskjemaene hentes for de samme forløpene.",
    ],
}


class ExportRefused(Exception):
    """An export that may not or cannot be made; the message is shown to the user as is."""


@dataclass(frozen=True)
class ExportFilters:
    forms: tuple[str, ...] = tuple(k.value for k in FORM_ORDER)
    statuses: tuple[int, ...] = (FormStatus.FERDIGSTILT.value,)
    period_by: str = "visit"  # "visit" (Besøksdato) or "form" (skjemadato)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    own_only: bool = False
    units: tuple[int, ...] = ()  # national role only; empty = every unit
    sex: str = ""  # "", "M" or "F"
    age_min: int | None = None
    age_max: int | None = None
    changed_since: dt.date | None = None
    course_table: bool = True

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("date_from", "date_to", "changed_since"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        data["forms"] = list(self.forms)
        data["statuses"] = list(self.statuses)
        data["units"] = list(self.units)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExportFilters:
        values = dict(data)
        for key in ("date_from", "date_to", "changed_since"):
            if values.get(key):
                values[key] = dt.date.fromisoformat(values[key])
        values["forms"] = tuple(values.get("forms", ()))
        values["statuses"] = tuple(values.get("statuses", ()))
        values["units"] = tuple(values.get("units", ()))
        return cls(**values)

    def check(self) -> None:
        if not self.forms:
            raise ExportRefused(_("Velg minst én skjematype."))
        unknown = [f for f in self.forms if f not in FORM_CODES]
        if unknown:
            raise ExportRefused(
                _("Ukjent skjematype: %(forms)s (bruk 1a, 1b, 2 eller 3).")
                % {"forms": ", ".join(unknown)}
            )
        if not self.statuses:
            raise ExportRefused(_("Velg minst én skjemastatus."))
        if any(s not in [x.value for x in EXPORTABLE_STATUSES] for s in self.statuses):
            raise ExportRefused(_("Ukjent skjemastatus."))
        if self.period_by not in ("visit", "form"):
            raise ExportRefused(_("Perioden gjelder besøksdato eller skjemadato."))
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ExportRefused(_("Fra-datoen er etter til-datoen."))
        if self.sex not in ("", "M", "F"):
            raise ExportRefused(_("Ukjent kjønn."))
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ExportRefused(_("Laveste alder er over høyeste alder."))

    def describe(self, *, short: bool = False) -> list[str]:
        """The filters in words, for the summary, README.txt and the export log: form names as
        users know them, dates as dd.mm.åååå (``short``: without how each table was filtered)."""
        kinds = ", ".join(str(FORM_CODES[f].label) for f in self.forms if f in FORM_CODES)
        statuses = ", ".join(str(FormStatus(s).label) for s in self.statuses)
        lines = [f"Skjematyper: {kinds}", f"Status: {statuses}"]
        basis = "besøksdato" if self.period_by == "visit" else "skjemadato"
        if self.date_from or self.date_to:
            lines.append(
                f"Periode ({basis}): {_norwegian(self.date_from)} – {_norwegian(self.date_to)}"
            )
            if not short:
                lines += PERIOD_RULES[self.period_by]
        if self.own_only:
            lines.append("Bare egne skjema")
        if self.units:
            lines.append("Enheter (reshID): " + ", ".join(str(u) for u in self.units))
        if self.sex:
            lines.append("Kjønn: " + ("mann" if self.sex == "M" else "kvinne"))
        if self.age_min is not None or self.age_max is not None:
            lines.append(f"Alder på besøksdatoen: {self.age_min or 0}–{self.age_max or '…'} år")
        if self.changed_since:
            lines.append(f"Endret siden: {_norwegian(self.changed_since)}")
        return lines


def _norwegian(day: dt.date | None) -> str:
    """A date as users read it (dd.mm.åååå); "…" for an open end."""
    return f"{day:%d.%m.%Y}" if day else "…"


def export_units(profile: Profile, filters: ExportFilters) -> list[int]:
    """The units whose rows this export may contain; refuses what the profile may not reach."""
    if not profile.has(Right.EXPORT):
        raise ExportRefused(_("Din rolle gir ikke rett til å eksportere data."))
    if not profile.is_national:
        if filters.units and set(filters.units) != {profile.unit.pk}:
            raise ExportRefused(_("Bare Registeradministrator kan eksportere andre enheters data."))
        return [profile.unit.pk]
    if not filters.units:
        return list(Unit.objects.values_list("pk", flat=True))
    known = set(Unit.objects.filter(pk__in=filters.units).values_list("pk", flat=True))
    missing = sorted(set(filters.units) - known)
    if missing:
        raise ExportRefused(
            _("Ukjent enhet (reshID): %(units)s.") % {"units": ", ".join(map(str, missing))}
        )
    return sorted(known)


def _with_main(queryset: QuerySet[Response]) -> QuerySet[Response]:
    """Join each form to its course's Behandlerskjema (``HovedskjemaGUID``, Besøksdato)."""
    return queryset.annotate(
        main=FilteredRelation(
            "course__responses", condition=Q(course__responses__kind=FormKind.CLINICIAN)
        ),
        main_id=F("main__id"),
        visit=Cast(
            KeyTextTransform("S1b_DateOfCompletion", "main__answers"), output_field=CharField()
        ),
    )


def exports_scope(profile: Profile, filters: ExportFilters) -> QuerySet[Response]:
    """Every form the export may contain (all chosen types), before the age band."""
    filters.check()
    units = export_units(profile, filters)
    # The profile's scope (its unit; every unit for the national role), narrowed to the units
    # chosen. Built here, the filter stays with the queryset wherever its rows are streamed.
    with unit_scope(profile):
        forms = Response.objects.filter(
            course__unit__in=units,
            course__status=Course.Status.ACTIVE,
            kind__in=filters.forms,
            status__in=filters.statuses,
        ).filter(consent_exists(OuterRef("course")))
    queryset = _with_main(forms)
    if filters.own_only:
        queryset = queryset.filter(course__owner=profile.user)
    if filters.sex:
        queryset = queryset.filter(course__patient__sex=filters.sex)
    if filters.changed_since:
        start = dt.datetime.combine(filters.changed_since, dt.time(), tzinfo=OSLO)
        queryset = queryset.filter(last_update__gte=start)
    if filters.period_by == "visit":
        # A form whose course has no Besøksdato yet (its Behandlerskjema not filled in) is placed
        # by its own form date, never left out.
        queryset = queryset.alias(
            placed=Coalesce(F("visit"), Cast("form_date", output_field=CharField()))
        )
        if filters.date_from:
            queryset = queryset.filter(placed__gte=filters.date_from.isoformat())
        if filters.date_to:
            queryset = queryset.filter(placed__lte=filters.date_to.isoformat())
    else:
        if filters.date_from:
            queryset = queryset.filter(form_date__gte=filters.date_from)
        if filters.date_to:
            queryset = queryset.filter(form_date__lte=filters.date_to)
    return queryset


def _age(birth: dt.date | None, on: dt.date | None) -> int | None:
    if birth is None or on is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _in_age_band(filters: ExportFilters, age: int | None) -> bool:
    if filters.age_min is None and filters.age_max is None:
        return True
    if age is None:
        return False
    if filters.age_min is not None and age < filters.age_min:
        return False
    return not (filters.age_max is not None and age > filters.age_max)


def count_forms(profile: Profile, filters: ExportFilters) -> dict[str, int]:
    """Matching forms per form type (the live count on the export page)."""
    queryset = exports_scope(profile, filters)
    counts = dict.fromkeys(filters.forms, 0)
    if filters.age_min is None and filters.age_max is None:
        for kind, n in _grouped_counts(queryset):
            counts[kind] = n
        return counts
    rows = queryset.values_list(  # type: ignore[misc]
        "kind", "course__patient__birth_date", "visit", "form_date"
    )
    for kind, birth, visit, form_date in rows.iterator(chunk_size=CHUNK):
        if _in_age_band(filters, _age(birth, date_of(visit) or form_date)):
            counts[kind] += 1
    return counts


def _grouped_counts(queryset: QuerySet[Response]) -> list[tuple[str, int]]:
    from django.db.models import Count

    return list(queryset.order_by().values("kind").annotate(n=Count("id")).values_list("kind", "n"))


FIELDS = (
    "id",
    "kind",
    "status",
    "definition_version",
    "answers",
    "scores",
    "form_date",
    "last_update",
    "completed_at",
    "course_id",
    "course__referral_date",
    "course__unit_id",
    "course__unit__name",
    "course__patient__national_id",
    "course__patient__name",
    "course__patient__birth_date",
    "course__patient__sex",
    "main_id",
    "visit",
    "wording",
)


class RowBuilder:
    """Turns one fetched form into the row mapping the column getters read."""

    def __init__(self, pseudonyms: Pseudonymiser, *, identifiable: bool) -> None:
        self.pseudonyms = pseudonyms
        self.identifiable = identifiable

    def build(self, values: tuple[Any, ...]) -> dict[str, Any]:
        (
            form_id,
            kind,
            status,
            version,
            answers,
            scores,
            form_date,
            last_update,
            completed_at,
            course_id,
            referral,
            unit_id,
            unit_name,
            national_id,
            name,
            birth,
            sex,
            main_id,
            visit,
            wording,
        ) = values
        visit_date = date_of(visit)
        major, _sep, minor = str(version).partition(".")
        row: dict[str, Any] = {
            "PasientGUID": self.pseudonyms.patient(national_id, unit_id),
            "SkjemaGUID": self.pseudonyms.form_id(form_id),
            "HovedskjemaGUID": self.pseudonyms.form_id(main_id),
            "unit_id": unit_id,
            "unit_name": unit_name,
            "kind": kind,
            "major": int(major) if major.isdigit() else None,
            "minor": int(minor) if minor.isdigit() else None,
            "status": status,
            "form_date": form_date,
            "last_update": last_update.astimezone(OSLO).replace(tzinfo=None, microsecond=0)
            if last_update
            else None,
            "age": _age(birth, visit_date or form_date),
            "gender": {"M": 1, "F": 2}.get(sex),
            "visit_date": visit_date,
            "completed_date": oslo_date(completed_at) if completed_at else form_date,
            "answers": answers or {},
            "scores": scores or {},
            "wording": wording or {},
            "course_id": course_id,
            "referral_date": referral,
            "shown": shown_items(kind, str(version), answers or {}),
        }
        if self.identifiable:
            row["national_id"] = national_id
            row["patient_name"] = name
        return row


def form_rows(
    profile: Profile, filters: ExportFilters, kind: str, builder: RowBuilder
) -> Iterator[dict[str, Any]]:
    """The rows of one form table, streamed."""
    queryset = (
        exports_scope(profile, filters)
        .filter(kind=kind)
        .order_by("form_date", "id")
        .values_list(*FIELDS)
    )
    for values in queryset.iterator(chunk_size=CHUNK):
        row = builder.build(values)
        if _in_age_band(filters, row["age"]):
            yield row


def course_rows(
    profile: Profile, filters: ExportFilters, builder: RowBuilder
) -> Iterator[dict[str, Any]]:
    """One mapping per course whose Behandlerskjema matches: ``{"1b": row, "1a": row, …}``."""
    clinician = exports_scope(profile, dataclasses.replace(filters, forms=(FormKind.CLINICIAN,)))
    with unit_scope(profile):
        forms = Response.objects.filter(course__in=clinician.values("course_id")).filter(
            Q(kind=FormKind.CLINICIAN, status__in=filters.statuses)
            | Q(kind__in=PATIENT_FORM_KINDS, status=FormStatus.FERDIGSTILT)
        )
    queryset = _with_main(forms).order_by("course_id", "kind", "form_date").values_list(*FIELDS)
    current: dict[str, Any] = {}
    for values in queryset.iterator(chunk_size=CHUNK):
        row = builder.build(values)
        if current and current["course_id"] != row["course_id"]:
            finished = _course(filters, current)
            if finished:
                yield finished
            current = {}
        current["course_id"] = row["course_id"]
        current.setdefault(row["kind"], row)  # the first completed form of a kind
    if current:
        finished = _course(filters, current)
        if finished:
            yield finished


def _course(filters: ExportFilters, parts: dict[str, Any]) -> dict[str, Any] | None:
    main = parts.get(FormKind.CLINICIAN)
    if main is None or not _in_age_band(filters, main["age"]):
        return None
    # The waiting time is the Behandlerskjema's column VentetidFraHenvisningTilBesok
    # (nnrr.exports.columns), not a course-table column, as in the registry.
    parts["referral_date"] = main["referral_date"]
    for kind, suffix in COURSE_SUFFIXES.items():
        parts[f"regstatus{suffix}"] = int(kind in parts)
    return parts
