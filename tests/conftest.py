"""Test-wide Airflow settings: a throwaway AIRFLOW_HOME with SQLite, set before Airflow is imported."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow_home_test"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "example_dags"))
# One Fernet key for this process and the ``airflow`` subprocesses it starts: the test database then
# reads back the trigger rows any of them wrote (an asset watcher's kwargs are stored encrypted).
TEST_FERNET_KEY = base64.urlsafe_b64encode(b"airflow-provider-zendesk-jobs/ts").decode()
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", TEST_FERNET_KEY)


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
