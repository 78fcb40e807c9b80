"""Asset events for Zendesk jobs: a DAG starts when a job fails, instead of a daily audit finding it a day late.

:class:`ZendeskJobEventTrigger` is a ``BaseEventTrigger`` for an ``AssetWatcher``. It reads the
connection's job list every ``poll_interval`` seconds and fires one event per job that reached
one of ``statuses`` (and is of one of ``job_types``, when given); each job once.

What each Airflow release does with it:

* 3.3+: watchers of one connection and poll interval share one read of the list (Airflow's
  shared streams: ``shared_stream_key``/``open_shared_stream``/``filter_shared_stream``), and
  each keeps its cursor in its asset's state store (:class:`ReportedJobs`).
* 3.0 to 3.2: each watcher reads the list itself (``run()``) and keeps its cursor in memory.

The DAG processor stores a watcher's trigger under a hash of its kwargs, so the constructor
turns equal arguments into equal kwargs (sorted, without duplicates). It raises nothing but
``TypeError``; the values are checked in ``run()`` (and ``filter_shared_stream()``), whose error
names what is wrong before any request.

One read of the list serves every watcher of a connection (:class:`JobListStream`): each read
yields the whole list Zendesk keeps (its recent jobs, newest first, about a hundred), so a
watcher compares reads rather than asks per job. An outage is "no answer yet": the read is
skipped with one warning and tried again an interval later, for as long as it lasts; a refusal
no later read changes (credentials, a host that is not Zendesk's) ends the stream with its error.

The cursor (:class:`ReportedJobs`): Zendesk's job statuses carry no timestamps, and its list holds
only the recent jobs, so the cursor is the set of ids already reported, pruned to the ids still
listed. On Airflow 3.3+ it is written to the asset's state store after each event, so a triggerer
restart goes on where it stopped (with nothing stored yet, every listed job already in a watched
status is reported once). On 3.0 to 3.2, and for a trigger watched by several assets at once, it
lives in memory, and the first read of each start is the baseline: a restart never repeats an
event, but a job that reached a watched status while no triggerer ran the watcher is missed.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, Protocol

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError, ZendeskJobsError, is_transient
from airflow_provider_zendesk_jobs.finite_numbers import finite_float
from airflow_provider_zendesk_jobs.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_zendesk_jobs.job_ids import show_value
from airflow_provider_zendesk_jobs.jobs import JOB_STATUSES, JobState, JobStatus

__all__ = [
    "DEFAULT_STATUSES",
    "JobListStream",
    "ReportedJobs",
    "ZendeskJobEventTrigger",
    "cursor_key",
    "job_event_payload",
]

_CLASSPATH = "airflow_provider_zendesk_jobs.triggers.job_events.ZendeskJobEventTrigger"
#: The statuses of a job that did not do its work.
DEFAULT_STATUSES: tuple[str, ...] = ("failed", "killed")
#: The shortest poll interval: Zendesk's list is one of the account's rate-limited endpoints.
MIN_POLL_INTERVAL = 1.0


def _names(value: Any, *, fold: bool) -> Any:
    """Equal lists of names as one sorted list (a single name as a list of one); anything else as given."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(item, str) for item in value):
        return sorted({item.strip().lower() if fold else item.strip() for item in value})
    return value


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _interval(value: Any) -> Any:
    """A finite number as a float (equal intervals, equal kwargs); anything else as given, for run() to name."""
    number = finite_float(value)
    return value if number is None else number


async def _async_hook(zendesk_conn_id: str) -> Any:
    """A new async hook; its module (``httpx``, ``requests``) is imported off the event loop the first time."""
    module = await asyncio.to_thread(importlib.import_module, "airflow_provider_zendesk_jobs.hooks.zendesk_jobs")
    return module.ZendeskJobStatusAsyncHook(zendesk_conn_id=zendesk_conn_id)


def job_event_payload(job: JobStatus, zendesk_conn_id: str) -> dict[str, Any]:
    """The event's payload, which Airflow puts in the asset event's ``extra["payload"]``."""
    return {
        "job_id": job.id,
        "status": job.status,
        "job_type": job.job_type,
        "message": job.message,
        "total": job.total,
        "progress": job.progress,
        "zendesk_conn_id": zendesk_conn_id,
    }


# -- the list, read once per connection --------------------------------------------------------------
_log = logging.getLogger(__name__)
#: What a later read may not see again: Zendesk asked to slow down, or did not answer.


class JobLister(Protocol):
    """What the stream needs of a hook (``ZendeskJobStatusAsyncHook``): the job list."""

    def list_job_statuses(self, limit: int | None = None) -> AsyncIterator[JobStatus]: ...


