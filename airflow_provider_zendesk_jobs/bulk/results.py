"""Zendesk's result items of each job, mapped back to the records they belong to: one chunk's results.

Zendesk numbers items inside each call, so item 7 of chunk 30 (chunks of 100) is record 3,007.
Each action names the fields that identify a record (:attr:`BulkAction.match_by`): an item is
given to the one record it matches; an item that matches none, or several, goes to ``unmapped``
and is never guessed at. Records no item speaks of go to ``unreported`` (a completed job that
answered ``"results": []``, say); every record of a job that ended ``failed`` or ``killed`` that
no item speaks of is a failure with the job's message. What the whole import reports from these
lives in :mod:`.summary`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from airflow_provider_zendesk_jobs.api.bulk_actions import BulkAction
from airflow_provider_zendesk_jobs.jobs import JobResult, JobState, JobStatus

__all__ = ["ChunkResults", "Counts", "map_chunk", "refused_chunk", "unreported_chunk", "unresolved_chunk"]


class Counts(TypedDict):
    """The counts of a chunk's records the ledger keeps beside its results."""

    succeeded: int
    failed: int
    unresolved: int


@dataclass
class ChunkResults:
    """One chunk's records, by outcome; ``record_index`` counts from the first record of the import.

    ``done`` holds the successes under their XCom key (``created``, ``updated``, ``deleted``):
    a create-or-update call has both ``created`` and ``updated``. ``unreported`` records no item
    spoke of, ``uncertain`` the chunks no one can say were started: both are unresolved.
    """

    done: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    unmapped: list[dict[str, Any]] = field(default_factory=list)
    unreported: list[int] = field(default_factory=list)
    uncertain: list[dict[str, Any]] = field(default_factory=list)

    def succeed(self, key: str, entry: dict[str, Any]) -> None:
        self.done.setdefault(key, []).append(entry)

    @property
    def succeeded(self) -> int:
        return sum(len(entries) for entries in self.done.values())

    @property
    def unresolved(self) -> int:
        """Records nobody can name an outcome for: no item spoke of them, or their chunk's call is unknown."""
        return len(self.unreported) + sum(int(c["last_record"]) - int(c["first_record"]) + 1 for c in self.uncertain)

    def counts(self) -> Counts:
        """The counts the ledger keeps beside the results."""
        return {"succeeded": self.succeeded, "failed": len(self.failures), "unresolved": self.unresolved}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"done": self.done} if self.done else {}
        for name in ("failures", "unmapped", "unreported", "uncertain"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ChunkResults:
        data = data if isinstance(data, dict) else {}
        return cls(
            done={str(key): list(entries) for key, entries in dict(data.get("done") or {}).items()},
            failures=list(data.get("failures") or []),
            unmapped=list(data.get("unmapped") or []),
            unreported=[int(index) for index in data.get("unreported") or []],
            uncertain=list(data.get("uncertain") or []),
        )


def refused_chunk(start: int, records: Sequence[Any], error: str, details: str) -> ChunkResults:
    """A chunk Zendesk refused whole (400, 413, 422): every record failed with Zendesk's answer; nothing started."""
    out = ChunkResults()
    for spot, record in enumerate(records):
        out.failures.append(
            {
                "record_index": start + spot,
                "job_id": None,
                "item_index": None,
                "id": _record_value(record, "id") if not isinstance(record, dict) else None,
                "error": error,
                "details": details,
            }
        )
    return out


def unresolved_chunk(number: int, start: int, count: int, note: str) -> ChunkResults:
    """A chunk whose call may or may not have started a job: reported, never sent again."""
    return ChunkResults(
        uncertain=[{"chunk": number, "first_record": start, "last_record": start + count - 1, "note": note}]
    )


def unreported_chunk(start: int, count: int) -> ChunkResults:
    """A chunk whose job Zendesk forgot before it was seen finished: no item can be read for its records."""
    return ChunkResults(unreported=list(range(start, start + count)))


def _record_value(record: Any, key: str) -> Any:
    """The record's value of ``key``; a record that is itself an id or external id is the value of both keys."""
    if not isinstance(record, dict):
        return record if key in ("id", "external_id") else None
    return record.get(key)


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
    position = _position_in_id(action, item, records)
    if position is not None:
        return None if position in claimed else position
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


def _position_in_id(action: BulkAction, item: JobResult, records: Sequence[Any]) -> int | None:
    """A failed create-or-update item that carries its place in ``id`` (as Zendesk answers users' errors).

    Taken as a place only where the shape proves it: a failed item with no ``index`` and none of the
    fields that name a record, whose ``id`` is below the chunk's length (Zendesk's own ids are far
    larger); anything else is matched by its fields, or unmapped.
    """
    if not action.result_by_status or not item.failed or item.index is not None:
        return None
    if any(item.extra.get(key) is not None for key in action.match_by if key not in ("index", "id")):
        return None
    value = item.id
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(records):
        return value
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
                out.succeed(action.result_key, {"record_index": start + spot, "id": _record_value(record, "id")})
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
            out.succeed(_result_key(action, item), {"record_index": start + place, "id": item.id})
    unnamed = [place for place in range(len(records)) if place not in claimed]
    if action.count_settles and unnamed and _rest_succeeded(job, out.unmapped, len(unnamed)):
        # One item per record: the items that name no record, as many as the records left and every one a
        # success, are those records' items. Each such record succeeded (which of Zendesk's ids is its, no one
        # can say).
        for place in unnamed:
            out.succeed(action.result_key, {"record_index": start + place, "id": None, "external_id": records[place]})
        out.unmapped.clear()
        return out
    for place, record in enumerate(records):
        if place in claimed:
            continue
        if job.state is JobState.COMPLETED:
            out.unreported.append(start + place)
        else:
            out.failures.append(_job_level_failure(start + place, job, record))
    return out


def _rest_succeeded(job: JobStatus, unmapped: Sequence[dict[str, Any]], left: int) -> bool:
    return (
        job.state is JobState.COMPLETED
        and len(unmapped) == left
        and not any(item.get("failed") or item.get("error") or item.get("success") is False for item in unmapped)
    )


def _result_key(action: BulkAction, item: JobResult) -> str:
    """``updated`` for an item a create-or-update call says it updated; else the action's own key."""
    if action.result_by_status and isinstance(item.status, str) and item.status.strip().casefold() == "updated":
        return "updated"
    return action.result_key


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
