"""No credential leaves the provider, on any path, and credentials go only to the connection's own host.

One driver runs every path a credential could leak through, for each auth mode, against the
emulator over loopback with every logger at DEBUG (``requests``, ``urllib3``, ``httpx`` and
``httpcore`` included): reads, bulk calls and listing with the sync and async hooks; retries after
429, 5xx, HTML pages, cut and malformed bodies and closed connections; every error class; an
OAuth token renewed mid-way; the sensor in poke and deferrable mode with its trigger serialised,
rebuilt and run; the results and audit operators; templated fields rendered from XCom. It then
looks for every secret (and for a 10-character piece of each, which would catch a cut excerpt)
in the logs, the exception texts, the XCom values, the rendered fields, the trigger's serialised
form and event, and the ``repr`` of every object involved. ``tests/unit/test_secrets_and_provider.py``
covers the same promise for the sync hook alone, on requests-mock.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import http.server
import json
import logging
import threading
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import pendulum
import pytest
import structlog
from airflow.providers.common.compat.sdk import AirflowException
from airflow.sdk import DAG, task
from structlog.testing import capture_logs

from airflow_provider_zendesk_jobs.api.auth import OAuthTokenCache
from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskAuthError,
    ZendeskInvalidInputError,
    ZendeskJobsError,
    ZendeskNotFoundError,
    ZendeskRateLimitError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)
from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusAsyncHook, ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import (
    ZendeskJobResultsOperator,
    ZendeskJobStatusAuditOperator,
)
from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor
from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator, timeline
from airflow_provider_zendesk_jobs.testing.timeline import triggers_on_clock
from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger
from tests.airflow_compat import TaskDeferred
from tests.support.hooks import call_to_the_end, set_connection

pytestmark = pytest.mark.timeout(120)

EMAIL = "agent@example.com"
API_TOKEN = "Wq81LrTz3vB7nKp0aYd6"
OAUTH_TOKEN = "Hx73PkMe5cQ2sVj9bLw4"
CLIENT_ID = "reporting-client"
CLIENT_SECRET = "Mv52TjRf8gZ1hNc6uXk3"
WRONG_SECRET = "Ns44QaEy7iOb2wGt5mJr"
HOST_PASSWORD = "Pd19XsUv6kCn3rFh8qBz"
BASIC = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
WRONG_BASIC = base64.b64encode(f"{EMAIL}/token:{WRONG_SECRET}".encode()).decode()
FIXED_SECRETS = [API_TOKEN, OAUTH_TOKEN, CLIENT_SECRET, WRONG_SECRET, HOST_PASSWORD, BASIC, WRONG_BASIC]


def credentials(mode: str, secret: str) -> dict[str, Any]:
    """The connection fields of each auth mode, with ``secret`` where the credential goes."""
    fields: dict[str, dict[str, Any]] = {
        "api_token": {"login": EMAIL, "extra": {"token": secret, "use_token": True}},
        "password": {"login": EMAIL, "password": secret},
        "oauth_token": {"extra": {"oauth_token": secret}},
        "client_credentials": {"extra": {"client_id": CLIENT_ID, "client_secret": secret}},
    }
    return fields[mode]


MODES = {
    "api_token": API_TOKEN,
    "password": API_TOKEN,
    "oauth_token": OAUTH_TOKEN,
    "client_credentials": CLIENT_SECRET,
}
#: How the emulator saw each mode's requests to /api/v2.
AUTH_SEEN = {
    "api_token": "basic",
    "password": "basic",
    "oauth_token": "bearer",
    "client_credentials": "oauth-client-token",
}
NETWORK_LOGGERS = ("requests", "urllib3", "httpx", "httpcore")


#: The plugin's emulator with the secrets above, so a leak of any of them shows.
ACCOUNT: dict[str, Any] = {
    "email": EMAIL,
    "api_token": API_TOKEN,
    "oauth_token": OAUTH_TOKEN,
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "oauth_token_ttl": 600,
    "max_active_jobs": 10_000,
}


@pytest.fixture
def emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    emulator: ZendeskEmulator = zendesk_emulator_factory(**ACCOUNT)
    return emulator


@pytest.fixture
def elsewhere(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    """Another origin: any request it logs is one that left the connection's host."""
    emulator: ZendeskEmulator = zendesk_emulator_factory(**ACCOUNT)
    return emulator


