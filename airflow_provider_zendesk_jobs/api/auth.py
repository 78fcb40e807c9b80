"""The three ways to authenticate to Zendesk, and the cache of client-credential tokens; secrets live only in
fields excluded from ``repr``, and ``secrets()`` lists every value the hooks mask."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_zendesk_jobs.exceptions import ZendeskResponseError

#: Renew a cached token this long before Zendesk says it expires (or at 90 % of its life if shorter).
TOKEN_RENEWAL_MARGIN = 60.0
TOKEN_PATH = "/oauth/tokens"


@dataclass(frozen=True)
class ApiTokenAuth:
    """HTTP basic auth as ``{email}/token:{api_token}``: works until Zendesk retires API tokens (2027-04-30)."""

    email: str
    token: str = field(repr=False)

    def header(self) -> str:
        raw = f"{self.email}/token:{self.token}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def secrets(self) -> list[str]:
        return [self.token, self.header(), self.header().removeprefix("Basic ")]


@dataclass(frozen=True)
class OAuthTokenAuth:
    """A ready OAuth access token sent as ``Bearer``; nothing to renew, a 401 is final."""

    token: str = field(repr=False)

    def header(self) -> str:
        return f"Bearer {self.token}"

    def secrets(self) -> list[str]:
        return [self.token]


@dataclass(frozen=True)
class ClientCredentialsAuth:
    """OAuth client credentials: the hook fetches a token from ``/oauth/tokens`` and renews it by itself."""

    client_id: str
    client_secret: str = field(repr=False)
    scope: str = "read"

    def secrets(self) -> list[str]:
        return [self.client_secret]


Auth = ApiTokenAuth | OAuthTokenAuth | ClientCredentialsAuth


@dataclass
class OAuthTokenCache:
    """The current client-credential token and when to stop trusting it; one per hook."""

    token: str | None = field(default=None, repr=False)
    renew_at: float | None = None

    def valid(self, now: float) -> bool:
        return self.token is not None and (self.renew_at is None or now < self.renew_at)

    def header(self) -> str:
        return f"Bearer {self.token}"

    def store(self, body: Any, now: float) -> str:
        """Keep the token from an ``/oauth/tokens`` answer; returns it for the masker."""
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ZendeskResponseError(
                f"Zendesk's answer to POST {TOKEN_PATH} has no access_token. Check that the OAuth client "
                "is of the 'confidential' kind and allowed the client_credentials grant."
            )
        expires_in = body.get("expires_in")
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
            margin = min(TOKEN_RENEWAL_MARGIN, expires_in * 0.1)
            self.renew_at = now + float(expires_in) - margin
        else:
            self.renew_at = None
        self.token = token
        return token
