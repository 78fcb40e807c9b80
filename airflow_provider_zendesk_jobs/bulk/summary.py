"""What a bulk import reports: the running total as it goes, and at its end every record's outcome.

:class:`ImportSummary` adds up each chunk's results (:mod:`.results`) as the ledger kept them into
the task's XCom value; with ``results_path`` the whole mapping goes to that file as JSON Lines and
the value keeps only the first entries of each list and totals (the caps), so 1,000,000 records
cost the same memory and XCom as 1,000. :func:`failure_reason` says why the import fails, naming
its first records; :func:`error_table` and :meth:`ImportSummary.report` are the lines people read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from airflow_provider_zendesk_jobs.api.bulk_actions import BulkAction
from airflow_provider_zendesk_jobs.bulk.ledger import Ledger
from airflow_provider_zendesk_jobs.bulk.results import ChunkResults

__all__ = [
    "ImportSummary",
    "ProgressPace",
    "error_table",
    "failure_reason",
    "result_lines",
    "running_total",
    "summarize",
]

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

    def report(self) -> str:
        """The import's last line: ``tickets.import finished: 1,000 records, 990 succeeded, 10 failed, ...``."""
        return (
            f"{self.action.name} finished: {self.records:,} records, {self.totals['succeeded']:,} succeeded, "
            f"{self.failed:,} failed, {self.unresolved:,} unresolved ({self.totals['unmapped']} unmapped items, "
            f"{self.totals['unreported']} unreported, {self.totals['uncertain']} uncertain chunks)"
        )


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


def summarize(action: BulkAction, ledger: Ledger, *, results_path: str | None, cap: int) -> ImportSummary:
    """Every chunk's results, in order, as the ledger kept them when each job ended; the file too, with a path.

    The file (a local path or an ``ObjectStoragePath`` URI) gets one line per record outcome; the
    summary then keeps at most ``cap`` entries of each list.
    """
    summary = ImportSummary(action, ledger.records, cap=cap if results_path else None)
    with _results_file(results_path) as out:
        for _, entry in ledger.done_chunks():
            part = ChunkResults.from_dict(entry.results)
            summary.add(entry.job_id, part)
            if out is not None:
                for line in result_lines(action, part):
                    out.write(json.dumps(line, separators=(",", ":"), default=str) + "\n")
    return summary


@contextmanager
def _results_file(path: str | None) -> Iterator[TextIO | None]:
    if not path:
        yield None
        return
    from airflow.providers.common.compat.sdk import ObjectStoragePath  # only when a file is asked for

    location = ObjectStoragePath(path)
    location.parent.mkdir(parents=True, exist_ok=True)
    with location.open("w", encoding="utf-8") as out:  # type: ignore[no-untyped-call]
        yield out


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