@pytest.fixture
def issued_tokens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every access token the hooks received from /oauth/tokens (secrets too, once issued)."""
    tokens: list[str] = []
    store = OAuthTokenCache.store

    def recording_store(self: OAuthTokenCache, body: Any, now: float) -> str:
        token = store(self, body, now)
        tokens.append(token)
        return token

    monkeypatch.setattr(OAuthTokenCache, "store", recording_store)
    return tokens


class Seen:
    """Everything a person or another system could read: logs, errors, XCom, fields, serialised triggers."""

    def __init__(self, caplog: pytest.LogCaptureFixture, events: list[MutableMapping[str, Any]]) -> None:
        self.caplog = caplog
        self.events = events
        self.texts: list[str] = []
        self.errors: list[type[BaseException]] = []

    def add(self, *values: Any) -> None:
        for value in values:
            self.texts.append(value if isinstance(value, str) else json.dumps(value, default=repr))
            self.texts.append(repr(value))

    def error(self, call: Callable[[], Any], expected: type[BaseException]) -> BaseException:
        """Run ``call``, which must raise ``expected``; keep its text and repr, and its cause's."""
        with pytest.raises(expected) as info:
            call_to_the_end(call)
        error = info.value
        self.errors.append(type(error))
        self.add(str(error), repr(error), str(error.__cause__ or ""), str(error.__context__ or ""))
        return error

    def everything(self) -> str:
        logs = "\n".join(f"{record.getMessage()} {record.exc_text or ''}" for record in self.caplog.records)
        return "\n".join([self.caplog.text, logs, *map(str, self.events), *self.texts])


@pytest.fixture
def seen(caplog: pytest.LogCaptureFixture) -> Iterator[Seen]:
    """DEBUG for every stdlib logger (the HTTP clients' included) and for Airflow's structlog loggers."""
    config = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    caplog.set_level(logging.DEBUG)
    for name in ("airflow", "airflow.task", "airflow_provider_zendesk_jobs", *NETWORK_LOGGERS):
        caplog.set_level(logging.DEBUG, logger=name)
    try:
        with capture_logs() as events:
            yield Seen(caplog, events)
    finally:
        structlog.configure(wrapper_class=config["wrapper_class"])


class XComOf:
    """The XCom side of a running task instance: every pull returns what the upstream task returned."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **kwargs: Any) -> Any:
        return self.value


def on_clock(emu: ZendeskEmulator, hook_class: type[Any], *args: Any) -> Any:
    """A hook whose sleeps move the emulator's clock: retries and Retry-After cost no real time."""
    if hook_class is ZendeskJobStatusAsyncHook:

        async def sleep(seconds: float) -> None:
            emu.advance(seconds)

        return hook_class(*args, clock=emu.clock.now, sleep=sleep)
    return hook_class(*args, clock=emu.clock.now, sleep=emu.advance)


def finish(emu: ZendeskEmulator, *job_ids: str) -> None:
    emu.advance(max(0.0, max(emu.finish_time(job_id) for job_id in job_ids) - emu.clock.now()) + 1)


UPDATE_MANY = "/api/v2/tickets/update_many"
UPDATE = {"tickets": [{"id": 1, "status": "solved"}]}


