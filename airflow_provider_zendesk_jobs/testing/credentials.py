"""Who may call the emulator: the three ways Zendesk authenticates API calls.

An API token (Basic ``{email}/token:{api_token}``), a fixed OAuth access token (Bearer), and
access tokens issued by ``POST /oauth/tokens`` for a client-credentials grant, which expire on
the emulator's clock so that a client's renewal path can be tested without waiting.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import threading
from dataclasses import dataclass
from typing import Any

from airflow_provider_zendesk_jobs.testing.clock import Clock

#: Values of ``RequestRecord.auth``: how a request authenticated, or why it did not.
AUTH_BASIC = "basic"
AUTH_BEARER = "bearer"
AUTH_CLIENT_TOKEN = "oauth-client-token"
AUTH_NONE = "none"
AUTH_INVALID = "invalid"
AUTHENTICATED = frozenset({AUTH_BASIC, AUTH_BEARER, AUTH_CLIENT_TOKEN})


@dataclass(frozen=True)
class Credentials:
    """The account's secrets; the defaults are the demo values printed by the console script."""

    email: str = "demo@example.com"
    api_token: str = "demo-token"
    oauth_token: str = "demo-oauth-token"
    client_id: str = "demo-client"
    client_secret: str = "demo-secret"


DEFAULT_CREDENTIALS = Credentials()

CONN_TYPE = "zendesk_jobs"
AUTH_FORMS = ("token", "oauth", "client_credentials")


def connection_json(url: str, credentials: Credentials, auth: str = "token") -> str:
    """JSON for ``AIRFLOW_CONN_<ID>``: the API-token form, or ``"oauth"`` / ``"client_credentials"``."""
    conn: dict[str, Any] = {"conn_type": CONN_TYPE, "host": url}
    if auth == "token":
        conn["login"] = credentials.email
        conn["password"] = credentials.api_token
    elif auth == "oauth":
        conn["extra"] = {"oauth_token": credentials.oauth_token}
    elif auth == "client_credentials":
        conn["extra"] = {"client_id": credentials.client_id, "client_secret": credentials.client_secret}
    else:
        raise ValueError(f"auth must be one of {AUTH_FORMS}, not {auth!r}")
    return json.dumps(conn)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    scope: str
    expires_in: int


class Authenticator:
    """Classifies an ``Authorization`` header and issues client-credentials tokens."""

    def __init__(self, credentials: Credentials, clock: Clock, token_ttl: float, seed: int) -> None:
        if not token_ttl > 0:
            raise ValueError(f"oauth_token_ttl must be positive, not {token_ttl!r}")
        self.credentials = credentials
        self._clock = clock
        self._ttl = float(token_ttl)
        self._rng = random.Random(f"{seed}:oauth-tokens")
        self._lock = threading.Lock()
        self._issued: dict[str, float] = {}  # access token -> clock time it stops working
        self._tokens_issued = 0
        pair = f"{credentials.email}/token:{credentials.api_token}".encode()
        # The exact header well-behaved clients send, so the common case is one string comparison.
        self._basic_header = "Basic " + base64.b64encode(pair).decode("ascii")
        self._basic_user = f"{credentials.email}/token".casefold()

    @property
    def tokens_issued(self) -> int:
        return self._tokens_issued

    def classify(self, header: str | None) -> str:
        """One of the ``AUTH_*`` values for this ``Authorization`` header."""
        if not header:
            return AUTH_NONE
        if header == self._basic_header:
            return AUTH_BASIC
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "basic":
            return self._classify_basic(value)
        if scheme == "bearer" and value:
            if value == self.credentials.oauth_token:
                return AUTH_BEARER
            with self._lock:
                expires_at = self._issued.get(value)
            if expires_at is not None and self._clock.now() < expires_at:
                return AUTH_CLIENT_TOKEN
        return AUTH_INVALID

    def _classify_basic(self, value: str) -> str:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return AUTH_INVALID
        user, sep, password = decoded.partition(":")
        if sep and user.casefold() == self._basic_user and password == self.credentials.api_token:
            return AUTH_BASIC
        return AUTH_INVALID

    def client_matches(self, client_id: object, client_secret: object) -> bool:
        return client_id == self.credentials.client_id and client_secret == self.credentials.client_secret

    def issue_token(self, scope: str) -> IssuedToken:
        """A new access token that works until ``oauth_token_ttl`` clock seconds from now."""
        with self._lock:
            token = f"{self._rng.getrandbits(192):048x}"
            self._issued[token] = self._clock.now() + self._ttl
            self._tokens_issued += 1
        return IssuedToken(access_token=token, scope=scope, expires_in=int(self._ttl))

    def expire_tokens(self) -> None:
        """Every issued token stops working now (the fixed OAuth token is unaffected)."""
        with self._lock:
            self._issued.clear()
