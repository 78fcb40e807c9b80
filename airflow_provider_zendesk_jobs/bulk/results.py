"""Zendesk's result items of each job, mapped back to the records they belong to. Pure functions.

Zendesk numbers items inside each call, so item 7 of chunk 30 (chunks of 100) is record 3,007.
Each action names the fields that identify a record (:attr:`BulkAction.match_by`): an item is
given to the one record it matches; an item that matches none, or several, goes to ``unmapped``
and is never guessed at. Records no item speaks of go to ``unreported`` (a completed job that
answered ``"results": []``, say); every record of a job that ended ``failed`` or ``killed`` that
no item speaks of is a failure with the job's message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_zendesk_jobs.api.bulk_actions import BulkAction
from airflow_provider_zendesk_jobs.jobs import JobResult, JobState, JobStatus

__all__ = ["ChunkResults", "ImportResults", "job_counts", "map_chunk"]


@dataclass
class ChunkResults:
    """One chunk's records, by outcome; ``record_index`` counts from the first record of the import."""

    succeeded: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    unmapped: list[dict[str, Any]] = field(default_factory=list)
    unreported: list[int] = field(default_factory=list)


def _record_value(record: Any, key: str) -> Any:
    if key == "id" and not isinstance(record, dict):
        return record
    return record.get(key) if isinstance(record, dict) else None


def _same(key: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    if key == "email" and isinstance(a, str) and isinstance(b, str):
        return a.strip().casefold() == b.strip().casefold()
    return a == b or str(a) == str(b)


def _item_value(item: JobResult, key: str) -> Any:
    if key == "index":
        return item.index
    if key == "id":
        return item.id
    return item.extra.get(key)


def _match(action: BulkAction, item: JobResult, records: Sequence[Any], claimed: set[int]) -> int | None:
    """The place in the chunk of the one record ``item`` speaks of, or None when that is not certain."""
    for key in action.match_by:
        value = _item_value(item, key)
        if value is None:
            continue
        if key == "index":
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(records):
                return None if value in claimed else value
            return None
        places = [place for place, record in enumerate(records) if _same(key, _record_value(record, key), value)]
        if len(places) == 1 and places[0] not in claimed:
            return places[0]
        if places:
            return None  # several records carry it, or its record already has an item: not guessed at
    return None


def _failure(start: int, place: int, job: JobStatus, position: int, item: JobResult) -> dict[str, Any]:
    return {
        "record_index": start + place,
        "job_id": job.id,
        "item_index": item.index if item.index is not None else position,
        "id": item.id,
        "error": item.error_text,
        "details": item.details,
    }


def map_chunk(action: BulkAction, start: int, records: Sequence[Any], job: JobStatus) -> ChunkResults:
    """The records of the chunk that begins at record ``start``, sorted by what the finished ``job`` says of them."""
    out = ChunkResults()
    if action.object_result or isinstance(job.raw_results, dict):
        ok = job.state is JobState.COMPLETED and job.success is True
        for spot, record in enumerate(records):
            if ok:
                out.succeeded.append({"record_index": start + spot, "id": _record_value(record, "id")})
            else:
                out.failures.append(_job_level_failure(start + spot, job, record))
        return out
    claimed: set[int] = set()
    for position, item in enumerate(job.items):
        place = _match(action, item, records, claimed)
        if place is None:
            out.unmapped.append({"job_id": job.id, "item_index": position, **item.to_dict()})
            continue
        claimed.add(place)
        if item.failed:
            out.failures.append(_failure(start, place, job, position, item))
        else:
            out.succeeded.append({"record_index": start + place, "id": item.id})
    for place, record in enumerate(records):
        if place in claimed:
            continue
        if job.state is JobState.COMPLETED:
            out.unreported.append(start + place)
        else:
            out.failures.append(_job_level_failure(start + place, job, record))
    return out


def _job_level_failure(record_index: int, job: JobStatus, record: Any) -> dict[str, Any]:
    details: str | None
    if job.state is JobState.COMPLETED:
        error, details = "DeletionFailed", "Zendesk answered success=false for the whole call; it names no record."
    else:
        error, details = f"Job{job.status.capitalize()}", job.message
    return {
        "record_index": record_index,
        "job_id": job.id,
        "item_index": None,
        "id": _record_value(record, "id") if not isinstance(record, dict) else None,
        "error": error,
        "details": details,
    }


def job_counts(job: JobStatus, records: int) -> tuple[int, int]:
    """``(succeeded, failed)`` of a finished job, by its items alone (for progress lines; no mapping needed)."""
    if job.state is not JobState.COMPLETED:
        return 0, records
    if isinstance(job.raw_results, dict):
        return (records, 0) if job.success is True else (0, records)
    failed = len(job.failed_items)
    return max(0, min(records, len(job.items)) - failed), failed


@dataclass
class ImportResults:
    """Every chunk's results together: what the task returns (see :meth:`xcom`)."""

    action: BulkAction
    records: int
    job_ids: list[str] = field(default_factory=list)
    parts: list[ChunkResults] = field(default_factory=list)

    def add(self, part: ChunkResults) -> None:
        self.parts.append(part)

    def _all(self, name: str) -> list[Any]:
        values: list[Any] = []
        for part in self.parts:
            values.extend(getattr(part, name))
        return values

    @property
    def failures(self) -> list[dict[str, Any]]:
        return sorted(self._all("failures"), key=lambda failure: failure["record_index"])

    def errors_by_code(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for failure in self._all("failures"):
            counts[str(failure["error"])] = counts.get(str(failure["error"]), 0) + 1
        return dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))

    def xcom(
        self, *, uncertain: Sequence[dict[str, Any]] = (), cap: int | None = None, path: str | None = None
    ) -> dict[str, Any]:
        """The XCom value: counts, the successes under the action's result key, failures, and what is not mapped.

        With ``path`` (the whole mapping was written there), the successes are left out and the
        failures capped at ``cap``; ``failures_total`` says how many there were.
        """
        succeeded = sorted(self._all("succeeded"), key=lambda entry: entry["record_index"])
        failures = self.failures
        unmapped = self._all("unmapped")
        unreported = sorted(self._all("unreported"))
        value: dict[str, Any] = {
            "action": self.action.name,
            "records": self.records,
            "jobs": list(self.job_ids),
            "succeeded": len(succeeded),
            "failed": len(failures),
        }
        if path is None:
            value[self.action.result_key] = succeeded
            value["failures"] = failures
        else:
            value["results_path"] = path
            value["failures"] = failures if cap is None else failures[:cap]
            value["failures_total"] = len(failures)
        value["unmapped"] = unmapped
        value["unreported"] = unreported
        value["uncertain"] = list(uncertain)
        return value

    def lines(self) -> Iterable[dict[str, Any]]:
        """One JSON-ready line per record outcome (and per unmapped item), for ``results_path``."""
        for entry in sorted(self._all("succeeded"), key=lambda entry: entry["record_index"]):
            yield {"outcome": self.action.result_key, **entry}
        for failure in self.failures:
            yield {"outcome": "failed", **failure}
        for item in self._all("unmapped"):
            yield {"outcome": "unmapped", **item}
        for index in sorted(self._all("unreported")):
            yield {"outcome": "unreported", "record_index": index}
