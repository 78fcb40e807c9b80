"""What the fault tests share: the faults, an emulator on a manual clock, and every way of waiting run on it.

Time only moves on the emulator's clock. Hooks sleep by moving it, the sensor's poke loop and the
triggerer's poller too, and a test schedules the account's misbehaviour at clock times
(:class:`Schedule`: "at +10 s it starts answering 503"), so every assertion about time is exact and
the request log says when each request left. Only a hang costs real time: the connection's
``timeout`` extra cuts it after :data:`HANG_TIMEOUT` seconds.

Each way of waiting is run the way Airflow runs it: a fresh operator per try in reschedule mode and
on resuming from the triggerer, the trigger rebuilt from its serialised form.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskJobsError,
    ZendeskRateLimitError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)
from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusAsyncHook, ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import ZendeskJobResultsOperator
from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor
from airflow_provider_zendesk_jobs.testing import Fault, ManualClock, RequestRecord, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import on_clock, triggers_on_clock
from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger
from tests.airflow_compat import AirflowRescheduleException, AirflowTaskTerminated, TaskDeferred
from tests.support.triggers import event_of
from tests.support.zendesk_paths import SHOW_MANY, TOKENS

#: The read timeout of the connection in the hang tests: each hang costs this much real time.
HANG_TIMEOUT = 0.3


# -- the faults ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FaultCase:
    """One way Zendesk or the network misbehaves, and the provider error once the retry budget is spent."""

    name: str
    kind: str
    error: type[ZendeskJobsError]
    #: The status code the give-up carries (None when no complete answer arrived).
    status: int | None
    #: What the give-up message quotes: an excerpt of the body, or the transport failure.
    says: str
    options: dict[str, Any] = field(default_factory=dict)

    def fault(self, count: int | None = None, path_prefix: str = SHOW_MANY) -> Fault:
        return Fault(self.kind, count=count, path_prefix=path_prefix, **self.options)

    @property
    def retry_after(self) -> float | None:
        value = self.options.get("retry_after")
        return float(value) if value is not None else None

    @property
    def burst(self) -> int:
        """Faulty answers in a row that a budget of five attempts still absorbs (a hang costs real time: one)."""
        return 1 if self.kind == "hang" else 4

    @property
    def transient(self) -> bool:
        """Every waiter, a poke as a deferred wait, treats the give-up as "no answer yet" (``exceptions.is_transient``):
        a rate limit, an outage, and a body that is not JSON (an edge proxy's cut or garbled answer)."""
        return self.error in (ZendeskRateLimitError, ZendeskUnavailableError) or self.kind == "malformed_json"


FAULTS = [
    FaultCase("429-retry-after-seconds", "rate_limit", ZendeskRateLimitError, 429, "APIRateLimitExceeded",
              {"retry_after": 7}),
    FaultCase("429-retry-after-http-date", "rate_limit", ZendeskRateLimitError, 429, "APIRateLimitExceeded",
              {"retry_after": 30, "retry_after_http_date": True}),
    FaultCase("5xx", "server_error", ZendeskUnavailableError, 503, '{"error":"ServiceUnavailable"'),
    FaultCase("html-error-page", "html_error", ZendeskUnavailableError, 502,
              "502: Bad gateway Error 502 Bad gateway The web server reported a gateway error."),
    FaultCase("malformed-body", "malformed_json", ZendeskResponseError, 200, '{"job_status": {"id": "V3-'),
    FaultCase("truncated-body", "truncated", ZendeskUnavailableError, None,
              "the connection closed before the whole answer arrived"),
    FaultCase("closed-connection", "close", ZendeskUnavailableError, None,
              "the connection closed before the whole answer arrived"),
    FaultCase("hang", "hang", ZendeskUnavailableError, None, "(no answer within the read timeout"),
]  # fmt: skip
FAULTS_BY_NAME = {case.name: case for case in FAULTS}
RATE_LIMITS = [case for case in FAULTS if case.kind == "rate_limit"]


def faults(*names: str) -> list[Any]:
    """``pytest.param`` for each fault (all of them without names), with its name as the test id."""
    chosen = [FAULTS_BY_NAME[name] for name in names] if names else FAULTS
    return [pytest.param(case, id=case.name) for case in chosen]


# -- the emulator, its clock and its connection ----------------------------------------------------------
def clock_at_real_time() -> ManualClock:
    """A manual clock at a whole second of the real time.

    Whole seconds keep HTTP dates exact; the real time keeps Airflow's own reschedule-mode
    bookkeeping (which reads the wall clock) from seeing a wait that began years ago.
    """
    return ManualClock(start=float(int(time.time())))


def connect(
    emu: ZendeskEmulator,
    monkeypatch: pytest.MonkeyPatch,
    auth: str = "token",
    *,
    read_timeout: float | None = None,
) -> None:
    """Point ``zendesk_default`` at the emulator, with a read timeout from the connection's extras if given."""
    conn = json.loads(emu.connection_extra_json(auth=auth))
    if read_timeout is not None:
        conn.setdefault("extra", {})["timeout"] = {"connect": 5, "read": read_timeout}
    monkeypatch.setenv("AIRFLOW_CONN_ZENDESK_DEFAULT", json.dumps(conn))


def connect_for(case: FaultCase, emu: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, auth: str = "token") -> None:
    """The connection for a fault test: a hang is cut off after HANG_TIMEOUT real seconds."""
    connect(emu, monkeypatch, auth, read_timeout=HANG_TIMEOUT if case.kind == "hang" else None)


class Schedule:
    """The emulator's clock, with actions that run once it has reached their time.

    Its :meth:`advance` is what every wait sleeps through. Nothing else happens while one of them
    sleeps, so an action due in the middle of a sleep runs at its end, before the next request.
    """

    def __init__(self, emu: ZendeskEmulator) -> None:
        self.emu = emu
        self.start = emu.clock.now()
        self._due: list[tuple[float, Callable[[], object]]] = []
        self.slept: list[float] = []

    def at(self, offset: float, action: Callable[[], object]) -> None:
        """Run ``action`` once the clock is ``offset`` seconds past the schedule's start."""
        self._due.append((self.start + offset, action))
        self._due.sort(key=lambda entry: entry[0])
        self._run_due()

    def advance(self, seconds: float) -> float:
        self.slept.append(seconds)
        now = self.emu.advance(max(0.0, seconds))
        self._run_due()
        return now

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)

    def elapsed(self) -> float:
        return self.emu.clock.now() - self.start

    def _run_due(self) -> None:
        now = self.emu.clock.now()
        while self._due and self._due[0][0] <= now:
            _, action = self._due.pop(0)
            action()


