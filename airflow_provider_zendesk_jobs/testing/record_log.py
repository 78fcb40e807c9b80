"""Every record the bulk calls received, counted per job, so a test can prove none was sent twice.

Only calls that started a job count as received (a refused call started nothing, and is counted
apart). Records are not kept, only how often each ``external_id``, ``email`` and ``id`` came in,
so an import of 100,000 records costs little memory.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any, TypedDict

#: The fields whose values are counted; a bare id (a destroy call's record) counts as ``id``.
COUNTED_FIELDS = ("external_id", "email", "id")


class RecordSummary(TypedDict):
    """What the record log says at a glance (``GET /__emulator__/records``)."""

    #: Records per job id.
    jobs: dict[str, int]
    total: int
    #: Bulk calls refused past the job limit (nothing started, nothing counted).
    refused_calls: int
    calls_with_idempotency_key: int
    #: Values of the summarised field received more than once, with how often.
    duplicates: dict[str, int]


class RecordLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._per_job: dict[str, int] = {}
        self._values: dict[str, Counter[str]] = {name: Counter() for name in COUNTED_FIELDS}
        self._refused_calls = 0
        self._idempotency_keys: Counter[str] = Counter()

    def add(self, job_id: str, records: Sequence[Any], idempotency_key: str | None = None) -> None:
        with self._lock:
            self._per_job[job_id] = self._per_job.get(job_id, 0) + len(records)
            for record in records:
                if isinstance(record, dict):
                    for name in COUNTED_FIELDS:
                        value = record.get(name)
                        if value is not None:
                            self._values[name][str(value)] += 1
                else:
                    self._values["id"][str(record)] += 1
            if idempotency_key:
                self._idempotency_keys[idempotency_key] += 1

    def refused(self) -> None:
        with self._lock:
            self._refused_calls += 1

    def per_job(self) -> dict[str, int]:
        with self._lock:
            return dict(self._per_job)

    def total(self) -> int:
        with self._lock:
            return sum(self._per_job.values())

    def counts(self, name: str = "external_id") -> dict[str, int]:
        """How often each value of ``name`` was received."""
        if name not in COUNTED_FIELDS:
            raise ValueError(f"records are counted by {', '.join(COUNTED_FIELDS)}, not {name!r}")
        with self._lock:
            return dict(self._values[name])

    def duplicates(self, name: str = "external_id") -> dict[str, int]:
        """The values of ``name`` received more than once, with how often."""
        return {value: count for value, count in self.counts(name).items() if count > 1}

    def summary(self, name: str = "external_id") -> RecordSummary:
        with self._lock:
            refused = self._refused_calls
            keys = sum(self._idempotency_keys.values())
        return {
            "jobs": self.per_job(),
            "total": self.total(),
            "refused_calls": refused,
            "calls_with_idempotency_key": keys,
            "duplicates": self.duplicates(name),
        }

    def clear(self) -> None:
        with self._lock:
            self._per_job.clear()
            for counter in self._values.values():
                counter.clear()
            self._refused_calls = 0
            self._idempotency_keys.clear()
