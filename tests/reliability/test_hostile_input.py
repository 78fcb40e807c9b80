"""Hostile input: the exact error a user sees, and not one request sent.

Each value arrives the ways a DAG hands it over: as a literal argument, from an upstream task's
XCom (``XComArg``), through a Jinja template rendered as text or as a native object; and it is
tried at each level: the sync and async hooks, the sensor in every mode, the results operator
waiting, reading once and deferring, and the trigger. Job ids are tried against the emulator,
whose request log proves that nothing reached it; hosts are tried with the network cut off, so
that a request to anywhere would be seen.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG, BaseOperator, task

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusAsyncHook, ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import ZendeskJobResultsOperator
from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor
from airflow_provider_zendesk_jobs.testing import ManualClock, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import triggers_on_clock
from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger
from tests.airflow_compat import AIRFLOW_V_3_3_PLUS
from tests.support.hooks import call_to_the_end, set_connection

pytestmark = pytest.mark.timeout(60)

# -- the messages, exactly as the user reads them -------------------------------------------------------
ID_RULE_TAIL = (
    ": it must be 1 to 128 characters from A-Z, a-z, 0-9, '-' and '_'. Pass the 'id' of the job status a "
    "bulk call returned, not its URL or a list rendered as text with other separators."
)


def bad_id(shown: str, why: str) -> str:
    return f"{shown} is not a valid Zendesk job id ({why}){ID_RULE_TAIL}"


def rendered_non_id(text: str) -> str:
    return (
        f"{text!r} is not a Zendesk job id: it is how a template renders None, a boolean or a number. Check that "
        "the upstream task returns the 'id' of the job status its bulk call returned (e.g. 'V3-0b5a6293...') "
        "and that xcom_pull names that task."
    )


def not_an_id_or_list(value: Any) -> str:
    return (
        f"job_id must be a Zendesk job id or a list of them, got {type(value).__name__} {value!r}. "
        "When it comes from XCom, check that the upstream task returns the job id."
    )


def not_text(value: Any) -> str:
    return (
        f"A Zendesk job id must be text, got {type(value).__name__} {value!r}. "
        "Pass the 'id' of the job status a bulk call returned (e.g. 'V3-0b5a6293...')."
    )


EMPTY_LIST = (
    "The list of Zendesk job ids is empty: there is nothing to wait on. "
    "Check the task that produced the ids (its XCom may be empty)."
)
LONG = "x" * 10_000

#: Text in place of a job id, and the message for it, whether it comes literally, from XCom or from a template.
HOSTILE_ID_TEXT: list[tuple[str, str]] = [
    ("../../api/v2/users", bad_id("'../../api/v2/users'", "it contains '.'")),
    ("V3-a/../../admin", bad_id("'V3-a/../../admin'", "it contains '/'")),
    ("V3-a?ids=V3-b", bad_id("'V3-a?ids=V3-b'", "it contains '?'")),
    ("V3-a#section", bad_id("'V3-a#section'", "it contains '#'")),
    ("V3-a%2F..%2Fusers", bad_id("'V3-a%2F..%2Fusers'", "it contains '%'")),
    ("%2e%2e", bad_id("'%2e%2e'", "it contains '%'")),
    ("V3-\u00e9t\u00e9", bad_id("'V3-\u00e9t\u00e9'", "it contains '\u00e9'")),
    ("V3\u2010abc", bad_id("'V3\u2010abc'", "it contains '\u2010'")),  # a Unicode hyphen
    ("V3-abc\u200b", bad_id("'V3-abc\\u200b'", "it contains '\\u200b'")),  # a zero-width space
    ("\uff36\uff13-abc", bad_id("'\uff36\uff13-abc'", "it contains '\uff36'")),  # full-width letters
    (" V3-abc", bad_id("' V3-abc'", "it contains ' '")),
    ("V3-\nabc", bad_id("'V3-\\nabc'", "it contains '\\n'")),
    ("V3-abc\u00a0", bad_id("'V3-abc\\xa0'", "it contains '\\xa0'")),  # a no-break space
    ("V3-\tabc", bad_id("'V3-\\tabc'", "it contains '\\t'")),
    ("", bad_id("''", "it is empty")),
    (LONG, bad_id(f"'{'x' * 59}... (10002 characters)", "it has 10000 characters, more than 128")),
    ("y" * 129, bad_id(f"'{'y' * 59}... (131 characters)", "it has 129 characters, more than 128")),
    ("None", rendered_non_id("None")),
    ("True", rendered_non_id("True")),
    ("12", rendered_non_id("12")),
    ("-1", rendered_non_id("-1")),
]
ID_TEXT_IDS = [f"id{n}" for n in range(len(HOSTILE_ID_TEXT))]

#: Values an upstream task may return instead of a job id: the message when the value arrives as it is
#: (XComArg, native template) and when a template renders it as text.
NON_STRINGS: list[tuple[Any, str, str]] = [
    (None, not_an_id_or_list(None), rendered_non_id("None")),
    (12, not_an_id_or_list(12), rendered_non_id("12")),
    (3.5, not_an_id_or_list(3.5), bad_id("'3.5'", "it contains '.'")),
    (False, not_an_id_or_list(False), rendered_non_id("False")),
    ([], EMPTY_LIST, EMPTY_LIST),
    ([["V3-a"]], not_text(["V3-a"]), bad_id("\"['V3-a']\"", "it contains '['")),
    ([None], not_text(None), rendered_non_id("None")),
    (["V3-a", 7], not_text(7), rendered_non_id("7")),
    ({"id": "V3-a"}, not_an_id_or_list({"id": "V3-a"}), bad_id("\"{'id': 'V3-a'}\"", "it contains '{'")),
]


# -- building tasks as a DAG author does ----------------------------------------------------------------
class UpstreamReturned:
    """The task instance of a running task, as far as XCom goes: every pull gets what the upstream returned."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **kwargs: Any) -> Any:
        return self.value

    def get_first_reschedule_date(self, context: Any) -> None:
        return None  # the first try of a sensor in reschedule mode


