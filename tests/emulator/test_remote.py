"""``RemoteEmulator`` against a real emulator process: every control method over HTTP, next to the in-process one.

The table below is one scenario, step by step, run on a ``ZendeskEmulator`` in this process and on a
``RemoteEmulator`` that started the console script (same defaults, same seed, both on a manual clock),
so job ids, clock times and answers must agree exactly; only the URL and the requests' wall times differ.
"""

from __future__ import annotations

import dataclasses
import json
import math
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.testing import (
    ClockRunner,
    Credentials,
    EmulatorControl,
    EmulatorProcessError,
    Fault,
    ManualClock,
    RemoteEmulator,
    RemoteEmulatorError,
    ZendeskEmulator,
)
from tests.support.emulator_http import call

pytestmark = pytest.mark.timeout(90)

LIST = "/api/v2/job_statuses"
GRANT = {"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"}


@pytest.fixture
def remote() -> Iterator[RemoteEmulator]:
    with RemoteEmulator.start("--manual-clock") as emulator:
        yield emulator


def raises(action: Callable[[], Any]) -> Any:
    """The action's result, or the name of the exception it raised (messages may be worded apart)."""
    try:
        return action()
    except (KeyError, ValueError) as exc:
        return f"raises {type(exc).__name__}"


def requests_seen(emu: EmulatorControl) -> list[dict[str, Any]]:
    return [{k: v for k, v in dataclasses.asdict(r).items() if k != "wall_time"} for r in emu.requests]


def bulk_import(emu: EmulatorControl, *external_ids: str) -> int:
    tickets = [{"subject": f"ticket {n}", "external_id": n} for n in external_ids]
    return call(emu, "POST", "/api/v2/imports/tickets/create_many", {"tickets": tickets}).status


def created(emu: EmulatorControl) -> str:
    return emu.create_job("tickets_import", count=3, fail_indexes=[1], queued_seconds=2, work_seconds=4)


#: (what, step): every method of EmulatorControl at least once, in the order a test would use them.
STEPS: list[tuple[str, Callable[[EmulatorControl], Any]]] = [
    ("now", lambda emu: emu.now()),
    ("advance", lambda emu: emu.advance(5)),
    ("advance backwards", lambda emu: raises(lambda: emu.advance(-1))),
    ("create_job", lambda emu: created(emu)),
    ("job", lambda emu: emu.job(emu.create_job(count=2))),
    ("create_job of an unknown kind", lambda emu: raises(lambda: emu.create_job("meteor_strike"))),
    ("create_job with a str for records", lambda emu: raises(lambda: emu.create_job(records="no"))),  # type: ignore[arg-type]
    ("finish_time", lambda emu: emu.finish_time(created(emu))),
    ("the job once finished", lambda emu: (emu.advance(10), emu.job(emu.create_job(count=1)))),
    ("set_job_status", lambda emu: _set_status(emu)),
    ("finish_time of a frozen job", lambda emu: _frozen(emu)),
    ("expire_job", lambda emu: _expired(emu)),
    ("an unknown job", lambda emu: (raises(lambda: emu.job("V3-nope")), raises(lambda: emu.expire_job("V3-nope")))),
    ("add_fault", lambda emu: emu.add_fault(Fault("server_error", count=2, status=500)).to_dict()),
    ("faults after one request", lambda emu: (call(emu, "GET", LIST).status, [f.to_dict() for f in emu.faults])),
    ("clear_faults", lambda emu: (emu.add_fault(Fault("not_found")), emu.clear_faults(), emu.faults)[1:]),
    ("requests", lambda emu: (call(emu, "GET", f"{LIST}?page[size]=2"), requests_seen(emu))[1]),
    ("request_records", lambda emu: _filtered(emu)),
    ("request_count", lambda emu: (emu.request_count(), emu.request_count(LIST), emu.request_count(method="POST"))),
    ("reset_requests", lambda emu: (emu.reset_requests(), emu.request_count())),
    ("records of two bulk calls", lambda emu: (bulk_import(emu, "a", "b"), bulk_import(emu, "b", "FAIL-c"))),
    ("records_received", lambda emu: emu.records_received()),
    ("duplicate_records", lambda emu: (emu.duplicate_records(), emu.duplicate_records("id"))),
    ("record_counts", lambda emu: emu.record_counts()),
    ("record_summary", lambda emu: emu.record_summary()),
    ("records counted by an unknown field", lambda emu: raises(lambda: emu.record_counts("colour"))),
    ("reset_records", lambda emu: (emu.reset_records(), emu.record_summary())),
    ("set_rate_limit", lambda emu: (emu.set_rate_limit(1), emu.rate_limit, call(emu, "GET", LIST).status)),
    ("rate_limit once hit", lambda emu: (call(emu, "GET", LIST).status, emu.set_rate_limit(None), emu.rate_limit)),
    ("a bad rate limit", lambda emu: raises(lambda: emu.set_rate_limit(0))),
    ("tokens_issued", lambda emu: (call(emu, "POST", "/oauth/tokens", GRANT, auth=None).status, emu.tokens_issued)),
    ("expire_tokens", lambda emu: (emu.expire_tokens(), emu.tokens_issued)),
    ("settings", lambda emu: emu.settings()),
    ("change_settings", lambda emu: _changed(emu)),
    ("a failing id", lambda emu: _finished(emu, emu.create_job("tickets_update", records=[{"id": 7}, {"id": 8}]))),
    ("a bad change changes nothing", lambda emu: _refused(emu)),
    ("the list after the changes", lambda emu: call(emu, "GET", LIST).json()),
]  # fmt: skip