async def list_jobs(hook: JobLister) -> list[JobStatus]:
    """Every job of the hook's list (``list_job_statuses`` is an async iterator on the async hook)."""
    return [job async for job in hook.list_job_statuses()]


class JobListStream:
    """Reads the job list now, then every ``poll_interval`` seconds, and yields each read as a list.

    :param hook: the async hook of the connection (the stream closes it when it ends).
    :param poll_interval: seconds from the end of one read to the start of the next.
    :param sleep: how the stream waits between reads (tests pass one that moves the emulator's clock).
    :param log: where the outage warnings go (the trigger's own logger, in a trigger).
    """

    def __init__(
        self,
        hook: JobLister,
        poll_interval: float,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        log: logging.Logger | Any = _log,
    ) -> None:
        self.hook = hook
        self.poll_interval = poll_interval
        self.sleep = sleep
        self.log = log

    async def reads(self) -> AsyncIterator[Sequence[JobStatus]]:
        outage = False
        try:
            while True:
                try:
                    jobs = await list_jobs(self.hook)
                except ZendeskJobsError as exc:
                    if not is_transient(exc):
                        raise
                    if not outage:
                        self.log.warning(
                            "Zendesk did not answer the job list; reading it again every %g s until it does. %s",
                            self.poll_interval,
                            exc,
                        )
                    outage = True
                else:
                    if outage:
                        self.log.info("Zendesk answers the job list again")
                    outage = False
                    yield jobs
                await self.sleep(self.poll_interval)
        finally:
            aclose = getattr(self.hook, "aclose", None)
            if aclose is not None:
                await aclose()


# -- the cursor: the jobs already reported -----------------------------------------------------------
def cursor_key(zendesk_conn_id: str, statuses: Iterable[str], job_types: Iterable[str]) -> str:
    """The state-store key of one watcher's cursor: the same arguments, the same key, on any triggerer.

    The poll interval is left out: changing it keeps the cursor. Two watchers of one asset
    that watch different statuses keep apart.
    """
    identity = json.dumps([zendesk_conn_id, sorted(statuses), sorted(job_types)])
    return "zendesk_jobs.reported." + hashlib.sha256(identity.encode()).hexdigest()[:16]


class ReportedJobs:
    """The ids reported so far, and whether the next read is only a baseline.

    :param store: Airflow's ``asset_state_store`` accessor of the trigger (``aget``/``aset``),
        or None where the release or the watcher offers none.
    :param key: the store key (:func:`cursor_key`).
    """

    def __init__(self, store: Any | None, key: str, ids: Iterable[str] = (), *, baseline: bool) -> None:
        self.store = store
        self.key = key
        self.ids: set[str] = set(ids)
        #: True while the next read's matching jobs are to be taken as reported without an event.
        self.baseline = baseline

    @classmethod
    async def load(cls, store: Any | None, key: str, log: Any) -> ReportedJobs:
        """The cursor as stored; in memory, with a baseline first read, where nothing can be stored."""
        if store is None:
            return cls(None, key, baseline=True)
        try:
            stored = await store.aget(key)
        except ValueError as exc:  # several assets watch this one trigger: the accessor cannot pick one
            log.warning(
                "Zendesk job events: the cursor is kept in memory only, not in the asset state store (%s). "
                "Jobs that end while no triggerer runs this watcher are not reported.",
                exc,
            )
            return cls(None, key, baseline=True)
        ids = [item for item in stored if isinstance(item, str)] if isinstance(stored, list) else []
        return cls(store, key, ids, baseline=False)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self.ids

    def keep_only(self, listed: Iterable[str]) -> None:
        """Forget the ids Zendesk no longer lists: they cannot come back."""
        self.ids.intersection_update(listed)

    def take_as_reported(self, job_ids: Iterable[str]) -> None:
        """The baseline read: its jobs count as reported, and the reads after it are compared with it."""
        self.ids.update(job_ids)
        self.baseline = False

    async def add(self, job_id: str) -> None:
        """Record one reported job, in the store when there is one (before the next event is looked for)."""
        self.ids.add(job_id)
        if self.store is not None:
            await self.store.aset(self.key, sorted(self.ids))


