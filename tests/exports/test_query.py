"""Which forms an export contains: every filter at its boundaries, counted row by row."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest

from nnrr.accounts.profiles import Profile
from nnrr.exports.pseudonym import Pseudonymiser
from nnrr.exports.query import (
    FIELDS,
    PERIOD_RULES,
    ExportFilters,
    RowBuilder,
    count_forms,
    course_rows,
    form_rows,
)
from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.questionnaires.validation import shown_items
from tests.conftest import HAUKELAND, ST_OLAVS, make_patient
from tests.exports.conftest import add_course

pytestmark = pytest.mark.django_db

VISIT_A = dt.date(2024, 3, 1)  # patient born 1980-03-01: 44 years old that very day
VISIT_B = dt.date(2024, 3, 31)  # patient born 1980-04-01: 43 years old, 44 the next day
ALL = ("1b", "1a", "2", "3")


@pytest.fixture
def courses(persona: Any) -> dict[str, Any]:
    lead = persona("local_admin")
    a = add_course(
        make_patient(ST_OLAVS, name="Anne Alder", born=dt.date(1980, 3, 1)),
        ST_OLAVS,
        visit=VISIT_A,
        owner=lead.user,
        seed=31,
    )
    b = add_course(
        make_patient(ST_OLAVS, name="Berit Bursdag", born=dt.date(1980, 4, 1)),
        ST_OLAVS,
        visit=VISIT_B,
        seed=32,
    )
    return {"profile": Profile.from_membership(lead.membership), "a": a, "b": b}


def counts(courses: dict[str, Any], **filters: Any) -> dict[str, int]:
    return count_forms(courses["profile"], ExportFilters(**filters))


def rows(courses: dict[str, Any], kind: str, **filters: Any) -> list[dict[str, Any]]:
    builder = RowBuilder(Pseudonymiser(b"k"), identifiable=True)
    return list(form_rows(courses["profile"], ExportFilters(**filters), kind, builder))


def course_ids(courses: dict[str, Any], **filters: Any) -> list[Any]:
    builder = RowBuilder(Pseudonymiser(b"k"), identifiable=True)
    return [
        r["course_id"] for r in course_rows(courses["profile"], ExportFilters(**filters), builder)
    ]


def test_the_forms_of_the_two_courses_are_counted_per_type(courses: dict[str, Any]) -> None:
    assert counts(courses) == {"1b": 2, "1a": 2, "2": 2, "3": 2}


@pytest.mark.parametrize(
    ("date_from", "date_to", "expected"),
    [
        (VISIT_A, None, 2),
        (VISIT_A + dt.timedelta(days=1), None, 1),
        (None, VISIT_B, 2),
        (None, VISIT_B - dt.timedelta(days=1), 1),
        (VISIT_A, VISIT_A, 1),
        (VISIT_B, VISIT_B, 1),
    ],
)
def test_the_period_by_visit_date_includes_both_ends(
    courses: dict[str, Any], date_from: Any, date_to: Any, expected: int
) -> None:
    found = counts(courses, period_by="visit", date_from=date_from, date_to=date_to)
    # Every form of a course follows its Behandlerskjema's Besøksdato.
    assert found == dict.fromkeys(ALL, expected)


def test_the_period_by_visit_date_picks_the_course_of_that_visit(courses: dict[str, Any]) -> None:
    found = rows(courses, "1a", period_by="visit", date_from=VISIT_B, date_to=VISIT_B)
    assert [r["course_id"] for r in found] == [courses["b"].pk]


@pytest.mark.parametrize(
    ("date_from", "date_to", "expected"),
    [
        # The Behandlerskjema is dated the visit, the pre-treatment form five days before.
        (VISIT_A, None, {"1b": 2, "1a": 1, "2": 2, "3": 2}),
        (VISIT_A + dt.timedelta(days=1), None, {"1b": 1, "1a": 1, "2": 2, "3": 2}),
        (None, VISIT_A, {"1b": 1, "1a": 1, "2": 0, "3": 0}),
        (None, VISIT_A - dt.timedelta(days=1), {"1b": 0, "1a": 1, "2": 0, "3": 0}),
        (VISIT_B - dt.timedelta(days=5), VISIT_B, {"1b": 1, "1a": 1, "2": 0, "3": 0}),
    ],
)
def test_the_period_by_form_date_includes_both_ends(
    courses: dict[str, Any], date_from: Any, date_to: Any, expected: dict[str, int]
) -> None:
    assert counts(courses, period_by="form", date_from=date_from, date_to=date_to) == expected


@pytest.mark.parametrize(
    ("age_min", "age_max", "expected"),
    [
        (44, None, 1),  # Anne is 44 on her visit day
        (45, None, 0),
        (43, None, 2),
        (None, 43, 1),  # Berit is 43 on hers
        (None, 42, 0),
        (None, 44, 2),
        (44, 44, 1),
        (43, 43, 1),
    ],
)
def test_the_age_band_counts_the_age_on_the_visit_day_with_both_ends_included(
    courses: dict[str, Any], age_min: Any, age_max: Any, expected: int
) -> None:
    found = counts(courses, age_min=age_min, age_max=age_max)
    assert found == dict.fromkeys(ALL, expected)
    assert len(rows(courses, "1b", age_min=age_min, age_max=age_max)) == expected
    assert len(course_ids(courses, age_min=age_min, age_max=age_max)) == expected


def test_the_age_in_the_rows_is_whole_years_on_the_visit_day(courses: dict[str, Any]) -> None:
    ages = {r["course_id"]: r["age"] for r in rows(courses, "1b")}
    assert ages == {courses["a"].pk: 44, courses["b"].pk: 43}


def test_a_draft_behandlerskjema_is_in_the_course_table_only_when_drafts_are_chosen(
    courses: dict[str, Any],
) -> None:
    Response.objects.filter(course=courses["b"], kind=FormKind.CLINICIAN).update(
        status=FormStatus.KLADD
    )
    done = (FormStatus.FERDIGSTILT.value,)
    draft = (FormStatus.KLADD.value,)
    assert course_ids(courses, statuses=done) == [courses["a"].pk]
    assert course_ids(courses, statuses=draft) == [courses["b"].pk]
    assert sorted(course_ids(courses, statuses=done + draft), key=str) == sorted(
        [courses["a"].pk, courses["b"].pk], key=str
    )
    assert counts(courses, statuses=draft) == {"1b": 1, "1a": 0, "2": 0, "3": 0}


def test_the_course_table_takes_only_completed_patient_forms(courses: dict[str, Any]) -> None:
    from nnrr.questionnaires.definitions import get_definition

    c = add_course(
        make_patient(ST_OLAVS, name="Cecilie Kladd", born=dt.date(1990, 1, 1)),
        ST_OLAVS,
        visit=VISIT_B,
        seed=33,
        follow_ups=(FormKind.FOLLOW_UP_12,),
    )
    Response.objects.create(
        course=c,
        kind=FormKind.FOLLOW_UP_6,
        status=FormStatus.KLADD,
        answers={},
        definition_version=get_definition(FormKind.FOLLOW_UP_6).version,
        form_date=VISIT_B + dt.timedelta(days=180),
    )
    builder = RowBuilder(Pseudonymiser(b"k"), identifiable=False)
    statuses = (FormStatus.FERDIGSTILT.value, FormStatus.KLADD.value)
    table = {
        r["course_id"]: r
        for r in course_rows(courses["profile"], ExportFilters(statuses=statuses), builder)
    }
    assert set(table) == {courses["a"].pk, courses["b"].pk, c.pk}
    assert table[courses["a"].pk]["regstatus_post"] == 1
    assert table[c.pk]["regstatus_post"] == 0
    assert FormKind.FOLLOW_UP_6 not in table[c.pk]
    assert table[c.pk]["regstatus_pre"] == 1
    assert table[c.pk]["regstatus_post2"] == 1
    # The draft 6-month form is still in its own table when drafts are chosen.
    assert counts(courses, statuses=statuses)["2"] == 3


@pytest.mark.parametrize(
    "status", [Course.Status.WITHDRAWN, Course.Status.DELETED, Course.Status.PURGED]
)
def test_withdrawn_deleted_and_purged_courses_never_appear(
    courses: dict[str, Any], status: str
) -> None:
    Course.objects.filter(pk=courses["a"].pk).update(status=status)
    assert counts(courses) == dict.fromkeys(ALL, 1)
    assert counts(courses, age_min=0) == dict.fromkeys(ALL, 1)
    for kind in ALL:
        assert [r["course_id"] for r in rows(courses, kind)] == [courses["b"].pk]
    assert course_ids(courses) == [courses["b"].pk]


def test_another_units_course_never_appears_in_a_local_export(courses: dict[str, Any]) -> None:
    add_course(
        make_patient(HAUKELAND, name="Hauk Annenenhet", born=dt.date(1975, 5, 5)),
        HAUKELAND,
        visit=VISIT_B,
        seed=36,
    )
    assert counts(courses) == dict.fromkeys(ALL, 2)
    assert counts(courses, age_min=0) == dict.fromkeys(ALL, 2)
    for kind in ALL:
        assert {r["unit_id"] for r in rows(courses, kind)} == {ST_OLAVS}
    assert sorted(course_ids(courses), key=str) == sorted(
        [courses["a"].pk, courses["b"].pk], key=str
    )


def test_a_course_without_consent_never_appears(courses: dict[str, Any]) -> None:
    add_course(
        make_patient(ST_OLAVS, name="Uten Samtykke", born=dt.date(1990, 1, 1)),
        ST_OLAVS,
        visit=VISIT_B,
        seed=34,
        consent=False,
    )
    assert counts(courses) == dict.fromkeys(ALL, 2)
    assert len(course_ids(courses)) == 2


def test_own_forms_only_and_sex_filter(courses: dict[str, Any]) -> None:
    assert counts(courses, own_only=True) == dict.fromkeys(ALL, 1)
    assert [r["course_id"] for r in rows(courses, "1b", own_only=True)] == [courses["a"].pk]
    sexes = {courses["a"].patient.sex, courses["b"].patient.sex}
    assert sexes == {"M"}  # make_patient registers men
    assert counts(courses, sex="M") == dict.fromkeys(ALL, 2)
    assert counts(courses, sex="F") == dict.fromkeys(ALL, 0)


def test_changed_since_counts_from_the_start_of_that_day(courses: dict[str, Any]) -> None:
    from django.utils import timezone

    from nnrr.lib.dates import oslo_datetime

    day = dt.date(2025, 1, 10)
    main = Response.objects.filter(kind=FormKind.CLINICIAN)
    main.filter(course=courses["a"]).update(last_update=oslo_datetime(day, 0))
    main.filter(course=courses["b"]).update(
        last_update=oslo_datetime(day, 0) - dt.timedelta(seconds=1)
    )
    assert counts(courses, forms=("1b",), changed_since=day) == {"1b": 1}
    assert counts(courses, forms=("1b",), changed_since=day - dt.timedelta(days=1)) == {"1b": 2}
    assert timezone.now().date() > day


def test_the_filters_survive_the_job_record_unchanged() -> None:
    filters = ExportFilters(
        forms=("1b", "2"),
        statuses=(1, 2),
        period_by="form",
        date_from=dt.date(2024, 1, 1),
        date_to=dt.date(2024, 12, 31),
        own_only=True,
        units=(ST_OLAVS,),
        sex="F",
        age_min=18,
        age_max=67,
        changed_since=dt.date(2024, 6, 1),
        course_table=False,
    )
    assert ExportFilters.from_json(filters.to_json()) == filters
    assert ExportFilters.from_json(ExportFilters().to_json()) == ExportFilters()
    assert dataclasses.replace(filters, forms=()) != filters


def test_a_local_role_exports_its_own_unit_only(persona: Any) -> None:
    from nnrr.exports.query import ExportRefused, export_units

    lead = Profile.from_membership(persona("local_admin").membership)
    assert export_units(lead, ExportFilters()) == [ST_OLAVS]
    assert export_units(lead, ExportFilters(units=(ST_OLAVS,))) == [ST_OLAVS]
    with pytest.raises(ExportRefused, match="andre enheters data"):
        export_units(lead, ExportFilters(units=(ST_OLAVS, HAUKELAND)))
    with pytest.raises(ExportRefused, match="eksportere data"):
        export_units(Profile.from_membership(persona("clinician").membership), ExportFilters())


def test_the_national_role_exports_every_unit_or_the_chosen_known_ones(persona: Any) -> None:
    from nnrr.accounts.models import Unit
    from nnrr.exports.query import ExportRefused, export_units

    admin = Profile.from_membership(persona("national_admin").membership)
    assert sorted(export_units(admin, ExportFilters())) == sorted(
        Unit.objects.values_list("pk", flat=True)
    )
    assert export_units(admin, ExportFilters(units=(ST_OLAVS, HAUKELAND))) == sorted(
        [ST_OLAVS, HAUKELAND]
    )
    with pytest.raises(ExportRefused, match=r"^Ukjent enhet \(reshID\): 1, 2\.$"):
        export_units(admin, ExportFilters(units=(2, ST_OLAVS, 1)))


def test_a_national_export_of_every_unit_keeps_the_units_since_deactivated(persona: Any) -> None:
    from nnrr.accounts.models import Unit
    from nnrr.exports.query import export_units

    # A unit that has closed still holds its courses: "every unit" is every unit the registry
    # has had, as the export form lists them.
    Unit.objects.filter(pk=HAUKELAND).update(is_active=False)
    admin = Profile.from_membership(persona("national_admin").membership)
    assert HAUKELAND in export_units(admin, ExportFilters())
    assert export_units(admin, ExportFilters(units=(HAUKELAND,))) == [HAUKELAND]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"forms": ()}, "minst én skjematype"),
        ({"forms": ("1b", "9x")}, "Ukjent skjematype: 9x"),
        (
            {"forms": ("9x", "1b", "8y")},
            r"^Ukjent skjematype: 9x, 8y \(bruk 1a, 1b, 2 eller 3\)\.$",
        ),
        ({"statuses": ()}, "minst én skjemastatus"),
        ({"statuses": (4,)}, "Ukjent skjemastatus"),
        ({"period_by": "year"}, "besøksdato eller skjemadato"),
        ({"date_from": dt.date(2024, 2, 2), "date_to": dt.date(2024, 2, 1)}, "etter til-datoen"),
        ({"sex": "X"}, "Ukjent kjønn"),
        ({"age_min": 41, "age_max": 40}, "over høyeste alder"),
    ],
)
def test_impossible_filters_are_refused_with_the_reason(
    filters: dict[str, Any], message: str
) -> None:
    from nnrr.exports.query import ExportRefused

    with pytest.raises(ExportRefused, match=message):
        ExportFilters(**filters).check()


def test_filters_at_their_limits_are_accepted() -> None:
    ExportFilters(
        statuses=(1, 2, 5),
        period_by="form",
        date_from=dt.date(2024, 2, 1),
        date_to=dt.date(2024, 2, 1),
        sex="F",
        age_min=40,
        age_max=40,
    ).check()
    ExportFilters(sex="M", age_min=40).check()


def test_the_readme_describes_every_filter_in_words() -> None:
    filters = ExportFilters(
        forms=("1b", "2"),
        statuses=(2, 1),
        period_by="form",
        date_from=dt.date(2024, 1, 1),
        date_to=dt.date(2024, 12, 31),
        own_only=True,
        units=(ST_OLAVS, HAUKELAND),
        sex="F",
        age_min=18,
        age_max=67,
        changed_since=dt.date(2024, 6, 1),
    )
    assert filters.describe() == [
        "Skjematyper: Behandlerskjema, Pasientskjema 6 måneder etter behandling",
        "Status: Ferdigstilt, Kladd",
        "Periode (skjemadato): 01.01.2024 – 31.12.2024",
        *PERIOD_RULES["form"],
        "Bare egne skjema",
        f"Enheter (reshID): {ST_OLAVS}, {HAUKELAND}",
        "Kjønn: kvinne",
        "Alder på besøksdatoen: 18–67 år",
        "Endret siden: 01.06.2024",
    ]
    # The page's summary and the export log: the same words without how each table was filtered.
    short = filters.describe(short=True)
    assert short[0] == "Skjematyper: Behandlerskjema, Pasientskjema 6 måneder etter behandling"
    assert short == [line for line in filters.describe() if line not in PERIOD_RULES["form"]]
    assert ExportFilters(period_by="visit", date_to=dt.date(2024, 1, 1), sex="M").describe() == [
        "Skjematyper: Behandlerskjema, Pasientskjema før behandling, Pasientskjema 6 måneder "
        "etter behandling, Pasientskjema 12 måneder etter behandling",
        "Status: Ferdigstilt",
        "Periode (besøksdato): … – 01.01.2024",
        *PERIOD_RULES["visit"],
        "Kjønn: mann",
    ]
    assert ExportFilters(age_max=30).describe()[-1] == "Alder på besøksdatoen: 0–30 år"
    assert ExportFilters(age_min=30).describe()[-1] == "Alder på besøksdatoen: 30–… år"


def test_a_job_record_without_lists_reads_as_empty_lists() -> None:
    filters = ExportFilters.from_json({"period_by": "form"})
    assert (filters.forms, filters.statuses, filters.units) == ((), (), ())
    assert ExportFilters(date_from=dt.date(2024, 1, 1)).describe()[2] == (
        "Periode (besøksdato): 01.01.2024 – …"
    )


def test_form_rows_come_in_form_date_order(courses: dict[str, Any]) -> None:
    c = add_course(
        make_patient(ST_OLAVS, name="Cato Tidlig", born=dt.date(1990, 1, 1)),
        ST_OLAVS,
        visit=VISIT_A - dt.timedelta(days=10),
        seed=35,
    )
    order = [r["course_id"] for r in rows(courses, "1b")]
    assert order == [c.pk, courses["a"].pk, courses["b"].pk]


def test_the_course_table_follows_the_behandlerskjemas_date_not_the_other_forms(
    courses: dict[str, Any],
) -> None:
    # Only Berit's pre-treatment form is dated this day; her Behandlerskjema is five days later.
    day = VISIT_B - dt.timedelta(days=5)
    assert counts(courses, period_by="form", date_from=day, date_to=day)["1a"] == 1
    assert course_ids(courses, period_by="form", date_from=day, date_to=day) == []
    assert course_ids(courses, period_by="form", date_from=VISIT_B, date_to=VISIT_B) == [
        courses["b"].pk
    ]


def test_the_referral_date_is_kept_and_the_waiting_time_is_empty_without_a_visit_date(
    courses: dict[str, Any],
) -> None:
    from nnrr.exports.columns import registry_columns

    main = Response.objects.get(course=courses["b"], kind=FormKind.CLINICIAN)
    answers = dict(main.answers)
    answers.pop("S1b_DateOfCompletion")
    Response.objects.filter(pk=main.pk).update(answers=answers)
    builder = RowBuilder(Pseudonymiser(b"k"), identifiable=False)
    table = {r["course_id"]: r for r in course_rows(courses["profile"], ExportFilters(), builder)}
    assert table[courses["a"].pk]["referral_date"] == VISIT_A - dt.timedelta(days=40)
    assert table[courses["b"].pk]["referral_date"] == VISIT_B - dt.timedelta(days=40)
    # The Behandlerskjema's VentetidFraHenvisningTilBesok: visit − referral, or empty.
    (waiting,) = [
        c for c in registry_columns(FormKind.CLINICIAN) if c.name == "VentetidFraHenvisningTilBesok"
    ]
    assert waiting.get(table[courses["a"].pk][FormKind.CLINICIAN]) == 40
    assert waiting.get(table[courses["b"].pk][FormKind.CLINICIAN]) is None


FORM_ID = uuid.UUID("11111111-1111-4111-8111-111111111111")
MAIN_ID = uuid.UUID("22222222-2222-4222-8222-222222222222")
NUMBER = "01017012345"
# A pre-treatment form whose answers show the neck items and the sick-leave percentage.
ANSWERS = {"IsNeckPainMainProblem": 1, "S2_SickLeave": 1, "S2_SickLeave_Percent": 50}


def fetched(**changes: Any) -> tuple[Any, ...]:
    """One form as the export query fetches it (``FIELDS``, in their order)."""
    values: dict[str, Any] = {
        "id": FORM_ID,
        "kind": FormKind.PRE_TREATMENT.value,
        "status": FormStatus.FERDIGSTILT.value,
        "definition_version": "1.0",
        "answers": ANSWERS,
        "scores": {"OdiScore": 22.0},
        "form_date": dt.date(2024, 3, 4),
        # 23:30 UTC on 4 March is 00:30 on 5 March in Oslo (winter time).
        "last_update": dt.datetime(2024, 3, 4, 23, 30, 15, 999_999, tzinfo=dt.UTC),
        "completed_at": dt.datetime(2024, 3, 4, 23, 10, tzinfo=dt.UTC),
        "course_id": 7,
        "course__referral_date": dt.date(2024, 1, 20),
        "course__unit_id": ST_OLAVS,
        "course__unit__name": "St. Olavs hospital",
        "course__patient__national_id": NUMBER,
        "course__patient__name": "Anne Alder",
        "course__patient__birth_date": dt.date(1980, 3, 1),
        "course__patient__sex": "F",
        "main_id": MAIN_ID,
        # The visit (Besøksdato) the day before her 44th birthday; the form is dated after it.
        "visit": "2024-02-29",
        "wording": {"ODI": "odi-no-2.1"},
    }
    values.update(changes)
    return tuple(values[field] for field in FIELDS)


def test_a_fetched_form_becomes_the_row_every_export_column_reads() -> None:
    pseudonyms = Pseudonymiser(b"k", unit_scoped=True)
    row = RowBuilder(pseudonyms, identifiable=True).build(fetched())
    shown = shown_items(FormKind.PRE_TREATMENT, "1.0", ANSWERS)
    assert {"NdiHeadache", "S2_SickLeave_Percent"} <= shown  # shown because of these answers
    assert row == {
        "PasientGUID": Pseudonymiser(b"k", unit_scoped=True).patient(NUMBER, ST_OLAVS),
        "SkjemaGUID": str(FORM_ID),
        "HovedskjemaGUID": str(MAIN_ID),
        "unit_id": ST_OLAVS,
        "unit_name": "St. Olavs hospital",
        "kind": "1a",
        "major": 1,
        "minor": 0,
        "status": FormStatus.FERDIGSTILT.value,
        "form_date": dt.date(2024, 3, 4),
        "last_update": dt.datetime(2024, 3, 5, 0, 30, 15),  # Oslo time, whole seconds
        "age": 43,  # on the visit day, not on the form's date
        "gender": 2,
        "visit_date": dt.date(2024, 2, 29),
        "completed_date": dt.date(2024, 3, 5),  # the Oslo day it was completed
        "answers": ANSWERS,
        "scores": {"OdiScore": 22.0},
        "wording": {"ODI": "odi-no-2.1"},
        "course_id": 7,
        "referral_date": dt.date(2024, 1, 20),
        "shown": shown,
        "national_id": NUMBER,
        "patient_name": "Anne Alder",
    }
    # The unit's own pseudonym: another unit's record of the same person has another one.
    assert row["PasientGUID"] != pseudonyms.patient(NUMBER, HAUKELAND)


def test_a_de_identified_row_has_no_national_id_or_name() -> None:
    row = RowBuilder(Pseudonymiser(b"k"), identifiable=False).build(fetched())
    assert "national_id" not in row and "patient_name" not in row
    assert NUMBER not in row.values() and "Anne Alder" not in row.values()
    assert row["PasientGUID"] == Pseudonymiser(b"k").patient(NUMBER)


def test_a_row_without_a_visit_or_stored_times_falls_back_to_the_forms_own_date() -> None:
    row = RowBuilder(Pseudonymiser(b"k"), identifiable=False).build(
        fetched(
            visit=None,
            main_id=None,
            last_update=None,
            completed_at=None,
            answers=None,
            scores=None,
            wording=None,
            course__patient__sex="M",
        )
    )
    assert row["visit_date"] is None
    assert row["age"] == 44  # on the form's date, 4 March
    assert row["HovedskjemaGUID"] is None
    assert row["last_update"] is None
    assert row["completed_date"] == dt.date(2024, 3, 4)
    assert (row["answers"], row["scores"], row["wording"]) == ({}, {}, {})
    assert row["shown"] == shown_items(FormKind.PRE_TREATMENT, "1.0", {})
    assert row["gender"] == 1


@pytest.mark.parametrize(
    ("version", "major", "minor"),
    [("1.0", 1, 0), ("2.13", 2, 13), ("3", 3, None), ("x.y", None, None), ("", None, None)],
)
def test_the_form_version_is_split_into_its_major_and_minor_number(
    version: str, major: int | None, minor: int | None
) -> None:
    row = RowBuilder(Pseudonymiser(b"k"), identifiable=False).build(
        fetched(definition_version=version)
    )
    assert (row["major"], row["minor"]) == (major, minor)


@pytest.mark.parametrize(("sex", "gender"), [("M", 1), ("F", 2), ("", None), (None, None)])
def test_the_patients_sex_becomes_the_registrys_gender_code(sex: Any, gender: Any) -> None:
    row = RowBuilder(Pseudonymiser(b"k"), identifiable=False).build(
        fetched(course__patient__sex=sex)
    )
    assert row["gender"] == gender


def test_forms_of_the_same_day_come_in_the_order_of_their_ids(courses: dict[str, Any]) -> None:
    """Two exports of the same data list a day's forms alike (not in the order they were saved)."""
    made = [
        add_course(
            make_patient(ST_OLAVS, name=f"Samme Dag {seed}", born=dt.date(1990, 1, 1)),
            ST_OLAVS,
            visit=VISIT_A,
            seed=seed,
        )
        for seed in (37, 38)
    ]
    # Saved first, the larger id; saved last, the smaller.
    for made_course, form_id in zip(made, ("f" * 32, "0" * 32), strict=True):
        Response.objects.filter(course=made_course, kind=FormKind.CLINICIAN).update(
            id=uuid.UUID(form_id)
        )
    same_day = [r for r in rows(courses, "1b") if r["form_date"] == VISIT_A]
    assert len(same_day) == 3
    ids = [r["SkjemaGUID"] for r in same_day]
    assert ids == sorted(ids)
    assert ids[0] == str(uuid.UUID("0" * 32)) and ids[-1] == str(uuid.UUID("f" * 32))


