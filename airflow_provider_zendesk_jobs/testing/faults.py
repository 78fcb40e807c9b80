"""Failures switched on by a test: the ways Zendesk and the network in front of it misbehave.

A fault matches requests by path prefix (and optionally method) and applies to the next
``count`` of them, to a ``fraction`` of them drawn from the emulator's seeded random generator
(so a run with the same seed and the same requests fails the same requests), or to every one
until cleared. Faults are checked in the order they were added; the first that applies wins.

Kinds:

``rate_limit``      429 ``APIRateLimitExceeded`` with ``Retry-After`` (seconds, or an HTTP date on the clock)
``server_error``    5xx JSON (503 unless ``status`` says otherwise)
``html_error``      5xx HTML page of about 5 KB, as an edge proxy sends (502 by default)
``slow``            the correct answer, after ``delay`` real seconds
``hang``            no answer until the client gives up or the emulator stops
``malformed_json``  200 with a body that is not JSON
``truncated``       the correct answer's headers, half its body, then the connection closes
``close``           the connection closes without an answer
``not_found``       404 ``RecordNotFound``
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import asdict, dataclass, field, fields
from email.utils import formatdate
from typing import Any

from airflow_provider_zendesk_jobs.testing.messages import Response, error_response

FAULT_KINDS = (
    "rate_limit",
    "server_error",
    "html_error",
    "slow",
    "hang",
    "malformed_json",
    "truncated",
    "close",
    "not_found",
)
#: Kinds the HTTP layer carries out itself (they touch the connection, not just the answer).
CONNECTION_KINDS = frozenset({"slow", "hang", "truncated", "close"})
DEFAULT_RETRY_AFTER = 1.0
DEFAULT_SLOW_DELAY = 1.0
_DEFAULT_STATUS = {"rate_limit": 429, "server_error": 503, "html_error": 502, "malformed_json": 200, "not_found": 404}


@dataclass
class Fault:
    """One misbehaviour; ``applied`` counts the requests it has hit so far."""

    kind: str
    count: int | None = None
    fraction: float | None = None
    path_prefix: str = "/api/v2"
    retry_after: float | None = None
    retry_after_http_date: bool = False
    status: int | None = None
    delay: float | None = None
    body: str | None = None
    #: Only requests with this method (e.g. "GET"); None matches any.
    method: str | None = None
    applied: int = field(default=0, init=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if self.count is not None and (
            isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1
        ):
            raise ValueError(f"count must be a positive int, not {self.count!r}")
        if self.fraction is not None and not (isinstance(self.fraction, (int, float)) and 0.0 <= self.fraction <= 1.0):
            raise ValueError(f"fraction must be between 0 and 1, not {self.fraction!r}")
        if not isinstance(self.path_prefix, str) or not self.path_prefix.startswith("/"):
            raise ValueError(f"path_prefix must start with '/', not {self.path_prefix!r}")
        for name in ("retry_after", "delay"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and 0.0 <= value < math.inf):
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
        if self.status is not None and not (isinstance(self.status, int) and 100 <= self.status <= 599):
            raise ValueError(f"status must be an HTTP status code, not {self.status!r}")
        if self.body is not None and not isinstance(self.body, str):
            raise ValueError("body must be a string")
        if self.method is not None:
            self.method = str(self.method).upper()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Fault:
        """A fault from its JSON form (the control endpoint); ValueError on unknown or bad fields."""
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        known = {f.name for f in fields(cls) if f.init}
        data = {name: value for name, value in data.items() if name != "applied"}  # read-only, from to_dict()
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(unknown)}")
        if "kind" not in data:
            raise ValueError("a fault needs a kind")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from None


class FaultSet:
    """The active faults of one emulator, picked per request under a lock."""

    def __init__(self, seed: int) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = random.Random(f"{seed}:faults")

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> int:
        with self._lock:
            cleared = len(self._faults)
            self._faults.clear()
        return cleared

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault this request meets, if any (counting it as applied)."""
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if not path.startswith(fault.path_prefix):
                    continue
                if fault.method is not None and fault.method != method:
                    continue
                if fault.fraction is not None and self._rng.random() >= fault.fraction:
                    continue
                fault.applied += 1
                if fault.count is not None and fault.applied >= fault.count:
                    self._faults.remove(fault)
                return fault
        return None


def _retry_after_value(fault: Fault, now: float) -> str | None:
    seconds = fault.retry_after
    if seconds is None:
        if fault.kind != "rate_limit":
            return None
        seconds = DEFAULT_RETRY_AFTER
    if fault.retry_after_http_date:
        # On the emulator's clock, like its Date header: a client that keeps time with the
        # emulator (or reads Date) waits exactly ``retry_after`` clock seconds.
        return formatdate(now + seconds, usegmt=True)
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


def fault_response(fault: Fault, now: float) -> Response:
    """The answer for the faults that are just an answer (not the connection-level kinds); ``now`` is clock time."""
    status = fault.status or _DEFAULT_STATUS[fault.kind]
    headers: list[tuple[str, str]] = []
    retry_after = _retry_after_value(fault, now)
    if retry_after is not None:
        headers.append(("Retry-After", retry_after))
    if fault.kind == "html_error":
        body = (fault.body if fault.body is not None else edge_error_page(status)).encode()
        return Response(status, body, headers, content_type="text/html; charset=UTF-8")
    if fault.body is not None:
        return Response(status, fault.body.encode(), headers)
    if fault.kind == "rate_limit":
        return error_response(
            status, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded", headers
        )
    if fault.kind == "not_found":
        return error_response(status, "RecordNotFound", "Not found", headers)
    if fault.kind == "malformed_json":
        return Response(status, b'{"job_status": {"id": "V3-', headers)
    error = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
    return error_response(
        status, error.get(status, "ServerError"), "The server is temporarily unable to answer", headers
    )


def edge_error_page(status: int) -> str:
    """An HTML error page of about 5 KB, like the ones a CDN edge answers with under load."""
    title = {502: "Bad gateway", 503: "Service unavailable", 504: "Gateway time-out"}.get(status, "Server error")
    style = "".join(
        f".cf-rule-{i} {{ margin: {i % 7}px {i % 5}px; padding: {i % 3}px; color: #{colour:06x}; }}\n"
        for i, colour in ((i, (i * 2654435761) % 0xFFFFFF) for i in range(80))
    )
    return (
        '<!DOCTYPE html>\n<html lang="en-US">\n<head>\n'
        f'<title>{status}: {title}</title>\n<meta charset="UTF-8" />\n<style>\n{style}</style>\n</head>\n'
        f'<body>\n<div id="cf-wrapper">\n<h1><span class="cf-error-type">Error</span> '
        f'<span class="cf-error-code">{status}</span></h1>\n<h2>{title}</h2>\n'
        "<p>The web server reported a gateway error. Please try again in a few minutes.</p>\n"
        "</div>\n</body>\n</html>\n"
    )
