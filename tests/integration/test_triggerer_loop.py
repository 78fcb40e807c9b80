"""Nothing this provider does blocks the triggerer's event loop with imports.

Airflow's triggerer imports a trigger's module on its event loop (``create_triggers``), which
every deferred task shares, and a module imported lazily on first use is imported there too. A
real deployment logged the loop blocked for 0.26 to 0.30 s when the first trigger started: the
poller, the hooks, ``requests`` and Airflow's async connection path were imported
on the loop. Each test runs a fresh interpreter that has loaded what a triggerer has (its job
runner), records every module imported on the loop's thread, and runs 25 triggers to their
events against the emulator, as in that deployment.

Measured as the longest single step of the loop, in CPU time of the loop's thread: 0.19 s
when the poller was imported on the loop, about 0.02 s now (the trigger module's own small
modules); the 25 answers of one cycle take about 2 ms. The test asserts on the imports, the
cause, rather than on a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(120)

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys, threading

    import airflow.jobs.triggerer_job_runner  # noqa: F401  what a triggerer has loaded before any trigger
    try:  # Airflow 3.2+
        from airflow._shared.module_loading import import_string
    except ImportError:  # Airflow 3.0 and 3.1
        from airflow.utils.module_loading import import_string

    from airflow_provider_zendesk_jobs.testing import ManualClock, ZendeskEmulator

    already = set(sys.modules)  # what Airflow itself has loaded (Airflow 3.0's triggerer loads requests)

    emu = ZendeskEmulator(clock=ManualClock()).start()
    os.environ["AIRFLOW_CONN_ZENDESK_DEFAULT"] = emu.connection_extra_json()
    jobs = [emu.create_job(count=1, queued_seconds=0, work_seconds=10) for _ in range(25)]
    loop_thread = threading.main_thread()
    on_loop = {"import": [], "run": []}
    phase = ["import"]

    class Recorder:
        def find_spec(self, name, path=None, target=None):
            if threading.current_thread() is loop_thread and name not in sys.modules:
                on_loop[phase[0]].append(name)
            return None

    async def main():
        sys.meta_path.insert(0, Recorder())
        cls = import_string("airflow_provider_zendesk_jobs.triggers.zendesk_jobs.ZendeskJobStatusTrigger")
        heavy = (
            "requests",
            "airflow_provider_zendesk_jobs.hooks.zendesk_jobs",
            "airflow_provider_zendesk_jobs.triggers.poller",
        )
        loaded = sorted(name for name in heavy if name in sys.modules and name not in already)
        from airflow_provider_zendesk_jobs.testing.timeline import advancing_sleep
        from airflow_provider_zendesk_jobs.triggers.registry import use_poller_factory

        def on_emulator_time(zendesk_conn_id):
            from airflow_provider_zendesk_jobs.triggers.poller import SharedJobStatusPoller  # loaded by then

            return SharedJobStatusPoller(zendesk_conn_id, clock=emu.clock.now, sleep=advancing_sleep(emu.advance))

        phase[0] = "run"

        async def one(job_id):
            async for event in cls([job_id], poll_interval=5).run():
                return event.payload["status"]

        with use_poller_factory(on_emulator_time):
            statuses = await asyncio.gather(*(one(job_id) for job_id in jobs))
        return loaded, statuses

    loaded, statuses = asyncio.run(main())
    emu.stop()
    print(json.dumps({"on_loop": on_loop, "loaded": loaded, "statuses": statuses}))
    """
)


def run_in_a_fresh_triggerer() -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=100, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_the_first_trigger_imports_nothing_heavy_on_the_event_loop() -> None:
    result = run_in_a_fresh_triggerer()
    assert result["statuses"] == ["success"] * 25
    on_loop = result["on_loop"]
    assert isinstance(on_loop, dict)
    # The trigger module itself is light: its own small modules, none of the HTTP stack.
    assert result["loaded"] == []
    assert all(name.startswith("airflow_provider_zendesk_jobs.") for name in on_loop["import"]), on_loop["import"]
    assert not any(".hooks" in name or ".poller" in name or ".api" in name for name in on_loop["import"])
    # Starting and running 25 waits to their events imports nothing more on the loop: the poller,
    # the hooks, httpx's first request and Airflow's async connection path come in a thread.
    assert on_loop["run"] == []