XCOM = object()


TEMPLATE = "{{ ti.xcom_pull(task_ids='start_import') }}"
_dag_numbers = itertools.count()
#: Short waits everywhere: should a value ever get past the checks, the test fails fast instead of waiting.
WAIT: dict[str, Any] = {"poke_interval": 0.01, "timeout": 0.05}
TASKS: dict[str, Callable[..., BaseOperator]] = {
    "sensor poke": lambda job_id: ZendeskJobStatusSensor(task_id="wait", job_id=job_id, **WAIT),
    "sensor reschedule": lambda job_id: ZendeskJobStatusSensor(
        task_id="wait", job_id=job_id, mode="reschedule", **WAIT
    ),
    "sensor deferrable": lambda job_id: ZendeskJobStatusSensor(task_id="wait", job_id=job_id, deferrable=True, **WAIT),
    "results waiting": lambda job_id: ZendeskJobResultsOperator(task_id="read", job_id=job_id, timeout=1),
    "results now": lambda job_id: ZendeskJobResultsOperator(task_id="read", job_id=job_id, wait_for_completion=False),
    "results deferrable": lambda job_id: ZendeskJobResultsOperator(
        task_id="read", job_id=job_id, deferrable=True, timeout=1
    ),
}


def run_task(kind: str, job_id: Any, upstream_value: Any = None, *, native: bool = False) -> None:
    """Build the task in a DAG (``job_id=XCOM`` wires it to an upstream task), render it, execute it."""
    with DAG(
        f"hostile_{next(_dag_numbers)}",
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1),
        render_template_as_native_obj=native,
    ):

        @task
        def start_import() -> Any:
            return upstream_value

        upstream = start_import()
        built = TASKS[kind](upstream if job_id is XCOM else job_id)
    context: Any = {"ti": UpstreamReturned(upstream_value)}
    built.render_template_fields(context)
    now = [1_700_000_000.0]

    def advance(seconds: float) -> float:
        now[0] += seconds
        return now[0]

    with triggers_on_clock(lambda: now[0], advance):
        built.execute(context)


def task_error(kind: str, job_id: Any, upstream_value: Any = None, *, native: bool = False) -> str:
    with pytest.raises(AirflowFailException) as info:
        run_task(kind, job_id, upstream_value, native=native)
    return str(info.value)


def hook_error(call: Callable[[], Any]) -> str:
    with pytest.raises(ZendeskInvalidInputError) as info:
        call_to_the_end(call)
    return str(info.value)


