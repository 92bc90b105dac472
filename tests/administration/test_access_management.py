"""Søk om tilgang, its approval, and the administration of roles and units."""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from nnrr.accounts.middleware import LOGIN_TIME_SESSION_KEY
from nnrr.accounts.models import AccessApplication, Membership, Role, Unit, User
from nnrr.audit.models import AuditEvent
from nnrr.lib.dates import today_oslo
from tests.conftest import HAUKELAND, ST_OLAVS


def _today() -> dt.date:
    return today_oslo(timezone.now())


@pytest.fixture
def applicant(db: Any) -> User:
    from nnrr.demo.people import synthetic_id

    number = synthetic_id(random.Random(99), dt.date(1990, 1, 1), "F")
    return User.objects.create(username="nina", full_name="Nina Ny", national_id=number)


def logged_in_without_profile(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="nnrr.accounts.backends.IdentityBackend")
    session = client.session
    session[LOGIN_TIME_SESSION_KEY] = time.time()
    session.save()
    return client


def apply(client: Client, **overrides: Any) -> Any:
    data = {
        "work_email": "nina@stolav.no",
        "unit": ST_OLAVS,
        "form_roles": ["pasientansvarlig"],
        "comment": "Pasientbehandler",
        **overrides,
    }
    return client.post(reverse("accounts:apply"), data, follow=True)


def test_application_approval_makes_the_profile_appear_at_the_next_page_load(
    applicant: User, as_persona: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = logged_in_without_profile(applicant)
    page = client.get(reverse("accounts:apply")).content.decode()
    assert "Skjema" in page and "Rapport- og databehandling" in page
    assert "Søknaden er sendt" in apply(client).content.decode()
    application = AccessApplication.objects.get(applicant=applicant)
    assert application.roles == ["pasientansvarlig"] and application.status == "pending"
    # Before the decision: no profile to choose.
    assert (
        "Pasientansvarlig ved"
        not in client.get(reverse("accounts:choose_profile")).content.decode()
    )

    admin = as_persona("national_admin")
    listing = admin.get(reverse("accounts:applications")).content.decode()
    assert "Nina Ny" in listing
    until = _today() + dt.timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            reverse("accounts:application", args=[application.pk]),
            {"decision": "approve", "valid_until": until.isoformat()},
        )
    assert response.status_code == 302
    membership = Membership.objects.get(user=applicant)
    assert (membership.role, membership.unit_id, membership.valid_until) == (
        Role.PASIENTANSVARLIG,
        ST_OLAVS,
        until,
    )
    assert [m.to for m in mail.outbox] == [["nina@stolav.no"]]
    assert "godkjent" in mail.outbox[0].subject
    # Her one profile is taken at once: «Velg profil» has nothing to offer a choice between.
    html = client.get(reverse("accounts:choose_profile"), follow=True).content.decode()
    assert '<h1 class="ds-heading" data-size="lg">St. Olavs hospital HF</h1>' in html
    event = AuditEvent.objects.get(action="nnrr.membership.granted")
    assert event.detail["old"] is None
    assert event.detail["new"]["valid_until"] == until.isoformat()


def test_rejection_needs_a_reason_and_tells_the_applicant(
    applicant: User, as_persona: Any, django_capture_on_commit_callbacks: Any
) -> None:
    apply(logged_in_without_profile(applicant))
    application = AccessApplication.objects.get(applicant=applicant)
    admin = as_persona("local_admin")  # St. Olavs, form roles only: this one is theirs
    url = reverse("accounts:application", args=[application.pk])
    empty = admin.post(url, {"decision": "reject", "reason": "  "})
    assert "Skriv en begrunnelse" in empty.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(url, {"decision": "reject", "reason": "Ikke ansatt ved enheten"})
    application.refresh_from_db()
    assert application.status == "rejected"
    assert "Ikke ansatt ved enheten" in mail.outbox[0].body
    event = AuditEvent.objects.get(action="nnrr.access_application.rejected")
    assert "Ikke ansatt" not in str(event.detail) and event.detail["reason_given"] is True
    assert not Membership.objects.filter(user=applicant).exists()


