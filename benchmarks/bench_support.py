"""What several benchmark scripts share: the HTTP provider's connection to the emulator, the summary file.

Not a benchmark itself; ``run_all.py`` runs the ``bench_*`` scripts that import it.
"""

from __future__ import annotations

import json
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


def write_summary(path: str | None, *, figure: str, target: str, met: bool, **more: Any) -> None:
    """The headline ``run_all.py`` puts in the summary table of RESULTS.md (nothing when ``path`` is None)."""
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump({"figure": figure, "target": target, "met": met, **more}, out)
