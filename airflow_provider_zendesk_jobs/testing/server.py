"""The HTTP layer: sockets, keep-alive, one request after another, and connection faults.

It knows nothing about Zendesk: it hands each request to the callables in :class:`Handlers`
and writes back what they answer (reading headers and bodies, and an answer's bytes, are
:mod:`.http_wire`'s). It does the faults that act on the connection itself (``slow``, ``hang``,
``truncated``, ``close``), because only it holds the socket.

Speed matters here (a triggerer test polls a lot): an answer is written with one ``send``
(status line, headers and body together, Nagle off), nothing is logged unless asked, and the
stop path never waits on a client: idle keep-alive connections and hanging requests are cut.
"""

from __future__ import annotations

import contextlib
import select
import selectors
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from airflow_provider_zendesk_jobs.testing.control import PREFIX as CONTROL_PREFIX
from airflow_provider_zendesk_jobs.testing.faults import DEFAULT_SLOW_DELAY, Fault, fault_response
from airflow_provider_zendesk_jobs.testing.http_wire import (
    REASONS,
    SERVER_HEADER,
    BadBody,
    RequestHeaders,
    answer_bytes,
    http_date,
    read_body,
)
from airflow_provider_zendesk_jobs.testing.messages import Request, Response, encode_json, error_response
from airflow_provider_zendesk_jobs.testing.request_log import NO_ANSWER, RequestRecord

_MAX_HEADERS = 100
_MAX_HEADER_LINE = 65536


@dataclass(frozen=True)
class Handlers:
    """What the server asks the emulator for each request."""

    api: Callable[[Request, str], Response]
    control: Callable[[Request], Response]
    classify_auth: Callable[[str | None], str]
    pick_fault: Callable[[str, str], Fault | None]
    record: Callable[[RequestRecord], None]
    now: Callable[[], float]


