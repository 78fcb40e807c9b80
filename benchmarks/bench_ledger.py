"""The bulk import's ledger: what one chunk's writes cost at chunk 10,000 against chunk 1, and the bytes written.

``Ledger`` is driven directly (no HTTP), chunk after chunk in the operator's order: ``begin``
(``sending``, before the bulk call), ``accepted`` (the job id), and, once more than 10 chunks are
active, ``done`` of the oldest with a realistic results dict (100 ``created`` entries), then
``save`` (the head) once per chunk: the operator saves once a round, so once per chunk is the
worst case. Two stores:

* **task state store**: a stand-in for Airflow 3.3's ``context["task_state_store"]`` that keeps each
  value as ``json.dumps`` text, as the metadata database does, behind ``TaskStateLedgerStore``;
* **files**: ``FileLedgerStore`` on a temporary directory (one JSON file per key, written to a
  temporary file and renamed).

**Baseline**, measured in the same run: the previous design, one JSON document holding every
chunk's entry (state, job id, sent at, status, counts), rewritten whole at each save through the
same store, once per chunk (it was rewritten at every change, before and after each call, so this
understates it). At 1,000,000 records its last window is measured from a document built with the
entries it would hold by then, not by running the 9,900 chunks before it.

The time of one chunk is that of its ``begin`` + ``accepted`` + ``done`` + ``save``, over the first
and the last ``W`` chunks that have a ``done`` (``W`` = 100, or a quarter of the chunks when fewer):
their mean and p95, and the ratio last / first (the target: within 2x). Bytes are the lengths of
the JSON of every value set (what the store keeps), per chunk and in total.

    python benchmarks/bench_ledger.py [--records 10000,1000000] [--active 10] [--repeat 3] [--summary FILE]

Exits 1 when the ledger's mean last / first ratio is over 2 for either store at any size.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench_support import write_summary

from airflow_provider_zendesk_jobs.bulk.ledger import Ledger
from airflow_provider_zendesk_jobs.bulk.ledger_entries import Outcome, Owner
from airflow_provider_zendesk_jobs.bulk.ledger_store import (
    FileLedgerStore,
    LedgerStore,
    TaskStateLedgerStore,
    ledger_key,
)

CHUNK = 100
#: The ratio last / first of the ledger's mean chunk time that meets the target.
TARGET_RATIO = 2.0
START = 1_700_000_000.0


class JsonTaskStateStore:
    """What ``context["task_state_store"]`` does: each value kept as its JSON text, as the metadata DB keeps it."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}
        self.bytes = 0

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(self.rows[key]) if key in self.rows else default

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        text = json.dumps(value, allow_nan=False)
        self.rows[key] = text
        self.bytes += len(text)


class CountedFiles:
    """``FileLedgerStore`` with the length of each value's JSON counted, the counting's own time kept apart."""

    def __init__(self, base: str) -> None:
        self.files = FileLedgerStore(base, ledger_key("bench", "run", "bulk"))
        self.bytes = 0
        #: Seconds spent counting, taken off the figures.
        self.overhead = 0.0

    def get(self, key: str) -> Any:
        return self.files.get(key)

    def set(self, key: str, value: Any) -> None:
        began = time.perf_counter()
        self.bytes += len(json.dumps(value, separators=(",", ":"), allow_nan=False))
        self.overhead += time.perf_counter() - began
        self.files.set(key, value)

    def where(self) -> str:
        return self.files.where()


@dataclass
class Store:
    """One of the two stores, fresh for each run: the ledger's view of it, and its byte and overhead counters."""

    name: str
    ledger_store: LedgerStore
    bytes: Callable[[], int]
    overhead: Callable[[], float] = lambda: 0.0


@contextmanager
def store(kind: str) -> Iterator[Store]:
    if kind == "task state store":
        accessor = JsonTaskStateStore()
        yield Store(kind, TaskStateLedgerStore(accessor), lambda: accessor.bytes)
        return
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as base:
        files = CountedFiles(base)
        yield Store(kind, files, lambda: files.bytes, lambda: files.overhead)


STORES = ("task state store", "files")


