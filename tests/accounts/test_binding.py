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


def test_the_bound_subject_logs_in_its_account(bound: User) -> None:
    user, created = bind(login(number(1)))
    assert user == bound and not created
    assert Identity.objects.get(subject="sub-1").last_login_at is not None


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


def test_a_new_subject_is_bound_through_the_number_to_the_known_account(bound: User) -> None:
    user, created = bind(login(number(1), subject="sub-new", issuer=OTHER_ISSUER))
    assert user == bound and not created
    identity = Identity.objects.get(subject="sub-new")
    assert identity.user == bound and identity.national_id == number(1)


def test_a_known_account_without_a_number_gets_the_vouched_one(db: Any) -> None:
    user = User.objects.create(username="testidp", full_name="Test Person")
    Identity.objects.create(user=user, provider="idporten", issuer="", subject=number(5))
    found, created = bind(login(number(5), subject="sub-5"))
    assert found == user and not created
    user.refresh_from_db()
    assert user.national_id == number(5)


def test_a_deactivated_account_is_refused(bound: User) -> None:
    User.objects.filter(pk=bound.pk).update(is_active=False)
    with pytest.raises(BindingError, match="deactivated"):
        bind(login(number(1), subject="sub-other"))
    assert not Identity.objects.filter(subject="sub-other").exists()


def test_an_invalid_number_is_refused(db: Any) -> None:
    with pytest.raises(BindingError, match="invalid pid"):
        bind(login("12345678901"))
    assert not User.objects.exists()
