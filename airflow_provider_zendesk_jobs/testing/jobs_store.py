"""The jobs and their lifecycle: queued, then working with progress, then an end state.

A job's whole future is fixed when it is created (its timings and how it will end), and its
status at any moment is a pure function of the clock. So nothing runs in the background, a
test that steps a :class:`~airflow_provider_zendesk_jobs.testing.clock.ManualClock` sees
exactly the state it expects, and two reads at the same clock time always agree.

Timeline of a job created at ``t0``::

    t0 .. t0+queued                  queued   (progress, message, results null)
    t0+queued .. finish              working  (progress counts up; "Creating ticket #31")
    finish = t0+queued+work          completed / failed / killed (message stamped at finish)

Reads answer 404 before ``t0 + not_visible_seconds`` and from ``t0 + retention_seconds`` on.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_zendesk_jobs.testing.clock import Clock
from airflow_provider_zendesk_jobs.testing.id_allocator import IdAllocator
from airflow_provider_zendesk_jobs.testing.job_items import plan_job
from airflow_provider_zendesk_jobs.testing.job_kinds import OUTCOMES, JobKind, generate_records, kind_named

TERMINAL_STATUSES = frozenset({"completed", "failed", "killed"})
ACTIVE_STATUSES = frozenset({"queued", "working"})
_JSON_SEPARATORS = (",", ":")


def zendesk_time(epoch: float) -> str:
    """The timestamp format of Zendesk's job messages: ``2023-09-18 23:35:12 +0000``."""
    return time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(epoch))


@dataclass
class StoreSettings:
    """Timings and limits of the job store; mutable so a running emulator can be re-tuned."""

    queued_seconds: float = 1.0
    seconds_per_item: float = 0.1
    not_visible_seconds: float = 0.0
    retention_seconds: float = 86_400.0
    #: Zendesk lists only its most recent jobs (about the last 100); older ones stay readable by id.
    listed_jobs: int = 100


class TooManyJobsError(Exception):
    """The account already has as many queued or working jobs as it may (Zendesk's job limit, 30 by default)."""

    def __init__(self, active: int, limit: int) -> None:
        super().__init__(f"{active} jobs are queued or working; the limit is {limit}")
        self.active = active
        self.limit = limit


@dataclass(frozen=True)
class Forced:
    """A status a test imposed, and the job's progress when it did."""

    status: str
    message: str | None
    at: float
    progress: int | None


