"""The deployment's REST API, as a user drives it: DAG runs, pools, pausing, health, runs and asset events.

Writes go one at a time (``write_lock``): on SQLite every writer waits for the file, and a
dozen processes already do.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

from scripts.e2e.harness import E2EError, E2ERun


class AirflowApi:
    """``/api/v2`` of the deployment's api-server."""

    def __init__(self, run: E2ERun, url: str) -> None:
        self.run, self.url = run, url
        self.write_lock = threading.Lock()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/api/v2{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def get_or_none(self, path: str) -> Any:
        """The answer, or None while the API does not answer (or not with JSON)."""
        try:
            return self.call("GET", path)
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        """A DAG run, as a user would start it; a 5xx (a busy database) is asked again. Returns its run id."""
        answer: list[Any] = []

        def post() -> bool:
            with self.write_lock:
                try:
                    answer.append(self.call("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf}))
                except urllib.error.HTTPError as exc:
                    if exc.code < 500:
                        raise E2EError(f"the API refused a run of {dag_id}: {exc.code} {exc.read()[:300]!r}") from None
            return bool(answer)

        self.run.wait_for(f"the API to accept a run of {dag_id}", post, 120, every=2.0)
        return str(answer[0]["dag_run_id"])

    def create_pool(self, name: str, slots: int) -> None:
        """A pool whose slots deferred tasks hold too (``include_deferred``)."""
        with self.write_lock:
            self.call("POST", "/pools", {"name": name, "slots": slots, "include_deferred": True})

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})

    def health(self) -> dict[str, Any] | None:
        """``/monitor/health``, or None while the API does not answer."""
        answer = self.get_or_none("/monitor/health")
        return dict(answer) if answer else None

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        answer = self.get_or_none(f"/dags/{dag_id}/dagRuns?order_by=run_after") or {}
        return list(answer.get("dag_runs") or [])

    def asset_events(self) -> list[dict[str, Any]]:
        answer = self.get_or_none("/assets/events?limit=100") or {}
        return list(answer.get("asset_events") or [])
