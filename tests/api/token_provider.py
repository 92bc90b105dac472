"""The token issuer of the FHIR tests: the login tests' OpenID provider (``oidc-provider-mock``,
tests/accounts/oidc_provider.py) with HelseID's client-credentials grant added, as a record
system uses it: the client authenticates with a ``private_key_jwt`` assertion signed with its
registered key, asks for scopes, and gets a signed JWT access token (``typ`` ``at+jwt``, the
``client_id``, the granted ``scope`` and the API's audience), signed with the provider's key that
its JWKS publishes.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import flask
import oidc_provider_mock
import requests
import werkzeug.serving
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jws, jwt
from joserfc.jwk import RSAKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AUDIENCE = "nnrr:fhir"


@dataclass
class RegisteredClient:
    key: RSAKey
    scopes: set[str]


@dataclass
class TokenProvider:
    url: str = ""
    clients: dict[str, RegisteredClient] = field(default_factory=dict)
    issued: int = 0
    # What a test can make the issuer do wrong: tokens that expired, or of another type.
    lifetime: int = 600
    token_type: str = "at+jwt"
    without_expiry: bool = False  # a token with no "exp" claim at all

    def register(self, client_id: str, scopes: set[str]) -> RegisteredClient:
        client = RegisteredClient(RSAKey.generate_key(2048, parameters={"kid": client_id}), scopes)
        self.clients[client_id] = client
        return client

    def token(self, client_id: str, scopes: str, audience: str = AUDIENCE) -> str:
        """A client-credentials token request exactly as a record system makes it (Authlib)."""
        client = self.clients[client_id]
        session = OAuth2Session(
            client_id,
            client.key.as_pem(private=True).decode(),
            token_endpoint_auth_method="private_key_jwt",
            scope=scopes,
        )
        session.register_client_auth_method(
            PrivateKeyJWT(self.url, headers={"kid": client_id}, alg="RS256")
        )
        token = session.fetch_token(
            f"{self.url}/oauth2/token", grant_type="client_credentials", audience=audience
        )
        return str(token["access_token"])


def _provider_key() -> RSAKey:
    storage = flask.g.oidc_provider_mock_storage
    return RSAKey.import_key(storage.jwk.as_dict(is_private=True))


def _build_app(provider: TokenProvider) -> flask.Flask:
    app = oidc_provider_mock.app()

    @app.before_request
    def client_credentials() -> Any:
        request = flask.request
        if request.path != "/oauth2/token" or request.form.get("grant_type") != (
            "client_credentials"
        ):
            return None
        form = request.form
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return flask.jsonify({"error": "invalid_client"}), 401
        try:
            claimed = json.loads(jws.extract_compact(form["client_assertion"].encode()).payload)
        except (ValueError, KeyError):
            return flask.jsonify({"error": "invalid_client"}), 401
        client_id = form.get("client_id") or claimed.get("iss", "")
        client = provider.clients.get(str(client_id))
        try:
            assert client is not None
            claims = jwt.decode(form["client_assertion"], client.key, algorithms=["RS256"]).claims
            assert claims["iss"] == claims["sub"] == client_id
            assert claims["aud"] == provider.url
            assert claims["exp"] > time.time()
        except Exception:
            return flask.jsonify({"error": "invalid_client"}), 401
        asked = set(str(form.get("scope", "")).split())
        if not asked <= client.scopes:
            return flask.jsonify({"error": "invalid_scope"}), 400
        now = int(time.time())
        key = _provider_key()
        claims = {
            "iss": provider.url,
            "aud": form.get("audience", AUDIENCE),
            "client_id": client_id,
            "sub": client_id,
            "scope": " ".join(sorted(asked)),
            "iat": min(now, now + provider.lifetime - 60),
            "exp": now + provider.lifetime,
            "jti": str(uuid.uuid4()),
        }
        if provider.without_expiry:
            del claims["exp"]
        access_token = jwt.encode(
            {"alg": "RS256", "typ": provider.token_type, "kid": key.kid},
            claims,
            key,
            algorithms=["RS256"],
        )
        provider.issued += 1
        return flask.jsonify(
            {"access_token": access_token, "token_type": "Bearer", "expires_in": 600}
        )

    return app


def start_token_provider() -> Iterator[TokenProvider]:
    provider = TokenProvider()
    app = _build_app(provider)
    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    provider.url = f"http://localhost:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        requests.get(f"{provider.url}/.well-known/openid-configuration", timeout=5)
        yield provider
    finally:
        server.shutdown()
        thread.join(2)
        server.server_close()