# -- job ids --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "message"), HOSTILE_ID_TEXT, ids=ID_TEXT_IDS)
def test_hostile_job_id_text_fails_every_level_with_the_same_message_and_no_request(
    emulator_at_real_time: ZendeskEmulator, value: str, message: str
) -> None:
    hook = ZendeskJobStatusHook()
    assert hook_error(lambda: hook.get_job_status(value)) == message
    assert hook_error(lambda: hook.get_job_statuses(["V3-fine", value])) == message
    assert hook_error(lambda: hook.get_job_statuses_by_id([value])) == message
    assert hook_error(lambda: ZendeskJobStatusAsyncHook().get_job_status(value)) == message
    assert hook_error(lambda: ZendeskJobStatusAsyncHook().get_job_statuses([value])) == message
    for kind in TASKS:
        assert task_error(kind, value) == message, kind  # the literal argument
        assert task_error(kind, XCOM, value) == message, kind  # an XComArg
        assert task_error(kind, TEMPLATE, value) == message, kind  # a template rendered as text
        assert task_error(kind, [value]) == message, kind  # inside a list
    # The trigger stores what it is given (the triggerer survives only a TypeError there) and says the
    # same thing when its run() checks, naming the argument.
    in_trigger = (
        f"The deferred Zendesk wait cannot start: job_ids: {message.rstrip('.')}. No retry changes a stored "
        "argument: fix the DAG or the provider release, then clear the task."
    )
    assert hook_error(lambda: ZendeskJobStatusTrigger([value]).check_arguments()) == in_trigger
    kwargs = ZendeskJobStatusTrigger(["V3-fine"], poll_interval=5).serialize()[1]
    rebuilt = ZendeskJobStatusTrigger(**{**kwargs, "job_ids": ["V3-fine", value]})
    assert hook_error(rebuilt.check_arguments) == in_trigger
    assert emulator_at_real_time.requests == []


@pytest.mark.parametrize(
    ("value", "native_message", "text_message"), NON_STRINGS, ids=[repr(v) for v, _, _ in NON_STRINGS]
)
def test_non_strings_from_xcom_or_a_template_fail_every_task_with_no_request(
    emulator_at_real_time: ZendeskEmulator, value: Any, native_message: str, text_message: str
) -> None:
    for kind in TASKS:
        assert task_error(kind, XCOM, value) == native_message, kind
        assert task_error(kind, TEMPLATE, value, native=True) == native_message, kind
        assert task_error(kind, TEMPLATE, value) == text_message, kind
        assert task_error(kind, value) == native_message, kind
    assert emulator_at_real_time.requests == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda hook: hook.get_job_status(None), not_text(None)),
        (lambda hook: hook.get_job_status(12), not_text(12)),
        (lambda hook: hook.get_job_status(["V3-a"]), not_text(["V3-a"])),
        (lambda hook: hook.get_job_statuses([]), EMPTY_LIST),
        (lambda hook: hook.get_job_statuses([["V3-a"]]), not_text(["V3-a"])),
        (lambda hook: hook.get_job_statuses(None), "Expected a list of Zendesk job ids, got NoneType None."),
        (lambda hook: hook.get_job_statuses("V3-a"), "Expected a list of Zendesk job ids, got str 'V3-a'."),
        (lambda hook: hook.get_job_statuses([12]), not_text(12)),
    ],
    ids=["none", "number", "list", "empty", "nested", "none-list", "text-list", "number-in-list"],
)
def test_non_strings_at_the_hooks_fail_with_no_request(
    emulator_at_real_time: ZendeskEmulator, call: Callable[[Any], Any], message: str
) -> None:
    assert hook_error(lambda: call(ZendeskJobStatusHook())) == message
    assert hook_error(lambda: call(ZendeskJobStatusAsyncHook())) == message
    assert emulator_at_real_time.requests == []


def test_the_same_tasks_with_a_real_id_do_reach_zendesk(emulator_at_real_time: ZendeskEmulator) -> None:
    """The control for the tests above: the request log does see what a valid id sends."""
    job_id = emulator_at_real_time.create_job(count=1, work_seconds=1)
    emulator_at_real_time.advance(10)
    run_task("results now", XCOM, job_id)
    run_task("sensor poke", TEMPLATE, job_id)
    assert emulator_at_real_time.request_count("/api/v2/job_statuses/show_many") == 2


