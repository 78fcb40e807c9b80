"""A request as the routing code sees it, and the answer it gives back.

Keeping these plain (no socket, no handler object) lets the Zendesk endpoints and the control
endpoints be written and tested as functions from a request to a response.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_SEPARATORS = (",", ":")


@dataclass
class Request:
    method: str
    path: str
    query: str = ""
    #: Header names in lower case.
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    _params: dict[str, list[str]] | None = field(default=None, repr=False)

    @property
    def params(self) -> dict[str, list[str]]:
        if self._params is None:
            self._params = parse_qs(self.query, keep_blank_values=True)
        return self._params

    def param(self, name: str) -> str | None:
        """The last value of a query parameter (what most servers do with repeats)."""
        values = self.params.get(name)
        return values[-1] if values else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = JSON_CONTENT_TYPE


def encode_json(payload: Any) -> bytes:
    return json.dumps(payload, separators=_SEPARATORS).encode()


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, encode_json(payload), list(headers or ()))


def error_response(status: int, error: str, description: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response(status, {"error": error, "description": description}, headers)


def not_found_endpoint() -> Response:
    """Zendesk's answer for a path it has no endpoint at."""
    return error_response(404, "InvalidEndpoint", "Not found")


def method_not_allowed(allowed: str) -> Response:
    return error_response(
        405, "MethodNotAllowed", f"This endpoint only accepts {allowed}", headers=[("Allow", allowed)]
    )


class BadInput(Exception):
    """A request the endpoint refuses; carries the 4xx answer to give."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.response = error_response(status, error, description)


def decode_json_body(body: bytes) -> Any:
    """The JSON of a request body (None when it is empty), or a 400 ``InvalidJSON``."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(400, "InvalidJSON", f"The request body is not valid JSON: {exc}") from None
