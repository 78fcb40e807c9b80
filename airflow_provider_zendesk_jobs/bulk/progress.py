"""The lines a bulk import writes for people: one per finished job, a running total, a table of errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ProgressPace", "error_table", "job_line", "running_total"]


def job_line(job_id: str, status: str, chunk: int, first: int, count: int, succeeded: int, failed: int) -> str:
    """``V3-abc: completed, chunk 12 (records 1,200 to 1,299): 99 done, 1 failed``."""
    return (
        f"{job_id}: {status}, chunk {chunk} (records {first:,} to {first + count - 1:,}): "
        f"{succeeded:,} done, {failed:,} failed"
    )


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
