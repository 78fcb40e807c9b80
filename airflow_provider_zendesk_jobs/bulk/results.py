"""Zendesk's result items of each job, mapped back to the records they belong to, and what the import reports.

Zendesk numbers items inside each call, so item 7 of chunk 30 (chunks of 100) is record 3,007.
Each action names the fields that identify a record (:attr:`BulkAction.match_by`): an item is
given to the one record it matches; an item that matches none, or several, goes to ``unmapped``
and is never guessed at. Records no item speaks of go to ``unreported`` (a completed job that
answered ``"results": []``, say); every record of a job that ended ``failed`` or ``killed`` that
no item speaks of is a failure with the job's message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_zendesk_jobs.api.bulk_actions import BulkAction
from airflow_provider_zendesk_jobs.jobs import JobResult, JobState, JobStatus

__all__ = [
    "ChunkResults",
    "ImportSummary",
    "ProgressPace",
    "error_table",
    "failure_reason",
    "map_chunk",
    "refused_chunk",
    "result_lines",
    "running_total",
    "unreported_chunk",
    "unresolved_chunk",
]


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


#: The lists of the XCom value besides the successes, in the order they appear there.
_LISTS = ("failures", "unmapped", "unreported", "uncertain")


@dataclass
class ImportSummary:
    """Every chunk's results, added chunk by chunk as they are read back: what the task returns (:meth:`xcom`).

    With a ``cap`` (the whole mapping went to ``results_path``) each list keeps its first ``cap``
    entries and a total, and the successes only their count, so 1,000,000 records cost the
    same memory and XCom as 1,000.
    """

    action: BulkAction
    records: int
    cap: int | None = None
    jobs: list[str] = field(default_factory=list)
    jobs_total: int = 0
    done: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lists: dict[str, list[Any]] = field(default_factory=lambda: {name: [] for name in _LISTS})
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("succeeded", *_LISTS), 0))
    unresolved: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, job_id: str | None, part: ChunkResults) -> None:
        if job_id:
            self.jobs_total += 1
            if self.cap is None or len(self.jobs) < self.cap:
                self.jobs.append(job_id)
        for key, entries in part.done.items():
            self.totals["succeeded"] += len(entries)
            if self.cap is None:
                self.done.setdefault(key, []).extend(entries)
        for name in _LISTS:
            values = getattr(part, name)
            self.totals[name] += len(values)
            kept = self.lists[name]
            room = len(values) if self.cap is None else max(0, self.cap - len(kept))
            kept.extend(values[:room])
        self.unresolved += part.unresolved
        for failure in part.failures:
            code = str(failure["error"])
            self.errors[code] = self.errors.get(code, 0) + 1

    @property
    def failed(self) -> int:
        return self.totals["failures"]

    def errors_by_code(self) -> dict[str, int]:
        return dict(sorted(self.errors.items(), key=lambda pair: (-pair[1], pair[0])))

    def xcom(self, *, path: str | None = None) -> dict[str, Any]:
        """The XCom value: counts, the successes under their keys (without ``path``), failures, the unresolved."""
        value: dict[str, Any] = {
            "action": self.action.name,
            "records": self.records,
            "jobs": list(self.jobs),
            "succeeded": self.totals["succeeded"],
            "failed": self.failed,
            "unresolved": self.unresolved,
        }
        if path is None:
            for key in self.action.result_keys:
                value[key] = sorted(self.done.get(key, []), key=lambda entry: entry["record_index"])
        else:
            value["results_path"] = path
            value["jobs_total"] = self.jobs_total
        for name in _LISTS:
            value[name] = list(self.lists[name])
            if path is not None:
                value[f"{name}_total"] = self.totals[name]
        return value


def failure_reason(
    summary: ImportSummary, *, allow_unresolved: bool, max_failed_records: int | None, fail_on_item_errors: bool
) -> str | None:
    """Why the import fails, if it does, naming its first records: unresolved ones, or more failures than allowed."""
    counted = summary.failed + summary.unresolved
    if summary.unresolved and not allow_unresolved:
        reason = (
            f"{summary.unresolved} records have no outcome anyone can name (unreported or uncertain); look them "
            "up in Zendesk (allow_unresolved=True lets the task succeed with them)."
        )
    elif max_failed_records is not None and counted > max_failed_records:
        reason = f"{counted} records failed or are unresolved, more than max_failed_records={max_failed_records}."
    elif fail_on_item_errors and counted:
        reason = f"{counted} records failed or are unresolved (fail_on_item_errors=True)."
    else:
        return None
    return f"{reason} {_first_named(summary)} The records were not sent again."


#: How many failed or unresolved records a failure message names.
_NAMED_IN_MESSAGE = 5


def _first_named(summary: ImportSummary) -> str:
    """The first failed and unresolved records, for the failure message: where to look."""
    lists = summary.lists
    parts = [
        f"record {failure['record_index']} ({failure.get('error')}: {failure.get('details') or '-'})"
        for failure in lists["failures"][:_NAMED_IN_MESSAGE]
    ]
    parts += [f"record {index} (unreported)" for index in lists["unreported"][:_NAMED_IN_MESSAGE]]
    parts += [
        f"records {chunk['first_record']} to {chunk['last_record']} (chunk {chunk['chunk']}, uncertain)"
        for chunk in lists["uncertain"][:_NAMED_IN_MESSAGE]
    ]
    total = summary.failed + summary.totals["unreported"] + summary.totals["uncertain"]
    more = f", and {total - len(parts)} more" if total > len(parts) else ""
    return f"First: {'; '.join(parts)}{more}." if parts else ""


def result_lines(action: BulkAction, part: ChunkResults) -> Iterator[dict[str, Any]]:
    """One JSON-ready line per record outcome (and per unmapped item) of one chunk, for ``results_path``."""
    for key, entries in part.done.items():
        for entry in entries:
            yield {"outcome": key, **entry}
    for failure in part.failures:
        yield {"outcome": "failed", **failure}
    for item in part.unmapped:
        yield {"outcome": "unmapped", **item}
    for index in part.unreported:
        yield {"outcome": "unreported", "record_index": index}
    for chunk in part.uncertain:
        for index in range(int(chunk["first_record"]), int(chunk["last_record"]) + 1):
            yield {"outcome": "uncertain", "record_index": index, "chunk": chunk["chunk"], "note": chunk["note"]}


def running_total(
    finished: int, records: int, succeeded: int, failed: int, active: int, to_go: int, unresolved: int = 0
) -> str:
    """``1,800 of 5,000 records (36%): 1,795 done, 5 failed; 10 jobs active, 32 chunks to go``."""
    share = f" ({100 * finished // records}%)" if records else ""
    open_records = f", {unresolved:,} unresolved" if unresolved else ""
    return (
        f"{finished:,} of {records:,} records{share}: {succeeded:,} done, {failed:,} failed{open_records}; "
        f"{active} job{'' if active == 1 else 's'} active, {to_go} chunk{'' if to_go == 1 else 's'} to go"
    )


@dataclass
class ProgressPace:
    """When the next running total is due: after another tenth of the records, or a minute after the last line."""

    last_at: float | None = None
    last_share: int = 0
    every_seconds: float = 60.0

    def due(self, now: float, finished: int, records: int) -> bool:
        share = 10 * finished // records if records else 10
        if self.last_at is None or share > self.last_share or now - self.last_at >= self.every_seconds:
            self.last_at, self.last_share = now, share
            return True
        return False


def error_table(counts: Mapping[str, int]) -> str:
    """The failed records by Zendesk's error code, most frequent first; empty when none failed."""
    if not counts:
        return ""
    width = max(len("error"), *(len(code) for code in counts))
    lines = [f"{'error':<{width}}  records", f"{'-' * width}  -------"]
    lines += [f"{code:<{width}}  {count:>7,}" for code, count in counts.items()]
    return "\n".join(lines)