@pytest.mark.timeout(120)
@pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS,
    reason="dag.test() of Airflow before 3.3 leaves the task's exception out of the on_failure_callback's "
    "context, where this test reads it; test_faults_* cover the same inputs through execute()",
)
def test_airflow_s_own_task_runner_fails_hostile_values_for_good_without_a_request(
    airflow_db: Path, emulator_at_real_time: ZendeskEmulator
) -> None:
    """``dag.test()``: the real XCom and templating path, task retries set, the exception the task saw."""
    from tests.support.dag_runs import run_dag

    values: dict[str, Any] = {"none": None, "number": 12, "empty": [], "nested": [["V3-a"]], "path": "../admin"}
    expected = {
        "wait_none": not_an_id_or_list(None),
        "read_none": rendered_non_id("None"),
        "wait_number": not_an_id_or_list(12),
        "read_number": rendered_non_id("12"),
        "wait_empty": EMPTY_LIST,
        "read_empty": EMPTY_LIST,
        "wait_nested": not_text(["V3-a"]),
        "read_nested": bad_id("\"['V3-a']\"", "it contains '['"),
        "wait_path": bad_id("'../admin'", "it contains '.'"),
        "read_path": bad_id("'../admin'", "it contains '.'"),
    }
    seen: dict[str, tuple[str, str]] = {}

    def record(context: Any) -> None:
        error = context["exception"]
        seen[context["ti"].task_id] = (type(error).__name__, str(error))

    with DAG("zd_hostile_job_ids", schedule=None, start_date=pendulum.datetime(2024, 1, 1)) as dag:
        for name, value in values.items():

            @task(task_id=f"start_{name}")
            def start_import(value: Any = value) -> Any:
                return value

            upstream = start_import()
            ZendeskJobStatusSensor(
                task_id=f"wait_{name}", job_id=upstream, retries=2, on_failure_callback=record, **WAIT
            )
            reader = ZendeskJobResultsOperator(
                task_id=f"read_{name}",
                job_id=f"{{{{ ti.xcom_pull(task_ids='start_{name}') }}}}",
                retries=2,
                timeout=1,
                on_failure_callback=record,
            )
            upstream >> reader
    result = run_dag(dag)
    assert {task_id: state for task_id, state in result["tasks"].items() if task_id in expected} == dict.fromkeys(
        expected, "failed"
    )  # failed for good: not up for retry although every task has retries
    assert seen == {task_id: ("AirflowFailException", message) for task_id, message in expected.items()}
    assert emulator_at_real_time.requests == []


# -- submit_job endpoints -------------------------------------------------------------------------------
def refused_endpoint(endpoint: str) -> str:
    return (
        f"submit_job endpoint {endpoint!r} is refused: give a path under /api/v2/ on the connection's own host, "
        "such as '/api/v2/tickets/create_many' (no full URL, no '..', no encoded characters)."
    )


REFUSED_ENDPOINTS = [
    "https://evil.example.com/api/v2/tickets/create_many",
    "http://127.0.0.1:1/api/v2/tickets/create_many",
    "//evil.example.com/api/v2/tickets/create_many",
    "/api/v1/tickets/create_many",
    "/oauth/tokens",
    "/api/v2",
    "/API/V2/tickets/create_many",
    "/api/v2/../../oauth/tokens",
    "/api/v2/./tickets/create_many",
    "/api/v2/tickets/create_many#fragment",
    "/api/v2/tickets/%2e%2e/%2e%2e/oauth/tokens",
    "/api/v2%2ftickets/create_many",
    "/api/v2/tickets\\..\\..\\oauth",
    "/api/v2/tickets/create many",
    "/api/v2/tickets/create_many\r\nX-Injected: 1",
    "/api/v2/tickets/create_many\x00",
    "/api/v2/t\u00efckets/create_many",
    "/api/v2/tickets/destroy_many?ids=1&next=https://evil.example.com",
]


@pytest.mark.parametrize("endpoint", REFUSED_ENDPOINTS)
def test_submit_job_endpoints_outside_api_v2_are_refused_with_no_request(
    emulator_at_real_time: ZendeskEmulator, endpoint: str
) -> None:
    hook = ZendeskJobStatusHook()
    with pytest.raises(ZendeskInvalidInputError) as info:
        hook.submit_job("POST", endpoint, {"tickets": [{"subject": "x"}]})
    assert str(info.value) == refused_endpoint(endpoint)
    assert emulator_at_real_time.requests == []


