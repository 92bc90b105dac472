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
from nnrr.administration import services as access_admin
from nnrr.audit.models import AuditEvent
from nnrr.lib.dates import today_oslo
from tests.conftest import HAUKELAND, ST_OLAVS, UNN_TROMSO


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


# --- The service's checks, one by one ----------------------------------------------------------


def profile_of(who: Any) -> Any:
    from nnrr.accounts.profiles import Profile

    return Profile.from_membership(who.membership)


def test_the_registry_administrator_cannot_grant_themselves_a_role_either(persona: Any) -> None:
    admin = persona("national_admin")
    with pytest.raises(access_admin.Refused, match="deg selv"):
        access_admin.grant(
            profile_of(admin),
            admin.actor,
            user=admin.user,
            unit=Unit.objects.get(pk=ST_OLAVS),
            role=Role.DATADUMPRAPPORTLESER,
            can_export_identifiable=True,
        )
    assert admin.user.memberships.count() == 1
    assert not AuditEvent.objects.filter(action="nnrr.membership.granted").exists()


def test_the_local_lead_cannot_grant_the_identifiable_export_permission(
    persona: Any, applicant: User
) -> None:
    lead = persona("local_admin")
    with pytest.raises(access_admin.Refused, match="identifiserbar eksport"):
        access_admin.grant(
            profile_of(lead),
            lead.actor,
            user=applicant,
            unit=lead.unit,
            role=Role.PASIENTANSVARLIG,
            can_export_identifiable=True,
        )
    assert not Membership.objects.filter(user=applicant).exists()


def test_the_local_lead_cannot_switch_on_the_identifiable_export_permission(
    persona: Any, as_persona: Any
) -> None:
    lead, clinician = persona("local_admin"), persona("clinician")
    changed = access_admin.change(
        profile_of(lead),
        lead.actor,
        clinician.membership,
        valid_until=None,
        can_export_identifiable=True,
    )
    assert changed.can_export_identifiable is False
    as_persona("local_admin").post(
        reverse("accounts:membership", args=[clinician.membership.pk]),
        {"valid_until": "", "can_export_identifiable": "on"},
    )
    clinician.membership.refresh_from_db()
    assert clinician.membership.can_export_identifiable is False


def test_the_administrator_switches_the_identifiable_export_permission_on_and_off(
    persona: Any,
) -> None:
    admin, exporter = persona("national_admin"), persona("exporter")
    on = access_admin.change(
        profile_of(admin),
        admin.actor,
        exporter.membership,
        valid_until=None,
        can_export_identifiable=True,
    )
    assert on.can_export_identifiable is True
    kept = access_admin.change(
        profile_of(admin), admin.actor, exporter.membership, valid_until=None
    )
    assert kept.can_export_identifiable is True  # not given: left as it was
    off = access_admin.change(
        profile_of(admin),
        admin.actor,
        exporter.membership,
        valid_until=None,
        can_export_identifiable=False,
    )
    assert off.can_export_identifiable is False
    events = AuditEvent.objects.filter(action="nnrr.membership.changed").order_by("pk")
    assert [e.detail["new"]["can_export_identifiable"] for e in events] == [True, True, False]
    assert events[0].detail["old"]["can_export_identifiable"] is False


def test_a_membership_granted_to_end_today_is_accepted_and_yesterday_is_refused(
    persona: Any, applicant: User
) -> None:
    lead = persona("local_admin")
    with pytest.raises(access_admin.Refused, match="fortiden"):
        access_admin.grant(
            profile_of(lead),
            lead.actor,
            user=applicant,
            unit=lead.unit,
            role=Role.PASIENTANSVARLIG,
            valid_until=_today() - dt.timedelta(days=1),
        )
    granted = access_admin.grant(
        profile_of(lead),
        lead.actor,
        user=applicant,
        unit=lead.unit,
        role=Role.PASIENTANSVARLIG,
        valid_until=_today(),
    )
    assert granted.valid_until == _today()
    from nnrr.accounts.profiles import active_memberships

    assert active_memberships().filter(pk=granted.pk).exists()


def test_a_role_cannot_be_changed_under_an_existing_membership(
    persona: Any, as_persona: Any
) -> None:
    clinician = persona("clinician")
    as_persona("local_admin").post(
        reverse("accounts:membership", args=[clinician.membership.pk]),
        {"role": Role.REGISTERADMINISTRATOR, "unit": UNN, "valid_until": ""},
    )
    clinician.membership.refresh_from_db()
    assert clinician.membership.role == Role.PASIENTANSVARLIG
    assert clinician.membership.unit_id == ST_OLAVS
    assert not Membership.objects.filter(
        user=clinician.user, role=Role.REGISTERADMINISTRATOR
    ).exists()