def test_a_second_application_while_one_is_pending_is_refused_kindly(applicant: User) -> None:
    client = logged_in_without_profile(applicant)
    apply(client)
    second = apply(client, unit=HAUKELAND)
    assert second.status_code == 200
    assert "venter på behandling" in second.content.decode()
    assert AccessApplication.objects.filter(applicant=applicant).count() == 1


def test_an_application_without_roles_or_comment_is_explained(applicant: User) -> None:
    client = logged_in_without_profile(applicant)
    assert "Kryss av for minst én tilgang" in apply(client, form_roles=[]).content.decode()
    assert "Skriv kort hvilken rolle" in apply(client, comment=" ").content.decode()
    assert "gyldig e-post" in apply(client, work_email="ikke-epost").content.decode()
    assert not AccessApplication.objects.exists()


def test_the_local_registry_lead_cannot_decide_data_roles_or_other_units(
    applicant: User, as_persona: Any
) -> None:
    apply(logged_in_without_profile(applicant), data_roles=["datadumprapportleser"])
    application = AccessApplication.objects.get(applicant=applicant)
    lead = as_persona("local_admin")
    lead.post(reverse("accounts:application", args=[application.pk]), {"decision": "approve"})
    assert not Membership.objects.filter(user=applicant).exists()
    other = as_persona("haukeland_local_admin")
    response = other.get(reverse("accounts:application", args=[application.pk]))
    assert response.status_code == 404


def test_nobody_approves_their_own_application(as_persona: Any, persona: Any) -> None:
    admin = persona("national_admin")
    application = AccessApplication.objects.create(
        applicant=admin.user,
        work_email="a@b.no",
        unit_id=ST_OLAVS,
        roles=["rapportleser"],
        comment="x",
    )
    as_persona("national_admin").post(
        reverse("accounts:application", args=[application.pk]), {"decision": "approve"}
    )
    application.refresh_from_db()
    assert application.status == "pending"


def test_nobody_grants_themselves_a_role(as_persona: Any, persona: Any) -> None:
    lead = persona("local_admin")
    response = as_persona("local_admin").post(
        reverse("accounts:user", args=[lead.user.pk]),
        {"unit": ST_OLAVS, "role": "pasientansvarlig"},
        follow=True,
    )
    assert "ikke gi deg selv" in response.content.decode()
    assert lead.user.memberships.count() == 1


def test_the_local_lead_grants_form_roles_of_their_own_unit_only(
    as_persona: Any, persona: Any, applicant: User
) -> None:
    client = as_persona("local_admin")
    url = reverse("accounts:user", args=[applicant.pk])
    assert client.get(url).status_code == 404  # not by id alone
    client.post(
        reverse("accounts:user_new"), {"full_name": "Nina", "national_id": applicant.national_id}
    )
    client.post(url, {"unit": HAUKELAND, "role": "pasientansvarlig"})
    client.post(url, {"unit": ST_OLAVS, "role": "registeradministrator"})
    assert not Membership.objects.filter(user=applicant).exists()
    client.post(url, {"unit": ST_OLAVS, "role": "pasientansvarlig"})
    assert Membership.objects.filter(user=applicant, unit_id=ST_OLAVS).count() == 1


def test_an_ended_role_stops_working_at_the_next_request(as_persona: Any, persona: Any) -> None:
    clinician_client = as_persona("clinician")
    clinician = persona("clinician")
    assert clinician_client.get(reverse("worklists:mine")).status_code == 200
    as_persona("local_admin").post(
        reverse("accounts:membership", args=[clinician.membership.pk]), {"action": "end"}
    )
    clinician.membership.refresh_from_db()
    assert clinician.membership.valid_until == _today() - dt.timedelta(days=1)
    response = clinician_client.get(reverse("worklists:index"))
    assert response.status_code == 302 and "velg-profil" in response["Location"]
    event = AuditEvent.objects.get(action="nnrr.membership.changed")
    assert event.detail["old"]["valid_until"] is None
    assert event.detail["new"]["valid_until"] == clinician.membership.valid_until.isoformat()


