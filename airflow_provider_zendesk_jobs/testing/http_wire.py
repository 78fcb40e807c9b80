"""HTTP/1.1 on the wire: request headers read line by line, request bodies, and an answer's bytes.

Plain functions of a stream, so the serving code (:mod:`.server`) only decides what to read and
when to answer. An answer is one ``bytes`` (status line, headers and body together), so it goes
out in one ``send``.
"""

from __future__ import annotations

from email.utils import formatdate
from http import HTTPStatus
from io import BufferedIOBase

from airflow_provider_zendesk_jobs.testing.messages import Response

SERVER_HEADER = "Zendesk-Jobs-Emulator"
MAX_BODY = 32 * 1024 * 1024
REASONS = {status.value: status.phrase for status in HTTPStatus}
_date_cache: tuple[int, str] = (0, "")


def http_date(now: float) -> str:
    """The Date header, on the emulator's clock (so it agrees with job messages and Retry-After dates)."""
    global _date_cache
    second = int(now)
    cached = _date_cache
    if cached[0] != second:
        cached = (second, formatdate(second, usegmt=True))
        _date_cache = cached
    return cached[1]


class BadBody(Exception):
    """A request body that cannot be read (a bad Content-Length, a malformed chunk, too large)."""


class RequestHeaders:
    """Request headers by lower-case name; a repeated header's values are joined with ", ".

    The standard library parses headers with the ``email`` package, which costs more than the
    rest of a show-one answer together; this reads them line by line instead.
    """

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        key = name.lower()
        previous = self._values.get(key)
        self._values[key] = value if previous is None else f"{previous}, {value}"

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def as_dict(self) -> dict[str, str]:
        return self._values


def read_body(headers: RequestHeaders, rfile: BufferedIOBase) -> bytes:
    """The body by Content-Length or chunked; empty without either. Raises :class:`BadBody`."""
    encoding = headers.get("Transfer-Encoding")
    if encoding is not None and "chunked" in encoding.lower():
        return _read_chunked(rfile)
    length = headers.get("Content-Length")
    if length is None:
        return b""
    try:
        size = int(length)
    except ValueError:
        raise BadBody(f"Content-Length {length!r} is not a number") from None
    if size < 0 or size > MAX_BODY:
        raise BadBody(f"Content-Length {size} is out of range")
    return rfile.read(size) if size else b""


def _read_chunked(rfile: BufferedIOBase) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(1024)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadBody("malformed chunked body") from None
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        total += size
        if total > MAX_BODY:
            raise BadBody("request body too large")
        parts.append(rfile.read(size))
        rfile.readline(8)


def answer_bytes(response: Response, date: str, *, close: bool, with_body: bool, truncate: bool) -> bytes:
    """The status line, the headers and (unless ``with_body`` is false, for HEAD) the body, or half of it."""
    body = response.body
    status = response.status
    lines = [
        f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\n"
        f"Server: {SERVER_HEADER}\r\nDate: {date}\r\n"
        f"Content-Type: {response.content_type}\r\nContent-Length: {len(body)}\r\n"
    ]
    for name, value in response.headers:
        lines.append(f"{name}: {value}\r\n")
    if close:
        lines.append("Connection: close\r\n")
    lines.append("\r\n")
    payload = "".join(lines).encode("latin-1")
    if with_body:
        payload += body[: len(body) // 2] if truncate else body
    return payload