def test_granting_another_role_adds_a_membership_and_leaves_the_existing_one(
    persona: Any,
) -> None:
    admin, clinician = persona("national_admin"), persona("clinician")
    added = access_admin.grant(
        profile_of(admin),
        admin.actor,
        user=clinician.user,
        unit=clinician.unit,
        role=Role.RAPPORTLESER,
    )
    assert added.pk != clinician.membership.pk and added.role == Role.RAPPORTLESER
    clinician.membership.refresh_from_db()
    assert clinician.membership.role == Role.PASIENTANSVARLIG
    assert clinician.user.memberships.count() == 2
    event = AuditEvent.objects.get(action="nnrr.membership.granted")
    assert event.detail["old"] is None and event.detail["new"]["role"] == Role.RAPPORTLESER


def test_the_local_lead_cannot_escalate_a_member_of_the_unit_to_a_data_or_national_role(
    persona: Any,
) -> None:
    lead, clinician = persona("local_admin"), persona("clinician")
    for role in (
        Role.REGISTERADMINISTRATOR,
        Role.LOKAL_REGISTERANSVARLIG,
        Role.DATADUMPRAPPORTLESER,
    ):
        with pytest.raises(access_admin.Refused, match="denne rollen"):
            access_admin.grant(
                profile_of(lead), lead.actor, user=clinician.user, unit=lead.unit, role=role
            )
    assert clinician.user.memberships.count() == 1


def test_the_local_lead_cannot_change_or_end_a_form_role_at_another_unit(persona: Any) -> None:
    lead, hanne = persona("local_admin"), persona("haukeland_clinician")
    with pytest.raises(access_admin.Refused, match="denne tilgangen"):
        access_admin.end_now(profile_of(lead), lead.actor, hanne.membership)
    hanne.membership.refresh_from_db()
    assert hanne.membership.valid_until is None


def _application(applicant: User, roles: list[str], **extra: Any) -> AccessApplication:
    return AccessApplication.objects.create(
        applicant=applicant,
        work_email="nina@stolav.no",
        unit_id=ST_OLAVS,
        roles=roles,
        comment="Ny ved enheten",
        **extra,
    )


def test_the_approval_e_mail_names_the_roles_and_the_unit_word_for_word(
    persona: Any, applicant: User, django_capture_on_commit_callbacks: Any
) -> None:
    lead = persona("local_admin")
    application = _application(applicant, [Role.PASIENTANSVARLIG])
    with django_capture_on_commit_callbacks(execute=True):
        access_admin.approve(profile_of(lead), lead.actor, application, valid_until=None)
    (message,) = mail.outbox
    assert message.to == ["nina@stolav.no"]
    assert message.subject == "Søknaden om tilgang til NNRR er godkjent"
    assert message.body == (
        "Hei,\n\nsøknaden din om tilgang til Norsk nakke- og ryggregister er godkjent: "
        "Pasientansvarlig ved St. Olavs hospital HF.\n\nLogg inn på nytt og velg profil.\n\n"
        "Hilsen Norsk nakke- og ryggregister\n"
    )


def test_the_rejection_e_mail_gives_the_reason_word_for_word_and_the_decision_is_recorded(
    persona: Any, applicant: User, django_capture_on_commit_callbacks: Any
) -> None:
    lead = persona("local_admin")
    application = _application(applicant, [Role.PASIENTANSVARLIG])
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        access_admin.reject(profile_of(lead), lead.actor, application, reason="  Ikke ansatt  ")
    (message,) = mail.outbox
    assert message.subject == "Søknaden om tilgang til NNRR er avslått"
    assert message.body == (
        "Hei,\n\nsøknaden din om tilgang til Norsk nakke- og ryggregister (Pasientansvarlig ved "
        "St. Olavs hospital HF) er avslått.\n\nBegrunnelse: Ikke ansatt\n\n"
        "Hilsen Norsk nakke- og ryggregister\n"
    )
    application.refresh_from_db()
    assert application.status == AccessApplication.Status.REJECTED
    assert application.decided_by == lead.user and application.decided_at >= before
    assert application.decision_reason == "Ikke ansatt"
    event = AuditEvent.objects.get(action="nnrr.access_application.rejected")
    assert event.object_id == str(application.pk)
    assert event.detail == {
        "old": {"status": "pending"},
        "new": {"status": "rejected"},
        "reason_given": True,
        "user": applicant.pk,
    }


