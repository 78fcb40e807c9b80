"""The bulk import's engine: rounds of read, settle and submit over the ledger, with no Airflow inside.

One :class:`ImportRun` is one run of a task (a try's start, or its resume after a deferral). It
reads every active job in one ``show_many``, maps each finished job's items back to its records
and keeps them in the ledger, settles chunks whose call's answer was lost, and sends chunks into
the free places, until every chunk is done. Where the task may not block a worker it returns
what to wait for (:class:`WaitOnJob`, :class:`PauseUntil`) instead of sleeping; the operator
turns that into a deferral and builds a new run when it resumes, from what the old one carried.
The bulk calls and their refusals are :mod:`.sender`'s; how a failed call or a lost answer is
judged lives in :mod:`.reconcile`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_zendesk_jobs.api.bulk_actions import BulkAction
from airflow_provider_zendesk_jobs.bulk.chunk_reader import ChunkReader
from airflow_provider_zendesk_jobs.bulk.ledger import JOB_RETENTION_SECONDS, Ledger
from airflow_provider_zendesk_jobs.bulk.ledger_entries import ChunkState, Outcome
from airflow_provider_zendesk_jobs.bulk.reconcile import Verdict, find_started_job
from airflow_provider_zendesk_jobs.bulk.records import (
    ImportInputChangedError,
    ReadPoint,
    RecordSource,
    chunk_fingerprint,
)
from airflow_provider_zendesk_jobs.bulk.results import ChunkResults, map_chunk, unreported_chunk, unresolved_chunk
from airflow_provider_zendesk_jobs.bulk.sender import ChunkSender, Log, Submitter
from airflow_provider_zendesk_jobs.bulk.summary import ProgressPace, running_total
from airflow_provider_zendesk_jobs.exceptions import ErrorKind, ZendeskJobsError, is_transient
from airflow_provider_zendesk_jobs.jobs import JobState, JobStatus

__all__ = ["NOT_VISIBLE_GRACE", "BulkClient", "ImportRun", "ImportTimeoutError", "PauseUntil", "WaitOnJob"]

#: Seconds after its call during which a job missing from Zendesk's answers is "not visible yet".
NOT_VISIBLE_GRACE = 60.0
#: A finished job's state as the ledger keeps it.
_OUTCOMES = {JobState.COMPLETED: Outcome.COMPLETED, JobState.FAILED: Outcome.FAILED}


class BulkClient(Submitter, Protocol):
    """The calls the engine makes: what ``ZendeskJobStatusHook`` offers."""

    def get_job_statuses_by_id(self, job_ids: Sequence[str]) -> dict[str, JobStatus]: ...

    def list_job_statuses(self, limit: int | None = None) -> Iterator[JobStatus]: ...


class ImportTimeoutError(ZendeskJobsError):
    """The try's ``timeout`` passed; the ledger lets the next try go on where this one stopped."""

    kind = ErrorKind.TRANSIENT


@dataclass(frozen=True)
class WaitOnJob:
    """Wait (in the triggerer) until ``job_id``, the oldest active job, is done; then run again."""

    job_id: str
    sent_at: float
    active: int


@dataclass(frozen=True)
class PauseUntil:
    """None of the import's jobs is active (the account is full, a lost answer is unsettled): run at ``until``."""

    until: float