# -- the driver -----------------------------------------------------------------------------------------
def drive_hooks(emu: ZendeskEmulator, seen: Seen, mode: str) -> str:
    """The sync hook: a bulk call, reads, listing, every retry and every error. Returns a finished job's id."""
    hook = on_clock(emu, ZendeskJobStatusHook)
    job = hook.submit_job(
        "POST", "/api/v2/imports/tickets/create_many", {"tickets": [{"subject": "one"}, {"subject": "FAIL two"}]}
    )
    for kind in ("rate_limit", "server_error", "html_error", "malformed_json", "truncated", "close"):
        emu.add_fault(Fault(kind, count=1, retry_after=2 if kind == "rate_limit" else None))
        seen.add(hook.get_job_status(job.id).to_dict())
    finish(emu, job.id)
    emu.expire_tokens()  # an issued OAuth token dies mid-way: renewed once, the read goes on
    seen.add([status.to_dict() for status in hook.get_job_statuses([job.id])])
    emu.store_settings.listed_jobs = 1000  # an account listing more than Zendesk's usual 100: two pages
    for n in range(120):
        emu.create_job(count=1, work_seconds=n)
    assert len(list(hook.list_job_statuses())) >= 121
    seen.add(hook.test_connection())

    errors: list[tuple[Fault | None, Callable[[], Any], type[ZendeskJobsError]]] = [
        (Fault("not_found"), lambda: hook.get_job_status(job.id), ZendeskNotFoundError),
        (Fault("server_error", status=401), lambda: hook.get_job_status(job.id), ZendeskAuthError),
        (Fault("server_error", status=403), lambda: hook.get_job_status(job.id), ZendeskAuthError),
        (Fault("server_error", status=400), lambda: hook.get_job_status(job.id), ZendeskResponseError),
        (Fault("rate_limit", retry_after=1), lambda: hook.get_job_status(job.id), ZendeskRateLimitError),
        (Fault("rate_limit", retry_after=3600), lambda: hook.get_job_status(job.id), ZendeskRateLimitError),
        (Fault("html_error"), lambda: hook.get_job_statuses([job.id]), ZendeskUnavailableError),
        (Fault("close"), lambda: hook.get_job_status(job.id), ZendeskUnavailableError),
        (Fault("malformed_json"), lambda: list(hook.list_job_statuses()), ZendeskResponseError),
        (Fault("close", method="PUT"), lambda: hook.submit_job("PUT", UPDATE_MANY, UPDATE), ZendeskUnavailableError),
        (None, lambda: hook.get_job_status("../users"), ZendeskInvalidInputError),
    ]
    if mode == "client_credentials":  # the token endpoint's own faults
        for fault in (
            Fault("malformed_json", path_prefix="/oauth/tokens"),
            Fault("truncated", path_prefix="/oauth/tokens"),
        ):
            errors.append((fault, lambda: on_clock(emu, ZendeskJobStatusHook).get_job_status(job.id), ZendeskJobsError))
    for switched_on, call, expected in errors:
        if switched_on is not None:
            emu.add_fault(switched_on)
        seen.error(call, expected)
        emu.clear_faults()
    ok, message = hook.test_connection()
    assert ok
    seen.add(
        message, repr(hook), repr(vars(hook)), repr(hook.settings), repr(hook.settings.auth), repr(vars(hook._flow))
    )
    hook.close()
    return str(job.id)


def drive_async_hook(emu: ZendeskEmulator, seen: Seen, job_id: str) -> None:
    async def run() -> None:
        hook = on_clock(emu, ZendeskJobStatusAsyncHook)
        emu.add_fault(Fault("html_error", count=1))
        seen.add((await hook.get_job_status(job_id)).to_dict())
        seen.add([s.to_dict() for s in await hook.get_job_statuses([job_id])])
        seen.add(len([job async for job in hook.list_job_statuses(limit=150)]))
        for fault, expected in (
            (Fault("server_error", status=401), ZendeskAuthError),
            (Fault("close"), ZendeskUnavailableError),
        ):
            emu.add_fault(fault)
            with pytest.raises(expected) as info:
                await hook.get_job_status(job_id)
            seen.errors.append(expected)
            seen.add(str(info.value), repr(info.value))
            emu.clear_faults()
        seen.add(repr(hook), repr(vars(hook)), repr(await hook.aget_settings()))
        await hook.aclose()

    asyncio.run(run())


