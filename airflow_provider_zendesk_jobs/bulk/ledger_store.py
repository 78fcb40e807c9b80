"""Where a bulk import's ledger is kept: Airflow 3.3's task state store, or files; one key at a time."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any, Protocol

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError, ZendeskJobsError

__all__ = ["FileLedgerStore", "LedgerStore", "LedgerStoreError", "TaskStateLedgerStore", "ledger_key"]


class LedgerStoreError(ZendeskJobsError):
    """The ledger's store refused a value or did not answer: nothing more is sent until it does (a retry)."""


class LedgerStore(Protocol):
    """Key/value state of one task instance, shared by its tries (the task state store, or files)."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...

    def where(self) -> str:
        """Where the ledger is, for people: ``the task state store`` or a path."""
        ...


class TaskStateLedgerStore:
    """Airflow 3.3's task state store (``context["task_state_store"]``): the same on every executor.

    Rows never expire by age (``retention`` is ``timedelta.max``, Airflow's ``NEVER_EXPIRE``): a
    task cleared a month later must still find what it sent. They go with their DAG run, and
    ``[state_store] clear_on_success`` clears them when the task succeeds.
    """

    PREFIX = "zendesk_bulk."

    def __init__(self, accessor: Any, *, retention: timedelta = timedelta.max) -> None:
        self.accessor = accessor
        self.retention = retention

    def get(self, key: str) -> Any:
        try:
            return self.accessor.get(self.PREFIX + key)
        except Exception as exc:  # the store's own errors, whatever their class
            raise LedgerStoreError(f"The task state store did not answer for {key!r}: {exc}") from None

    def set(self, key: str, value: Any) -> None:
        try:
            self.accessor.set(self.PREFIX + key, value, retention=self.retention)
        except Exception as exc:
            raise LedgerStoreError(
                f"The task state store refused {key!r}: {exc}. Nothing more is sent until it takes the ledger."
            ) from None

    def where(self) -> str:
        return "the task state store"


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", part) or "_"


def ledger_key(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """``dag/run/task[.map_index]``: one ledger per task instance, whatever its try."""
    suffix = f".{map_index}" if map_index is not None and map_index >= 0 else ""
    return f"{_safe(dag_id)}/{_safe(run_id)}/{_safe(task_id)}{suffix}"


class FileLedgerStore:
    """One JSON file per key under ``<base>/<ledger key>/`` through ``ObjectStoragePath`` (local, ``s3://``...).

    A local write goes to a temporary file of its own and is renamed over the key, so a try killed
    mid-write leaves the previous value, never half of one.
    """

    def __init__(self, base: str, key: str) -> None:
        if not isinstance(base, str) or not base:
            raise ZendeskInvalidInputError(f"ledger_path must be a directory path or URI, got {base!r}.")
        self.base = base.rstrip("/")
        self.key = key

    def _path(self, key: str) -> Any:
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        return ObjectStoragePath(f"{self.base}/{self.key}/{key}.json")

    def where(self) -> str:
        return f"{self.base}/{self.key}"

    def get(self, key: str) -> Any:
        path = self._path(key)
        try:
            if not path.exists():
                return None
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise LedgerStoreError(f"The ledger file {path} cannot be read: {exc}") from None
        try:
            return json.loads(text)
        except ValueError:
            raise LedgerStoreError(
                f"The ledger file {path} is not JSON. It records which chunks were already sent; look at it, "
                "and delete the ledger only if no chunk of this import reached Zendesk."
            ) from None

    def set(self, key: str, value: Any) -> None:
        path = self._path(key)
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if getattr(path, "protocol", "file") in ("file", "local", ""):
                temporary = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
                temporary.write_text(text, encoding="utf-8")
                temporary.rename(path)
            else:  # an object store writes a whole object at once
                path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise LedgerStoreError(f"The ledger file {path} cannot be written: {exc}") from None
