"""The operator's page for the FHIR API's machine clients (Django admin, test environments):
deactivating a client there cuts it off, a booking system's appointments included."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from nnrr.accounts.models import User
from nnrr.api.models import ALL_SCOPES, WRITE_APPOINTMENTS, MachineClient
from nnrr.appointments.models import InboundMessage
from tests.administration.test_access_management import logged_in_without_profile
from tests.conftest import ST_OLAVS_CLIENT

pytestmark = pytest.mark.django_db


def test_deactivating_a_client_on_the_admin_page_refuses_its_next_appointment(
    api: Callable[..., Client], machine_clients: dict[str, MachineClient]
) -> None:
    operator = User.objects.create(
        username="operator", full_name="Drift", is_staff=True, is_superuser=True
    )
    client = machine_clients[ST_OLAVS_CLIENT]
    admin = logged_in_without_profile(operator)

    listing = admin.get(reverse("admin:api_machineclient_changelist"))
    saved = admin.post(
        reverse("admin:api_machineclient_change", args=[client.pk]),
        {"name": client.name, "scopes": json.dumps(list(ALL_SCOPES))},
    )
    answer = api(ST_OLAVS_CLIENT, WRITE_APPOINTMENTS).put(
        "/fhir/Appointment/F-1",
        data=json.dumps({"resourceType": "Appointment", "id": "F-1", "status": "booked"}),
        content_type="application/fhir+json",
    )

    assert ST_OLAVS_CLIENT in listing.content.decode()
    assert saved.status_code == 302
    client.refresh_from_db()
    assert not client.is_active
    assert client.unit_id == machine_clients[ST_OLAVS_CLIENT].unit_id
    assert answer.status_code == 401
    assert not InboundMessage.objects.exists()