# -- what the request log shows ----------------------------------------------------------------------------
def job_summary_now(emu: ZendeskEmulator, job_id: str) -> dict[str, Any]:
    """A job's summary as the sensor's XCom and the trigger's event carry it, as Zendesk shows it now."""
    job = emu.job(job_id)
    return {key: job[key] for key in ("status", "total", "progress", "message")} | {"id": job_id}


def api_reads(emu: ZendeskEmulator) -> list[RequestRecord]:
    return [record for record in emu.requests if record.path.startswith("/api/v2/")]


def assert_retry_after_honoured(records: list[RequestRecord], retry_after: float) -> None:
    """After each 429, no request to the account left before ``retry_after`` clock seconds had passed."""
    limited = [index for index, record in enumerate(records) if record.status == 429]
    assert limited, "the account never answered 429"
    for index in limited:
        later = records[index + 1 :]
        assert all(record.time >= records[index].time + retry_after for record in later), (
            f"a request left {later[0].time - records[index].time:g} s after a 429 asking for {retry_after:g} s"
        )


def rate_limit_retry_after(served: list[float], now: float) -> int:
    """The Retry-After the emulator's per-minute budget answers at ``now`` (the oldest request leaving the window)."""
    window = [when for when in served if when > now - 60]
    return max(1, int(-(-(min(window) + 60 - now) // 1))) if window else 1


def assert_token_renewed_once_per_refusal(emu: ZendeskEmulator, refused: int) -> None:
    """``refused`` reads met a 401; each was followed by one new token and the same read, answered."""
    trail = [(record.path == TOKENS, record.status) for record in emu.requests]
    assert trail.count((False, 401)) == refused
    for index, step in enumerate(trail):
        if step == (False, 401):
            assert trail[index + 1 : index + 3] == [(True, 200), (False, 200)]


def assert_per_minute_limit_honoured(records: list[RequestRecord], per_minute: int) -> None:
    """No clock minute holds more than ``per_minute`` served requests, and none left before Retry-After."""
    served: list[float] = []
    for index, record in enumerate(records):
        if record.status == 429:
            wait = rate_limit_retry_after(served, record.time)
            assert all(later.time >= record.time + wait for later in records[index + 1 :])
        else:
            served.append(record.time)
    for first in served:
        assert sum(first <= when < first + 60 for when in served) <= per_minute


# -- hooks on the schedule --------------------------------------------------------------------------------
def sync_hook(schedule: Schedule, **kwargs: Any) -> ZendeskJobStatusHook:
    return ZendeskJobStatusHook(clock=schedule.emu.clock.now, sleep=schedule.advance, **kwargs)


def async_hook(schedule: Schedule, **kwargs: Any) -> ZendeskJobStatusAsyncHook:
    return ZendeskJobStatusAsyncHook(clock=schedule.emu.clock.now, sleep=schedule.sleep, **kwargs)


# -- the trigger, as the triggerer runs it ------------------------------------------------------------------
def rebuilt(trigger: ZendeskJobStatusTrigger) -> ZendeskJobStatusTrigger:
    """The trigger as a triggerer rebuilds it from the database: through JSON, from its serialised kwargs."""
    classpath, kwargs = trigger.serialize()
    assert classpath.endswith(".ZendeskJobStatusTrigger")
    return ZendeskJobStatusTrigger(**json.loads(json.dumps(kwargs)))


def run_trigger(schedule: Schedule, trigger: ZendeskJobStatusTrigger) -> dict[str, Any]:
    """The trigger's event, its poller sleeping on the schedule."""
    with triggers_on_clock(schedule.emu.clock.now, schedule.advance):
        return asyncio.run(event_of(rebuilt(trigger)))


# -- tasks, as Airflow runs them ----------------------------------------------------------------------------
@dataclass
class Outcome:
    """What a task did: its XCom value or the exception it ended with, and whether it deferred."""

    value: Any = None
    error: BaseException | None = None
    deferred: bool = False
    tries: int = 1
    events: list[dict[str, Any]] = field(default_factory=list)

    def raised(self, kind: type[BaseException]) -> BaseException:
        assert isinstance(self.error, kind), f"expected {kind.__name__}, got {self.error!r}"
        return self.error


class RescheduledTaskInstance:
    """The one thing a reschedule-mode sensor asks its task instance: when its first try began."""

    def __init__(self, first_try: datetime | None) -> None:
        self.first_try = first_try

    def get_first_reschedule_date(self, context: Any) -> datetime | None:
        return self.first_try


def kill_at_next_sleep(schedule: Schedule, monkeypatch: pytest.MonkeyPatch) -> None:
    """The task is killed (SIGTERM) the next time anything sleeps on the schedule: a Retry-After, a poll interval."""

    def killed(seconds: float) -> None:
        raise AirflowTaskTerminated("Task received SIGTERM signal")

    monkeypatch.setattr(schedule, "advance", killed)


def sensor(schedule: Schedule, job_id: Any, mode: str, **kwargs: Any) -> ZendeskJobStatusSensor:
    """A fresh sensor in ``mode``, its hook on the schedule (as each try and each resume gets)."""
    kwargs.setdefault("poke_interval", 10)
    kwargs.setdefault("timeout", 3600)
    if mode == "deferrable":
        kwargs["deferrable"] = True
    else:
        kwargs["mode"] = mode
    return on_clock(ZendeskJobStatusSensor, schedule.emu.clock.now, schedule.advance)(
        task_id="wait", job_id=job_id, **kwargs
    )


def run_sensor(schedule: Schedule, job_id: Any, mode: str, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> Outcome:
    """Run a sensor task to its end in ``mode``, as Airflow would, on the schedule's clock."""
    if mode == "poke":
        import airflow.sdk.bases.sensor as base_sensor

        # BaseSensorOperator's poke loop measures and sleeps on its own; here it does so on the clock.
        clock = SimpleNamespace(monotonic=schedule.emu.clock.now, sleep=schedule.advance)
        monkeypatch.setattr(base_sensor, "time", clock)
        return _run(lambda: sensor(schedule, job_id, mode, **kwargs).execute({}))
    if mode == "reschedule":
        return _run_rescheduled(schedule, lambda: sensor(schedule, job_id, mode, **kwargs))
    return _run_deferred(schedule, lambda: sensor(schedule, job_id, mode, **kwargs))


def operator(schedule: Schedule, job_id: Any, mode: str, **kwargs: Any) -> ZendeskJobResultsOperator:
    """A fresh results operator: ``polling``, ``deferrable`` or ``read-once`` (``wait_for_completion=False``)."""
    kwargs.setdefault("poll_interval", 10)
    if mode == "read-once":
        kwargs["wait_for_completion"] = False
    return on_clock(ZendeskJobResultsOperator, schedule.emu.clock.now, schedule.advance)(
        task_id="read_results", job_id=job_id, deferrable=mode == "deferrable", **kwargs
    )


def run_operator(schedule: Schedule, job_id: Any, mode: str, **kwargs: Any) -> Outcome:
    """Run the results operator to its end, polling, deferred or reading once, on the schedule's clock."""
    if mode != "deferrable":
        return _run(lambda: operator(schedule, job_id, mode, **kwargs).execute({}))
    return _run_deferred(schedule, lambda: operator(schedule, job_id, mode, **kwargs))


def _run(call: Callable[[], Any]) -> Outcome:
    try:
        return Outcome(value=call())
    except Exception as exc:
        return Outcome(error=exc)


def _run_rescheduled(schedule: Schedule, make: Callable[[], ZendeskJobStatusSensor], max_tries: int = 500) -> Outcome:
    """One fresh sensor per try; between tries the clock moves to the date the try asked to be rescheduled at."""
    first_try: datetime | None = None
    for tries in range(1, max_tries + 1):
        task = make()
        began = schedule.emu.clock.now()
        try:
            value = task.execute({"ti": RescheduledTaskInstance(first_try)})
        except AirflowRescheduleException as reschedule:
            # Airflow computes the date from the wall clock: the whole seconds asked for, on the emulator's.
            asked = round((reschedule.reschedule_date - datetime.now(timezone.utc)).total_seconds())
            first_try = first_try or datetime.fromtimestamp(began, tz=timezone.utc)
            schedule.advance(asked)
            continue
        except Exception as exc:
            return Outcome(error=exc, tries=tries)
        return Outcome(value=value, tries=tries)
    raise AssertionError(f"the sensor was still rescheduling after {max_tries} tries")


def _run_deferred(schedule: Schedule, make: Callable[[], Any]) -> Outcome:
    """``execute`` in the worker, the trigger in the triggerer, then ``execute_complete`` on a fresh task."""
    deferred: TaskDeferred | None = None
    try:
        value = make().execute({})
    except TaskDeferred as exc:
        deferred = exc
    except Exception as exc:
        return Outcome(error=exc)
    if deferred is None:
        return Outcome(value=value)
    assert deferred.method_name == "execute_complete"
    trigger = deferred.trigger
    assert isinstance(trigger, ZendeskJobStatusTrigger)
    if deferred.timeout is not None and trigger.deadline is not None:
        assert deferred.timeout >= timedelta(seconds=trigger.deadline - schedule.emu.clock.now())
    event = run_trigger(schedule, trigger)
    outcome = _run(lambda: make().execute_complete({}, event))
    outcome.deferred, outcome.events = True, [event]
    return outcome