def test_an_end_date_and_the_identifiable_export_permission_are_set_by_the_administrator(
    as_persona: Any, persona: Any
) -> None:
    exporter = persona("exporter")
    until = _today() + dt.timedelta(days=10)
    as_persona("national_admin").post(
        reverse("accounts:membership", args=[exporter.membership.pk]),
        {"valid_until": until.isoformat(), "can_export_identifiable": "on"},
    )
    exporter.membership.refresh_from_db()
    assert exporter.membership.valid_until == until
    assert exporter.membership.can_export_identifiable is True
    # The Lokal registeransvarlig cannot touch a data role.
    as_persona("local_admin").post(
        reverse("accounts:membership", args=[exporter.membership.pk]), {"action": "end"}
    )
    exporter.membership.refresh_from_db()
    assert exporter.membership.valid_until == until


def test_the_last_registry_administrator_cannot_be_removed(as_persona: Any, persona: Any) -> None:
    first = persona("national_admin")
    second_user = User.objects.create(username="reg2", full_name="Reidun Reg")
    second = Membership.objects.create(
        user=second_user, unit_id=ST_OLAVS, role=Role.REGISTERADMINISTRATOR
    )
    client = as_persona("national_admin")
    client.post(reverse("accounts:membership", args=[second.pk]), {"action": "end"})
    second.refresh_from_db()
    assert second.valid_until is not None  # another administrator remained: allowed
    # Now `first` is the last one; the only one who could end it is themselves, which is refused,
    # and a Registeradministrator whose role has ended can no longer act.
    response = client.post(
        reverse("accounts:membership", args=[first.membership.pk]), {"action": "end"}, follow=True
    )
    assert "egne tilganger" in response.content.decode()
    first.membership.refresh_from_db()
    assert first.membership.valid_until is None


def test_the_last_registry_administrator_is_guarded_in_the_service(persona: Any) -> None:
    from nnrr.accounts.profiles import Profile
    from nnrr.administration import services as access_admin

    first = persona("national_admin")
    other_user = User.objects.create(username="reg3", full_name="Rolf Reg")
    other = Membership.objects.create(
        user=other_user,
        unit_id=UNN,
        role=Role.REGISTERADMINISTRATOR,
        valid_until=_today() - dt.timedelta(days=1),
    )
    acting = Profile.from_membership(other)  # an ended role acting through the service
    with pytest.raises(access_admin.Refused, match="ingen hatt rollen Registeradministrator"):
        access_admin.end_now(acting, first.actor, first.membership)


UNN = 601032


def test_units_are_added_renamed_and_deactivated_with_effect_at_the_next_request(
    as_persona: Any, persona: Any
) -> None:
    admin = as_persona("national_admin")
    admin.post(
        reverse("accounts:units"),
        {
            "ny-resh_id": "999001",
            "ny-name": "Testklinikken HF",
            "ny-short_name": "Test",
            "ny-organisation_number": "123456789",
            "ny-is_active": "on",
        },
    )
    assert Unit.objects.get(pk=999001).name == "Testklinikken HF"
    clinician_client = as_persona("clinician")
    admin.post(
        reverse("accounts:unit", args=[ST_OLAVS]),
        {
            "name": "St. Olavs hospital HF",
            "short_name": "St. Olavs",
            "organisation_number": "974749025",
        },
    )
    assert Unit.objects.get(pk=ST_OLAVS).is_active is False
    response = clinician_client.get(reverse("worklists:index"))
    assert response.status_code == 302 and "velg-profil" in response["Location"]
    event = AuditEvent.objects.get(action="nnrr.unit.changed")
    assert event.detail["old"]["is_active"] is True and event.detail["new"]["is_active"] is False


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("clinician", "accounts:applications"),
        ("clinician", "accounts:users"),
        ("exporter", "accounts:users"),
        ("report_reader", "accounts:applications"),
        ("local_admin", "accounts:units"),
        ("local_admin", "audit:innsyn"),
        ("clinician", "audit:innsyn"),
    ],
)
def test_administration_pages_are_refused_to_other_roles(
    as_persona: Any, role: str, url: str
) -> None:
    assert as_persona(role).get(reverse(url)).status_code == 403


