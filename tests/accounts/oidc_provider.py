"""A real OpenID provider for the tests: ``oidc-provider-mock`` (Authlib's server side in Flask)
running in a thread on a free port, with what a national eID provider adds on top of it:

- PKCE is enforced: the token request must carry the verifier of the authorization request's
  S256 challenge;
- client authentication is checked: a ``private_key_jwt`` assertion must be signed with the
  client's registered key (iss = sub = client id, aud = the issuer), or the client secret must
  match;
- a test can make the provider misbehave (``provider.tamper = ...``): sign the ID token with a
  foreign key, address it to another client, name another issuer, let it be expired, carry a
  stale nonce, or sign with a new key (key rotation) that the JWKS then publishes; or answer the
  userinfo request for another subject than the ID token's.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask
import oidc_provider_mock
import requests
import werkzeug.serving
from joserfc import jws, jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict

CLIENT_ID = "nnrr-test-client"
CLIENT_SECRET = "test-secret-which-is-long-enough"


@dataclass
class Provider:
    url: str
    client_key: RSAKey
    tamper: str = ""
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    jwks_requests: int = 0
    challenges: dict[str, str] = field(default_factory=dict)
    rotated_key: RSAKey | None = None

    def add_user(self, sub: str, **claims: Any) -> None:
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5)
        response.raise_for_status()

    def authorize(self, authorize_url: str, sub: str) -> str:
        """The person logs in at the provider as ``sub``; returns the callback URL (path+query)."""
        response = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text[:500]
        location = urlsplit(response.headers["Location"])
        return f"{location.path}?{location.query}"


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _provider_key() -> RSAKey:
    storage = flask.g.oidc_provider_mock_storage
    return RSAKey.import_key(storage.jwk.as_dict(is_private=True))


def _build_app(provider: Provider) -> flask.Flask:
    app = oidc_provider_mock.app(require_nonce=True)

    @app.before_request
    def check_token_request() -> Any:
        request = flask.request
        if request.path != "/oauth2/token" or request.method != "POST":
            return None
        form = request.form.to_dict()
        provider.token_requests.append(
            {**form, "authorization": request.headers.get("Authorization", "")}
        )
        challenge = provider.challenges.pop(form.get("code", ""), None)
        if challenge is None or _s256(form.get("code_verifier", "")) != challenge:
            return flask.jsonify({"error": "invalid_grant", "error_description": "PKCE"}), 400
        assertion = form.get("client_assertion")
        if assertion:
            try:
                token = jwt.decode(assertion, provider.client_key, algorithms=["RS256"])
                claims = token.claims
                assert claims["iss"] == claims["sub"] == CLIENT_ID
                assert claims["aud"] == provider.url
                assert claims["exp"] > time.time()
                assert form.get("client_assertion_type") == (
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                )
            except Exception:
                return flask.jsonify({"error": "invalid_client"}), 401
            # Verified here; the mock (which knows only secrets) is then handed the client's id.
            fields = {k: v for k, v in form.items() if not k.startswith("client_assertion")}
            fields.update({"client_id": CLIENT_ID, "client_secret": "verified-assertion"})
            request.form = ImmutableMultiDict(fields)
            request.values = CombinedMultiDict([request.args, request.form])
            return None
        auth = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if auth != f"Basic {expected}" and form.get("client_secret") != CLIENT_SECRET:
            return flask.jsonify({"error": "invalid_client"}), 401
        return None

    @app.after_request
    def adjust(response: flask.Response) -> flask.Response:
        request = flask.request
        if request.path == "/oauth2/authorize" and response.status_code == 302:
            query = parse_qs(urlsplit(response.headers["Location"]).query)
            if "code" in query and request.args.get("code_challenge_method") == "S256":
                provider.challenges[query["code"][0]] = request.args.get("code_challenge", "")
        elif request.path == "/jwks":
            provider.jwks_requests += 1
            if provider.rotated_key is not None:
                keys = KeySet(
                    [RSAKey.import_key(response.get_json()["keys"][0]), provider.rotated_key]
                )
                response.set_data(flask.json.dumps(keys.as_dict(private=False)))
        elif request.path == "/userinfo" and provider.tamper == "userinfo_of_another_subject":
            body = response.get_json()
            body["sub"] = "another-subject"
            response.set_data(flask.json.dumps(body))
        elif request.path == "/oauth2/token" and response.status_code == 200 and provider.tamper:
            body = response.get_json()
            body["id_token"] = _tampered(provider, body["id_token"])
            response.set_data(flask.json.dumps(body))
        return response

    return app


def _tampered(provider: Provider, id_token: str) -> str:
    header = dict(jws.extract_compact(id_token.encode()).protected)
    claims = jwt.decode(id_token, _provider_key(), algorithms=["RS256"]).claims
    key = _provider_key()
    now = int(time.time())
    if provider.tamper == "bad_signature":
        key = RSAKey.generate_key(2048)
    elif provider.tamper == "wrong_audience":
        claims["aud"] = "another-client"
    elif provider.tamper == "wrong_issuer":
        claims["iss"] = "https://another-issuer.example"
    elif provider.tamper == "expired":
        claims["iat"], claims["exp"] = now - 7200, now - 3600
    elif provider.tamper == "stale_nonce":
        claims["nonce"] = "a-nonce-from-an-earlier-login"
    elif provider.tamper in ("pid_only_in_userinfo", "userinfo_of_another_subject"):
        claims.pop("pid", None)
    elif provider.tamper == "rotate":
        assert provider.rotated_key is not None
        key = provider.rotated_key
        header["kid"] = key.kid
    return jwt.encode(header, claims, key, algorithms=["RS256"])


@dataclass
class _Running:
    provider: Provider
    server: werkzeug.serving.BaseWSGIServer
    thread: threading.Thread


def start_provider() -> Iterator[Provider]:
    client_key = RSAKey.generate_key(2048, parameters={"kid": "nnrr-client-key"})
    provider = Provider(url="", client_key=client_key)
    app = _build_app(provider)
    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    provider.url = f"http://localhost:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(2)
        server.server_close()