def drive_tasks(emu: ZendeskEmulator, seen: Seen) -> None:
    """The sensor and the operators as a DAG author builds them, fed from XCom, in every waiting mode."""
    records = [{"subject": "one"}, {"subject": "FAIL two"}]
    done = emu.create_job("tickets_import", records=records, work_seconds=5)
    running = emu.create_job("tickets_import", records=records, work_seconds=600)
    killed = emu.create_job(count=2, work_seconds=5, outcome="killed")
    finish(emu, done, killed)
    template = "{{ ti.xcom_pull(task_ids='start_import') }}"
    with DAG("zd_secrets", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):

        @task
        def start_import() -> str:
            return done

        upstream = start_import()
        sensor = timeline.on_clock(ZendeskJobStatusSensor, emu.clock.now, emu.advance)
        results = timeline.on_clock(ZendeskJobResultsOperator, emu.clock.now, emu.advance)
        tasks: dict[str, Any] = {
            "poke": sensor(task_id="poke", job_id=template, poke_interval=5),
            "defer": sensor(task_id="defer", job_id=upstream, deferrable=True, poke_interval=5),
            "read": results(task_id="read", job_id=upstream, poll_interval=5),
            "read_deferred": results(task_id="read_d", job_id=template, deferrable=True),
            "killed": sensor(task_id="killed", job_id=[killed], poke_interval=5),
            "audit": ZendeskJobStatusAuditOperator(task_id="audit", fail_on_failed_jobs=True),
        }
    values = {"poke": done, "defer": running, "read": done, "read_deferred": running, "killed": killed}
    for name, built in tasks.items():
        context: Any = {"ti": XComOf(values.get(name))}
        built.render_template_fields(context)
        seen.add({field: getattr(built, field) for field in built.template_fields}, repr(built))
        if name in ("killed", "audit"):
            seen.error(functools.partial(built.execute, context), AirflowException)
            continue
        try:
            seen.add(built.execute(context))
            continue
        except TaskDeferred as deferred:
            trigger = deferred.trigger
        classpath, kwargs = trigger.serialize()
        seen.add(classpath, kwargs, repr(trigger))
        rebuilt = ZendeskJobStatusTrigger(**json.loads(json.dumps(kwargs)))  # as the triggerer stores and rebuilds it

        async def run_trigger(rebuilt: ZendeskJobStatusTrigger = rebuilt) -> dict[str, Any]:
            with triggers_on_clock(emu.clock.now, emu.advance):
                return (await anext(rebuilt.run())).payload  # type: ignore[no-any-return]

        payload = asyncio.run(run_trigger())
        assert payload["status"] == "success"
        seen.add(payload, repr(rebuilt))
        seen.add(built.execute_complete(context, payload))


