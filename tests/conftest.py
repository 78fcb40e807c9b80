"""Test-wide Airflow settings (a throwaway AIRFLOW_HOME with SQLite, set before Airflow is imported), and the emulator.

The emulator fixtures are the shipped pytest plugin's, as a project using the provider gets them.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support import airflow_db as airflow_db_support

if TYPE_CHECKING:  # imported at run time only after the settings above, by the plugin
    from airflow_provider_zendesk_jobs.testing import ZendeskEmulator

ROOT = Path(__file__).resolve().parent.parent
#: The run's AIRFLOW_HOME; under pytest-xdist each worker has its own inside it (its own SQLite database,
#: config and logs), so tests that run Airflow never share a database with another worker's.
BASE_HOME = Path(os.environ.get("AIRFLOW_HOME") or ROOT / ".airflow_home_test")
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
os.environ["AIRFLOW_HOME"] = str(BASE_HOME / WORKER if WORKER else BASE_HOME)
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
_MIGRATION = pytest.StashKey[subprocess.Popen[bytes]]()
#: Warnings the suite can act on are errors: the provider's own deprecation is asserted (pytest.warns) where a
#: test causes it, and a deprecated API the provider or a test calls directly is replaced by its successor
#: (tests/airflow_compat.py picks it by version). Markers, not ini filters: an ini filter naming the provider's
#: class would import the provider, and so Airflow, in pytest-xdist's controller. The controller also imports
#: a reported warning's module, in one receiver thread per worker; two of them importing Airflow at once
#: deadlock on its import locks and end the run with INTERNALERROR.
WARNINGS_THAT_ARE_ERRORS = (
    pytest.mark.filterwarnings(
        "error::airflow_provider_zendesk_jobs.sensors.zendesk_jobs.ZendeskJobsDeprecationWarning"
    ),
    # Airflow's DeprecatedImportWarning is a FutureWarning.
    *(
        pytest.mark.filterwarnings(rf"error::{category}:(tests|airflow_provider_zendesk_jobs)(\.|$)")
        for category in ("DeprecationWarning", "FutureWarning")
    ),
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a test of several seconds (a subprocess or a big run), scheduled first")
    if WORKER is None and getattr(config.option, "numprocesses", None) and config.option.dist != "no":
        template = BASE_HOME / "migrated"
        os.environ[airflow_db_support.TEMPLATE_VARIABLE] = str(template)  # the workers inherit it
        config.stash[_MIGRATION] = airflow_db_support.start_template(template)


def pytest_unconfigure(config: pytest.Config) -> None:
    migration = config.stash.get(_MIGRATION, None)
    if migration is not None:
        migration.wait()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests of several seconds first, so that pytest-xdist spreads them over the workers instead of
    ending the run on one; the packaging tests, which share one built wheel, stay on one worker."""
    for item in items:
        for marker in WARNINGS_THAT_ARE_ERRORS:
            item.add_marker(marker)
        if item.path.parent.name == "packaging":
            item.add_marker(pytest.mark.xdist_group("packaging"))
    items.sort(key=lambda item: not _starts_first(item))


def _starts_first(item: pytest.Item) -> bool:
    fixtures = getattr(item, "fixturenames", ())
    return (
        "airflow_db" in fixtures or item.path.parent.name == "packaging" or item.get_closest_marker("slow") is not None
    )


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """The migrated SQLite metadata database of this process's AIRFLOW_HOME, for tests that run tasks or DAGs."""
    home = Path(os.environ["AIRFLOW_HOME"])
    template = os.environ.get(airflow_db_support.TEMPLATE_VARIABLE)
    if WORKER and template:
        airflow_db_support.copy_template(Path(template), home)
    else:
        airflow_db_support.migrate(home)
    return home


@pytest.fixture
def emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    """The plugin's emulator with room for many active jobs, on a manual clock at a fixed date (2023-11-14);
    ``zendesk_default`` points at it (API token)."""
    emulator: ZendeskEmulator = zendesk_emulator_factory(conn_id="zendesk_default", max_active_jobs=10_000)
    return emulator


@pytest.fixture
def emulator_at_real_time(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    """As ``emulator``, but its manual clock starts at a whole second of the real time, not at a fixed date:
    for tests where Airflow's own bookkeeping reads the wall clock (reschedule dates, HTTP dates)."""
    from tests.support.faults import clock_at_real_time

    emulator: ZendeskEmulator = zendesk_emulator_factory(
        conn_id="zendesk_default", clock=clock_at_real_time(), max_active_jobs=10_000
    )
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
