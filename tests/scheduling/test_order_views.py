"""Staff pages for ePROM orders: "Bestill ePROM", the one-time code, "Bestill på nytt", the
dispatch log on the patient page, and the demo outbox."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from nnrr.audit.models import AuditEvent
from nnrr.patients.models import Course, Patient
from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import dispatch
from nnrr.scheduling.channels import FileChannel
from nnrr.scheduling.models import OPEN_STATES, Order, OrderState
from tests.conftest import (
    ST_OLAVS,
    Persona,
    book,
    make_patient,
)

CODE_PATTERN = re.compile(r'<span id="one-time-code">([A-Z0-9]{4}-[A-Z0-9]{4})</span>')


@pytest.fixture
def patient(db: None) -> Patient:
    return make_patient(ST_OLAVS, name="Siv Bestilling")


@pytest.fixture
def course(persona: Callable[[str], Persona], patient: Patient) -> Course:
    return book(persona("clinician"), patient, planned_in_days=20)


def open_order(course: Course) -> Order:
    return Order.objects.get(course=course, kind=FormKind.PRE_TREATMENT, state__in=OPEN_STATES)


def birth_date(patient: Patient) -> str:
    return patient.birth_date.strftime("%d.%m.%Y")


def order_post(course: Course, **extra: str) -> dict[str, str]:
    return {"kind": FormKind.PRE_TREATMENT.value, "course": str(course.pk), **extra}


def test_bestill_eprom_with_notify_self_shows_the_code_once(
    as_persona: Callable[[str], Client], course: Course, patient: Patient
) -> None:
    client = as_persona("clinician")
    planned = open_order(course)

    response = client.post(
        reverse("scheduling:order", args=[patient.pk]),
        order_post(course, notify_self="on", confirm="on"),
    )

    new = open_order(course)
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:order_detail", args=[new.pk])
    assert new.pk != planned.pk and new.notify_self and new.state == OrderState.SENT
    planned.refresh_from_db()
    assert planned.state == OrderState.CANCELLED

    first = client.get(response["Location"])
    match = CODE_PATTERN.search(first.content.decode())
    assert match is not None
    code = match.group(1)

    reload = client.get(response["Location"]).content.decode()
    assert code not in reload
    assert CODE_PATTERN.search(reload) is None
    assert "Vis engangskode" in reload  # shown again only from the patient page, audited

    shown = [
        e.detail["code_shown"]
        for e in AuditEvent.objects.filter(action="nnrr.order.viewed").order_by("id")
    ]
    assert shown == [True, False]
    assert code not in json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))

    portal = Client().post(
        reverse("portal:start"), {"code": code, "birth_date": birth_date(patient)}
    )
    assert portal.status_code == 302
    assert portal["Location"] == reverse("portal:consent")


def test_code_is_not_shown_to_another_user_opening_the_order(
    as_persona: Callable[[str], Client], course: Course, patient: Patient
) -> None:
    as_persona("clinician").post(
        reverse("scheduling:order", args=[patient.pk]),
        order_post(course, notify_self="on", confirm="on"),
    )

    page = as_persona("clerk").get(reverse("scheduling:order_detail", args=[open_order(course).pk]))

    assert page.status_code == 200
    assert CODE_PATTERN.search(page.content.decode()) is None


def test_bestill_eprom_without_confirmation_is_refused_with_a_message(
    as_persona: Callable[[str], Client], course: Course, patient: Patient
) -> None:
    planned = open_order(course)

    response = as_persona("clinician").post(
        reverse("scheduling:order", args=[patient.pk]), order_post(course, notify_self="on")
    )

    assert response.status_code == 200
    assert "Du må bekrefte bestillingen." in response.content.decode()
    assert Order.objects.filter(course=course).count() == 1
    assert open_order(course).pk == planned.pk


def test_bestill_eprom_without_notify_self_is_queued_for_sending_now(
    as_persona: Callable[[str], Client], course: Course, patient: Patient, tmp_path: Path
) -> None:
    client = as_persona("clinician")
    response = client.post(
        reverse("scheduling:order", args=[patient.pk]), order_post(course, confirm="on")
    )

    order = open_order(course)
    assert order.state == OrderState.PLANNED
    assert order.send_at <= timezone.now()
    page = client.get(response["Location"]).content.decode()
    assert CODE_PATTERN.search(page) is None
    assert "prosesseres" in page

    channel = FileChannel(tmp_path)
    dispatch.run_pass(worker_id="w-test", now=timezone.now(), channel=channel)
    order.refresh_from_db()
    assert order.state == OrderState.SENT
    assert channel.path_for(f"{order.pk}-invitation").exists()
    # Once «Sendt», the order page says it was sent, not that it is being processed.
    sent = client.get(response["Location"]).content.decode()
    assert "Sendt" in sent and "prosesseres" not in sent
    assert "Skjemaet ble sendt til pasienten" in sent


def test_bestill_eprom_for_a_patient_without_course_sends_staff_to_create_one(
    as_persona: Callable[[str], Client], patient: Patient
) -> None:
    response = as_persona("clinician").get(reverse("scheduling:order", args=[patient.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    assert not Order.objects.exists()


def test_bestill_pa_nytt_replaces_the_order_with_a_new_code(
    as_persona: Callable[[str], Client], course: Course, patient: Patient
) -> None:
    client = as_persona("clinician")
    old = open_order(course)
    form_page = client.get(reverse("scheduling:reorder", args=[old.pk]))
    assert form_page.status_code == 200
    assert "Bestill på nytt" in form_page.content.decode()

    response = client.post(
        reverse("scheduling:reorder", args=[old.pk]), {"notify_self": "on", "confirm": "on"}
    )

    new = open_order(course)
    old.refresh_from_db()
    assert response["Location"] == reverse("scheduling:order_detail", args=[new.pk])
    assert old.state == OrderState.CANCELLED
    assert new.replaces_id == old.pk
    code = CODE_PATTERN.search(client.get(response["Location"]).content.decode())
    assert code is not None
    entered = Client().post(
        reverse("portal:start"), {"code": code.group(1), "birth_date": birth_date(patient)}
    )
    assert entered["Location"] == reverse("portal:consent")


def test_bestill_pa_nytt_without_confirmation_changes_nothing(
    as_persona: Callable[[str], Client], course: Course
) -> None:
    old = open_order(course)

    response = as_persona("clinician").post(
        reverse("scheduling:reorder", args=[old.pk]), {"notify_self": "on"}
    )

    assert response.status_code == 200
    assert "Du må bekrefte bestillingen." in response.content.decode()
    assert open_order(course).pk == old.pk


def test_dispatch_log_shows_on_the_patient_page(
    as_persona: Callable[[str], Client], course: Course, patient: Patient, tmp_path: Path
) -> None:
    client = as_persona("clinician")
    client.post(reverse("scheduling:order", args=[patient.pk]), order_post(course, confirm="on"))
    dispatch.run_pass(worker_id="w-test", now=timezone.now(), channel=FileChannel(tmp_path))

    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()

    # The page offers the log; its content is loaded when the log is opened.
    assert "Utsendingslogg" in page
    log_url = reverse("scheduling:dispatch_log", args=[course.pk])
    assert f'hx-get="{log_url}"' in page
    assert "Invitasjon: Sendt" not in page
    log = client.get(log_url, headers={"HX-Request": "true"})
    text = log.content.decode()
    assert log.status_code == 200
    assert "<html" not in text  # the fragment only
    assert "Invitasjon: Sendt · kanal file" in text
    assert "Erstattet av ny bestilling" in text  # the booking's planned order, replaced
    assert AuditEvent.objects.filter(
        action="nnrr.course.dispatch_log.viewed", patient_id=patient.pk
    ).exists()
    # Without JavaScript the link opens it as a page of its own.
    full = client.get(log_url).content.decode()
    assert "<html" in full and "Invitasjon: Sendt · kanal file" in full


def test_dispatch_log_of_another_units_course_is_not_found(
    as_persona: Callable[[str], Client], course: Course
) -> None:
    log_url = reverse("scheduling:dispatch_log", args=[course.pk])

    response = as_persona("haukeland_clinician").get(log_url, headers={"HX-Request": "true"})

    assert response.status_code == 404
    assert "Invitasjon" not in response.content.decode()


def test_demo_outbox_lists_the_written_messages(
    as_persona: Callable[[str], Client], course: Course, patient: Patient, tmp_path: Path
) -> None:
    client = as_persona("clinician")
    client.post(reverse("scheduling:order", args=[patient.pk]), order_post(course, confirm="on"))
    dispatch.run_pass(worker_id="w-test", now=timezone.now(), channel=FileChannel(tmp_path))
    (tmp_path / "notes.txt").write_text("not a message")

    with override_settings(OUTBOX_DIR=tmp_path, DEMO=True):
        page = client.get(reverse("scheduling:demo_outbox"))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Spørreskjema fra St. Olavs hospital HF" in html
    assert html.count("/eprom/lenke/") >= 1
    assert patient.email in html
    assert "not a message" not in html


def test_demo_outbox_is_404_outside_demo_mode(
    as_persona: Callable[[str], Client], tmp_path: Path
) -> None:
    with override_settings(OUTBOX_DIR=tmp_path, DEMO=False):
        assert as_persona("clinician").get(reverse("scheduling:demo_outbox")).status_code == 404


def test_demo_outbox_needs_a_login(client: Client, tmp_path: Path) -> None:
    with override_settings(OUTBOX_DIR=tmp_path, DEMO=True):
        response = client.get(reverse("scheduling:demo_outbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_report_reader_is_refused_every_order_page(
    as_persona: Callable[[str], Client], course: Course, patient: Patient
) -> None:
    client = as_persona("report_reader")
    order = open_order(course)

    assert client.get(reverse("scheduling:order", args=[patient.pk])).status_code == 403
    assert (
        client.post(
            reverse("scheduling:order", args=[patient.pk]),
            order_post(course, notify_self="on", confirm="on"),
        ).status_code
        == 403
    )
    assert client.get(reverse("scheduling:order_detail", args=[order.pk])).status_code == 403
    assert client.get(reverse("scheduling:reorder", args=[order.pk])).status_code == 403
    assert (
        client.post(
            reverse("scheduling:reorder", args=[order.pk]), {"notify_self": "on", "confirm": "on"}
        ).status_code
        == 403
    )
    assert Order.objects.filter(course=course).count() == 1
    assert open_order(course).state == OrderState.PLANNED


def test_the_dispatch_log_shows_only_a_masked_address(persona: Any, tmp_path: Any) -> None:
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.channels import FileChannel
    from nnrr.scheduling.models import Message

    booked = timezone.now() - dt.timedelta(days=1)
    patient = make_patient(ST_OLAVS, email="ingrid@example.no")
    book(persona("clerk"), patient, planned_in_days=10, now=booked)
    dispatch.run_pass(
        worker_id="w", now=timezone.now() + dt.timedelta(days=1), channel=FileChannel(tmp_path)
    )
    assert Message.objects.get().recipient == "i***@example.no"


def test_demo_outbox_can_be_filtered_by_patient(
    as_persona: Callable[[str], Client],
    persona: Callable[[str], Persona],
    course: Course,
    patient: Patient,
    tmp_path: Path,
) -> None:
    client = as_persona("clinician")
    other = make_patient(ST_OLAVS, name="Annen Mottaker", email="annen@example.no")
    other_course = book(persona("clinician"), other)
    for who, their_course in ((patient, course), (other, other_course)):
        client.post(
            reverse("scheduling:order", args=[who.pk]), order_post(their_course, confirm="on")
        )
    dispatch.run_pass(worker_id="w-test", now=timezone.now(), channel=FileChannel(tmp_path))

    with override_settings(OUTBOX_DIR=tmp_path, DEMO=True):
        everyone = client.get(reverse("scheduling:demo_outbox")).content.decode()
        one = client.get(reverse("scheduling:demo_outbox"), {"pasient": "annen mott"})
        nobody = client.get(reverse("scheduling:demo_outbox"), {"pasient": "Ingen Slik"})

    assert patient.email in everyone and "annen@example.no" in everyone
    html = one.content.decode()
    assert "annen@example.no" in html and patient.email not in html
    assert "Pasient: Annen Mottaker" in html
    assert "Ingen meldinger til en pasient som passer «Ingen Slik»." in nobody.content.decode()