def test_a_form_without_any_date_has_no_age_and_is_left_out_of_an_age_band(
    courses: dict[str, Any],
) -> None:
    main = Response.objects.get(course=courses["b"], kind=FormKind.CLINICIAN)
    answers = dict(main.answers)
    answers.pop("S1b_DateOfCompletion")
    Response.objects.filter(pk=main.pk).update(answers=answers, form_date=None)
    assert {r["course_id"]: r["age"] for r in rows(courses, "1b")} == {
        courses["a"].pk: 44,
        courses["b"].pk: None,
    }
    assert [r["course_id"] for r in rows(courses, "1b", age_min=0)] == [courses["a"].pk]
    assert counts(courses, forms=("1b",), age_min=0) == {"1b": 1}
    assert course_ids(courses, age_max=120) == [courses["a"].pk]


def test_the_day_a_patient_answered_is_the_day_in_norway(courses: dict[str, Any]) -> None:
    """Answered at 00:30 in Oslo, 23:30 the day before in UTC: exported as the Oslo day."""
    from nnrr.lib.dates import oslo_datetime
    from nnrr.questionnaires.definitions import get_definition

    day = dt.date(2024, 9, 1)
    course = add_course(
        make_patient(ST_OLAVS, name="Natt Svar", born=dt.date(1970, 1, 1)),
        ST_OLAVS,
        visit=VISIT_A,
        seed=35,
        follow_ups=(),
    )
    Response.objects.create(
        course=course,
        kind=FormKind.FOLLOW_UP_6,
        status=FormStatus.FERDIGSTILT,
        answers={},
        definition_version=get_definition(FormKind.FOLLOW_UP_6).version,
        completed_at=oslo_datetime(day, 0, 30),
        form_date=day,
    )
    answered = {r["course_id"]: r["completed_date"] for r in rows(courses, FormKind.FOLLOW_UP_6)}
    assert answered[course.pk] == day
