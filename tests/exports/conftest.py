"""Courses with answered forms for the export tests, and helpers to open the archives."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pyzipper
from django.utils import timezone

from nnrr.accounts.models import Membership, User
from nnrr.demo.synthetic import Trajectory, clinician_answers, patient_answers, with_diagnosis_types
from nnrr.lib.dates import oslo_datetime
from nnrr.patients.models import Course, Patient
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response, Source
from nnrr.questionnaires.services import scores_for
from tests.conftest import make_patient

FORMULA = '=HYPERLINK("http://example.com","klikk")'


@pytest.fixture(autouse=True)
def _export_dir(settings: Any, tmp_path: Path) -> Path:
    settings.EXPORT_DIR = tmp_path / "exports"
    return settings.EXPORT_DIR


def add_course(
    patient: Patient,
    unit_id: int,
    *,
    visit: dt.date,
    owner: User | None = None,
    seed: int = 1,
    clinician_status: int = FormStatus.FERDIGSTILT,
    consent: bool = True,
    follow_ups: tuple[str, ...] = (FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12),
    clinician_extra: dict[str, Any] | None = None,
    pre_extra: dict[str, Any] | None = None,
) -> Course:
    """A course with a Behandlerskjema and answered patient forms, written directly."""
    rng = random.Random(seed)
    trajectory = Trajectory.draw(rng)
    course = Course.objects.create(
        patient=patient,
        unit_id=unit_id,
        referral_date=visit - dt.timedelta(days=40),
        planned_consultation_date=visit,
        owner=owner,
    )

    def response(kind: str, status: int, answers: dict[str, Any], day: dt.date, **extra: Any):
        at = oslo_datetime(day, 12)
        return Response.objects.create(
            course=course,
            kind=kind,
            status=status,
            answers=answers,
            scores=scores_for(kind, answers) if status == FormStatus.FERDIGSTILT else {},
            definition_version=get_definition(kind).version,
            completed_at=at if status == FormStatus.FERDIGSTILT else None,
            form_date=day,
            **extra,
        )

    pre = patient_answers(get_definition(FormKind.PRE_TREATMENT), trajectory, 0, rng)
    pre.update(pre_extra or {})
    response(
        FormKind.PRE_TREATMENT,
        FormStatus.FERDIGSTILT,
        pre,
        visit - dt.timedelta(days=5),
        consent=consent,
        source=Source.PORTAL,
    )
    clinician = with_diagnosis_types(
        clinician_answers(get_definition(FormKind.CLINICIAN), trajectory, visit, rng)
    )
    clinician.update(clinician_extra or {})
    response(FormKind.CLINICIAN, clinician_status, clinician, visit)
    for kind, months in ((FormKind.FOLLOW_UP_6, 6), (FormKind.FOLLOW_UP_12, 12)):
        if kind in follow_ups:
            answers = patient_answers(get_definition(kind), trajectory, months, rng)
            response(
                kind,
                FormStatus.FERDIGSTILT,
                answers,
                visit + dt.timedelta(days=30 * months),
                source=Source.PORTAL,
            )
    return course


@pytest.fixture
def course_with_forms(db: Any) -> Callable[..., Course]:
    return add_course


@pytest.fixture
def st_olavs_data(persona: Any) -> dict[str, Any]:
    """Three consenting St. Olavs courses (one owned by the local admin), one without consent,
    one at Haukeland."""
    from tests.conftest import HAUKELAND, ST_OLAVS

    admin = persona("local_admin")
    today = timezone.localdate()
    patients = [
        make_patient(ST_OLAVS, name="Signe Eksportsen", born=dt.date(1970, 3, 4)),
        make_patient(ST_OLAVS, name="Truls Uttrekk", born=dt.date(1985, 11, 23)),
        make_patient(ST_OLAVS, name="Mona Datadump", born=dt.date(1990, 6, 1)),
    ]
    courses = [
        add_course(
            patients[0],
            ST_OLAVS,
            visit=today - dt.timedelta(days=400),
            owner=admin.user,
            seed=11,
            clinician_extra={"Treatment_Other": FORMULA, "RadiologicalF_Other": "-farlig"},
        ),
        add_course(patients[1], ST_OLAVS, visit=today - dt.timedelta(days=200), seed=12),
        add_course(
            patients[2],
            ST_OLAVS,
            visit=today - dt.timedelta(days=30),
            seed=13,
            follow_ups=(),
        ),
    ]
    no_consent = make_patient(ST_OLAVS, name="Uten Samtykke", born=dt.date(1960, 1, 1))
    add_course(no_consent, ST_OLAVS, visit=today - dt.timedelta(days=100), consent=False, seed=14)
    other = make_patient(HAUKELAND, name="Hauk Bergensen", born=dt.date(1966, 2, 2))
    add_course(other, HAUKELAND, visit=today - dt.timedelta(days=100), seed=15)
    return {
        "patients": patients,
        "courses": courses,
        "no_consent": no_consent,
        "other_unit_patient": other,
        "admin": admin,
    }


def open_archive(path: Path | bytes, password: str) -> dict[str, bytes]:
    source: Any = io.BytesIO(path) if isinstance(path, bytes) else path
    with pyzipper.AESZipFile(source) as archive:
        archive.setpassword(password.encode())
        return {name: archive.read(name) for name in archive.namelist()}


def identifiable_membership(who: Any) -> Membership:
    who.membership.can_export_identifiable = True
    who.membership.save()
    return who.membership


@pytest.fixture
def files_under() -> Callable[[Path], Iterator[Path]]:
    def walk(root: Path) -> Iterator[Path]:
        if root.exists():
            yield from (p for p in root.rglob("*") if p.is_file())

    return walk
