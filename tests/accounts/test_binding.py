"""Binding an eID login to an account: by (provider, issuer, subject), then by fødselsnummer."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from nnrr.accounts.binding import BindingError, bind
from nnrr.accounts.models import Identity, User
from nnrr.accounts.oidc import VerifiedLogin
from nnrr.demo.people import synthetic_id

pytestmark = pytest.mark.django_db

ISSUER = "https://idporten.example"
OTHER_ISSUER = "https://another-idp.example"


def number(seed: int) -> str:
    return synthetic_id(random.Random(seed), dt.date(1980 + seed % 20, 5, 5), "F")


def login(
    national_id: str,
    *,
    subject: str = "sub-1",
    issuer: str = ISSUER,
    provider: str = "idporten",
    name: str = "Nora Nummer",
) -> VerifiedLogin:
    return VerifiedLogin(
        provider=provider,
        issuer=issuer,
        subject=subject,
        national_id=national_id,
        name=name,
        acr="idporten-loa-high",
        id_token="x.y.z",
        next_url="",
    )


@pytest.fixture
def bound() -> User:
    """A person whose ID-porten subject ``sub-1`` is already bound to their account."""
    user, created = bind(login(number(1)))
    assert created
    return user


def test_the_bound_subject_logs_in_its_account_and_the_login_time_is_recorded(
    bound: User,
) -> None:
    from django.utils import timezone

    Identity.objects.filter(subject="sub-1").update(last_login_at=None)
    before = timezone.now()
    user, created = bind(login(number(1)))
    assert user == bound and not created
    last = Identity.objects.get(subject="sub-1").last_login_at
    assert last is not None and last >= before


def test_an_unknown_person_gets_an_account_named_as_the_provider_says(bound: User) -> None:
    assert bound.full_name == "Nora Nummer" and bound.username == f"eid-{number(1)}"
    assert not bound.has_usable_password() and not bound.memberships.exists()
    identity = Identity.objects.get(subject="sub-1")
    assert identity.user == bound and identity.national_id == number(1)
    assert identity.last_login_at is not None
    nameless, created = bind(login(number(6), subject="sub-6", name=""))
    assert created and nameless.full_name == ""


def test_the_same_subject_from_another_issuer_never_reaches_the_bound_account(
    bound: User,
) -> None:
    user, created = bind(login(number(2), issuer=OTHER_ISSUER))
    assert user != bound and created
    assert user.national_id == number(2)
    assert Identity.objects.filter(subject="sub-1").count() == 2


def test_the_same_subject_from_another_provider_never_reaches_the_bound_account(
    bound: User,
) -> None:
    user, _created = bind(login(number(3), provider="helseid"))
    assert user != bound and user.national_id == number(3)


def test_a_subject_now_vouched_for_another_person_is_refused(bound: User) -> None:
    with pytest.raises(BindingError, match="another person"):
        bind(login(number(4)))
    assert Identity.objects.filter(subject="sub-1").count() == 1


def test_a_subject_bound_before_numbers_were_kept_with_identities_still_logs_in(
    bound: User,
) -> None:
    """Identities from before migration 0004 have no number: the subject alone is theirs."""
    Identity.objects.filter(subject="sub-1").update(national_id="")
    user, created = bind(login(number(1)))
    assert user == bound and not created


def test_a_new_subject_is_bound_through_the_number_to_the_known_account(bound: User) -> None:
    user, created = bind(login(number(1), subject="sub-new", issuer=OTHER_ISSUER))
    assert user == bound and not created
    identity = Identity.objects.get(subject="sub-new")
    assert identity.user == bound and identity.national_id == number(1)


def test_a_known_account_without_a_number_gets_the_vouched_one(db: Any) -> None:
    other = User.objects.create(username="testidp-other", full_name="Annen Person")
    Identity.objects.create(user=other, provider="idporten", issuer="", subject=number(7))
    user = User.objects.create(username="testidp", full_name="Test Person")
    Identity.objects.create(user=user, provider="idporten", issuer="", subject=number(5))
    found, created = bind(login(number(5), subject="sub-5"))
    assert found == user and not created
    user.refresh_from_db()
    assert user.national_id == number(5)
    assert Identity.objects.get(subject="sub-5").last_login_at is not None


def test_only_a_test_idp_identity_counts_its_subject_as_the_number(db: Any) -> None:
    # A real provider's subject that happens to read like a number says nothing about the person.
    stranger = User.objects.create(username="stranger", full_name="Fremmed")
    Identity.objects.create(
        user=stranger, provider="idporten", issuer=OTHER_ISSUER, subject=number(8)
    )
    user, created = bind(login(number(8), subject="sub-8"))
    assert created and user != stranger


def test_a_deactivated_account_is_refused(bound: User) -> None:
    User.objects.filter(pk=bound.pk).update(is_active=False)
    with pytest.raises(BindingError, match="deactivated"):
        bind(login(number(1), subject="sub-other"))
    assert not Identity.objects.filter(subject="sub-other").exists()


def test_an_invalid_number_is_refused(db: Any) -> None:
    with pytest.raises(BindingError, match="invalid pid"):
        bind(login("12345678901"))
    assert not User.objects.exists()