def _filtered(emu: EmulatorControl) -> Any:
    call(emu, "GET", f"{LIST}/V3-nope")
    by_path = [r.path for r in emu.request_records(f"{LIST}/")]
    return by_path, [r.path for r in emu.request_records(LIST, "get")], emu.request_records(method="POST")


def _changed(emu: EmulatorControl) -> Any:
    return emu.change_settings(failing_ids={7, "x"}, listed_jobs=3, pagination_style="offset")


def _refused(emu: EmulatorControl) -> Any:
    return raises(lambda: emu.change_settings(listed_jobs=5, speed=2)), emu.settings()


def _finished(emu: EmulatorControl, job_id: str) -> Any:
    emu.advance(emu.finish_time(job_id) - emu.now())
    return emu.job(job_id)


def _set_status(emu: EmulatorControl) -> Any:
    job_id = created(emu)
    emu.set_job_status(job_id, "killed", "by hand")
    return emu.job(job_id)


def _frozen(emu: EmulatorControl) -> Any:
    job_id = created(emu)
    emu.set_job_status(job_id, "paused")
    return emu.finish_time(job_id), emu.job(job_id)["status"]


def _expired(emu: EmulatorControl) -> Any:
    job_id = created(emu)
    emu.expire_job(job_id)
    return raises(lambda: emu.job(job_id)), call(emu, "GET", f"{LIST}/{job_id}").status


