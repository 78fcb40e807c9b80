"""Asset events for Zendesk jobs: a DAG starts when a job fails, instead of a daily audit finding it a day late.

:class:`ZendeskJobEventTrigger` is a ``BaseEventTrigger`` for an ``AssetWatcher``. It reads the
connection's job list every ``poll_interval`` seconds and fires one event per job that reached
one of ``statuses`` (and is of one of ``job_types``, when given); each job once.

What each Airflow release does with it:

* 3.3+: watchers of one connection and poll interval share one read of the list (Airflow's
  shared streams: ``shared_stream_key``/``open_shared_stream``/``filter_shared_stream``), and
  each keeps its cursor in its asset's state store (see :mod:`.reported_jobs`).
* 3.0 to 3.2: each watcher reads the list itself (``run()``) and keeps its cursor in memory.

The DAG processor stores a watcher's trigger under a hash of its kwargs, so the constructor
turns equal arguments into equal kwargs (sorted, without duplicates). It raises nothing but
``TypeError``; the values are checked in ``run()`` (and ``filter_shared_stream()``), whose error
names what is wrong before any request.
"""

from __future__ import annotations

import asyncio
import importlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.finite_numbers import finite_float
from airflow_provider_zendesk_jobs.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_zendesk_jobs.job_ids import show_value
from airflow_provider_zendesk_jobs.jobs import JOB_STATUSES, JobState, JobStatus
from airflow_provider_zendesk_jobs.triggers.job_list_stream import JobListStream
from airflow_provider_zendesk_jobs.triggers.reported_jobs import ReportedJobs, cursor_key

__all__ = ["DEFAULT_STATUSES", "ZendeskJobEventTrigger", "job_event_payload"]

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