@dataclass
class Job:
    id: str
    seq: int
    kind: JobKind
    created_at: float
    queued_seconds: float
    work_seconds: float
    total: int | None
    outcome: str
    reason: str | None
    stopped_at: int | None
    results: list[dict[str, Any]] | dict[str, Any]
    job_type: str
    #: Set by a test to freeze the job; replaced whole, so a concurrent read sees all of it or none.
    forced: Forced | None = None
    expired: bool = False
    #: (base URL, encoded show answer) once the job is terminal and its answer can no longer change.
    cached: tuple[str, bytes] | None = field(default=None, repr=False)

    @property
    def natural_finish(self) -> float:
        return self.created_at + self.queued_seconds + self.work_seconds

    @property
    def finish_time(self) -> float:
        """Clock time at which the job is terminal; infinity when it was frozen in a non-terminal status."""
        forced = self.forced
        if forced is None:
            return self.natural_finish
        return forced.at if forced.status in TERMINAL_STATUSES else math.inf

    def status_at(self, now: float) -> str:
        forced = self.forced
        if forced is not None:
            return forced.status
        start = self.created_at + self.queued_seconds
        if now < start:
            return "queued"
        if now < start + self.work_seconds:
            return "working"
        return self.outcome

    def _progress_at(self, now: float) -> int | None:
        if self.total is None:
            return None
        start = self.created_at + self.queued_seconds
        if now < start:
            return None
        if now >= start + self.work_seconds:
            if self.outcome == "completed":
                return self.total
            return self.stopped_at if self.stopped_at is not None else 0
        # The epsilon keeps float noise (epoch-sized times) from showing 30 where 31 items are done.
        done = int((now - start) / self.work_seconds * self.total + 1e-6)
        return max(0, min(self.total - 1, done))

    def _working_message(self, progress: int | None) -> str | None:
        if self.kind.verb is None:
            return None
        return f"{self.kind.verb} #{max(1, progress or 0)}"

    def _state(self, now: float) -> tuple[str, int | None, str | None, Any]:
        """(status, progress, message, results) at ``now``."""
        forced = self.forced
        reason = self.reason
        if forced is not None:
            status = forced.status
            progress = self.total if status == "completed" else forced.progress
            at = forced.at
            reason = None
        else:
            status = self.status_at(now)
            progress = self._progress_at(now)
            at = self.natural_finish
        message: str | None
        if status == "completed":
            message = f"Completed at {zendesk_time(at)}"
            results: Any = self.results
        else:
            results = None
            if status == "failed":
                message = f"Failed at {zendesk_time(at)} : {reason or 'the job was stopped'}"
            elif status == "killed":
                message = f"Killed at {zendesk_time(at)}"
            elif status == "working":
                message = self._working_message(progress)
            else:
                message = None
        if forced is not None and forced.message is not None:
            message = forced.message
        return status, progress, message, results

    def view(self, now: float, base_url: str) -> dict[str, Any]:
        """The job status object, keys in the order Zendesk sends them."""
        status, progress, message, results = self._state(now)
        body: dict[str, Any] = {
            "id": self.id,
            "url": f"{base_url}/api/v2/job_statuses/{self.id}.json",
            "status": status,
        }
        if self.job_type:
            body["job_type"] = self.job_type
        body["total"] = self.total
        body["progress"] = progress
        body["message"] = message
        body["results"] = results
        return body

    def sort_key(self, now: float) -> tuple[int, float, float, int]:
        """Position in the list: unfinished jobs first (newest first), then by completion, newest first."""
        finish = self.finish_time
        if now < finish:
            return (0, 0.0, -self.created_at, -self.seq)
        return (1, -finish, -self.created_at, -self.seq)