def same_shape(value: Any, url: str) -> Any:
    """``value`` as JSON would carry it, with the emulator's URL taken out (Fault objects as dicts)."""
    if isinstance(value, Fault):
        return value.to_dict()
    if isinstance(value, str):
        return value.replace(url, "<url>")
    if isinstance(value, dict):
        return {same_shape(k, url): same_shape(v, url) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [same_shape(v, url) for v in value]
    return value


def test_every_control_method_answers_the_same_in_process_and_over_http(remote: RemoteEmulator) -> None:
    local = ZendeskEmulator(clock=ManualClock()).start()
    try:
        for what, step in STEPS:
            here = same_shape(step(local), local.url)
            there = same_shape(step(remote), remote.url)
            assert there == here, what
    finally:
        local.stop()


def test_the_table_names_every_method_of_the_protocol() -> None:
    named = {what.split()[0] for what, _ in STEPS} | {"url", "stop", "connection_extra_json"}
    protocol = {name for name in vars(EmulatorControl) if not name.startswith("_")}
    assert protocol <= named, protocol - named


def test_url_and_connection(remote: RemoteEmulator) -> None:
    assert remote.url.startswith("http://127.0.0.1:")
    assert remote.overview()["url"] == remote.url
    assert remote.clock_name() == "ManualClock"
    conn = remote.connection_extra_json()
    assert remote.url in conn and "demo-token" in conn
    assert "demo-secret" in remote.connection_extra_json("client_credentials")
    with pytest.raises(ValueError, match="auth must be one of"):
        remote.connection_extra_json("kerberos")


def test_other_credentials_are_passed_to_the_process() -> None:
    creds = Credentials(email="ops@acme.test", api_token="t0k")
    with RemoteEmulator.start("--manual-clock", credentials=creds) as emu:
        assert '"login": "ops@acme.test"' in emu.connection_extra_json()
        basic = "Basic b3BzQGFjbWUudGVzdC90b2tlbjp0MGs="  # ops@acme.test/token:t0k
        assert call(emu, "GET", LIST, auth=basic).status == 200
        assert call(emu, "GET", LIST).status == 401  # the demo credentials are not the account's


def test_stop_ends_the_process_cleanly_and_later_calls_say_so(tmp_path: Path) -> None:
    output = tmp_path / "emulator.log"
    emu = RemoteEmulator.start("--manual-clock", output=output)
    process = emu.process
    assert process is not None and process.alive()
    emu.stop()
    assert process.returncode == 0  # SIGTERM is the CLI's clean stop
    assert "Zendesk jobs emulator stopped." in output.read_text()
    assert "listening on " + emu.url in process.output()
    emu.stop()  # twice is fine
    with pytest.raises(RemoteEmulatorError, match="exited with status 0") as caught:
        emu.now()
    assert emu.url in str(caught.value)


def test_a_process_that_exits_before_it_is_ready_is_reported_with_its_output() -> None:
    with pytest.raises(EmulatorProcessError, match="exited with status 2 before it was ready") as caught:
        RemoteEmulator.start("--speed", "0")
    assert "--speed must be positive" in str(caught.value)


def test_a_process_that_never_gets_ready_is_killed_at_the_deadline() -> None:
    never_ready = [sys.executable, "-c", "import time; print('warming up', flush=True); time.sleep(60)"]
    with pytest.raises(EmulatorProcessError, match=r"not ready within 0\.5 s") as caught:
        RemoteEmulator.start(command=never_ready, startup_timeout=0.5)
    assert "warming up" in str(caught.value)
    assert "it was stopped" in str(caught.value)


def test_a_command_that_does_not_exist_is_reported(tmp_path: Path) -> None:
    with pytest.raises(EmulatorProcessError, match="cannot start the emulator"):
        RemoteEmulator.start(command=[str(tmp_path / "no-such-emulator")])


def test_attach_drives_a_running_emulator_and_leaves_it_running(remote: RemoteEmulator) -> None:
    attached = RemoteEmulator.attach(remote.url + "/")
    assert attached.url == remote.url
    job_id = attached.create_job(count=1)
    assert remote.job(job_id)["id"] == job_id
    attached.stop()
    assert remote.process is not None and remote.process.alive()
    assert remote.now() == attached.now()


def test_attach_to_nothing_says_nothing_answers(tmp_path: Path) -> None:
    with RemoteEmulator.start("--manual-clock") as gone:
        url = gone.url
    with pytest.raises(RemoteEmulatorError, match=f"the emulator at {url} did not answer"):
        RemoteEmulator.attach(url)
    with pytest.raises(ValueError, match="http://host:port"):
        RemoteEmulator("127.0.0.1:8765")


def test_a_ctrl_c_also_stops_it_cleanly(remote: RemoteEmulator) -> None:
    process = remote.process
    assert process is not None
    process.popen.send_signal(signal.SIGINT)
    assert process.popen.wait(timeout=20) == 0
    assert remote.process is not None and "stopped" in remote.process.output()


def test_clock_runner_holds_the_clock_until_told_then_runs_it(remote: RemoteEmulator) -> None:
    held = remote.now()
    go: list[bool] = []
    with ClockRunner(remote, speed=1000.0, tick=0.02, start_when=lambda: bool(go)) as runner:
        assert not runner.released.wait(0.2)
        assert remote.now() == held
        go.append(True)
        assert runner.released.wait(10)
        job_id = remote.create_job(count=1)
        deadline = time.monotonic() + 20
        while remote.job(job_id)["status"] != "completed":
            assert time.monotonic() < deadline, "the clock does not move"
            time.sleep(0.02)
    stopped_at = remote.now()
    assert stopped_at > held
    assert remote.now() == stopped_at  # still again once stopped
    assert runner.error is None


def test_clock_runner_stops_when_the_emulator_is_gone() -> None:
    emu = RemoteEmulator.start("--manual-clock")
    runner = ClockRunner(emu, speed=10.0, tick=0.02).start()
    assert runner.released.wait(10)
    emu.stop()
    deadline = time.monotonic() + 20
    while runner.error is None:  # its next tick finds the emulator gone
        assert time.monotonic() < deadline, "the runner never noticed the emulator had gone"
        time.sleep(0.02)
    runner.stop()
    assert isinstance(runner.error, RemoteEmulatorError)


def test_clock_runner_refuses_bad_speeds_and_ticks() -> None:
    local = ZendeskEmulator(clock=ManualClock())
    for bad in ({"speed": 0}, {"speed": math.inf}, {"tick": 0}):
        with pytest.raises(ValueError, match=r"(speed|tick) must be"):
            ClockRunner(local, **bad)


def test_howto_drive_an_emulator_in_its_own_process(tmp_path: Path) -> None:
    """The docs' example: the emulator in its own process, for Airflow processes the test starts."""
    # [START howto_remote_emulator]
    from airflow_provider_zendesk_jobs.testing import RemoteEmulator

    with RemoteEmulator.start("--manual-clock", output=tmp_path / "emulator.log") as emu:
        conn = emu.connection_extra_json()  # AIRFLOW_CONN_ZENDESK_DEFAULT of the processes you start
        job_id = emu.create_job(count=3)
        emu.advance(emu.finish_time(job_id) - emu.now())  # the job ends when the test says so
        assert emu.job(job_id)["status"] == "completed"
        assert emu.request_count("/api/v2/job_statuses") == 0  # what your DAG asked, on the emulator's log
    # the process is stopped and waited for
    # [END howto_remote_emulator]
    assert json.loads(conn)["conn_type"] == "zendesk_jobs"
    assert emu.process is not None and emu.process.popen.poll() is not None


@pytest.mark.parametrize("records", [{5, 6}, (n for n in (5, 6)), b"5,6", "5,6", {"id": 5}])
def test_records_that_are_not_a_list_are_refused_alike_in_process_and_over_http(
    remote: RemoteEmulator, records: Any
) -> None:
    local = ZendeskEmulator(clock=ManualClock())
    for emulator in (local, remote):
        with pytest.raises(ValueError, match="records must be a list"):
            emulator.create_job("tickets_destroy", records=records)
    assert remote.request_count() == 0  # refused before anything was sent