@dataclass
class ImportRun:
    """One run of the import: the ledger, the records, the client, and what this run noticed."""

    action: BulkAction
    source: RecordSource
    ledger: Ledger
    client: BulkClient
    log: Log
    clock: Callable[[], float]
    sleep: Callable[[float], Any]
    max_active_jobs: int
    poll_interval: float
    #: True: return what to wait for instead of sleeping in the worker.
    deferrable: bool = False
    #: Epoch seconds by which this try must end (its ``timeout``).
    deadline: float | None = None
    #: What the call takes beside its records: ``change``, ``params``, ``custom_object_key``.
    call_arguments: dict[str, Any] = field(default_factory=dict)
    #: What the run before a deferral carried (:meth:`carried`): where the read stands, the progress lines' pace,
    #: the time before which no bulk call may go.
    resume: Mapping[str, Any] = field(default_factory=dict)
    #: Each chunk's fingerprint from the try's first pass over the records (None after a deferral, where
    #: the file's size and modification time were compared instead): a chunk read since must match it.
    scanned: Sequence[str] | None = None
    pace: ProgressPace = field(default_factory=ProgressPace)
    warned: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        resume = self.resume
        self.reader = ChunkReader(self.source, self.ledger.chunk_size, ReadPoint.from_dict(resume.get("read_point")))
        self.pace.last_at = resume.get("progress_at")
        self.pace.last_share = int(resume.get("progress_share") or 0)
        self.sender = ChunkSender(
            self.action,
            self.ledger,
            self.client,
            self.log,
            self.clock,
            self.poll_interval,
            self.call_arguments,
            not_before=float(resume.get("not_before") or 0.0),
            full_since=resume.get("full_since"),
            full_logged_at=resume.get("full_logged_at"),
        )

    def run(self) -> WaitOnJob | PauseUntil | None:
        """Rounds until every chunk is done (None), or until the task should wait elsewhere."""
        try:
            while True:
                self.round()
                if self.ledger.finished:
                    return None
                now = self.clock()
                if self.deadline is not None and now >= self.deadline:
                    raise ImportTimeoutError(
                        f"The import did not finish within its try's timeout; the ledger in "
                        f"{self.ledger.store.where()} lets the next try go on where this one stopped."
                    )
                wait = max(self.poll_interval, self.sender.not_before - now)
                if self.deadline is not None:
                    wait = min(wait, self.deadline - now)
                if self.deferrable:  # the round just saved the head: the deferral carries a token, not the ledger
                    active = self.ledger.active()
                    if active:
                        entry = self.ledger.entry(active[0])
                        return WaitOnJob(entry.job_id or "", entry.sent_at or now, len(active))
                    return PauseUntil(now + max(1.0, wait))
                self.sleep(max(0.0, wait))
        finally:
            self.reader.close()

    def carried(self) -> dict[str, Any]:
        """What a deferral carries: the owner's token and where the read stands, never the ledger itself."""
        point = self.reader.point()
        return {
            "token": self.ledger.owner.token,
            "read_point": None if point is None else point.to_dict(),
            "progress_at": self.pace.last_at,
            "progress_share": self.pace.last_share,
            "not_before": self.sender.not_before,  # a refusal's Retry-After holds across the deferral
            "full_since": self.sender.full_since,
            "full_logged_at": self.sender.full_logged_at,
        }

    def _warn_once(self, topic: str, message: str, *args: Any) -> None:
        if topic not in self.warned:
            self.warned.add(topic)
            self.log.warning(message, *args)

    def _transient(self, error: ZendeskJobsError, topic: str, message: str, *args: Any) -> None:
        """An outage is "no answer yet": one warning, then the next round asks again. Anything else stops."""
        if not is_transient(error):
            raise error
        self._warn_once(topic, message, *args, error)

    # -- one round ----------------------------------------------------------------------------------
    def round(self) -> None:
        self._collect()
        if self.ledger.in_state(ChunkState.UNCERTAIN):
            self._settle()
        self._submit()
        self.ledger.save()
        self._progress()

    def _progress(self) -> None:
        ledger = self.ledger
        if not self.pace.due(self.clock(), ledger.totals.records, ledger.records):
            return
        active = len(ledger.active())
        to_go = ledger.total_chunks - ledger.totals.chunks - active
        totals = ledger.totals
        self.log.info(
            "%s",
            running_total(
                totals.records, ledger.records, totals.succeeded, totals.failed, active, to_go, totals.unresolved
            ),
        )

    def _records_of(self, numbers: Sequence[int]) -> Iterator[tuple[int, list[Any], ReadPoint | None, str]]:
        """The records of ``numbers``, checked against what the ledger says was sent for each, with their
        fingerprint (the one hash of them this run computes)."""
        ledger = self.ledger
        starts = {n: ReadPoint.from_dict(e.point) for n, e in ledger.open.items() if e.point is not None}
        got: set[int] = set()
        for number, records, begins in self.reader.chunks(numbers, keep=ledger.open.__contains__, starts=starts):
            got.add(number)
            entry = ledger.open.get(number)
            expected = entry.fingerprint if entry is not None and entry.fingerprint else None
            if expected is None and self.scanned is not None and number < len(self.scanned):
                expected = self.scanned[number]
            if len(records) != ledger.chunk_length(number):
                raise self._changed(number)
            fingerprint = chunk_fingerprint(records, self.action)
            if expected is not None and fingerprint != expected:
                raise self._changed(number)
            yield number, records, begins, fingerprint
        missing = [number for number in numbers if number not in got]
        if missing:
            raise self._changed(missing[0])

    def _changed(self, number: int) -> ImportInputChangedError:
        first = self.ledger.first_record(number)
        return ImportInputChangedError(
            f"{self.source.describe()} changed while the import ran: chunk {number} (records {first:,} to "
            f"{first + self.ledger.chunk_length(number) - 1:,}) no longer holds the records that were checked or "
            "sent. Restore the records; the ledger keeps what was sent, so clearing the task goes on from there."
        )

    def _record(self, number: int, outcome: Outcome, part: ChunkResults, note: str | None = None) -> None:
        self.ledger.done(number, outcome, part.to_dict(), **part.counts(), note=note)

    def _collect(self) -> None:
        """One read of every active job; each finished one is mapped to its records and kept in the ledger."""
        ledger = self.ledger
        active = ledger.active()
        if not active:
            return
        ids = [ledger.entry(number).job_id or "" for number in active]
        try:
            found = self.client.get_job_statuses_by_id(ids)
        except ZendeskJobsError as exc:
            self._transient(exc, "reads", "Zendesk did not answer the read of %d jobs; checking again. %s", len(ids))
            return
        self.warned.discard("reads")
        now = self.clock()
        finished: dict[int, JobStatus | None] = {}
        for number in active:
            entry = ledger.entry(number)
            job = found.get(entry.job_id or "")
            if job is None and now - (entry.sent_at or now) >= NOT_VISIBLE_GRACE:
                finished[number] = None
            elif job is not None and job.is_terminal:
                finished[number] = job
        for number, records, _, _ in self._records_of(sorted(finished)) if finished else ():
            self._job_done(number, records, finished[number])

    def _job_done(self, number: int, records: list[Any], job: JobStatus | None) -> None:
        entry = self.ledger.entry(number)
        first, length = self.ledger.first_record(number), self.ledger.chunk_length(number)
        if job is None:
            self.log.warning(
                "%s (chunk %d, records %s to %s) is unknown to Zendesk %g s after it started; its records are "
                "unresolved (look them up in Zendesk).",
                entry.job_id,
                number,
                f"{first:,}",
                f"{first + length - 1:,}",
                NOT_VISIBLE_GRACE,
            )
            self._record(number, Outcome.EXPIRED, unreported_chunk(first, length), "Zendesk forgot the job")
            return
        part = map_chunk(self.action, first, records, job)
        self._record(number, _OUTCOMES.get(job.state, Outcome.KILLED), part, job.message)
        self.log.debug(
            "%s: %s, chunk %d (records %s to %s): %s done, %s failed",
            job.id,
            job.status,
            number,
            f"{first:,}",
            f"{first + length - 1:,}",
            f"{part.succeeded:,}",
            f"{len(part.failures):,}",
        )

    def _settle(self) -> None:
        """Uncertain chunks: what another try wrote down, else Zendesk's job list: found, not started, or reported."""
        ledger = self.ledger
        for number in ledger.in_state(ChunkState.UNCERTAIN):
            job_id = ledger.adopt(number)
            if job_id is not None:
                self.log.info("Chunk %d: the try that sent it wrote down %s; it is not sent again", number, job_id)
        uncertain = ledger.in_state(ChunkState.UNCERTAIN)
        if not uncertain:
            return
        try:
            listed = list(self.client.list_job_statuses(limit=100))
        except ZendeskJobsError as exc:
            self._transient(exc, "list", "Zendesk did not answer the job list; checking again. %s")
            return
        now = self.clock()
        known = set(ledger.job_ids()) | {ledger.watermark or ""}
        for number, records, _, _ in self._records_of(uncertain):
            entry = ledger.entry(number)
            sent_at = entry.sent_at or 0.0
            verdict, job = find_started_job(
                self.action,
                records,
                listed,
                known,
                settled=now - sent_at >= NOT_VISIBLE_GRACE,
                after=entry.after,
                complete=len(listed) < 100,
                expired=now - sent_at >= JOB_RETENTION_SECONDS,
            )
            if verdict is Verdict.FOUND and job is not None:
                ledger.accepted(number, job.id)
                self.log.info(
                    "Chunk %d: its call did start %s (found in the job list); it is not sent again", number, job.id
                )
            elif verdict is Verdict.NOT_STARTED:
                ledger.requeue(number)
                self.log.info("Chunk %d: Zendesk's job list proves no job started for it; it is sent again", number)
            elif verdict is Verdict.UNPROVABLE:
                first = ledger.first_record(number)
                note = (
                    f"{entry.note}; Zendesk's job list cannot tell whether a job started for it (a job of another "
                    "client could be its, or its call is older than the list reaches), so it is not sent again. "
                    "Look for these records in Zendesk before sending them again."
                )
                self._record(number, Outcome.UNRESOLVED, unresolved_chunk(number, first, len(records), note))
                self.log.warning(
                    "Chunk %d (records %s to %s): %s", number, f"{first:,}", f"{first + len(records) - 1:,}", note
                )

    def _submit(self) -> None:
        """The next chunks, while this task has fewer than ``max_active_jobs`` jobs queued or working."""
        ledger = self.ledger
        if self.clock() < self.sender.not_before:
            return
        free = self.max_active_jobs - len(ledger.active()) - len(ledger.in_state(ChunkState.UNCERTAIN))
        numbers = ledger.pending(max(0, free))
        self.sender.send(self._records_of(numbers) if numbers else ())