def drive_refused(emu: ZendeskEmulator, seen: Seen, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrong credentials, and the credential put into the host: refused, and still not shown."""
    set_connection(monkeypatch, "zendesk_wrong", host=emu.url, **credentials(mode, WRONG_SECRET))
    hook = on_clock(emu, ZendeskJobStatusHook, "zendesk_wrong")
    seen.error(lambda: hook.get_job_status("V3-a"), ZendeskAuthError)
    seen.add(hook.test_connection())
    seen.error(
        lambda: on_clock(emu, ZendeskJobStatusAsyncHook, "zendesk_wrong").get_job_status("V3-a"), ZendeskAuthError
    )

    async def wrong_trigger() -> dict[str, Any]:
        with triggers_on_clock(emu.clock.now, emu.advance):
            return (await anext(ZendeskJobStatusTrigger(["V3-a"], "zendesk_wrong", 5).run())).payload  # type: ignore[no-any-return]

    event = asyncio.run(wrong_trigger())
    assert event["error_type"] == "ZendeskAuthError"
    seen.add(event)
    sensor = ZendeskJobStatusSensor(task_id="w", job_id="V3-a", zendesk_conn_id="zendesk_wrong", poke_interval=5)
    seen.error(lambda: sensor.execute_complete({}, event), AirflowException)

    host = emu.url.replace("http://", f"http://{EMAIL.replace('@', '%40')}:{HOST_PASSWORD}@")
    set_connection(monkeypatch, "zendesk_userinfo", host=host, **credentials(mode, MODES[mode]))
    seen.error(lambda: ZendeskJobStatusHook("zendesk_userinfo").get_job_status("V3-a"), ZendeskInvalidInputError)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_no_credential_in_logs_errors_xcom_fields_or_serialised_triggers(
    mode: str,
    emulator: ZendeskEmulator,
    issued_tokens: list[str],
    seen: Seen,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_connection(monkeypatch, host=emulator.url, **credentials(mode, MODES[mode]))
    job_id = drive_hooks(emulator, seen, mode)
    drive_async_hook(emulator, seen, job_id)
    drive_tasks(emulator, seen)
    drive_refused(emulator, seen, mode, monkeypatch)

    # The driver really went everywhere: every error class, both HTTP clients at DEBUG, the mode's credentials.
    assert {ZendeskNotFoundError, ZendeskAuthError, ZendeskResponseError, ZendeskRateLimitError} <= set(seen.errors)
    assert {ZendeskUnavailableError, ZendeskInvalidInputError} <= set(seen.errors)
    debug_from = {r.name.split(".")[0] for r in seen.caplog.records if r.levelno == logging.DEBUG}
    assert {"urllib3", "httpcore"} <= debug_from
    assert any(r.levelno == logging.WARNING and "Retrying" in r.getMessage() for r in seen.caplog.records)
    assert AUTH_SEEN[mode] in {r.auth for r in emulator.requests if r.path.startswith("/api/v2")}
    if mode == "client_credentials":
        assert len(issued_tokens) >= 3  # the first token, its renewal after expiry, and after each invalidation

    everything = seen.everything()
    for secret in [*FIXED_SECRETS, *issued_tokens]:
        for piece in {secret, secret[-10:], *([] if secret in (BASIC, WRONG_BASIC) else [secret[:10]])}:
            assert piece not in everything, f"a credential ({piece[:3]}...) leaked"


# -- only the connection's own host ---------------------------------------------------------------------
class Redirector:
    """A loopback server standing for the connection's host: it answers every request with a redirect."""

    def __init__(self, status: int, target: str) -> None:
        self.received: list[tuple[str, str]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _redirect(self) -> None:
                owner.received.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(status)
                self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_DELETE = _redirect

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Redirector:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("mode", sorted(MODES))
def test_redirects_and_foreign_page_links_never_receive_credentials(
    mode: str, emulator: ZendeskEmulator, elsewhere: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Redirects: the connection's host answers 30x towards another origin; nothing follows.
    first = "POST /oauth/tokens" if mode == "client_credentials" else "GET /api/v2/job_statuses/V3-a"
    for status in (301, 302, 303, 307, 308):
        with Redirector(status, elsewhere.url) as redirector:
            set_connection(monkeypatch, host=redirector.url, **credentials(mode, MODES[mode]))
            for hook in (ZendeskJobStatusHook(retry_limit=1), ZendeskJobStatusAsyncHook(retry_limit=1)):
                with pytest.raises(ZendeskResponseError) as info:
                    call_to_the_end(functools.partial(hook.get_job_status, "V3-a"))
                assert str(info.value) == (
                    f"Zendesk redirected {first} (status {status}) elsewhere; credentials are never sent to another "
                    "address. Set the connection's host to the account's own https://<subdomain>.zendesk.com."
                )
        assert len(redirector.received) == 2
    # Page links: the job list points its next page at another origin.
    set_connection(monkeypatch, host=emulator.url, **credentials(mode, MODES[mode]))
    emulator.store_settings.listed_jobs = 1000  # more than one page to list
    for n in range(101):
        emulator.create_job(count=1, work_seconds=n)
    emulator.next_link_base = elsewhere.url
    emulator.pagination_style = "cursor"  # the cursor lets the provider ask its own host for the same page
    assert len(list(on_clock(emulator, ZendeskJobStatusHook).list_job_statuses())) == 101
    assert len(call_to_the_end(on_clock(emulator, ZendeskJobStatusAsyncHook).list_job_statuses)) == 101
    emulator.pagination_style = "offset"  # a bare foreign link: refused, not followed
    for reader in (ZendeskJobStatusHook(), ZendeskJobStatusAsyncHook()):
        with pytest.raises(ZendeskResponseError, match="points its next page at another address"):
            list(call_to_the_end(reader.list_job_statuses))
    assert elsewhere.requests == []
    assert emulator.request_count("/api/v2/job_statuses") >= 6
