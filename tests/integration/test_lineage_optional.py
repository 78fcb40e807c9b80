"""OpenLineage stays optional: without it the package imports and imports run.

(With it installed, importing the task modules loads none of it: tests/unit/test_parse_time_imports.py.)
The case is a fresh interpreter (what a module import loads is only visible there). Without the
provider is shown by an import hook that refuses every ``openlineage`` module, the client and
Airflow's provider alike, but the provider's metadata (Airflow's provider discovery reads it of every
installed distribution; with the distribution gone, so is its entry point); the import runs against
the emulator in this process, whose clock a ClockRunner moves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_provider_zendesk_jobs.testing import ClockRunner, ZendeskEmulator
from tests.support.task_modules import TASK_MODULES, import_lines

ROOT = Path(__file__).resolve().parents[2]

#: What Airflow's provider discovery imports of every installed provider (its metadata, no OpenLineage inside).
PROVIDER_INFO = ("airflow.providers.openlineage", "airflow.providers.openlineage.get_provider_info")

BLOCK = f"""
import importlib.abc, sys

class NoOpenLineage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in {PROVIDER_INFO!r}:
            return None
        if name.split(".")[0] == "openlineage" or name.startswith("airflow.providers.openlineage."):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NoOpenLineage())
"""


def python(code: str, **env: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


@pytest.fixture
def emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    emulator: ZendeskEmulator = zendesk_emulator_factory(queued_seconds=1, seconds_per_item=0.01)
    return emulator


@pytest.mark.timeout(180)
def test_without_openlineage_the_tasks_import_and_an_import_runs_and_fills_its_asset_event(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    code = (
        BLOCK
        + import_lines(TASK_MODULES)
        + f"""
import json
from airflow.sdk.execution_time.context import OutletEventAccessors
from airflow_provider_zendesk_jobs.lineage.assets import zendesk_asset
from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator

tickets = zendesk_asset({emulator.url!r}, "tickets")
task = ZendeskBulkJobOperator(
    task_id="import_tickets", action="tickets.import", outlets=[tickets], poll_interval=0.2,
    records=[{{"subject": f"Ticket {{n}}", "comment": {{"body": "x"}}}} for n in range(150)],
    ledger_path={str(tmp_path / "ledgers")!r},
)
value = task.execute({{"run_id": "manual__1"}})
events = OutletEventAccessors()
task.post_execute({{"outlet_events": events}})
loaded = sorted(m for m in sys.modules if "openlineage" in m and m not in {PROVIDER_INFO!r})
try:
    task.get_openlineage_facets_on_complete(None)
    facets = "reported"
except ImportError as exc:
    facets = type(exc).__name__
print(json.dumps({{
    "succeeded": value["succeeded"],
    "extra": events[tickets].extra,
    "facets": facets,
    "loaded": loaded,
}}))
"""
    )
    with ClockRunner(emulator, speed=250.0, tick=0.02):  # 5 clock seconds every 20 ms
        answer = python(code, AIRFLOW_CONN_ZENDESK_DEFAULT=emulator.connection_extra_json())
    assert answer["succeeded"] == 150
    extra = answer["extra"]
    assert isinstance(extra, dict) and (extra["records"], extra["succeeded"], extra["jobs_total"]) == (150, 150, 2)
    assert answer["loaded"] == []  # imported, run and asset event filled, without a module of OpenLineage
    assert answer["facets"] == "ModuleNotFoundError"  # only the OpenLineage provider calls it