@pytest.mark.parametrize(
    ("method", "endpoint", "message"),
    [
        ("GET", "/api/v2/tickets/create_many", "submit_job method must be one of DELETE, PATCH, POST, PUT, got 'GET'."),
        (None, "/api/v2/tickets/create_many", "submit_job method must be one of DELETE, PATCH, POST, PUT, got None."),
        (
            "POST",
            None,
            "submit_job endpoint must be a path such as '/api/v2/tickets/create_many', got None.",
        ),
        ("POST", "", "submit_job endpoint must be a path such as '/api/v2/tickets/create_many', got ''."),
    ],
)
def test_submit_job_methods_and_non_string_endpoints_are_refused(
    emulator_at_real_time: ZendeskEmulator, method: Any, endpoint: Any, message: str
) -> None:
    with pytest.raises(ZendeskInvalidInputError) as info:
        ZendeskJobStatusHook().submit_job(method, endpoint, {})
    assert str(info.value) == message
    assert emulator_at_real_time.requests == []


@pytest.mark.parametrize("endpoint", REFUSED_ENDPOINTS)
def test_a_bulk_operator_with_such_an_endpoint_is_refused_when_the_dag_is_parsed(endpoint: str) -> None:
    """The operator's endpoint= is checked by the same rule as submit_job's, before any record is read."""
    with pytest.raises(ZendeskInvalidInputError) as info:
        ZendeskBulkJobOperator(task_id="t", method="POST", endpoint=endpoint, payload_key="tickets", records=[{}])
    assert str(info.value) == refused_endpoint(endpoint).removeprefix("submit_job ")


def test_a_bulk_operator_with_a_method_submit_job_refuses_is_refused_when_the_dag_is_parsed() -> None:
    with pytest.raises(ZendeskInvalidInputError) as info:
        ZendeskBulkJobOperator(task_id="t", method="GET", endpoint="/api/v2/tickets/create_many", records=[{}])
    assert str(info.value) == "method must be one of DELETE, PATCH, POST, PUT, got 'GET'."


def test_a_path_under_api_v2_is_sent_to_the_connection_s_host(emulator_at_real_time: ZendeskEmulator) -> None:
    """The control: a bulk call under /api/v2/ does reach the account (a leading '/' may be left out)."""
    job = ZendeskJobStatusHook().submit_job("post", "api/v2/tickets/create_many", {"tickets": [{"subject": "a"}]})
    assert job.status == "queued"
    assert [(r.method, r.path) for r in emulator_at_real_time.requests] == [("POST", "/api/v2/tickets/create_many")]


# -- hosts ----------------------------------------------------------------------------------------------
def refused_host(shown: str, why: str) -> str:
    return (
        f"The connection's host {shown!r} cannot be used: {why}. Set it to the Zendesk subdomain ('acme'), "
        "'acme.zendesk.com' or 'https://acme.zendesk.com'."
    )


USER_NAME = "it contains a user name ('user@host'); credentials belong in login/password"
PLAIN_HTTP = "plain http:// is only allowed for a loopback host such as the local emulator"
HOSTS: list[tuple[str, str]] = [
    ("user@evil.com", refused_host("***@evil.com", "a bare host name may not contain '/', '@', '?' or '#'")),
    ("https://user@evil.com", refused_host("https://***@evil.com", USER_NAME)),
    ("https://agent:hunter2-secret@acme.zendesk.com", refused_host("https://***@acme.zendesk.com", USER_NAME)),
    ("https://acme.zendesk.com@evil.com", refused_host("https://***@evil.com", USER_NAME)),
    ("https://acme.zendesk.com\\@evil.com", refused_host("https://***@evil.com", USER_NAME)),
    ("https://agent:pa/ss@acme.zendesk.com", refused_host("https://***@acme.zendesk.com", USER_NAME)),
    ("http://acme.zendesk.com", refused_host("http://acme.zendesk.com", PLAIN_HTTP)),
    ("http://10.0.0.1:8080", refused_host("http://10.0.0.1:8080", PLAIN_HTTP)),
    ("http://localhost.evil.com", refused_host("http://localhost.evil.com", PLAIN_HTTP)),
    ("http://127.0.0.1.nip.io", refused_host("http://127.0.0.1.nip.io", PLAIN_HTTP)),
    ("http://[::ffff:127.0.0.1]:8", refused_host("http://[::ffff:127.0.0.1]:8", PLAIN_HTTP)),
    ("ftp://acme.zendesk.com", refused_host("ftp://acme.zendesk.com", "the scheme 'ftp' is not supported, only https")),
    ("file:///etc/passwd", refused_host("file:///etc/passwd", "the scheme 'file' is not supported, only https")),
    ("ws://acme.zendesk.com", refused_host("ws://acme.zendesk.com", "the scheme 'ws' is not supported, only https")),
    (
        "javascript:alert(1)",
        refused_host(
            "javascript:alert(1)", "it is not a valid URL (Port could not be cast to integer value as 'alert(1)')"
        ),
    ),
    ("https://evil.com?.zendesk.com", refused_host("https://evil.com?.zendesk.com", "it has a query or fragment")),
    (
        "https://acme.zendesk.com/api/v2/../../x",
        refused_host(
            "https://acme.zendesk.com/api/v2/../../x",
            "it has the path '/api/v2/../../x'; give the account's address only",
        ),
    ),
]


