"""What one try of ``ZendeskBulkJobOperator`` waits with: its clock, its sleep, and the one hook on both.

``ZendeskBulkJobOperator.build_wait(clock=, sleep=)`` builds it: the seam every waiting task offers,
which a test overrides to run the import on the emulator's clock. The import's rounds read the
clock and sleep between polls in the worker; the hook reads the same clock for ``Retry-After``
and token expiry and sleeps the same way between attempts; a deferral waits on the oldest active
job through a :class:`~..waiting.job_wait.JobWait` on that clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from airflow_provider_zendesk_jobs.bulk.runner import NOT_VISIBLE_GRACE, WaitOnJob
from airflow_provider_zendesk_jobs.waiting.job_wait import JobWait
from airflow_provider_zendesk_jobs.waiting.progress import Logger
from airflow_provider_zendesk_jobs.waiting.rule import WaitOptions

if TYPE_CHECKING:
    from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook

__all__ = ["ImportWait"]


class ImportWait:
    """The clock and sleep of one bulk import try, and its hook (built on them when first used).

    :param zendesk_conn_id: the Airflow connection the hook reads.
    :param clock: epoch seconds now: the import's deadline and pauses, the hook's ``Retry-After`` and tokens.
    :param sleep: how the import waits between polls in the worker, and its hook between attempts.
    """

    def __init__(
        self,
        zendesk_conn_id: str,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.zendesk_conn_id = zendesk_conn_id
        self.clock = clock
        self.sleep = sleep
        self._hook: ZendeskJobStatusHook | None = None

    @property
    def hook(self) -> ZendeskJobStatusHook:
        """One read of the connection, one OAuth token, one ``Retry-After`` gate for the reads and the bulk calls."""
        if self._hook is None:
            from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook  # not at DAG parse time

            self._hook = ZendeskJobStatusHook(zendesk_conn_id=self.zendesk_conn_id, clock=self.clock, sleep=self.sleep)
        return self._hook

    def on_job(self, wait: WaitOnJob, *, log: Logger, poll_interval: float) -> JobWait:
        """The wait on the import's oldest active job, from when it was sent (a job not yet visible is no failure)."""
        job_wait = JobWait(
            wait.job_id,
            options=WaitOptions(not_found_grace=NOT_VISIBLE_GRACE),
            log=log,
            poll_interval=poll_interval,
            zendesk_conn_id=self.zendesk_conn_id,
            clock=self.clock,
            sleep=self.sleep,
        )
        job_wait.started_at = wait.sent_at
        return job_wait
