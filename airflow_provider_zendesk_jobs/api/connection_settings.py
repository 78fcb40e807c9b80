"""From an Airflow connection's fields (also those made for the official Zendesk provider) to a base URL, an
auth mode and timeouts; a host that could send credentials elsewhere (userinfo, plain http:// off this machine,
another scheme) is refused before any request.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_zendesk_jobs.api.auth import ApiTokenAuth, Auth, ClientCredentialsAuth, OAuthTokenAuth
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for the TCP/TLS connection and then for each read of the answer."""

    connect: float = 10.0
    read: float = 30.0


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything the shells need to talk to one Zendesk account; secrets hidden from ``repr``."""

    base_url: str
    auth: Auth
    timeouts: Timeouts = Timeouts()

    def same_origin(self, url: str) -> bool:
        """True when ``url`` has exactly the connection's scheme, host and port (and no userinfo)."""
        return origin_of(url) == origin_of(self.base_url)


def origin_of(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    default_port = {"https": 443, "http": 80}.get(parts.scheme.lower())
    if parts.username is not None or parts.password is not None or not parts.hostname or default_port is None:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port if port is not None else default_port


def _ip(hostname: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(hostname)
    except ValueError:
        return None


def is_loopback(hostname: str) -> bool:
    """Whether plain ``http://`` may go to this host; never an IPv4-mapped IPv6 address (loopback only on 3.13+)."""
    if hostname.lower() in _LOOPBACK_NAMES:
        return True
    address = _ip(hostname)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return False
    return address is not None and address.is_loopback


def _host_error(host: str, why: str) -> ZendeskInvalidInputError:
    if "@" in host:  # whatever precedes an '@' may be a user name and password
        scheme, separator, _ = host.partition("://")
        host = (scheme + separator if separator else "") + "***@" + host.rpartition("@")[2]
    return ZendeskInvalidInputError(
        f"The connection's host {host!r} cannot be used: {why}. Set it to the Zendesk subdomain "
        "('acme'), 'acme.zendesk.com' or 'https://acme.zendesk.com'."
    )


def base_url_from_host(host: str | None) -> str:
    """``acme`` / ``acme.zendesk.com`` / ``https://acme.zendesk.com`` -> ``https://acme.zendesk.com``."""
    text = (host or "").strip()
    if not text:
        raise ZendeskInvalidInputError(
            "The Zendesk connection has no host. Set it to the Zendesk subdomain ('acme'), "
            "'acme.zendesk.com' or 'https://acme.zendesk.com'."
        )
    if "://" not in text:
        if "/" in text or "@" in text or "?" in text or "#" in text:
            raise _host_error(text, "a bare host name may not contain '/', '@', '?' or '#'")
        text = ("https://" + text) if "." in text or ":" in text else f"https://{text}.zendesk.com"
    if "@" in text:  # checked before parsing: a parse error could quote part of a password
        raise _host_error(text, "it contains a user name ('user@host'); credentials belong in login/password")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise _host_error(host or "", f"it is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise _host_error(text, f"the scheme {parts.scheme!r} is not supported, only https")
    if parts.query or parts.fragment:
        raise _host_error(text, "it has a query or fragment")
    if parts.path.rstrip("/") not in ("", "/api/v2"):
        raise _host_error(text, f"it has the path {parts.path!r}; give the account's address only")
    hostname = parts.hostname or ""
    valid_name = bool(hostname) and all(_LABEL.fullmatch(label) for label in hostname.split("."))
    if not valid_name and not (hostname and _ip(hostname) is not None):
        raise _host_error(text, "the host name is not valid")
    if scheme == "http" and not is_loopback(hostname):
        raise _host_error(text, "plain http:// is only allowed for a loopback host such as the local emulator")
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc.lower()}"


def _extra_str(extra: Mapping[str, Any], key: str) -> str | None:
    value = extra.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ZendeskInvalidInputError(f"The connection extra {key!r} must be text.")
    return value.strip() or None


def auth_from_connection(login: str | None, password: str | None, extra: Mapping[str, Any]) -> Auth:
    """Client credentials, else an OAuth token, else email + API token (Zendesk retired passwords, so a
    password is an API token)."""
    client_id = _extra_str(extra, "client_id")
    client_secret = _extra_str(extra, "client_secret")
    if client_id or client_secret:
        if not (client_id and client_secret):
            raise ZendeskInvalidInputError(
                "The connection has only one of the extras 'client_id' and 'client_secret'; "
                "OAuth client credentials need both."
            )
        return ClientCredentialsAuth(client_id, client_secret, _extra_str(extra, "scope") or "read")
    oauth_token = _extra_str(extra, "oauth_token")
    if oauth_token:
        return OAuthTokenAuth(token=oauth_token)
    token = _extra_str(extra, "token") or (password or "").strip() or None
    email = (login or "").strip().removesuffix("/token")
    if email and token:
        return ApiTokenAuth(email=email, token=token)
    if token and not email:
        raise ZendeskInvalidInputError(
            "The connection has an API token but no login: set login to the email of the Zendesk user "
            "the token belongs to."
        )
    raise ZendeskInvalidInputError(
        "The Zendesk connection has no credentials. Set login (email) and password (API token), or the "
        "extra 'oauth_token', or the extras 'client_id' and 'client_secret'."
    )


def _timeout_value(value: Any, what: str) -> float:
    try:
        seconds = float(value) if not isinstance(value, bool) and isinstance(value, int | float | str) else None
    except ValueError:
        seconds = None
    if seconds is None:
        raise ZendeskInvalidInputError(f"The {what} timeout must be a number of seconds, got {value!r}.")
    if not 0 < seconds <= 3600:
        raise ZendeskInvalidInputError(f"The {what} timeout must be between 0 and 3600 seconds, got {value!r}.")
    return seconds


def timeouts_from(
    extra: Mapping[str, Any], connect_timeout: float | None = None, read_timeout: float | None = None
) -> Timeouts:
    """Hook arguments beat the extra ``timeout`` (a read timeout, ``"connect,read"`` or a JSON object), which beats
    the defaults."""
    raw = extra.get("timeout")
    if isinstance(raw, str) and raw.strip().startswith("{"):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ZendeskInvalidInputError("The connection extra 'timeout' is not valid JSON.") from None
    given: dict[str, Any] = {}
    if isinstance(raw, Mapping):
        given = {key: raw[key] for key in ("connect", "read") if key in raw}
    elif isinstance(raw, str) and "," in raw:
        given = dict(zip(("connect", "read"), raw.split(",", 1), strict=True))
    elif raw not in (None, ""):
        given = {"read": raw}
    seconds = {key: _timeout_value(value, key) for key, value in given.items()}
    for key, value in (("connect", connect_timeout), ("read", read_timeout)):
        if value is not None:
            seconds[key] = _timeout_value(value, key)
    return Timeouts(**seconds)


def settings_from_connection(
    host: str | None,
    login: str | None,
    password: str | None,
    extra: Mapping[str, Any],
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
) -> ConnectionSettings:
    return ConnectionSettings(
        base_url_from_host(host),
        auth_from_connection(login, password, extra),
        timeouts_from(extra, connect_timeout, read_timeout),
    )
