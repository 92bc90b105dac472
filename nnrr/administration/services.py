"""Access management: applications ("Søk om tilgang"), memberships and units.

Who may do what:
- the Registeradministrator: every unit, every role, the identifiable-export permission, units;
- the Lokal registeransvarlig: their own unit's form roles (Pasientansvarlig) only.
Nobody changes their own access, and no change may leave the registry without a working
Registeradministrator on any day from now on (administrators.py).
Every change writes an audit event with the old and the new values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from nnrr.accounts.administrators import NoAdministratorLeft, keeping_an_administrator
from nnrr.accounts.models import FORM_ROLES, AccessApplication, Membership, Role, Unit, User
from nnrr.accounts.notices import send_staff_notice
from nnrr.accounts.profiles import Profile
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.lib.dates import today_oslo


class Refused(Exception):
    """The change is not allowed; the message says why, for the person who tried."""


def _today() -> dt.date:
    return today_oslo(timezone.now())


def grantable_roles(profile: Profile) -> list[str]:
    if profile.is_national:
        return list(Role.values)
    return [str(role) for role in FORM_ROLES]


def grantable_units(profile: Profile) -> QuerySet[Unit]:
    if profile.is_national:
        return Unit.objects.filter(is_active=True)
    return Unit.objects.filter(pk=profile.unit.pk)


# --- What a profile may see -------------------------------------------------------------------


def applications_for(profile: Profile) -> QuerySet[AccessApplication]:
    queryset = AccessApplication.objects.select_related("applicant", "unit", "decided_by")
    if profile.is_national:
        return queryset
    return queryset.filter(unit=profile.unit)


def users_for(profile: Profile) -> QuerySet[User]:
    if profile.is_national:
        return User.objects.all()
    return User.objects.filter(
        Q(memberships__unit=profile.unit) | Q(applications__unit=profile.unit)
    ).distinct()


def memberships_for(profile: Profile) -> QuerySet[Membership]:
    queryset = Membership.objects.select_related("user", "unit")
    if profile.is_national:
        return queryset
    return queryset.filter(unit=profile.unit)


def can_manage(profile: Profile, membership: Membership) -> bool:
    if membership.user_id == profile.user.pk:
        return False
    if profile.is_national:
        return True
    return membership.unit_id == profile.unit.pk and membership.role in FORM_ROLES


def can_decide(profile: Profile, application: AccessApplication) -> bool:
    if application.applicant_id == profile.user.pk:
        return False
    if profile.is_national:
        return True
    return application.unit_id == profile.unit.pk and application.only_form_roles


# --- Helpers ----------------------------------------------------------------------------------


def _membership_values(membership: Membership | None) -> dict[str, Any] | None:
    if membership is None:
        return None
    return {
        "role": membership.role,
        "unit": membership.unit_id,
        "valid_until": membership.valid_until.isoformat() if membership.valid_until else None,
        "can_export_identifiable": membership.can_export_identifiable,
    }


@contextmanager
def _administrator_kept() -> Iterator[None]:
    """The change in the block, undone and refused if it leaves a day without a working
    Registeradministrator."""
    try:
        with keeping_an_administrator(_today()):
            yield
    except NoAdministratorLeft as exc:
        raise Refused(str(exc)) from exc


def _audit(actor: Actor, action: str, obj: Any, old: Any, new: Any, **extra: Any) -> None:
    record_event(actor=actor, action=action, obj=obj, detail={"old": old, "new": new, **extra})


# --- Memberships ------------------------------------------------------------------------------


def grant(
    profile: Profile,
    actor: Actor,
    *,
    user: User,
    unit: Unit,
    role: str,
    valid_until: dt.date | None = None,
    can_export_identifiable: bool = False,
) -> Membership:
    if user.pk == profile.user.pk:
        raise Refused(_("Du kan ikke gi deg selv en rolle."))
    if (
        role not in grantable_roles(profile)
        or not grantable_units(profile).filter(pk=unit.pk).exists()
    ):
        raise Refused(_("Du kan ikke gi denne rollen ved denne enheten."))
    if can_export_identifiable and not profile.is_national:
        raise Refused(_("Bare Registeradministrator kan gi tillatelse til identifiserbar eksport."))
    if valid_until is not None and valid_until < _today():
        raise Refused(_("Sluttdatoen kan ikke ligge i fortiden."))
    with _administrator_kept():
        existing = (
            Membership.objects.select_for_update().filter(user=user, unit=unit, role=role).first()
        )
        old = _membership_values(existing)
        if existing is None:
            membership = Membership.objects.create(
                user=user,
                unit=unit,
                role=role,
                valid_until=valid_until,
                can_export_identifiable=can_export_identifiable,
            )
        else:
            membership = existing
            membership.valid_until = valid_until
            membership.can_export_identifiable = can_export_identifiable
            membership.save(update_fields=["valid_until", "can_export_identifiable"])
        _audit(
            actor,
            "nnrr.membership.granted",
            membership,
            old,
            _membership_values(membership),
            user=user.pk,
        )
    return membership


def change(
    profile: Profile,
    actor: Actor,
    membership: Membership,
    *,
    valid_until: dt.date | None,
    can_export_identifiable: bool | None = None,
    ending_now: bool = False,
) -> Membership:
    """A role's last valid day (and the national administrator's export permission). A new last
    day in the past is refused: it would end the role at once without a word; that is
    «Avslutt nå» (:func:`end_now`), which asks first. A past day already stored may stay."""
    if membership.user_id == profile.user.pk:
        raise Refused(_("Du kan ikke endre dine egne tilganger."))
    if not can_manage(profile, membership):
        raise Refused(_("Du kan ikke endre denne tilgangen."))
    with _administrator_kept():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        # Left as it is (the stored value, not the caller's copy) unless the national role sets it.
        if can_export_identifiable is None or not profile.is_national:
            can_export_identifiable = locked.can_export_identifiable
        _refuse_past_end(locked, valid_until, ending_now=ending_now)
        old = _membership_values(locked)
        locked.valid_until = valid_until
        locked.can_export_identifiable = can_export_identifiable
        locked.save(update_fields=["valid_until", "can_export_identifiable"])
        _audit(
            actor,
            "nnrr.membership.changed",
            locked,
            old,
            _membership_values(locked),
            user=locked.user_id,
        )
    return locked


def end_now(profile: Profile, actor: Actor, membership: Membership) -> Membership:
    """«Avslutt nå», confirmed: the role stops working at once (its last valid day becomes
    yesterday)."""
    return change(
        profile,
        actor,
        membership,
        valid_until=_today() - dt.timedelta(days=1),
        can_export_identifiable=None,
        ending_now=True,
    )


def _refuse_past_end(
    membership: Membership, valid_until: dt.date | None, *, ending_now: bool
) -> None:
    if ending_now or valid_until is None or valid_until >= _today():
        return
    if valid_until == membership.valid_until:
        return  # an ended role's date, sent back unchanged with another change
    raise Refused(
        _(
            "Sluttdatoen kan ikke ligge i fortiden. Velg i dag eller en senere dato, eller "
            "bruk «Avslutt nå» for å avslutte rollen med en gang."
        )
    )


# --- Units ------------------------------------------------------------------------------------


def save_unit(
    profile: Profile,
    actor: Actor,
    unit: Unit,
    *,
    name: str,
    short_name: str,
    organisation_number: str,
    is_active: bool,
    adding: bool = False,
) -> Unit:
    if not profile.is_national:
        raise Refused(_("Bare Registeradministrator kan endre enheter."))
    with _administrator_kept():
        old = None
        if not adding:
            locked = Unit.objects.select_for_update().get(pk=unit.pk)
            old = {
                "name": locked.name,
                "short_name": locked.short_name,
                "organisation_number": locked.organisation_number,
                "is_active": locked.is_active,
            }
        unit.name, unit.short_name = name, short_name
        unit.organisation_number, unit.is_active = organisation_number, is_active
        unit.save()
        new = {
            "name": unit.name,
            "short_name": unit.short_name,
            "organisation_number": unit.organisation_number,
            "is_active": unit.is_active,
        }
        _audit(actor, "nnrr.unit.added" if adding else "nnrr.unit.changed", unit, old, new)
    return unit


# --- Applications -----------------------------------------------------------------------------


class AlreadyPending(Refused):
    pass


def submit_application(
    actor: Actor,
    *,
    applicant: User,
    work_email: str,
    unit: Unit,
    roles: list[str],
    identifiable_export: bool,
    comment: str,
) -> AccessApplication:
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=applicant.pk).first()
        if AccessApplication.objects.filter(
            applicant=applicant, status=AccessApplication.Status.PENDING
        ).exists():
            raise AlreadyPending(
                _("Du har allerede en søknad som venter på behandling. Du får svar på e-post.")
            )
        application = AccessApplication.objects.create(
            applicant=applicant,
            work_email=work_email,
            unit=unit,
            roles=roles,
            identifiable_export=identifiable_export,
            comment=comment,
        )
        if applicant.email != work_email:
            User.objects.filter(pk=applicant.pk).update(email=work_email)
        record_event(
            actor=actor,
            action="nnrr.access_application.submitted",
            obj=application,
            detail={"unit": unit.pk, "roles": roles, "identifiable_export": identifiable_export},
        )
    return application


def _decision_notice(application: AccessApplication, approved: bool) -> None:
    roles = ", ".join(application.role_labels)
    if approved:
        subject = _("Søknaden om tilgang til NNRR er godkjent")
        body = _(
            "Hei,\n\nsøknaden din om tilgang til Norsk nakke- og ryggregister er godkjent: "
            "%(roles)s ved %(unit)s.\n\nLogg inn på nytt og velg profil.\n\n"
            "Hilsen Norsk nakke- og ryggregister\n"
        ) % {"roles": roles, "unit": application.unit.name}
    else:
        subject = _("Søknaden om tilgang til NNRR er avslått")
        body = _(
            "Hei,\n\nsøknaden din om tilgang til Norsk nakke- og ryggregister (%(roles)s ved "
            "%(unit)s) er avslått.\n\nBegrunnelse: %(reason)s\n\n"
            "Hilsen Norsk nakke- og ryggregister\n"
        ) % {"roles": roles, "unit": application.unit.name, "reason": application.decision_reason}
    send_staff_notice(application.work_email, subject, body)


def _lock_pending(profile: Profile, application: AccessApplication) -> AccessApplication:
    locked = AccessApplication.objects.select_for_update().get(pk=application.pk)
    if locked.status != AccessApplication.Status.PENDING:
        raise Refused(_("Søknaden er allerede behandlet."))
    if locked.applicant_id == profile.user.pk:
        raise Refused(_("Du kan ikke behandle din egen søknad."))
    if not can_decide(profile, locked):
        raise Refused(_("Søknaden gjelder roller som bare Registeradministrator kan gi."))
    return locked


def approve(
    profile: Profile, actor: Actor, application: AccessApplication, *, valid_until: dt.date | None
) -> AccessApplication:
    with transaction.atomic():
        locked = _lock_pending(profile, application)
        for role in locked.roles:
            grant(
                profile,
                actor,
                user=locked.applicant,
                unit=locked.unit,
                role=role,
                valid_until=valid_until,
                can_export_identifiable=locked.identifiable_export
                and role != Role.PASIENTANSVARLIG
                and profile.is_national,
            )
        locked.status = AccessApplication.Status.APPROVED
        locked.decided_at = timezone.now()
        locked.decided_by = profile.user
        locked.valid_until = valid_until
        locked.save()
        record_event(
            actor=actor,
            action="nnrr.access_application.approved",
            obj=locked,
            detail={
                "old": {"status": AccessApplication.Status.PENDING},
                "new": {
                    "status": locked.status,
                    "valid_until": valid_until.isoformat() if valid_until else None,
                },
                "user": locked.applicant_id,
            },
        )
        _decision_notice(locked, approved=True)
    return locked


def reject(
    profile: Profile, actor: Actor, application: AccessApplication, *, reason: str
) -> AccessApplication:
    if not reason.strip():
        raise Refused(_("Skriv en begrunnelse for avslaget."))
    with transaction.atomic():
        locked = _lock_pending(profile, application)
        locked.status = AccessApplication.Status.REJECTED
        locked.decided_at = timezone.now()
        locked.decided_by = profile.user
        locked.decision_reason = reason.strip()
        locked.save()
        # The reason is stored with the application; the audit row only says one was given.
        record_event(
            actor=actor,
            action="nnrr.access_application.rejected",
            obj=locked,
            detail={
                "old": {"status": AccessApplication.Status.PENDING},
                "new": {"status": locked.status},
                "reason_given": True,
                "user": locked.applicant_id,
            },
        )
        _decision_notice(locked, approved=False)
    return locked
