"""The metadata database of the tests' AIRFLOW_HOME: migrated once per run, however many pytest-xdist workers.

Without xdist the session migrates its own home. With it, the controller migrates a template home
in the background while the workers start (``python -m tests.support.airflow_db HOME``), and each
worker copies the migrated SQLite file into a home of its own: two ``airflow dags test`` runs never
share a database, and the migration (10 s or more) is paid once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

#: Where a worker finds the template home the controller migrates (set by the controller, inherited).
TEMPLATE_VARIABLE = "ZENDESK_TESTS_MIGRATED_HOME"
DB_FILE = "airflow.db"
DONE, FAILED = "migrated", "migration-failed"


def migrate(home: Path) -> None:
    """``airflow db migrate`` on the SQLite database under ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=dict(os.environ, AIRFLOW_HOME=str(home)),
    )


def start_template(home: Path) -> subprocess.Popen[bytes]:
    """Start migrating a fresh template home; the marker file says when it is done (or why it failed)."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.airflow_db", str(home)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, AIRFLOW_HOME=str(home)),
    )


def copy_template(template: Path, home: Path, deadline: float = 300.0) -> None:
    """Copy the template's database into ``home`` once the controller's migration is done."""
    give_up = time.monotonic() + deadline
    while not (template / DONE).exists():
        if (template / FAILED).exists():
            raise RuntimeError(f"airflow db migrate failed for the tests:\n{(template / FAILED).read_text()}")
        if time.monotonic() > give_up:
            raise TimeoutError(f"the tests' metadata database in {template} was not migrated within {deadline} s")
        time.sleep(0.1)
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template / DB_FILE, home / DB_FILE)


def main(home: Path) -> int:
    try:
        migrate(home)
    except subprocess.CalledProcessError as exc:
        (home / FAILED).write_bytes(exc.stdout[-4000:] + exc.stderr[-4000:])
        return 1
    (home / DONE).write_text("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
