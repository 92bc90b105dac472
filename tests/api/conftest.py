"""FHIR tests: the token issuer runs once per module; machine clients of St. Olavs and Haukeland
are registered with it and with NNRR."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from nnrr.accounts import oidc
from nnrr.api.models import ALL_SCOPES, MachineClient
from tests.api.token_provider import TokenProvider, start_token_provider
from tests.conftest import HAUKELAND, ST_OLAVS

ST_OLAVS_CLIENT = "st-olavs-dips"
HAUKELAND_CLIENT = "haukeland-dips"


@pytest.fixture(scope="module")
def token_provider() -> Iterator[TokenProvider]:
    yield from start_token_provider()


@pytest.fixture
def issuer(token_provider: TokenProvider, settings: Any) -> TokenProvider:
    settings.FHIR_TOKEN_ISSUER = token_provider.url
    settings.FHIR_AUDIENCE = "nnrr:fhir"
    oidc.clear_cache()
    token_provider.lifetime, token_provider.token_type = 600, "at+jwt"
    for client_id in (ST_OLAVS_CLIENT, HAUKELAND_CLIENT):
        if client_id not in token_provider.clients:
            token_provider.register(client_id, set(ALL_SCOPES))
    return token_provider


@pytest.fixture
def machine_clients(db: Any, issuer: TokenProvider) -> dict[str, MachineClient]:
    return {
        ST_OLAVS_CLIENT: MachineClient.objects.create(
            client_id=ST_OLAVS_CLIENT,
            name="DIPS St. Olavs",
            unit_id=ST_OLAVS,
            scopes=list(ALL_SCOPES),
        ),
        HAUKELAND_CLIENT: MachineClient.objects.create(
            client_id=HAUKELAND_CLIENT,
            name="DIPS Haukeland",
            unit_id=HAUKELAND,
            scopes=list(ALL_SCOPES),
        ),
    }


@pytest.fixture
def api(issuer: TokenProvider, machine_clients: Any) -> Callable[..., Client]:
    """``api("st-olavs-dips")`` → a test client sending that client's bearer token."""

    def make(client_id: str = ST_OLAVS_CLIENT, scopes: str = " ".join(ALL_SCOPES)) -> Client:
        token = issuer.token(client_id, scopes)
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return make