def test_unit_pages_are_refused_to_the_local_lead(as_persona: Any) -> None:
    assert (
        as_persona("local_admin").get(reverse("accounts:unit", args=[ST_OLAVS])).status_code == 403
    )


def test_demo_person_without_roles_applies_and_the_demo_administrator_approves(
    db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from nnrr.demo.loader import ensure_users

    users = ensure_users()
    nora, siri = users["Nora Nyansatt"], users["Siri Sekretariat"]
    client = Client()
    page = client.get(reverse("accounts:test_idp")).content.decode()
    assert "Nora Nyansatt" in page and "kan søke om tilgang" in page and "Siri Sekretariat" in page
    login = client.post(reverse("accounts:test_idp"), {"national_id": nora.national_id})
    assert login["Location"] == reverse("accounts:apply")
    apply(client, work_email="nora@stolav.no")
    application = AccessApplication.objects.get(applicant=nora)

    admin = Client()
    admin.post(reverse("accounts:test_idp"), {"national_id": siri.national_id})
    membership = Membership.objects.get(user=siri)
    admin.post(reverse("accounts:choose_profile"), {"membership": membership.pk})
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("accounts:application", args=[application.pk]), {"decision": "approve"})
    # Her one profile is taken at once: «Velg profil» has nothing to offer a choice between.
    html = client.get(reverse("accounts:choose_profile"), follow=True).content.decode()
    assert '<h1 class="ds-heading" data-size="lg">St. Olavs hospital HF</h1>' in html


def test_the_local_lead_adds_a_person_by_national_id_and_grants_a_form_role(
    as_persona: Any, persona: Any
) -> None:
    import random

    from nnrr.demo.people import synthetic_id

    number = synthetic_id(random.Random(21), dt.date(1988, 8, 8), "M")
    client = as_persona("local_admin")
    added = client.post(
        reverse("accounts:user_new"), {"full_name": "Ola Ny", "national_id": number}
    )
    person = User.objects.get(national_id=number)
    assert added["Location"] == reverse("accounts:user", args=[person.pk])
    client.post(added["Location"], {"unit": ST_OLAVS, "role": "pasientansvarlig"})
    assert Membership.objects.filter(user=person, unit_id=ST_OLAVS).exists()
    assert AuditEvent.objects.filter(action="nnrr.user.added").exists()
    # A person working at another unit: reachable once their number is typed, not by id alone.
    hanne = persona("haukeland_clinician")
    hanne_number = synthetic_id(random.Random(22), dt.date(1981, 6, 21), "F")
    User.objects.filter(pk=hanne.user.pk).update(national_id=hanne_number)
    hanne_page = reverse("accounts:user", args=[hanne.user.pk])
    assert client.get(hanne_page).status_code == 404
    found = client.post(
        reverse("accounts:user_new"), {"full_name": "Hanne", "national_id": hanne_number}
    )
    assert found["Location"] == hanne_page
    html = client.get(hanne_page).content.decode()
    assert "Helse Bergen" not in html.split("<tbody>", 1)[1]  # only own unit's roles shown
    bad = client.post(reverse("accounts:user_new"), {"full_name": "H", "national_id": "123"})
    assert "11 siffer" in bad.content.decode()


# --- End dates that cannot end someone by mistake ----------------------------------------------