class ZendeskJobEventTrigger(BaseEventTrigger):
    """Fires one event per Zendesk job reaching a watched status, for an ``AssetWatcher``.

    :param zendesk_conn_id: the Airflow connection of the Zendesk account.
    :param statuses: the statuses to report (``failed``, ``killed``, ``completed``, ``working``, ``queued``).
    :param job_types: report only jobs of these ``job_type`` values (``"Bulk Import Ticket"``...,
        compared without case); empty for every job.
    :param poll_interval: seconds between two reads of the job list (at least 1).
    :param sleep: how the trigger waits between reads when it reads the list itself (``run()``);
        not stored with the trigger. Tests pass one that moves the emulator's clock.
    """

    def __init__(
        self,
        zendesk_conn_id: str = DEFAULT_CONN_ID,
        statuses: str | Sequence[str] = DEFAULT_STATUSES,
        job_types: str | Sequence[str] = (),
        poll_interval: float = 60.0,
        *,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.zendesk_conn_id = zendesk_conn_id
        self.statuses = _names(statuses, fold=True)
        self.job_types = _names(job_types, fold=False)
        self.poll_interval = _interval(poll_interval)
        self.sleep = sleep

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return _CLASSPATH, {
            "zendesk_conn_id": self.zendesk_conn_id,
            "statuses": self.statuses,
            "job_types": self.job_types,
            "poll_interval": self.poll_interval,
        }

    def check_arguments(self) -> None:
        """:class:`ZendeskInvalidInputError` naming every argument that cannot be watched."""
        problems = []
        if not isinstance(self.zendesk_conn_id, str) or not self.zendesk_conn_id.strip():
            problems.append(f"zendesk_conn_id {self.zendesk_conn_id!r} is not an Airflow connection id")
        if not _is_names(self.statuses) or not self.statuses:
            problems.append(f"statuses {self.statuses!r} is not a status or a non-empty list of them")
        elif unknown := [status for status in self.statuses if status not in JOB_STATUSES]:
            problems.append(f"statuses {unknown!r}: Zendesk's job statuses are {', '.join(JOB_STATUSES)}")
        if not _is_names(self.job_types):
            problems.append(f"job_types {self.job_types!r} is not a job type or a list of them")
        interval = self.poll_interval
        if not isinstance(interval, float) or not math.isfinite(interval) or interval < MIN_POLL_INTERVAL:
            problems.append(
                f"poll_interval {show_value(interval)} is not a number of seconds of at least {MIN_POLL_INTERVAL:g}"
            )
        if problems:
            raise ZendeskInvalidInputError(
                "The Zendesk job-event watcher cannot start: "
                + "; ".join(problems)
                + ". Fix the AssetWatcher's trigger."
            )

    def _matcher(self) -> Callable[[JobStatus], bool]:
        """Whether a listed job is one to report; built once per stream, after :meth:`check_arguments`
        (the constructor may raise nothing but ``TypeError``), since it runs for every job of every read."""
        states = frozenset(JobState(status) for status in self.statuses)
        job_types = frozenset(job_type.casefold() for job_type in self.job_types)
        if not job_types:
            return lambda job: job.state in states
        return lambda job: job.state in states and (job.job_type or "").casefold() in job_types

    # -- Airflow 3.3+: one read of the list for every watcher of the connection ------------------
    def shared_stream_key(self) -> Hashable | None:
        try:
            self.check_arguments()
        except ZendeskInvalidInputError:
            return None  # run() then says what is wrong
        return ("airflow_provider_zendesk_jobs.job_list", self.zendesk_conn_id, self.poll_interval)

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        """The job list of ``kwargs``' connection, read every poll interval (both are in the stream key)."""
        hook = await _async_hook(kwargs["zendesk_conn_id"])
        async for jobs in JobListStream(hook, float(kwargs["poll_interval"])).reads():
            yield jobs

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        """One event per listed job newly in a watched status, oldest first; each job once."""
        self.check_arguments()
        key = cursor_key(self.zendesk_conn_id, self.statuses, self.job_types)
        matches = self._matcher()
        reported = await ReportedJobs.load(getattr(self, "asset_state_store", None), key, self.log)
        async for jobs in shared_stream:
            reported.keep_only(job.id for job in jobs)
            fresh = [job for job in reversed(jobs) if matches(job) and job.id not in reported]
            if reported.baseline:
                reported.take_as_reported(job.id for job in fresh)
                self.log.info(
                    "Watching the Zendesk jobs of %s for %s: %d job(s) already in that status are not reported "
                    "(this Airflow keeps no cursor for the watcher), only those that reach it from now on.",
                    self.zendesk_conn_id,
                    "/".join(self.statuses),
                    len(fresh),
                )
                continue
            for job in fresh:
                self.log.info("%s: %s (%s); firing its event", job.id, job.status, job.job_type or "no job type")
                yield TriggerEvent(job_event_payload(job, self.zendesk_conn_id))  # type: ignore[no-untyped-call]
                await reported.add(job.id)

    # -- Airflow 3.0 to 3.2 (and a trigger whose arguments are wrong): the trigger reads the list itself
    async def run(self) -> AsyncIterator[TriggerEvent]:
        self.check_arguments()
        hook = await _async_hook(self.zendesk_conn_id)
        stream = JobListStream(hook, self.poll_interval, sleep=self.sleep or asyncio.sleep, log=self.log)
        async for event in self.filter_shared_stream(stream.reads()):
            yield event