def test_the_approval_is_recorded_with_the_end_date_and_grants_each_role(
    persona: Any, applicant: User
) -> None:
    admin = persona("national_admin")
    until = _today() + dt.timedelta(days=30)
    application = _application(
        applicant, [Role.PASIENTANSVARLIG, Role.DATADUMPRAPPORTLESER], identifiable_export=True
    )
    before = timezone.now()
    access_admin.approve(profile_of(admin), admin.actor, application, valid_until=until)
    application.refresh_from_db()
    assert application.status == AccessApplication.Status.APPROVED
    assert application.decided_by == admin.user and application.decided_at >= before
    assert application.valid_until == until
    granted = {m.role: m for m in Membership.objects.filter(user=applicant)}
    assert set(granted) == {Role.PASIENTANSVARLIG, Role.DATADUMPRAPPORTLESER}
    assert {m.valid_until for m in granted.values()} == {until}
    # The identifiable-export permission goes with the data role only.
    assert granted[Role.DATADUMPRAPPORTLESER].can_export_identifiable is True
    assert granted[Role.PASIENTANSVARLIG].can_export_identifiable is False
    event = AuditEvent.objects.get(action="nnrr.access_application.approved")
    assert event.detail == {
        "old": {"status": "pending"},
        "new": {"status": "approved", "valid_until": until.isoformat()},
        "user": applicant.pk,
    }


def test_an_application_already_decided_is_not_decided_again(persona: Any, applicant: User) -> None:
    lead = persona("local_admin")
    application = _application(applicant, [Role.PASIENTANSVARLIG])
    access_admin.reject(profile_of(lead), lead.actor, application, reason="Nei")
    with pytest.raises(access_admin.Refused, match="allerede behandlet"):
        access_admin.approve(profile_of(lead), lead.actor, application, valid_until=None)
    assert not Membership.objects.filter(user=applicant).exists()


def test_only_active_administrators_of_active_users_count_as_another_administrator(
    persona: Any,
) -> None:
    first = persona("national_admin")
    acting_user = User.objects.create(username="reg5", full_name="Rita Reg")
    acting = Membership.objects.create(
        user=acting_user,
        unit_id=UNN,
        role=Role.REGISTERADMINISTRATOR,
        valid_until=_today() - dt.timedelta(days=1),
    )
    profile = profile_of(type("P", (), {"membership": acting})())
    # Another user's working role that is not Registeradministrator does not count,
    persona("local_admin")
    # nor a Registeradministrator whose account is deactivated.
    gone = User.objects.create(username="reg6", full_name="Reidar Borte", is_active=False)
    Membership.objects.create(user=gone, unit_id=UNN, role=Role.REGISTERADMINISTRATOR)
    with pytest.raises(access_admin.Refused, match="ville ingen hatt rollen Registeradministrator"):
        access_admin.end_now(profile, first.actor, first.membership)
    first.membership.refresh_from_db()
    assert first.membership.valid_until is None


def test_units_are_saved_only_by_the_administrator_with_old_and_new_values_in_the_audit(
    persona: Any,
) -> None:
    admin, lead = persona("national_admin"), persona("local_admin")
    unit = Unit.objects.get(pk=HAUKELAND)
    old = {
        "name": unit.name,
        "short_name": unit.short_name,
        "organisation_number": unit.organisation_number,
        "is_active": True,
    }
    new_values = {
        "name": "Haukeland universitetssjukehus",
        "short_name": "HUS",
        "organisation_number": "974557746",
        "is_active": False,
    }
    with pytest.raises(access_admin.Refused, match="Bare Registeradministrator"):
        access_admin.save_unit(profile_of(lead), lead.actor, unit, **new_values)
    access_admin.save_unit(profile_of(admin), admin.actor, unit, **new_values)
    unit.refresh_from_db()
    assert (unit.name, unit.short_name, unit.is_active) == (
        "Haukeland universitetssjukehus",
        "HUS",
        False,
    )
    event = AuditEvent.objects.get(action="nnrr.unit.changed")
    assert event.object_id == str(HAUKELAND)
    assert event.detail == {"old": old, "new": new_values}
    added = Unit(pk=999002)
    access_admin.save_unit(
        profile_of(admin),
        admin.actor,
        added,
        name="Ny klinikk",
        short_name="Ny",
        organisation_number="123456789",
        is_active=True,
        adding=True,
    )
    event = AuditEvent.objects.get(action="nnrr.unit.added")
    assert event.object_id == "999002" and event.detail["old"] is None
    assert event.detail["new"]["name"] == "Ny klinikk"


