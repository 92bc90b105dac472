""" "Ny bruker": finding or adding the person a role is for, by fødselsnummer.

A Lokal registeransvarlig may give a role at their unit to someone who already works at another
unit, so the number they type may match a person they have no other way to see. They then get
that person's page with nothing of the person's own data: the name they typed themselves, no
e-mail, and only their own unit's roles (the page's queries are scoped already); the message is
the same whether the person was found or added. The Registeradministrator sees everyone. Every
look-up is audited (``nnrr.user.looked_up``), found or not, in the transaction that answers it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from nnrr.accounts.models import User
from nnrr.accounts.profiles import Profile
from nnrr.administration import services as access_admin
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event


@dataclass(frozen=True)
class LookUp:
    user: User
    created: bool
    # The caller may see the person's own data (name, e-mail): the national role, or a person
    # with a role or an application at the caller's unit.
    in_scope: bool


def look_up_or_add(
    *, profile: Profile, actor: Actor, national_id: str, full_name: str, email: str
) -> LookUp:
    """The person with this fødselsnummer, added with the typed name and e-mail if unknown."""
    with transaction.atomic():
        existing = User.objects.select_for_update().filter(national_id=national_id).first()
        if existing is not None:
            in_scope = (
                profile.is_national
                or access_admin.users_for(profile).filter(pk=existing.pk).exists()
            )
            record_event(
                actor=actor,
                action="nnrr.user.looked_up",
                obj=existing,
                detail={"found": True, "in_scope": in_scope},
            )
            return LookUp(existing, created=False, in_scope=in_scope)
        user = User(
            username=f"person-{national_id}",
            full_name=full_name,
            email=email,
            national_id=national_id,
        )
        user.set_unusable_password()
        user.save()
        record_event(actor=actor, action="nnrr.user.looked_up", obj=user, detail={"found": False})
        record_event(
            actor=actor,
            action="nnrr.user.added",
            obj=user,
            detail={"old": None, "new": {"full_name": user.full_name, "email": user.email}},
        )
    return LookUp(user, created=True, in_scope=True)
