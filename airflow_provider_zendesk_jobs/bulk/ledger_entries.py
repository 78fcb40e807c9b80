"""What a bulk import's ledger holds: the state of each chunk, its outcome, the totals, and the try that owns it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from airflow_provider_zendesk_jobs.bulk.ledger_store import LedgerStoreError

__all__ = ["RESENDABLE", "ChunkEntry", "ChunkState", "Outcome", "Owner", "Totals"]


class ChunkState(str, Enum):
    SENDING = "sending"  # written before the call leaves
    ACTIVE = "active"  # Zendesk answered with a job id
    UNCERTAIN = "uncertain"  # the answer was lost, or the try died before it was written down
    PENDING = "pending"  # Zendesk said it started nothing: sent again later
    DONE = "done"  # finished, with its outcome and its results


class Outcome(str, Enum):
    """How a done chunk ended."""

    COMPLETED = "completed"
    FAILED = "failed"  # the job ended failed
    KILLED = "killed"
    REFUSED = "refused"  # Zendesk refused the chunk itself (400, 413, 422): its records failed, nothing started
    EXPIRED = "expired"  # Zendesk forgot the job before it was seen finished: its records are unresolved
    UNRESOLVED = "unresolved"  # whether its call started a job cannot be proven: never sent again


#: Outcomes whose records may be sent again by a later try once they were corrected (nothing reached Zendesk).
RESENDABLE = frozenset({Outcome.REFUSED})


@dataclass(frozen=True)
class Owner:
    """The try that holds an import: its number and a token of its own (two runs of one try differ)."""

    try_number: int
    token: str

    @classmethod
    def new(cls, try_number: int) -> Owner:
        return cls(try_number, uuid.uuid4().hex)

    def to_dict(self) -> dict[str, Any]:
        return {"try_number": self.try_number, "token": self.token}

    @classmethod
    def from_value(cls, value: Any) -> Owner | None:
        if not isinstance(value, Mapping):
            return None
        number, token = value.get("try_number"), value.get("token")
        if isinstance(number, bool) or not isinstance(number, int) or not isinstance(token, str):
            return None
        return cls(number, token)

    def __str__(self) -> str:
        return f"try {self.try_number}"


@dataclass
class ChunkEntry:
    """What is known of one chunk that left ``pending``; its key's value, results included once done."""

    state: ChunkState
    job_id: str | None = None
    #: Epoch seconds when the bulk call was begun (the not-yet-listed grace of an uncertain chunk counts from it).
    sent_at: float | None = None
    outcome: Outcome | None = None
    succeeded: int = 0
    failed: int = 0
    unresolved: int = 0
    note: str | None = None
    #: ``records.chunk_fingerprint`` of the records sent.
    fingerprint: str | None = None
    #: Where the chunk's first record is (a ``ReadPoint`` as a dict), so it is read again without the file's start.
    point: dict[str, Any] | None = None
    #: The newest of this import's jobs seen finished before the call: a job listed below it cannot be the chunk's.
    after: str | None = None
    #: Once done: the chunk's records by outcome (``ChunkResults`` as a dict). Kept in the chunk's key only.
    results: dict[str, Any] | None = None

    def to_dict(self, *, with_results: bool = True) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["state"] = self.state.value
        data["outcome"] = self.outcome.value if self.outcome is not None else None
        if not with_results:
            data.pop("results")
        return {key: value for key, value in data.items() if value is not None and value != 0}

    @classmethod
    def from_value(cls, value: Any, where: str) -> ChunkEntry:
        try:
            data = dict(value)
            data["state"] = ChunkState(data["state"])
            data["outcome"] = Outcome(data["outcome"]) if data.get("outcome") is not None else None
            return cls(**data)
        except (TypeError, ValueError, KeyError) as exc:
            raise LedgerStoreError(
                f"The ledger's {where} cannot be read ({exc}). It records which chunks were already sent; look at "
                "it before sending these records again."
            ) from None


@dataclass
class Totals:
    """The records of the done chunks (not kept one by one in the head)."""

    records: int = 0
    succeeded: int = 0
    failed: int = 0
    unresolved: int = 0
    chunks: int = 0

    def add(self, records: int, entry: ChunkEntry, sign: int = 1) -> None:
        self.records += sign * records
        self.succeeded += sign * entry.succeeded
        self.failed += sign * entry.failed
        self.unresolved += sign * entry.unresolved
        self.chunks += sign

    def remove(self, records: int, entry: ChunkEntry) -> None:
        """A done chunk back to pending (its records were corrected after a refusal)."""
        self.add(records, entry, sign=-1)