def test_the_unit_of_the_last_administrator_cannot_be_deactivated_but_can_be_renamed(
    persona: Any,
) -> None:
    admin = persona("national_admin")
    unn = Unit.objects.get(pk=UNN)
    values = {
        "name": unn.name + " (ny)",
        "short_name": unn.short_name,
        "organisation_number": unn.organisation_number,
    }
    with pytest.raises(access_admin.Refused, match="ville ingen hatt rollen Registeradministrator"):
        access_admin.save_unit(profile_of(admin), admin.actor, unn, **values, is_active=False)
    access_admin.save_unit(profile_of(admin), admin.actor, unn, **values, is_active=True)
    unn.refresh_from_db()
    assert unn.is_active and unn.name.endswith("(ny)")
    # An inactive unit may be reactivated and deactivated again while another unit has one.
    other = User.objects.create(username="reg7", full_name="Rut Reg")
    Membership.objects.create(user=other, unit_id=ST_OLAVS, role=Role.REGISTERADMINISTRATOR)
    access_admin.save_unit(profile_of(admin), admin.actor, unn, **values, is_active=False)
    unn.refresh_from_db()
    assert not unn.is_active


def test_granting_a_role_held_already_updates_that_membership_and_audits_old_and_new(
    persona: Any,
) -> None:
    admin, exporter = persona("national_admin"), persona("exporter")
    Membership.objects.create(user=exporter.user, unit_id=HAUKELAND, role=Role.DATADUMPRAPPORTLESER)
    until = _today() + dt.timedelta(days=5)
    again = access_admin.grant(
        profile_of(admin),
        admin.actor,
        user=exporter.user,
        unit=exporter.unit,
        role=Role.DATADUMPRAPPORTLESER,
        valid_until=until,
        can_export_identifiable=True,
    )
    assert again.pk == exporter.membership.pk
    exporter.membership.refresh_from_db()
    assert exporter.membership.valid_until == until
    assert exporter.membership.can_export_identifiable is True
    assert exporter.user.memberships.count() == 2
    event = AuditEvent.objects.get(action="nnrr.membership.granted")
    assert event.object_id == str(exporter.membership.pk)
    assert event.detail == {
        "old": {
            "role": Role.DATADUMPRAPPORTLESER,
            "unit": ST_OLAVS,
            "valid_until": None,
            "can_export_identifiable": False,
        },
        "new": {
            "role": Role.DATADUMPRAPPORTLESER,
            "unit": ST_OLAVS,
            "valid_until": until.isoformat(),
            "can_export_identifiable": True,
        },
        "user": exporter.user.pk,
    }


# --- One's own access is shown, never offered for change ----------------------------------------


def test_ones_own_roles_are_listed_without_forms_to_change_or_end_them(
    as_persona: Any, persona: Any
) -> None:
    admin = persona("national_admin")
    page = (
        as_persona("national_admin")
        .get(reverse("accounts:user", args=[admin.user.pk]))
        .content.decode()
    )
    assert "Dette er deg" in page and "Registeradministrator" in page
    assert reverse("accounts:membership", args=[admin.membership.pk]) not in page
    assert "app-confirm-end" not in page


def test_ones_own_pending_application_is_shown_without_the_decision_buttons(
    as_persona: Any, persona: Any
) -> None:
    admin = persona("national_admin")
    application = _application(admin.user, [Role.RAPPORTLESER])
    client = as_persona("national_admin")
    page = client.get(reverse("accounts:application", args=[application.pk])).content.decode()
    assert "den er din egen" in page
    assert "Godkjenn søknaden" not in page and "Avslå søknaden" not in page
    front = client.get(reverse("patients:front")).content.decode()
    assert reverse("accounts:application", args=[application.pk]) not in front