def internal_error(exc: BaseException) -> Response:
    """A 500 that names the failure but never carries a traceback."""
    return error_response(500, "InternalError", f"The emulator could not answer this request ({type(exc).__name__}).")


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER_HEADER
    sys_version = ""
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer
    headers: RequestHeaders  # type: ignore[assignment]
    raw_requestline: bytes

    # -- connection lifetime ----------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.untrack(self.connection)

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection and not self.server.stopping.is_set():
            self.handle_one_request()

    def parse_request(self) -> bool:
        """The standard library's request parsing (HTTP/1.0 and 1.1), with a faster header reader."""
        self.command = None  # type: ignore[assignment]
        self.request_version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        if len(words) != 3:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline[:100]!r})")
            return False
        command, path, version = words
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            if version.startswith("HTTP/") and version[5:6].isdigit() and version[5:6] >= "2":
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({version[:20]})")
            else:
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version[:20]!r})")
            return False
        self.request_version = version
        self.close_connection = version == "HTTP/1.0"
        self.command, self.path = command, path
        if self.path.startswith("//"):
            self.path = "/" + self.path.lstrip("/")
        headers = RequestHeaders()
        for _ in range(_MAX_HEADERS + 1):
            line = self.rfile.readline(_MAX_HEADER_LINE + 1)
            if len(line) > _MAX_HEADER_LINE:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            name, sep, value = line.decode("iso-8859-1").partition(":")
            if not sep or not name.strip():
                self.send_error(HTTPStatus.BAD_REQUEST, "Malformed header line")
                return False
            headers.add(name.strip(), value.strip())
        else:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            return False
        self.headers = headers
        connection = (headers.get("connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        expect = (headers.get("expect") or "").lower()
        if expect == "100-continue" and version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    # -- one request ------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        handlers = self.server.handlers
        wall = time.time()
        arrived = handlers.now()
        raw_path, _, query = self.path.partition("?")
        try:
            body = read_body(self.headers, self.rfile)
        except BadBody as exc:
            self.close_connection = True
            self._send(error_response(400, "InvalidRequest", str(exc)), method)
            return
        headers = self.headers.as_dict()
        request = Request(method, raw_path, query, headers, body)
        if raw_path.startswith(CONTROL_PREFIX):
            self._send(self._safely(handlers.control, request), method)
            return
        auth = handlers.classify_auth(headers.get("authorization"))
        fault = handlers.pick_fault(method, raw_path)
        kind = fault.kind if fault is not None else None
        if kind in ("hang", "close"):
            handlers.record(RequestRecord(arrived, wall, method, raw_path, query, NO_ANSWER, auth, kind))
            if kind == "hang":
                self._hang()
            self._drop()
            return
        if fault is not None and kind == "slow":
            delay = fault.delay if fault.delay is not None else DEFAULT_SLOW_DELAY
            if self.server.stopping.wait(delay):
                handlers.record(RequestRecord(arrived, wall, method, raw_path, query, NO_ANSWER, auth, kind))
                self._drop()
                return
        if fault is None or kind in ("slow", "truncated"):
            response = self._safely(handlers.api, request, auth)
        else:
            response = fault_response(fault, arrived)
        handlers.record(RequestRecord(arrived, wall, method, raw_path, query, response.status, auth, kind))
        self._send(response, method, truncate=kind == "truncated")

    def _safely(self, handler: Callable[..., Response], *args: Any) -> Response:
        try:
            return handler(*args)
        except Exception as exc:
            if self.server.verbose:
                traceback.print_exc(file=sys.stderr)
            return internal_error(exc)

    # -- answers ----------------------------------------------------------------------------

    def _send(self, response: Response, method: str, *, truncate: bool = False) -> None:
        date = http_date(self.server.handlers.now())
        payload = answer_bytes(
            response, date, close=self.close_connection, with_body=method != "HEAD", truncate=truncate
        )
        status = response.status
        try:
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True
            return
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} {method} {self.path} -> {status}\n")
        if truncate:
            self._drop()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests get JSON too, never the standard library's HTML page."""
        self.close_connection = True
        phrase = REASONS.get(code, "Error")
        body = encode_json({"error": phrase.replace(" ", ""), "description": message or phrase})
        self._send(Response(code, body), getattr(self, "command", None) or "GET")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _drop(self) -> None:
        """End the connection without (more of) an answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        _shutdown(self.connection)

    def _hang(self) -> None:
        """Answer nothing until the emulator stops or the client hangs up."""
        sock = self.connection
        while not self.server.stopping.wait(0.05):
            try:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable and not sock.recv(1, socket.MSG_PEEK):
                    return
            except OSError:
                return


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, host: str, port: int, handlers: Handlers, *, verbose: bool = False) -> None:
        self.handlers = handlers
        self.verbose = verbose
        self.stopping = threading.Event()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        if ":" in host:
            self.address_family = socket.AF_INET6
        # Created before binding: a failed bind calls server_close(), which closes them.
        self._wake_reader, self._wake_writer = socket.socketpair()
        super().__init__((host, port), EmulatorRequestHandler)

    def serve(self) -> None:
        """Accept connections until :meth:`wake` is called after ``stopping`` is set.

        Unlike ``serve_forever`` this does not poll: stopping is immediate, which adds up over
        a test suite that starts and stops an emulator per test.
        """
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self.stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._wake_reader or self.stopping.is_set():
                        return
                    self.handle_request()

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up in DNS, which can take seconds; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.verbose:
            super().handle_error(request, client_address)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections[connection] = threading.current_thread()
        if self.stopping.is_set():
            _shutdown(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.pop(connection, None)

    def close_connections(self, timeout: float) -> None:
        """Cut every open connection and give their threads ``timeout`` seconds to end."""
        with self._connections_lock:
            open_connections = list(self._connections.items())
        for connection, _ in open_connections:
            _shutdown(connection)
        deadline = time.monotonic() + timeout
        for _, thread in open_connections:
            thread.join(max(0.0, deadline - time.monotonic()))


def _shutdown(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