def test_a_past_end_date_is_refused_and_the_role_keeps_working(
    as_persona: Any, persona: Any
) -> None:
    clinician = persona("clinician")
    yesterday = _today() - dt.timedelta(days=1)
    page = as_persona("local_admin").post(
        reverse("accounts:membership", args=[clinician.membership.pk]),
        {"valid_until": yesterday.isoformat()},
        follow=True,
    )
    assert "Sluttdatoen kan ikke ligge i fortiden" in page.content.decode()
    clinician.membership.refresh_from_db()
    assert clinician.membership.valid_until is None
    assert not AuditEvent.objects.filter(action="nnrr.membership.changed").exists()


def test_today_as_end_date_is_allowed_and_the_role_works_through_it(
    as_persona: Any, persona: Any
) -> None:
    clinician = persona("clinician")
    as_persona("local_admin").post(
        reverse("accounts:membership", args=[clinician.membership.pk]),
        {"valid_until": _today().isoformat()},
    )
    clinician.membership.refresh_from_db()
    assert clinician.membership.valid_until == _today()
    assert as_persona("clinician").get(reverse("worklists:mine")).status_code == 200


def test_an_ended_roles_past_date_may_be_sent_back_unchanged(persona: Any) -> None:
    """Changing only the export permission of an ended role sends its old date again."""
    from nnrr.accounts.profiles import Profile
    from nnrr.administration import services as access_admin

    admin = persona("national_admin")
    exporter = persona("exporter")
    ended = _today() - dt.timedelta(days=30)
    Membership.objects.filter(pk=exporter.membership.pk).update(valid_until=ended)
    exporter.membership.refresh_from_db()
    changed = access_admin.change(
        Profile.from_membership(admin.membership),
        admin.actor,
        exporter.membership,
        valid_until=ended,
        can_export_identifiable=True,
    )
    assert changed.valid_until == ended and changed.can_export_identifiable


def test_the_role_table_shows_until_when_a_role_works_and_asks_before_ending_it(
    as_persona: Any, persona: Any
) -> None:
    clinician = persona("clinician")
    Membership.objects.filter(pk=clinician.membership.pk).update(valid_until=dt.date(2099, 12, 31))
    page = (
        as_persona("local_admin")
        .get(reverse("accounts:user", args=[clinician.user.pk]))
        .content.decode()
    )
    assert "Virker til 31.12.2099" in page
    # «Avslutt nå» opens a question first; the button that ends the role is inside it.
    confirm = page.split('<details class="ds-details app-confirm-end">', 1)[1].split("</details>")[
        0
    ]
    assert "<summary>Avslutt nå</summary>" in confirm
    assert "Kari Behandler mister rollen Pasientansvarlig ved St. Olavs hospital HF" in confirm
    assert 'name="action" value="end"' in confirm


def test_gi_rolle_does_not_choose_the_administrators_own_unit(
    as_persona: Any, persona: Any, applicant: User
) -> None:
    page = (
        as_persona("national_admin").get(reverse("accounts:user", args=[applicant.pk])).content
    ).decode()
    select = page.split('name="unit"', 1)[1].split("</select>", 1)[0]
    assert '<option value="" selected>Velg enhet</option>' in select
    assert select.count("selected") == 1
    refused = as_persona("national_admin").post(
        reverse("accounts:user", args=[applicant.pk]), {"role": "pasientansvarlig"}
    )
    assert "Velg enheten rollen gjelder." in refused.content.decode()
    assert not Membership.objects.filter(user=applicant).exists()


def test_the_approvers_front_page_shows_the_waiting_applications(
    as_persona: Any, applicant: User
) -> None:
    apply(logged_in_without_profile(applicant))
    front = as_persona("national_admin").get(reverse("patients:front")).content.decode()
    assert "Søknader om tilgang som venter" in front
    application = AccessApplication.objects.get(applicant=applicant)
    assert reverse("accounts:application", args=[application.pk]) in front
    assert "Nina Ny" in front
    # The Lokal registeransvarlig of the unit decides form roles there, and sees it too;
    # a Pasientansvarlig does not approve anything and gets no such list.
    assert "Nina Ny" in as_persona("local_admin").get(reverse("patients:front")).content.decode()
    clinician_front = as_persona("clinician").get(reverse("patients:front")).content.decode()
    assert "Søknader om tilgang som venter" not in clinician_front


