"""The ledger of a bulk import: which chunk went out as which Zendesk job, so none is ever sent twice.

A chunk moves ``pending -> sending -> active -> done``. ``sending`` is written *before* the
bulk call and ``active`` (with the job id) right after Zendesk answers, so a worker killed in
between leaves a chunk whose fate is unknown: the next try treats it as ``uncertain`` and looks
for its job in Zendesk's job list before anything is sent again (:mod:`.reconcile`). A refused
call (the job limit, 429, 503) goes back to ``pending``.

The ledger is plain JSON: it rides in the deferral's ``next_kwargs`` and is kept, after every
change, in a file through ``ObjectStoragePath`` (:class:`LedgerStore`), because Airflow clears a
task's XComs when its next try starts.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError

__all__ = ["ChunkEntry", "Ledger", "LedgerStore", "ledger_key"]

SENDING = "sending"
ACTIVE = "active"
DONE = "done"
UNCERTAIN = "uncertain"
_STATES = frozenset({SENDING, ACTIVE, DONE, UNCERTAIN})
LEDGER_VERSION = 1
#: The final status of a done chunk whose job Zendesk stopped knowing before it was seen finished.
NOT_FOUND = "not found"


@dataclass
class ChunkEntry:
    """What is known of one chunk that was (perhaps) sent."""

    state: str
    job_id: str | None = None
    #: Epoch seconds when the bulk call was begun (the not-yet-listed grace of an uncertain chunk counts from it).
    sent_at: float | None = None
    #: The job's final status, once done: "completed", "failed", "killed"; "not found" for a job Zendesk
    #: forgot before it was seen finished, "uncertain" for a chunk whose job could not be proven.
    status: str | None = None
    succeeded: int = 0
    failed: int = 0
    note: str | None = None


@dataclass
class Ledger:
    """Every chunk of one import (by number) that left ``pending``, with the import's identity."""

    key: str
    action: str
    fingerprint: str
    records: int
    chunk_size: int
    chunks: dict[int, ChunkEntry] = field(default_factory=dict)

    @property
    def total_chunks(self) -> int:
        return -(-self.records // self.chunk_size)

    def chunk_length(self, number: int) -> int:
        return min(self.chunk_size, self.records - number * self.chunk_size)

    def in_state(self, state: str) -> list[int]:
        return sorted(number for number, entry in self.chunks.items() if entry.state == state)

    def pending(self) -> list[int]:
        return [number for number in range(self.total_chunks) if number not in self.chunks]

    def active(self) -> list[int]:
        """Active chunks, the oldest sent first."""
        return sorted(self.in_state(ACTIVE), key=lambda number: (self.chunks[number].sent_at or 0.0, number))

    @property
    def finished(self) -> bool:
        return len(self.in_state(DONE)) == self.total_chunks

    def job_ids(self) -> list[str]:
        return [entry.job_id for _, entry in sorted(self.chunks.items()) if entry.job_id]

    def begin(self, number: int, now: float) -> None:
        self.chunks[number] = ChunkEntry(SENDING, sent_at=now)

    def accepted(self, number: int, job_id: str) -> None:
        self.chunks[number].state = ACTIVE
        self.chunks[number].job_id = job_id

    def refused(self, number: int) -> None:
        """Zendesk said it started nothing: the chunk is pending again."""
        self.chunks.pop(number, None)

    def ambiguous(self, number: int, note: str) -> None:
        self.chunks[number].state = UNCERTAIN
        self.chunks[number].note = note

    def done(self, number: int, status: str, succeeded: int, failed: int, note: str | None = None) -> None:
        entry = self.chunks[number]
        entry.state, entry.status, entry.succeeded, entry.failed = DONE, status, succeeded, failed
        entry.note = note or entry.note

    def after_restart(self) -> None:
        """A chunk left ``sending`` by a try that died: its call may have reached Zendesk."""
        for entry in self.chunks.values():
            if entry.state == SENDING:
                entry.state = UNCERTAIN
                entry.note = "the try that sent it ended before Zendesk's answer was recorded"

    def counts(self) -> tuple[int, int, int]:
        """``(records in finished chunks, succeeded, failed)``."""
        done = [(number, entry) for number, entry in self.chunks.items() if entry.state == DONE]
        return (
            sum(self.chunk_length(number) for number, _ in done),
            sum(entry.succeeded for _, entry in done),
            sum(entry.failed for _, entry in done),
        )

    # -- JSON form ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": LEDGER_VERSION,
            "key": self.key,
            "action": self.action,
            "fingerprint": self.fingerprint,
            "records": self.records,
            "chunk_size": self.chunk_size,
            "chunks": {str(number): asdict(entry) for number, entry in sorted(self.chunks.items())},
        }

    @classmethod
    def from_dict(cls, data: Any) -> Ledger:
        if not isinstance(data, dict) or data.get("version") != LEDGER_VERSION:
            raise ValueError("not a ledger of this provider's version")
        chunks = {}
        for number, entry in dict(data["chunks"]).items():
            chunk = ChunkEntry(**entry)
            if chunk.state not in _STATES:
                raise ValueError(f"chunk {number} has an unknown state {chunk.state!r}")
            chunks[int(number)] = chunk
        return cls(
            key=str(data["key"]),
            action=str(data["action"]),
            fingerprint=str(data["fingerprint"]),
            records=int(data["records"]),
            chunk_size=int(data["chunk_size"]),
            chunks=chunks,
        )

    def matches(self, other: Ledger) -> bool:
        """The same import: same action, same records, same chunking."""
        return (self.action, self.fingerprint, self.records, self.chunk_size) == (
            other.action,
            other.fingerprint,
            other.records,
            other.chunk_size,
        )


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", part) or "_"


def ledger_key(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """``dag/run/task[.map_index]``: one ledger per task instance, whatever its try."""
    suffix = f".{map_index}" if map_index is not None and map_index >= 0 else ""
    return f"{_safe(dag_id)}/{_safe(run_id)}/{_safe(task_id)}{suffix}"


class LedgerStore:
    """Ledgers kept as JSON files under one ``ObjectStoragePath`` (local, ``file://``, ``s3://``...).

    A write goes to a temporary file first and is then renamed over the ledger, so a worker
    killed mid-write leaves the previous ledger, never half of one.
    """

    def __init__(self, base: str) -> None:
        if not isinstance(base, str) or not base:
            raise ZendeskInvalidInputError(f"ledger_path must be a directory path or URI, got {base!r}.")
        self.base = base.rstrip("/")

    def _path(self, key: str) -> Any:
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        return ObjectStoragePath(f"{self.base}/{key}.json")

    def where(self, key: str) -> str:
        return f"{self.base}/{key}.json"

    def load(self, key: str) -> Ledger | None:
        path = self._path(key)
        if not path.exists():
            return None
        text = path.read_text(encoding="utf-8")
        try:
            return Ledger.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError) as exc:
            raise ZendeskInvalidInputError(
                f"The ledger {self.where(key)} cannot be read ({exc}). It records which chunks were already sent; "
                "look at it, and delete it only if no chunk of this import reached Zendesk."
            ) from None

    def save(self, ledger: Ledger) -> None:
        path = self._path(ledger.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.parent / f".{path.name}.tmp"
        temporary.write_text(json.dumps(ledger.to_dict(), separators=(",", ":")), encoding="utf-8")
        temporary.rename(path)
