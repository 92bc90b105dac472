""" "Mottatte avtaler": what the Lokal registeransvarlig sees of the booking system's messages,
"Behandle på nytt" with a Henvisningsdato, "Merk som håndtert", and the front page's notice."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from nnrr.appointments.models import InboundMessage, MessageState
from nnrr.audit.models import AuditEvent
from nnrr.lib.dates import oslo_date
from nnrr.patients.models import Course
from tests.appointments.helpers import Reply, new_national_id, send, siu
from tests.conftest import HAUKELAND, ST_OLAVS

pytestmark = pytest.mark.django_db
_serial = itertools.count(1)


def waiting_without_referral(nid: str, unit: int = ST_OLAVS) -> Reply:
    now = timezone.now()
    return send(
        siu(
            trigger="S12",
            unit=unit,
            sent_at=now,
            appointment_id=f"W-{next(_serial)}",
            national_id=nid,
            start=now + dt.timedelta(days=40),
        ),
        now=now,
    )


def test_the_local_registrar_sees_the_units_messages_with_the_patient_masked(
    as_persona: Callable[[str], Client],
) -> None:
    nid = new_national_id()
    waiting_without_referral(nid)

    page = as_persona("local_admin").get(reverse("appointments:index"))

    assert page.status_code == 200
    text = page.content.decode()
    assert f"{nid[:6]} *****" in text
    assert nid not in text
    assert "Mangler henvisningsdato" in text
    assert AuditEvent.objects.filter(action="nnrr.appointment.list_opened").exists()


def test_another_units_messages_are_not_listed(as_persona: Callable[[str], Client]) -> None:
    nid = new_national_id()
    waiting_without_referral(nid, unit=HAUKELAND)

    page = as_persona("local_admin").get(reverse("appointments:index") + "?vis=alle")

    assert f"{nid[:6]} *****" not in page.content.decode()
    assert "Ingen meldinger er mottatt." in page.content.decode()


def test_a_pasientansvarlig_has_no_access(as_persona: Callable[[str], Client]) -> None:
    assert as_persona("clinician").get(reverse("appointments:index")).status_code == 403


def test_the_front_page_tells_when_messages_wait(as_persona: Callable[[str], Client]) -> None:
    client = as_persona("local_admin")
    assert "venter i Mottatte avtaler" not in client.get(reverse("patients:front")).content.decode()

    waiting_without_referral(new_national_id())

    front = client.get(reverse("patients:front")).content.decode()
    assert "1 melding fra timeboksystemet venter i Mottatte avtaler." in front
    assert reverse("appointments:index") in front


def test_behandle_pa_nytt_with_the_henvisningsdato_creates_the_course(
    as_persona: Callable[[str], Client],
) -> None:
    nid = new_national_id()
    reply = waiting_without_referral(nid)
    client = as_persona("local_admin")
    referral = oslo_date(timezone.now()) - dt.timedelta(days=3)

    detail = client.get(reverse("appointments:detail", args=[reply.message.pk]))
    assert "Oppgi henvisningsdato" in detail.content.decode()
    done = client.post(
        reverse("appointments:retry", args=[reply.message.pk]),
        {"referral_date": referral.isoformat()},
        follow=True,
    )

    assert done.status_code == 200
    assert "Meldingen er behandlet" in done.content.decode()
    course = Course.objects.get(patient__national_id=nid)
    assert course.referral_date == referral
    reply.message.refresh_from_db()
    assert reply.message.state == MessageState.APPLIED
    assert AuditEvent.objects.filter(action="nnrr.appointment.reprocessed").exists()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("", "Oppgi henvisningsdato."),
        ("i går", "Skriv datoen som dd.mm.åååå."),
        ("2999-01-01", "Henvisningsdato kan ikke være i fremtiden."),
    ],
)
def test_a_missing_or_bad_henvisningsdato_is_refused_with_a_message(
    as_persona: Callable[[str], Client], value: str, error: str
) -> None:
    reply = waiting_without_referral(new_national_id())

    page = as_persona("local_admin").post(
        reverse("appointments:retry", args=[reply.message.pk]),
        {"referral_date": value},
        follow=True,
    )

    assert page.status_code == 200
    assert error in page.content.decode()
    assert not Course.objects.exists()
    reply.message.refresh_from_db()
    assert reply.message.state == MessageState.WAITING


def test_merk_som_handtert_takes_the_message_off_the_waiting_list(
    as_persona: Callable[[str], Client],
) -> None:
    reply = waiting_without_referral(new_national_id())
    client = as_persona("local_admin")

    client.post(reverse("appointments:handled", args=[reply.message.pk]))

    reply.message.refresh_from_db()
    assert reply.message.state == MessageState.HANDLED
    assert "Ingen meldinger venter." in client.get(reverse("appointments:index")).content.decode()
    again = client.post(reverse("appointments:handled", args=[reply.message.pk]), follow=True)
    assert "Meldingen er allerede behandlet." in again.content.decode()


def test_the_secretariat_sees_the_messages_naming_no_known_unit_without_the_raw_text(
    as_persona: Callable[[str], Client],
) -> None:
    nid = new_national_id()
    unknown = waiting_without_referral(nid, unit=999002)
    known = waiting_without_referral(new_national_id())
    client = as_persona("national_admin")

    listing = client.get(reverse("appointments:index")).content.decode()
    detail = client.get(reverse("appointments:detail", args=[unknown.message.pk]))

    assert "999002" in detail.content.decode()
    assert nid not in detail.content.decode()  # the raw message is not shown
    assert reverse("appointments:detail", args=[unknown.message.pk]) in listing
    assert reverse("appointments:detail", args=[known.message.pk]) not in listing
    assert client.get(reverse("appointments:detail", args=[known.message.pk])).status_code == 404
    assert InboundMessage.objects.get(pk=unknown.message.pk).unit is None