def test_velg_profil_is_skipped_for_a_person_with_exactly_one_profile(persona: Any) -> None:
    clinician = persona("clinician")
    client = logged_in_without_profile(clinician.user)
    response = client.get(reverse("accounts:choose_profile"))
    assert response.status_code == 302 and response["Location"] == "/"
    chosen = AuditEvent.objects.get(action="nnrr.profile.chosen")
    assert chosen.actor == clinician.user and chosen.detail["unit"] == ST_OLAVS
    assert client.get("/").status_code == 200
    # Two profiles: the page asks.
    Membership.objects.create(user=clinician.user, unit_id=HAUKELAND, role=Role.PASIENTANSVARLIG)
    two = logged_in_without_profile(clinician.user).get(reverse("accounts:choose_profile"))
    assert two.status_code == 200 and "Velg profil" in two.content.decode()


def _number(seed: int, born: dt.date, sex: str = "F") -> str:
    from nnrr.demo.people import synthetic_id

    return synthetic_id(random.Random(seed), born, sex)


def test_ny_bruker_shows_a_local_lead_nothing_of_another_units_person(
    as_persona: Any, persona: Any
) -> None:
    hanne = persona("haukeland_clinician")
    number = _number(31, dt.date(1979, 4, 4))
    User.objects.filter(pk=hanne.user.pk).update(
        national_id=number, email="hanne.privat@helse-bergen.no"
    )
    client = as_persona("local_admin")

    found = client.post(
        reverse("accounts:user_new"), {"full_name": "Skrevet Navn", "national_id": number}
    )
    page = client.get(found["Location"]).content.decode()

    assert "Hanne Haukeland" not in page
    assert "hanne.privat@helse-bergen.no" not in page
    assert "Skrevet Navn" in page  # what the caller typed, nothing stored
    assert "Helse Bergen" not in page.split("<tbody>", 1)[1]  # only the own unit's roles
    # The same words as for a person who was not known: nothing tells the number was found.
    new = client.post(
        reverse("accounts:user_new"),
        {"full_name": "Helt Ny", "national_id": _number(32, dt.date(1990, 2, 2))},
        follow=True,
    ).content.decode()
    assert "Personen er registrert. Gi en rolle nedenfor." in page
    assert "Personen er registrert. Gi en rolle nedenfor." in new


def test_ny_bruker_shows_the_registry_administrator_the_stored_person(
    as_persona: Any, persona: Any
) -> None:
    hanne = persona("haukeland_clinician")
    number = _number(33, dt.date(1979, 4, 5))
    User.objects.filter(pk=hanne.user.pk).update(national_id=number)
    page = as_persona("national_admin").post(
        reverse("accounts:user_new"), {"full_name": "Skrevet", "national_id": number}, follow=True
    )
    html = page.content.decode()
    assert "Hanne Haukeland" in html
    assert "Personen finnes allerede i registeret" in html


def test_every_ny_bruker_look_up_is_audited_found_or_not(as_persona: Any, persona: Any) -> None:
    hanne = persona("haukeland_clinician")
    number = _number(34, dt.date(1979, 4, 6))
    User.objects.filter(pk=hanne.user.pk).update(national_id=number)
    client = as_persona("local_admin")
    client.post(reverse("accounts:user_new"), {"full_name": "A", "national_id": number})
    client.post(
        reverse("accounts:user_new"),
        {"full_name": "B", "national_id": _number(35, dt.date(1991, 3, 3))},
    )
    events = list(AuditEvent.objects.filter(action="nnrr.user.looked_up").order_by("id"))
    assert [e.detail["found"] for e in events] == [True, False]
    assert events[0].object_id == str(hanne.user.pk)
    assert events[0].detail["in_scope"] is False
    assert all(e.actor_name == "Lise Lokal" for e in events)