class NetworkGuard:
    """Records, and refuses, every name lookup and connection attempt while installed."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def refuse(what: str) -> Callable[..., Any]:
            def attempt(*args: Any, **kwargs: Any) -> Any:
                self.attempts.append(f"{what} {args[1:2] if what == 'connect' else args[:1]}")
                raise OSError(f"network access in a test that must not send anything ({what})")

            return attempt

        monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
        monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
        monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
        monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect"))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> NetworkGuard:
    guard = NetworkGuard()
    guard.install(monkeypatch)
    return guard


def conn_with_host(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    set_connection(monkeypatch, host=host, login="agent@example.com", password="api-token-secret-1")


@pytest.mark.parametrize(("host", "message"), HOSTS, ids=[h for h, _ in HOSTS])
def test_hosts_that_could_send_credentials_elsewhere_are_refused_before_any_connection(
    monkeypatch: pytest.MonkeyPatch, no_network: NetworkGuard, host: str, message: str
) -> None:
    conn_with_host(monkeypatch, host)
    assert hook_error(lambda: ZendeskJobStatusHook().get_job_status("V3-a")) == message
    assert hook_error(lambda: ZendeskJobStatusHook().submit_job("POST", "/api/v2/tickets/create_many", {})) == message
    assert hook_error(lambda: ZendeskJobStatusAsyncHook().get_job_statuses(["V3-a"])) == message
    assert ZendeskJobStatusHook().test_connection() == (False, message)
    for kind in TASKS:
        assert task_error(kind, "V3-a") == message, kind
    assert no_network.attempts == []
    assert "hunter2" not in message and "pa/ss" not in message


@pytest.mark.parametrize(("host", "message"), HOSTS[2:4] + HOSTS[6:7], ids=["userinfo", "confusion", "http"])
async def test_a_deferred_wait_on_a_refused_host_ends_with_the_same_message(
    monkeypatch: pytest.MonkeyPatch, no_network: NetworkGuard, host: str, message: str
) -> None:
    """A triggerer whose connection was changed after deferral: the wait ends, the task fails for good."""
    conn_with_host(monkeypatch, host)
    clock = ManualClock()
    with triggers_on_clock(clock.now, clock.advance):
        event = await anext(ZendeskJobStatusTrigger(["V3-a"], poll_interval=5).run())
    assert event.payload["status"] == "error"
    assert event.payload["error_type"] == "ZendeskInvalidInputError"
    assert event.payload["message"] == message
    sensor = ZendeskJobStatusSensor(task_id="wait", job_id="V3-a", deferrable=True, poke_interval=5)
    with pytest.raises(AirflowFailException) as info:
        sensor.execute_complete({}, event.payload)
    assert str(info.value) == message
    assert no_network.attempts == []


def test_the_network_guard_sees_an_attempt_to_a_valid_host(
    monkeypatch: pytest.MonkeyPatch, no_network: NetworkGuard
) -> None:
    """The control for the host tests: with a valid host the hooks do try to connect, and the guard sees it."""
    conn_with_host(monkeypatch, "https://acme.zendesk.com")
    ok, _ = ZendeskJobStatusHook(retry_limit=1).test_connection()
    assert not ok
    assert no_network.attempts and no_network.attempts[0].startswith("getaddrinfo ('acme.zendesk.com',)")
