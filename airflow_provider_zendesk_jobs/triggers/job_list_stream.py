"""A connection's job list, read again every poll interval: the one poll behind every job-event watcher.

Each read yields the whole list Zendesk keeps (its recent jobs, newest first, about a hundred),
so a reader compares reads rather than asks per job. An outage is "no answer yet": the read is
skipped with one warning, and the next one is tried an interval later, for as long as it lasts.
A refusal that no later read changes (credentials, a connection that is not Zendesk's) ends the
stream with its error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol

from airflow_provider_zendesk_jobs.exceptions import ZendeskRateLimitError, ZendeskUnavailableError
from airflow_provider_zendesk_jobs.jobs import JobStatus

__all__ = ["JobListStream", "JobLister", "list_jobs"]

_log = logging.getLogger(__name__)
#: What a later read may not see again: Zendesk asked to slow down, or did not answer.
_NO_ANSWER_YET = (ZendeskRateLimitError, ZendeskUnavailableError)


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
                except _NO_ANSWER_YET as exc:
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
