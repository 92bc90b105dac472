"""Binding an eID login to an account: by (issuer, subject), found the first time through the
fødselsnummer the provider vouches for; never through an e-mail address or a name."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from nnrr.accounts.models import Identity, User
from nnrr.accounts.oidc import VerifiedLogin
from nnrr.lib.national_id import NationalIdError, parse_national_id


class BindingError(Exception):
    pass


def person_with_national_id(national_id: str) -> User | None:
    """The account recorded with this fødselsnummer (on the person, or as a Test IDP identity)."""
    return (
        User.objects.filter(
            Q(national_id=national_id) | Q(identities__issuer="", identities__subject=national_id)
        )
        .distinct()
        .first()
    )


def bind(login: VerifiedLogin) -> tuple[User, bool]:
    """The account for this login, and whether it was created now (an unknown person).

    A known (issuer, subject) logs in its account. Otherwise the account recorded with the
    fødselsnummer gets this identity; a person the registry does not know gets an account with no
    roles, from which they can apply for access ("Søk om tilgang").
    """
    try:
        national_id = parse_national_id(login.national_id).value
    except NationalIdError as exc:
        raise BindingError("invalid pid") from exc
    now = timezone.now()
    with transaction.atomic():
        identity = (
            Identity.objects.select_related("user")
            .select_for_update()
            .filter(provider=login.provider, issuer=login.issuer, subject=login.subject)
            .first()
        )
        if identity is not None:
            if identity.national_id and identity.national_id != national_id:
                # The provider now vouches for another person under the same subject: refuse.
                raise BindingError("subject bound to another person")
            Identity.objects.filter(pk=identity.pk).update(last_login_at=now)
            return identity.user, False
        user = person_with_national_id(national_id)
        created = user is None
        if user is None:
            user = User(
                username=f"eid-{national_id}",
                full_name=login.name or "",
                national_id=national_id,
            )
            user.set_unusable_password()
            try:
                with transaction.atomic():
                    user.save()
            except IntegrityError as exc:
                raise BindingError("account could not be created") from exc
        elif not user.national_id:
            User.objects.filter(pk=user.pk).update(national_id=national_id)
        if not user.is_active:
            raise BindingError("account deactivated")
        Identity.objects.create(
            user=user,
            provider=login.provider,
            issuer=login.issuer,
            subject=login.subject,
            national_id=national_id,
            last_login_at=now,
        )
        return user, created