class JobStore:
    """All jobs of one emulator, behind one lock (HTTP handler threads and the test thread share it)."""

    def __init__(self, clock: Clock, settings: StoreSettings, seed: int) -> None:
        self.clock = clock
        self.settings = settings
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._seq = 0
        self._id_rng = random.Random(f"{seed}:job-ids")
        self._ids = IdAllocator()

    # -- creation ---------------------------------------------------------------------------

    def create(
        self,
        kind_name: str,
        records: Sequence[Any] | None = None,
        *,
        count: int | None = None,
        outcome: str = "completed",
        fail_indexes: Iterable[int] = (),
        failing_ids: Collection[object] = (),
        queued_seconds: float | None = None,
        work_seconds: float | None = None,
        job_type: str | None = None,
        max_active: int | None = None,
        scope: str = "",
    ) -> Job:
        """A new job; ``scope`` is the custom object key of a custom object records job."""
        kind = kind_named(kind_name)
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, not {outcome!r}")
        if records is not None and count is not None:
            raise ValueError("pass records or count, not both")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError(f"count must be a positive int, not {count!r}")
        for name, value in (("queued_seconds", queued_seconds), ("work_seconds", work_seconds)):
            if value is not None and not (0.0 <= float(value) < math.inf):
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
        indexes = frozenset(fail_indexes)
        with self._lock:
            now = self.clock.now()
            self._forget_old(now)
            if max_active is not None:
                active = [
                    job for job in self._jobs.values() if not job.expired and job.status_at(now) in ACTIVE_STATUSES
                ]
                if len(active) >= max_active:
                    raise TooManyJobsError(len(active), max_active)
            if records is None:
                records = generate_records(kind, 1 if count is None else count, self._ids)
            if not records:
                raise ValueError("a job needs at least one record")
            bad = [i for i in indexes if not 0 <= i < len(records)]
            if bad:
                raise ValueError(f"fail_indexes {sorted(bad)} are outside the {len(records)} records")
            plan = plan_job(
                kind,
                records,
                outcome=outcome,
                fail_indexes=indexes,
                failing_ids=failing_ids,
                ids=self._ids,
                scope=scope,
            )
            self._seq += 1
            work = max(1.0, len(records) * self.settings.seconds_per_item) if work_seconds is None else work_seconds
            job = Job(
                id=self._new_id(),
                seq=self._seq,
                kind=kind,
                created_at=now,
                queued_seconds=float(self.settings.queued_seconds if queued_seconds is None else queued_seconds),
                work_seconds=float(work),
                total=len(records) if kind.counts_items else None,
                outcome=plan.outcome,
                reason=plan.reason,
                stopped_at=plan.stopped_at,
                results=plan.results,
                job_type=kind.job_type if job_type is None else job_type,
            )
            self._jobs[job.id] = job
            return job

    def _new_id(self) -> str:
        while True:
            job_id = f"V3-{self._id_rng.getrandbits(128):032x}"
            if job_id not in self._jobs:
                return job_id

    def _forget_old(self, now: float) -> None:
        """Drop jobs past retention, so a long-running emulator does not grow without bound."""
        limit = self.settings.retention_seconds
        gone = [job_id for job_id, job in self._jobs.items() if job.expired or now - job.created_at >= limit]
        for job_id in gone:
            del self._jobs[job_id]

    # -- reads ------------------------------------------------------------------------------

    def _alive(self, job: Job, now: float) -> bool:
        return not job.expired and now - job.created_at < self.settings.retention_seconds

    def _readable(self, job: Job, now: float) -> bool:
        return self._alive(job, now) and now - job.created_at >= self.settings.not_visible_seconds

    def get(self, job_id: str) -> Job:
        """The job, visible or not yet; KeyError when unknown, expired or past retention."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not self._alive(job, self.clock.now()):
                raise KeyError(job_id)
            return job

    def readable(self, job_ids: Iterable[str], now: float) -> list[Job]:
        """The jobs an API read may see, in the order asked, each once."""
        seen: set[str] = set()
        found: list[Job] = []
        with self._lock:
            for job_id in job_ids:
                if job_id in seen:
                    continue
                seen.add(job_id)
                job = self._jobs.get(job_id)
                if job is not None and self._readable(job, now):
                    found.append(job)
        return found

    def show_body(self, job_id: str, now: float, base_url: str) -> bytes | None:
        """The encoded ``{"job_status": ...}`` answer, or None for a 404.

        A terminal job's answer never changes, so it is encoded once: show-one is the call
        every poller makes, and this keeps it cheap.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not self._readable(job, now):
                return None
            cached = job.cached
            if cached is not None and cached[0] == base_url:
                return cached[1]
            body = json.dumps({"job_status": job.view(now, base_url)}, separators=_JSON_SEPARATORS).encode()
            if job.status_at(now) in TERMINAL_STATUSES:
                job.cached = (base_url, body)
            return body

    def listed(self, now: float) -> list[Job]:
        """The most recent readable jobs (``listed_jobs`` of them) in list order (see :meth:`Job.sort_key`)."""
        with self._lock:
            jobs = [job for job in self._jobs.values() if self._readable(job, now)]
        jobs.sort(key=lambda job: job.sort_key(now))
        return jobs[: self.settings.listed_jobs]

    # -- test controls ----------------------------------------------------------------------

    def force_status(self, job_id: str, status: str, message: str | None = None) -> None:
        """Freeze the job in ``status`` from now on (any string, e.g. an unknown "paused")."""
        if not isinstance(status, str) or not status:
            raise ValueError(f"status must be a non-empty string, not {status!r}")
        with self._lock:
            job = self._jobs.get(job_id)
            now = self.clock.now()
            if job is None or not self._alive(job, now):
                raise KeyError(job_id)
            _, progress, _, _ = job._state(now)
            if status == "queued":
                progress = None
            elif progress is None and job.total is not None:
                progress = 0
            job.forced = Forced(status=status, message=message, at=now, progress=progress)
            job.cached = None

    def expire(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise KeyError(job_id)
            job.expired = True
            job.cached = None
