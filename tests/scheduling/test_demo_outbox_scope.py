"""The demo outbox shows a unit's form roles only their own unit's messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import dispatch
from nnrr.scheduling.channels import FileChannel
from tests.conftest import HAUKELAND, ST_OLAVS, Persona, book, make_patient


def _order_and_send(client: Client, who: Persona, email: str, tmp_path: Path) -> None:
    patient = make_patient(who.unit.pk, name=f"Pasient {email}", email=email)
    course = book(who, patient, planned_in_days=20)
    response = client.post(
        reverse("scheduling:order", args=[patient.pk]),
        {"kind": FormKind.PRE_TREATMENT.value, "course": str(course.pk), "confirm": "on"},
    )
    assert response.status_code == 302
    dispatch.run_pass(worker_id="w-test", now=timezone.now(), channel=FileChannel(tmp_path))


def test_demo_outbox_lists_only_the_active_units_messages(
    as_persona: Callable[[str], Client], persona: Callable[[str], Persona], tmp_path: Path
) -> None:
    st_olavs, haukeland = as_persona("clinician"), as_persona("haukeland_clinician")
    assert persona("clinician").unit.pk == ST_OLAVS
    assert persona("haukeland_clinician").unit.pk == HAUKELAND
    _order_and_send(st_olavs, persona("clinician"), "olavs-pasient@example.no", tmp_path)
    _order_and_send(
        haukeland, persona("haukeland_clinician"), "bergen-pasient@example.no", tmp_path
    )

    with override_settings(OUTBOX_DIR=tmp_path, DEMO=True):
        olavs_page = st_olavs.get(reverse("scheduling:demo_outbox")).content.decode()
        bergen_page = haukeland.get(reverse("scheduling:demo_outbox")).content.decode()

    assert "olavs-pasient@example.no" in olavs_page
    assert "bergen-pasient@example.no" not in olavs_page
    assert "bergen-pasient@example.no" in bergen_page
    assert "olavs-pasient@example.no" not in bergen_page


def test_demo_outbox_is_refused_to_roles_without_form_rights(
    as_persona: Callable[[str], Client], tmp_path: Path
) -> None:
    with override_settings(OUTBOX_DIR=tmp_path, DEMO=True):
        for role in ("report_reader", "exporter"):
            assert as_persona(role).get(reverse("scheduling:demo_outbox")).status_code == 403