def test_the_local_lead_cannot_reject_an_application_for_a_data_role_at_their_own_unit(
    persona: Any, applicant: User, django_capture_on_commit_callbacks: Any
) -> None:
    lead = persona("local_admin")
    application = _application(applicant, [Role.DATADUMPRAPPORTLESER])
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(access_admin.Refused, match="bare Registeradministrator"),
    ):
        access_admin.reject(profile_of(lead), lead.actor, application, reason="Nei")
    application.refresh_from_db()
    assert application.status == AccessApplication.Status.PENDING
    assert not mail.outbox


def test_a_local_lead_cannot_decide_a_form_role_application_at_another_unit(
    persona: Any, applicant: User
) -> None:
    other = persona("haukeland_local_admin")
    application = _application(applicant, [Role.PASIENTANSVARLIG])  # at St. Olavs
    with pytest.raises(access_admin.Refused, match="bare Registeradministrator"):
        access_admin.reject(profile_of(other), other.actor, application, reason="Nei")
    application.refresh_from_db()
    assert application.status == AccessApplication.Status.PENDING


# --- What a change and a decision leave in the audit trail --------------------------------------


def test_a_membership_change_is_audited_against_that_membership_and_its_person(
    persona: Any,
) -> None:
    admin, exporter = persona("national_admin"), persona("exporter")
    until = _today() + dt.timedelta(days=10)
    access_admin.change(profile_of(admin), admin.actor, exporter.membership, valid_until=until)
    event = AuditEvent.objects.get(action="nnrr.membership.changed")
    assert (event.object_type, event.object_id) == (
        "accounts.membership",
        str(exporter.membership.pk),
    )
    assert event.detail["user"] == exporter.user.pk
    assert event.detail["new"]["valid_until"] == until.isoformat()


def test_an_approval_is_audited_against_the_application(persona: Any, applicant: User) -> None:
    lead = persona("local_admin")
    application = _application(applicant, [Role.PASIENTANSVARLIG])
    access_admin.approve(profile_of(lead), lead.actor, application, valid_until=None)
    event = AuditEvent.objects.get(action="nnrr.access_application.approved")
    assert (event.object_type, event.object_id) == (
        "accounts.accessapplication",
        str(application.pk),
    )


def test_a_new_past_end_date_is_refused_with_the_way_to_end_a_role_at_once(
    persona: Any,
) -> None:
    lead, clinician = persona("local_admin"), persona("clinician")
    with pytest.raises(access_admin.Refused) as refused:
        access_admin.change(
            profile_of(lead),
            lead.actor,
            clinician.membership,
            valid_until=_today() - dt.timedelta(days=1),
        )
    assert str(refused.value) == (
        "Sluttdatoen kan ikke ligge i fortiden. Velg i dag eller en senere dato, eller "
        "bruk «Avslutt nå» for å avslutte rollen med en gang."
    )


# --- Søk om tilgang, in the service -------------------------------------------------------------


def _submit(applicant: User, **overrides: Any) -> AccessApplication:
    from nnrr.audit.context import Actor

    values: dict[str, Any] = {
        "work_email": "nina@stolav.no",
        "unit": Unit.objects.get(pk=ST_OLAVS),
        "roles": [Role.PASIENTANSVARLIG],
        "identifiable_export": False,
        "comment": "Ny ved enheten",
        **overrides,
    }
    actor = Actor(user=applicant, name=str(applicant), role="", unit_id=None)
    return access_admin.submit_application(actor, applicant=applicant, **values)


def test_a_submitted_application_keeps_what_was_asked_for_and_is_audited(applicant: User) -> None:
    application = _submit(
        applicant,
        roles=[Role.PASIENTANSVARLIG, Role.DATADUMPRAPPORTLESER],
        identifiable_export=True,
        comment="Forsker ved enheten",
    )
    application.refresh_from_db()
    assert application.applicant == applicant and application.unit_id == ST_OLAVS
    assert application.roles == [Role.PASIENTANSVARLIG, Role.DATADUMPRAPPORTLESER]
    assert application.identifiable_export is True
    assert application.comment == "Forsker ved enheten"
    assert application.work_email == "nina@stolav.no"
    assert application.status == AccessApplication.Status.PENDING
    event = AuditEvent.objects.get(action="nnrr.access_application.submitted")
    assert (event.object_type, event.object_id) == (
        "accounts.accessapplication",
        str(application.pk),
    )
    assert event.detail == {
        "unit": ST_OLAVS,
        "roles": [Role.PASIENTANSVARLIG, Role.DATADUMPRAPPORTLESER],
        "identifiable_export": True,
    }


