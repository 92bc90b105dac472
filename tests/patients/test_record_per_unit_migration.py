"""The data migration that carries shared patient rows over to one record per unit."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F

from nnrr.accounts.models import User
from nnrr.patients.models import Course, Patient
from tests.conftest import HAUKELAND, ST_OLAVS, UNN_TROMSO

BEFORE = [("patients", "0001_initial")]
AFTER = [("patients", "0004_one_patient_record_per_unit")]

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _migrate(target: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def test_a_person_shared_by_three_units_becomes_three_records_with_their_own_courses() -> None:
    apps = _migrate(BEFORE)
    try:
        OldPatient = apps.get_model("patients", "Patient")
        OldLink = apps.get_model("patients", "UnitPatient")
        OldCourse = apps.get_model("patients", "Course")
        registrar = User.objects.create(username="registrar", full_name="Reg Istrar")
        shared = OldPatient.objects.create(
            id=uuid.uuid4(),
            national_id="17057512345",
            id_kind="synthetic",
            name="Delt Person",
            birth_date=dt.date(1975, 5, 17),
            sex="M",
            email="delt@example.no",
            mobile="91234567",
        )
        alone = OldPatient.objects.create(
            id=uuid.uuid4(),
            national_id="17057554321",
            id_kind="synthetic",
            name="Bare Olavs",
            birth_date=dt.date(1975, 5, 17),
            sex="M",
        )
        orphan = OldPatient.objects.create(
            id=uuid.uuid4(),
            national_id="17057599999",
            id_kind="synthetic",
            name="Ingen Enhet",
            birth_date=dt.date(1975, 5, 17),
            sex="M",
        )
        # St. Olavs registered first, then Haukeland; UNN has a course but no link (old data).
        for unit in (ST_OLAVS, HAUKELAND):
            OldLink.objects.create(patient=shared, unit_id=unit, registered_by_id=registrar.pk)
        OldLink.objects.create(patient=alone, unit_id=ST_OLAVS)
        courses = {}
        for unit in (ST_OLAVS, HAUKELAND, UNN_TROMSO, HAUKELAND):
            courses.setdefault(unit, []).append(
                OldCourse.objects.create(
                    id=uuid.uuid4(),
                    patient=shared,
                    unit_id=unit,
                    referral_date=dt.date(2026, 1, 5),
                    planned_consultation_date=dt.date(2026, 2, 5),
                ).pk
            )
        unlinked = OldPatient.objects.create(
            id=uuid.uuid4(),
            national_id="17057511111",
            id_kind="synthetic",
            name="Uten Registrering",
            birth_date=dt.date(1975, 5, 17),
            sex="M",
        )
        OldCourse.objects.create(
            id=uuid.uuid4(),
            patient=unlinked,
            unit_id=HAUKELAND,
            referral_date=dt.date(2026, 1, 5),
            planned_consultation_date=dt.date(2026, 2, 5),
        )
        OldCourse.objects.create(
            id=uuid.uuid4(),
            patient=alone,
            unit_id=ST_OLAVS,
            referral_date=dt.date(2026, 1, 5),
            planned_consultation_date=dt.date(2026, 2, 5),
        )
    finally:
        _migrate(AFTER)

    records = {p.unit_id: p for p in Patient.objects.filter(national_id="17057512345")}
    assert set(records) == {ST_OLAVS, HAUKELAND, UNN_TROMSO}
    # The unit that registered first keeps the row (and so the audit trail's references).
    assert records[ST_OLAVS].pk == shared.pk
    assert records[ST_OLAVS].registered_by_id == registrar.pk
    for unit, record in records.items():
        assert (record.name, record.email, record.mobile) == (
            "Delt Person",
            "delt@example.no",
            "91234567",
        )
        assert record.birth_date == dt.date(1975, 5, 17)
        assert set(Course.objects.filter(patient=record).values_list("pk", flat=True)) == set(
            courses[unit]
        )
    # Every course now hangs on its own unit's record.
    assert not Course.objects.exclude(unit_id=F("patient__unit_id")).exists()
    assert Patient.objects.get(national_id="17057554321").unit_id == ST_OLAVS
    assert not Patient.objects.filter(pk=orphan.pk).exists()
    # A course without a registration (old data) gives the row its unit.
    assert Patient.objects.get(pk=unlinked.pk).unit_id == HAUKELAND


def test_the_records_merge_back_when_the_migration_is_reversed_and_split_again() -> None:
    first = Patient.objects.create(
        unit_id=ST_OLAVS,
        national_id="17057522222",
        id_kind="synthetic",
        name="Tur Retur",
        birth_date=dt.date(1975, 5, 17),
        sex="M",
    )
    second = Patient.objects.create(
        unit_id=HAUKELAND,
        national_id="17057522222",
        id_kind="synthetic",
        name="Tur Retur",
        birth_date=dt.date(1975, 5, 17),
        sex="M",
    )
    courses = {}
    for record in (first, second):
        courses[record.unit_id] = Course.objects.create(
            patient=record,
            unit_id=record.unit_id,
            referral_date=dt.date(2026, 1, 5),
            planned_consultation_date=dt.date(2026, 2, 5),
        ).pk
    apps = _migrate(BEFORE)
    try:
        OldPatient = apps.get_model("patients", "Patient")
        OldLink = apps.get_model("patients", "UnitPatient")
        OldCourse = apps.get_model("patients", "Course")
        merged = OldPatient.objects.get(national_id="17057522222")
        assert merged.pk == first.pk
        assert set(OldLink.objects.filter(patient=merged).values_list("unit_id", flat=True)) == {
            ST_OLAVS,
            HAUKELAND,
        }
        assert set(OldCourse.objects.filter(patient=merged).values_list("pk", flat=True)) == set(
            courses.values()
        )
    finally:
        _migrate(AFTER)
    records = {p.unit_id: p for p in Patient.objects.filter(national_id="17057522222")}
    assert set(records) == {ST_OLAVS, HAUKELAND}
    for unit, record in records.items():
        assert list(Course.objects.filter(patient=record).values_list("pk", flat=True)) == [
            courses[unit]
        ]
