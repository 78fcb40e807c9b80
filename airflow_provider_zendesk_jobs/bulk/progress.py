"""The lines a bulk import writes for people: one per finished job, a running total, a table of errors."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["error_table", "job_line", "running_total"]


def job_line(job_id: str, status: str, chunk: int, first: int, count: int, succeeded: int, failed: int) -> str:
    """``V3-abc: completed, chunk 12 (records 1,200 to 1,299): 99 done, 1 failed``."""
    return (
        f"{job_id}: {status}, chunk {chunk} (records {first:,} to {first + count - 1:,}): "
        f"{succeeded:,} done, {failed:,} failed"
    )


def running_total(finished: int, records: int, succeeded: int, failed: int, active: int, to_go: int) -> str:
    """``1,800 of 5,000 records: 1,795 done, 5 failed; 10 jobs active, 32 chunks to go``."""
    return (
        f"{finished:,} of {records:,} records: {succeeded:,} done, {failed:,} failed; "
        f"{active} job{'' if active == 1 else 's'} active, {to_go} chunk{'' if to_go == 1 else 's'} to go"
    )


def error_table(counts: Mapping[str, int]) -> str:
    """The failed records by Zendesk's error code, most frequent first; empty when none failed."""
    if not counts:
        return ""
    width = max(len("error"), *(len(code) for code in counts))
    lines = [f"{'error':<{width}}  records", f"{'-' * width}  -------"]
    lines += [f"{code:<{width}}  {count:>7,}" for code, count in counts.items()]
    return "\n".join(lines)
