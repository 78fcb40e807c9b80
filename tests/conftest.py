"""Test-wide Airflow settings (a throwaway AIRFLOW_HOME with SQLite, set before Airflow is imported), and the emulator.

The emulator fixtures are the shipped pytest plugin's, as a project using the provider gets them.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported at run time only after the settings above, by the plugin
    from airflow_provider_zendesk_jobs.testing import ZendeskEmulator

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow_home_test"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "example_dags"))
# One Fernet key for this process and the ``airflow`` subprocesses it starts: the test database then
# reads back the trigger rows any of them wrote (an asset watcher's kwargs are stored encrypted).
TEST_FERNET_KEY = base64.urlsafe_b64encode(b"airflow-provider-zendesk-jobs/ts").decode()
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", TEST_FERNET_KEY)

# [START howto_pytest_plugin]
pytest_plugins = ["airflow_provider_zendesk_jobs.testing.pytest_plugin"]
# [END howto_pytest_plugin]


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the SQLite metadata database once per session, for tests that run tasks or DAGs."""
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return home


@pytest.fixture
def emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    """The plugin's emulator with room for many active jobs; ``zendesk_default`` points at it (API token)."""
    emulator: ZendeskEmulator = zendesk_emulator_factory(conn_id="zendesk_default", max_active_jobs=10_000)
    return emulator


@pytest.fixture
def record_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many records a bulk import parses and checks: each read of a record from its source counts one."""
    from airflow_provider_zendesk_jobs.bulk import records as records_module

    parses = [0]
    check = records_module.normalise_record

    def counted(record: Any, action: Any, where: str) -> Any:
        parses[0] += 1
        return check(record, action, where)

    monkeypatch.setattr(records_module, "normalise_record", counted)
    return parses
