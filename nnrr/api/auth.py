"""Machine clients: OAuth 2.0 client credentials with signed JWT access tokens.

A hospital's record system or booking system gets an access token from the token issuer
(HelseID's client credentials flow in production, ``NNRR_FHIR_TOKEN_ISSUER``, by default the
login's ``NNRR_HELSEID_ISSUER``) and sends it as ``Authorization: Bearer …``. The token is
verified here against the issuer's published keys (discovery + JWKS, cached per process, the same
code as the login: :mod:`nnrr.accounts.oidc`): signature, ``typ`` ``at+jwt`` (so an ID token is
no access token), issuer, expiry, and the audience ``NNRR_FHIR_AUDIENCE``. The token's
``client_id`` must be a registered, active :class:`~nnrr.api.models.MachineClient` of an active
unit; its unit is the only unit whose data the client sees or writes (a booking system's
appointments, too), and its scopes are the token's scopes as far as the client was granted them.

Use :func:`machine_client` on a view (``@machine_client("system/Appointment.write")``): the view
gets ``request.machine`` (a :class:`MachineIdentity`, with ``unit_id``, ``scopes`` and
``actor()`` for audit events), or the client gets 401/403 with an OperationOutcome.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError

from nnrr.accounts import oidc
from nnrr.api.models import MachineClient
from nnrr.api.outcome import FhirError, issue
from nnrr.audit.context import Actor
from nnrr.audit.models import Outcome
from nnrr.audit.services import record_event
from nnrr.lib.requests import client_address
from nnrr.lib.scopes import unit_scope

ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}


class TokenRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MachineIdentity:
    client: MachineClient
    scopes: frozenset[str]

    @property
    def unit_id(self) -> int:
        return int(self.client.unit_id)

    def actor(self, request: HttpRequest) -> Actor:
        """The client as the actor of audit events (no user; role "maskinklient")."""
        return Actor(
            user=None,
            name=f"FHIR-klient {self.client.name} ({self.client.client_id})",
            role="maskinklient",
            unit_id=self.unit_id,
            client_address=client_address(request) or None,
        )


def _issuer_config() -> oidc.ProviderConfig:
    return oidc.ProviderConfig(
        name="fhir", label="HelseID", issuer=settings.FHIR_TOKEN_ISSUER, client_id=""
    )


def _scopes(claims: dict[str, Any]) -> set[str]:
    raw = claims.get("scope", claims.get("scp", ""))
    if isinstance(raw, list):
        return {str(s) for s in raw}
    return set(str(raw).split())


def verify_access_token(token: str) -> tuple[str, set[str]]:
    """(client id, scopes) of a valid access token; :class:`TokenRefused` otherwise."""
    if not settings.FHIR_TOKEN_ISSUER:
        raise TokenRefused("no_issuer_configured")
    config = _issuer_config()
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError) as exc:
        raise TokenRefused("malformed") from exc
    if header.get("alg") not in oidc.SIGNING_ALGORITHMS:
        raise TokenRefused("algorithm")
    if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
        raise TokenRefused("not_an_access_token")
    try:
        key = oidc._signing_key(config, header.get("kid"))
        claims = dict(jwt.decode(token, key, algorithms=oidc.SIGNING_ALGORITHMS).claims)
    except oidc.LoginRefused as exc:
        raise TokenRefused(exc.reason) from exc
    except (JoseError, ValueError) as exc:
        raise TokenRefused("bad_signature") from exc
    registry = jwt.JWTClaimsRegistry(
        leeway=oidc.CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": config.issuer},
        exp={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        # Only a token past its expiry is "expired"; one without ``exp`` is malformed.
        raise TokenRefused(
            "expired" if isinstance(exc, ExpiredTokenError) else "bad_claims"
        ) from exc
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if settings.FHIR_AUDIENCE not in audiences:
        raise TokenRefused("wrong_audience")
    client_id = str(claims.get("client_id") or claims.get("azp") or "")
    if not client_id:
        raise TokenRefused("no_client_id")
    return client_id, _scopes(claims)


def _refused(request: HttpRequest, reason: str) -> FhirError:
    record_event(
        actor=Actor(
            user=None,
            name="FHIR-klient (ikke godkjent)",
            role="maskinklient",
            client_address=client_address(request) or None,
        ),
        action="nnrr.fhir.token_refused",
        outcome=Outcome.DENIED,
        detail={"reason": reason, "path": request.path[:200]},
    )
    return FhirError(
        401,
        [
            issue(
                lambda: _(
                    "Mangler gyldig tilgangsbevis (OAuth 2.0 Bearer-token fra HelseID) for "
                    "FHIR-API-et."
                ),
                "login",
            )
        ],
    )


def authenticate(request: HttpRequest) -> MachineIdentity:
    """The machine client behind the request's bearer token; :class:`FhirError` (401) if none."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refused(request, "no_token")
    try:
        client_id, scopes = verify_access_token(token.strip())
    except TokenRefused as exc:
        raise _refused(request, exc.reason) from None
    client = (
        MachineClient.objects.select_related("unit")
        .filter(client_id=client_id, is_active=True)
        .first()
    )
    if client is None:
        raise _refused(request, "unknown_client")
    if not client.unit.is_active:
        raise _refused(request, "unit_inactive")
    return MachineIdentity(client=client, scopes=frozenset(scopes & set(client.scopes)))


def machine_client(
    scope: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: a verified machine client holding ``scope``, as ``request.machine``; the
    view runs in the unit scope of the client's unit (``nnrr.lib.scopes``)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                identity = authenticate(request)
            except FhirError as exc:
                response = exc.response()
                response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                return response
            if scope not in identity.scopes:
                return FhirError(
                    403,
                    [
                        issue(
                            lambda: _("Klienten har ikke tilgangen %(scope)s.") % {"scope": scope},
                            "forbidden",
                        )
                    ],
                ).response()
            request.machine = identity  # type: ignore[attr-defined]
            # The client's unit is the only unit whose data it sees or writes.
            with unit_scope(units=[identity.unit_id]):
                return view(request, *args, **kwargs)

        return wrapped

    return decorate
