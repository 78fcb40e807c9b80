"""What several benchmark scripts share: the HTTP provider's connection to the emulator, quiet task logs and
the summary.

Not a benchmark itself; ``run_all.py`` runs the ``bench_*`` scripts that import it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

from airflow_provider_zendesk_jobs.testing import ZendeskEmulator

#: The ``http`` connection that points the HTTP provider's sensor at the emulator.
HTTP_CONN_ID = "zendesk_http"
HTTP_CONN_ENV = f"AIRFLOW_CONN_{HTTP_CONN_ID.upper()}"


def http_connection(emu: ZendeskEmulator) -> str:
    """JSON for ``AIRFLOW_CONN_ZENDESK_HTTP``: Zendesk's API-token form of basic auth (``email/token``)."""
    return json.dumps(
        {
            "conn_type": "http",
            "host": emu.host,
            "port": emu.port,
            "schema": "http",
            "login": f"{emu.credentials.email}/token",
            "password": emu.credentials.api_token,
        }
    )


@contextlib.contextmanager
def task_logs_dropped() -> Iterator[None]:
    """Log as a task's or a triggerer's process does, through the task SDK, but into nothing.

    The waits log a line per check; what they cost is part of the figure, their text is not. Anything
    printed goes to stderr, so stdout holds only the report.
    """
    from airflow.sdk.log import configure_logging

    with open(os.devnull, "wb") as devnull:
        configure_logging(json_output=True, output=devnull, sending_to_supervisor=True, log_level="INFO")
        with contextlib.redirect_stdout(sys.stderr):
            yield


def write_summary(path: str | None, *, figure: str, target: str, met: bool, **more: Any) -> None:
    """The headline ``run_all.py`` puts in the summary table of RESULTS.md (nothing when ``path`` is None)."""
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump({"figure": figure, "target": target, "met": met, **more}, out)
