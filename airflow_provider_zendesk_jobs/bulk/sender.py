"""Sending an import's chunks: one bulk call each, and what a refusal means for that chunk and the ones after it.

Each chunk is written down as ``sending`` before its call and with its job id right after Zendesk
answers (:class:`~.ledger.Ledger`). A call that fails is judged by :func:`.reconcile.classify_failure`:
Zendesk refused the chunk's own records (they fail, the next chunk goes out); nothing started (the
job limit, 429, 503: the chunk is queued again and no call goes out before Zendesk's ``Retry-After``
or the next poll); the answer was lost (the chunk is ``uncertain`` until the job list settles it);
or no chunk can go through (the import stops, naming why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_zendesk_jobs.api.bulk_actions import BulkAction
from airflow_provider_zendesk_jobs.bulk.ledger import Ledger
from airflow_provider_zendesk_jobs.bulk.ledger_entries import Outcome
from airflow_provider_zendesk_jobs.bulk.reconcile import Submission, classify_failure
from airflow_provider_zendesk_jobs.bulk.records import ReadPoint
from airflow_provider_zendesk_jobs.bulk.results import refused_chunk
from airflow_provider_zendesk_jobs.exceptions import ZendeskJobLimitError, ZendeskJobsError, ZendeskRateLimitError
from airflow_provider_zendesk_jobs.jobs import JobStatus

__all__ = ["ChunkSender", "Log", "Submitter"]


class Submitter(Protocol):
    """The bulk call the sender makes: ``ZendeskJobStatusHook.submit_job``."""

    def submit_job(
        self, method: str, endpoint: str, payload: Any = None, *, attempts: int | None = None, announce: bool = True
    ) -> JobStatus: ...


class Log(Protocol):
    """The task's ``self.log``: the import's lines belong in the task's log."""

    def debug(self, msg: str, /, *args: Any) -> Any: ...
    def info(self, msg: str, /, *args: Any) -> Any: ...
    def warning(self, msg: str, /, *args: Any) -> Any: ...


@dataclass
class ChunkSender:
    """The import's bulk calls, each sent once (``attempts=1``: a refused chunk goes back to the import's own queue)."""

    action: BulkAction
    ledger: Ledger
    client: Submitter
    log: Log
    clock: Callable[[], float]
    poll_interval: float
    #: What the call takes beside its records: ``change``, ``params``, ``custom_object_key``.
    call_arguments: dict[str, Any] = field(default_factory=dict)
    #: No bulk call before this time (a refusal asked for a pause).
    not_before: float = 0.0
    #: Since when the account's job limit refused this import with nothing of its own active.
    full_since: float | None = None
    full_logged_at: float | None = None
    #: A "refused, nothing started" warning was logged since the last round that sent all it tried.
    warned: bool = False

    def send(self, chunks: Iterable[tuple[int, list[Any], ReadPoint | None, str]]) -> None:
        """Each chunk's call, in order, until a refusal says the rest must wait (``chunks`` is read no further).

        Each chunk comes with its number, its records, where its read began and its fingerprint.
        """
        for number, records, begins, fingerprint in chunks:
            if not self._send(number, records, begins, fingerprint):
                return
        self.warned = False

    def _send(self, number: int, records: list[Any], begins: ReadPoint | None, fingerprint: str) -> bool:
        ledger = self.ledger
        ledger.begin(number, self.clock(), fingerprint, None if begins is None else begins.to_dict())
        method, endpoint, payload = self.action.request(records, **self.call_arguments)
        try:
            job = self.client.submit_job(method, endpoint, payload, attempts=1, announce=False)
        except ZendeskJobsError as exc:
            return self._refused(number, records, exc)
        ledger.accepted(number, job.id)
        self.full_since = None
        return True

    def _refused(self, number: int, records: list[Any], exc: ZendeskJobsError) -> bool:
        """A bulk call Zendesk did not take: True when the next chunk may still go out in this round."""
        ledger = self.ledger
        outcome = classify_failure(exc)
        first = ledger.first_record(number)
        if outcome is Submission.REFUSED:  # the chunk's records themselves: they fail, the rest goes on
            error = f"HTTP {exc.status_code}" if exc.status_code else type(exc).__name__
            part = refused_chunk(first, records, error, str(exc))
            ledger.done(number, Outcome.REFUSED, part.to_dict(), **part.counts(), note=str(exc))
            self.log.warning(
                "Chunk %d (records %s to %s) was refused by Zendesk, nothing started; its records are failed and "
                "the import goes on. Correct them and clear the task to send this chunk alone. %s",
                number,
                f"{first:,}",
                f"{first + len(records) - 1:,}",
                exc,
            )
            return True
        if outcome is Submission.STOP:  # the credentials or the call: no chunk can go through
            ledger.requeue(number)
            if exc.status_code == 403 and self.action.forbidden_hint:
                raise type(exc)(f"{exc} {self.action.forbidden_hint}", status_code=403, path=exc.path) from None
            raise exc
        if outcome is Submission.NOT_STARTED:
            ledger.requeue(number)
            retry_after = exc.retry_after if isinstance(exc, ZendeskRateLimitError) else None
            pause = retry_after if retry_after is not None else self.poll_interval
            now = self.clock()
            self.not_before = now + pause
            if isinstance(exc, ZendeskJobLimitError) and not ledger.active():
                self._account_full(now)
            elif not self.warned:
                self.warned = True
                self.log.warning("Chunk %d was refused and nothing started; it is sent in %g s. %s", number, pause, exc)
            return False
        ledger.ambiguous(number, str(exc))
        self.log.warning(
            "Chunk %d: Zendesk's answer was lost, so whether a job started is not known; the job list is searched "
            "for it before anything is sent again. %s",
            number,
            exc,
        )
        return False

    def _account_full(self, now: float) -> None:
        """The account's job limit, with none of this import's jobs active: one line a minute at most."""
        if self.full_since is None:
            self.full_since = now
        if self.full_logged_at is None or now - self.full_logged_at >= 60:
            self.full_logged_at = now
            self.log.warning(
                "The Zendesk account is at its job limit with none of this import's jobs active; waited %.0f s so "
                "far, the next chunk is tried in %g s.",
                now - self.full_since,
                max(0.0, self.not_before - now),
            )