def test_the_work_e_mail_of_an_application_becomes_the_persons_e_mail(applicant: User) -> None:
    User.objects.filter(pk=applicant.pk).update(email="nina@privat.no")
    applicant.refresh_from_db()
    _submit(applicant, work_email="nina.ny@stolav.no")
    applicant.refresh_from_db()
    assert applicant.email == "nina.ny@stolav.no"


def test_the_service_refuses_a_second_pending_application_of_the_same_person(
    applicant: User,
) -> None:
    _submit(applicant)
    # Two submissions at once pass the page's check together; the service holds the line.
    with pytest.raises(access_admin.AlreadyPending) as refused:
        _submit(applicant, unit=Unit.objects.get(pk=HAUKELAND))
    assert str(refused.value) == (
        "Du har allerede en søknad som venter på behandling. Du får svar på e-post."
    )
    assert AccessApplication.objects.filter(applicant=applicant).count() == 1


def test_another_persons_pending_application_or_ones_decided_one_does_not_block_applying(
    persona: Any, applicant: User
) -> None:
    other = User.objects.create(username="ola", full_name="Ola Annen")
    _submit(other)
    first = _submit(applicant)  # Ola's pending application is Ola's
    lead = persona("local_admin")
    access_admin.reject(profile_of(lead), lead.actor, first, reason="Feil enhet")
    again = _submit(applicant, unit=Unit.objects.get(pk=HAUKELAND))  # the first is decided
    assert again.status == AccessApplication.Status.PENDING
    assert AccessApplication.objects.filter(applicant=applicant).count() == 2


def test_the_approval_e_mail_lists_every_role_granted(
    persona: Any, applicant: User, django_capture_on_commit_callbacks: Any
) -> None:
    admin = persona("national_admin")
    application = _application(applicant, [Role.PASIENTANSVARLIG, Role.RAPPORTLESER])
    with django_capture_on_commit_callbacks(execute=True):
        access_admin.approve(profile_of(admin), admin.actor, application, valid_until=None)
    (message,) = mail.outbox
    assert "godkjent: Pasientansvarlig, Rapportleser ved St. Olavs hospital HF." in message.body


def test_no_role_is_granted_at_a_deactivated_unit(persona: Any, applicant: User) -> None:
    admin = persona("national_admin")
    Unit.objects.filter(pk=UNN_TROMSO).update(is_active=False)
    with pytest.raises(access_admin.Refused, match="denne enheten"):
        access_admin.grant(
            profile_of(admin),
            admin.actor,
            user=applicant,
            unit=Unit.objects.get(pk=UNN_TROMSO),
            role=Role.PASIENTANSVARLIG,
        )
    assert not Membership.objects.filter(user=applicant).exists()


def test_the_local_lead_sees_a_person_who_has_only_applied_to_their_unit(
    as_persona: Any, applicant: User
) -> None:
    AccessApplication.objects.create(
        applicant=applicant,
        work_email="nina@stolav.no",
        unit=Unit.objects.get(pk=ST_OLAVS),
        roles=[Role.PASIENTANSVARLIG],
        comment="Pasientbehandler",
    )
    stranger = User.objects.create(username="ola", full_name="Ola Annensted")
    AccessApplication.objects.create(
        applicant=stranger,
        work_email="ola@helse-bergen.no",
        unit=Unit.objects.get(pk=HAUKELAND),
        roles=[Role.PASIENTANSVARLIG],
        comment="Pasientbehandler",
    )
    page = as_persona("local_admin").get(reverse("accounts:users")).content.decode()
    assert "Nina Ny" in page
    assert "Ola Annensted" not in page


def test_an_approved_application_is_neither_rejected_nor_approved_again(
    persona: Any, applicant: User
) -> None:
    lead = persona("local_admin")
    application = _application(applicant, [Role.PASIENTANSVARLIG])
    access_admin.approve(profile_of(lead), lead.actor, application, valid_until=None)
    with pytest.raises(access_admin.Refused, match="allerede behandlet"):
        access_admin.reject(profile_of(lead), lead.actor, application, reason="Likevel ikke")
    with pytest.raises(access_admin.Refused, match="allerede behandlet"):
        access_admin.approve(profile_of(lead), lead.actor, application, valid_until=None)
    application.refresh_from_db()
    assert application.status == AccessApplication.Status.APPROVED
    assert application.decision_reason == ""