@dataclass
class Window:
    """The chunk times of a run's first and last windows, and the bytes its chunks wrote."""

    first: list[float] = field(default_factory=list)
    last: list[float] = field(default_factory=list)
    first_bytes: list[int] = field(default_factory=list)
    last_bytes: list[int] = field(default_factory=list)
    total_bytes: int = 0
    #: True when the total is extrapolated from the windows (the baseline's sampled run).
    estimated: bool = False
    seconds: float = 0.0

    @property
    def ratio(self) -> float:
        return statistics.fmean(self.last) / statistics.fmean(self.first)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def job_id(number: int) -> str:
    return f"V3-{number:032x}"


def fingerprint(number: int) -> str:
    return f"{number * 2654435761 % 16**16:016x}"


def results(number: int) -> dict[str, Any]:
    first = number * CHUNK
    return {"done": {"created": [{"record_index": i, "id": 10**6 + i} for i in range(first, first + CHUNK)]}}


def point(number: int) -> dict[str, Any]:
    """A ``ReadPoint`` as the operator keeps it: the chunk's first record, its byte offset and its line."""
    return {"record": number * CHUNK, "position": number * CHUNK * 92, "line": number * CHUNK}


def window_size(chunks: int, active: int) -> int:
    return min(100, max(1, (chunks - active) // 4))


def run_ledger(kind: str, records: int, active: int) -> Window:
    """Every chunk through ``Ledger`` in the operator's order, each chunk's writes timed."""
    chunks = -(-records // CHUNK)
    size = window_size(chunks, active)
    prints = [fingerprint(n) for n in range(chunks)]
    out = Window()
    gc.collect()
    began = time.perf_counter()
    with store(kind) as where:
        ledger, _ = Ledger.start(
            where.ledger_store,
            Owner.new(1),
            action="tickets.import",
            records=records,
            chunk_size=CHUNK,
            chunk_fingerprints=prints,
        )
        open_chunks: list[int] = []
        steady = 0  # chunks timed with a done
        for number in range(chunks):
            bytes_before, overhead_before = where.bytes(), where.overhead()
            done = results(open_chunks[0]) if len(open_chunks) >= active else None  # built outside the timing
            tick = time.perf_counter()
            ledger.begin(number, START + number, prints[number], point(number))
            ledger.accepted(number, job_id(number))
            open_chunks.append(number)
            if done is not None:
                oldest = open_chunks.pop(0)
                ledger.done(oldest, Outcome.COMPLETED, done, succeeded=CHUNK, failed=0, unresolved=0)
            ledger.save()
            took = time.perf_counter() - tick - (where.overhead() - overhead_before)
            if done is None:
                continue
            written = where.bytes() - bytes_before
            if steady < size:
                out.first.append(took)
                out.first_bytes.append(written)
            if number >= chunks - size:
                out.last.append(took)
                out.last_bytes.append(written)
            steady += 1
        for oldest in open_chunks:  # the import's end, not timed
            ledger.done(oldest, Outcome.COMPLETED, results(oldest), succeeded=CHUNK, failed=0, unresolved=0)
        ledger.save()
        assert ledger.finished
        out.total_bytes = where.bytes()
    out.seconds = time.perf_counter() - began
    return out


# -- the previous design, for comparison ------------------------------------------------------------
def old_entry(number: int, state: str) -> dict[str, Any]:
    """A chunk's entry as the previous ledger kept it (``dataclasses.asdict`` of its ``ChunkEntry``)."""
    done = state == "done"
    return {
        "state": state,
        "job_id": job_id(number),
        "sent_at": START + number,
        "status": "completed" if done else None,
        "succeeded": CHUNK if done else 0,
        "failed": 0,
        "note": None,
    }


class OldLedger:
    """One document with every chunk's entry, rewritten whole at every save."""

    def __init__(self, where: LedgerStore, records: int) -> None:
        self.where = where
        self.head = {
            "version": 1,
            "key": ledger_key("bench", "run", "bulk"),
            "action": "tickets.import",
            "fingerprint": "0" * 32,
            "records": records,
            "chunk_size": CHUNK,
        }
        self.chunks: dict[int, dict[str, Any]] = {}

    def begin(self, number: int, now: float) -> None:
        self.chunks[number] = {**old_entry(number, "sending"), "job_id": None, "sent_at": now}

    def accepted(self, number: int, job: str) -> None:
        self.chunks[number]["state"], self.chunks[number]["job_id"] = "active", job

    def done(self, number: int) -> None:
        entry = self.chunks[number]
        entry["state"], entry["status"], entry["succeeded"], entry["failed"] = "done", "completed", CHUNK, 0

    def save(self) -> None:
        document = {**self.head, "chunks": {str(n): dict(entry) for n, entry in sorted(self.chunks.items())}}
        self.where.set("ledger", document)


def run_old(kind: str, records: int, active: int, full_limit: int) -> Window:
    """The previous design's chunk times: every chunk in order up to ``full_limit`` chunks, else its two windows.

    Sampled, the last window starts from the document as it would be by then (every chunk before it
    done but the ``active`` newest), and the total is the sum of a document that grows linearly
    from the first window's size to the last's.
    """
    chunks = -(-records // CHUNK)
    size = window_size(chunks, active)
    sampled = chunks > full_limit
    out = Window(estimated=sampled)
    gc.collect()
    began = time.perf_counter()
    with store(kind) as where:
        old = OldLedger(where.ledger_store, records)

        def one(number: int, open_chunks: list[int]) -> tuple[float, int] | None:
            bytes_before, overhead_before = where.bytes(), where.overhead()
            tick = time.perf_counter()
            old.begin(number, START + number)
            old.accepted(number, job_id(number))
            open_chunks.append(number)
            finished = len(open_chunks) > active
            if finished:
                old.done(open_chunks.pop(0))
            old.save()
            took = time.perf_counter() - tick - (where.overhead() - overhead_before)
            return (took, where.bytes() - bytes_before) if finished else None

        open_chunks: list[int] = []
        steady = 0
        first_run = chunks if not sampled else active + size
        for number in range(first_run):
            timed = one(number, open_chunks)
            if timed is None:
                continue
            if steady < size:
                out.first.append(timed[0])
                out.first_bytes.append(timed[1])
            if number >= chunks - size:
                out.last.append(timed[0])
                out.last_bytes.append(timed[1])
            steady += 1
        if sampled:
            start = chunks - size
            open_chunks = list(range(start - active, start))
            old.chunks = {n: old_entry(n, "done" if n < start - active else "active") for n in range(start)}
            for number in range(start, chunks):
                timed = one(number, open_chunks)
                assert timed is not None
                out.last.append(timed[0])
                out.last_bytes.append(timed[1])
            first_mean = statistics.fmean(out.first_bytes)
            last_mean = statistics.fmean(out.last_bytes)
            out.total_bytes = round((first_mean + last_mean) / 2 * chunks)
        else:
            out.total_bytes = where.bytes()
    out.seconds = time.perf_counter() - began
    return out


def best(runs: list[Window]) -> Window:
    """Repeats of one run: each window from the repeat where it was fastest (noise only ever adds time)."""
    first = min(runs, key=lambda run: statistics.fmean(run.first))
    last = min(runs, key=lambda run: statistics.fmean(run.last))
    return Window(
        first=first.first,
        last=last.last,
        first_bytes=first.first_bytes,
        last_bytes=last.last_bytes,
        total_bytes=runs[0].total_bytes,
        estimated=runs[0].estimated,
        seconds=sum(run.seconds for run in runs),
    )


# -- the report ----------------------------------------------------------------------------------------
def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def human_bytes(count: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count:.0f} B"


def row(records: int, kind: str, design: str, run: Window) -> str:
    total = ("≈ " if run.estimated else "") + human_bytes(run.total_bytes)
    return (
        f"| {records:,} | {kind} | {design} | {ms(statistics.fmean(run.first))} / {ms(p95(run.first))} | "
        f"{ms(statistics.fmean(run.last))} / {ms(p95(run.last))} | {run.ratio:.2f} | "
        f"{human_bytes(statistics.fmean(run.first_bytes))} / {human_bytes(statistics.fmean(run.last_bytes))} | "
        f"{total} | {run.seconds:.1f} |"
    )


def main(argv: list[str] | None = None) -> tuple[int, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="10000,1000000", help="comma-separated import sizes")
    parser.add_argument("--active", type=int, default=10, help="chunks active at once before the oldest is done")
    parser.add_argument(
        "--baseline-full-limit",
        type=int,
        default=1000,
        help="chunks up to which the baseline runs every chunk; above, its last window is measured alone",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each size up to --repeat-up-to records, each window's fastest kept (larger sizes run once)",
    )
    parser.add_argument("--repeat-up-to", type=int, default=100_000)
    parser.add_argument("--summary", help="write the headline figures to this JSON file")
    args = parser.parse_args(argv)
    sizes = [int(part.replace("_", "")) for part in args.records.split(",") if part.strip()]

    lines = [
        f"Chunks of {CHUNK}; per chunk `begin` + `accepted` + (with more than {args.active} active) `done` of the "
        "oldest with 100 mapped results + `save`, the head once per chunk (the operator saves once a round). "
        "Times in ms on this machine (mean / p95 of the chunks of a window); bytes are the JSON set per chunk.",
        "",
        "| records | store | design | first chunks ms (mean / p95) | last chunks ms (mean / p95) | last / first | "
        "bytes per chunk (first / last) | bytes in all | run s |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in STORES:  # Airflow's imports (the file store's ObjectStoragePath) and the caches, before any figure
        run_ledger(kind, 30 * CHUNK, args.active)
        run_old(kind, 30 * CHUNK, args.active, args.baseline_full_limit)
    ratios: dict[tuple[int, str], float] = {}
    old_ratios: dict[tuple[int, str], float] = {}
    for records in sizes:
        chunks = -(-records // CHUNK)
        repeats = max(1, args.repeat) if records <= args.repeat_up_to else 1
        for kind in STORES:
            new = best([run_ledger(kind, records, args.active) for _ in range(repeats)])
            old = best([run_old(kind, records, args.active, args.baseline_full_limit) for _ in range(repeats)])
            ratios[(records, kind)] = new.ratio
            old_ratios[(records, kind)] = old.ratio
            lines.append(row(records, kind, "ledger (key per chunk)", new))
            lines.append(row(records, kind, "baseline (one document)", old))
        print(f"{records:,} records ({chunks:,} chunks) done", file=sys.stderr, flush=True)
    windows = ", ".join(f"{window_size(-(-r // CHUNK), args.active)} chunks at {r:,} records" for r in sizes)
    worst = max(ratios.values())
    largest = max(sizes)
    lines += [
        "",
        f"- Windows: the first and the last chunks that have a `done` ({windows}); sizes up to "
        f"{args.repeat_up_to:,} records run {args.repeat} times, each window's fastest run kept.",
        f"- The ledger's last / first is at most {worst:.2f} (target: within {TARGET_RATIO:g}x); the one-document "
        f"baseline's at {largest:,} records: "
        + ", ".join(f"{old_ratios[(largest, kind)]:.1f}x with {kind}" for kind in STORES)
        + ".",
    ]
    if any(-(-r // CHUNK) > args.baseline_full_limit for r in sizes):
        lines.append(
            f"- Above {args.baseline_full_limit:,} chunks the baseline's last window starts from a document built "
            "as it would be by then, and its total (≈) sums a document growing linearly between its windows."
        )
    met = worst <= TARGET_RATIO
    figure = (
        f"last / first chunk's writes at {largest:,} records: "
        + ", ".join(f"{ratios[(largest, kind)]:.2f}x ({kind})" for kind in STORES)
        + f"; the one-document baseline {max(old_ratios[(largest, kind)] for kind in STORES):.0f}x"
    )
    target = f"a chunk's ledger writes at the end within {TARGET_RATIO:g}x of those at the start, for both stores"
    write_summary(args.summary, figure=figure, target=target, met=met)
    return (0 if met else 1), lines


if __name__ == "__main__":
    code, report = main()
    print("\n".join(report))
    sys.exit(code)
