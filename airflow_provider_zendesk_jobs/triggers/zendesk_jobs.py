"""``ZendeskJobStatusTrigger``: the deferred wait on one Zendesk job or many.

The trigger does no HTTP of its own: it joins its connection's shared poller (see
:mod:`.poller`), is handed the answers for its ids, and asks
:func:`~airflow_provider_zendesk_jobs.waiting.evaluate_wait` whether the wait is over, the rule
the sensor's poke uses. It yields one event (see :mod:`.events`), leaving the poller first.

:meth:`serialize` holds what a restarted triggerer needs: ids, connection, interval, options and
absolute epoch times (the first check, the deadline, and the end of a ``Retry-After`` the task
met just before deferring). Never a credential. The constructor stores its arguments as given:
the triggerer rebuilds triggers from stored rows and survives only a ``TypeError`` there, so
``run()`` checks them (:mod:`.arguments`), and a bad one ends that wait with an error event.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import importlib
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timezone
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError, ZendeskJobsError
from airflow_provider_zendesk_jobs.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_zendesk_jobs.job_ids import IDS_SHOWN, show_ids
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.triggers.arguments import TriggerArguments, check_trigger_arguments
from airflow_provider_zendesk_jobs.triggers.messages import (
    PollAnswer,
    PollFailure,
    PollMessage,
    PollPaused,
    PollUnanswered,
)
from airflow_provider_zendesk_jobs.triggers.registry import shared_poller
from airflow_provider_zendesk_jobs.waiting import DEFAULT_NOT_FOUND_GRACE, WaitDecision, WaitOptions, evaluate_wait
from airflow_provider_zendesk_jobs.waiting.events import (
    EVENT_ERROR,
    EVENT_FAILED,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    event_payload,
    summaries,
)
from airflow_provider_zendesk_jobs.waiting.progress import (
    REMINDER_SECONDS,
    ProgressLog,
    describe_duration,
    describe_no_answer,
    reminder_for,
)

if TYPE_CHECKING:
    from pydantic import JsonValue

    from airflow_provider_zendesk_jobs.triggers.poller import SharedJobStatusPoller

__all__ = ["ZendeskJobStatusTrigger"]

_poller_module: concurrent.futures.Future[ModuleType] | None = None


async def _shared_poller(zendesk_conn_id: str) -> SharedJobStatusPoller:
    """The connection's poller. The first trigger imports the poller's module (hook, httpx...) in a thread.

    Airflow's triggerer imports this module on the event loop every deferred task shares; the
    poller's imports took a quarter of a second there. In a thread, the loop runs meanwhile.
    """
    global _poller_module
    if _poller_module is None:
        loaded: concurrent.futures.Future[ModuleType] = concurrent.futures.Future()

        def load() -> None:
            try:
                loaded.set_result(importlib.import_module("airflow_provider_zendesk_jobs.triggers.poller"))
            except BaseException as exc:  # handed to every trigger waiting for it
                loaded.set_exception(exc)

        _poller_module = loaded
        threading.Thread(target=load, name="zendesk-jobs-import", daemon=True).start()
    if not _poller_module.done():
        await asyncio.wrap_future(_poller_module)
    _poller_module.result()  # raises what the import raised
    return shared_poller(zendesk_conn_id)


class ZendeskJobStatusTrigger(BaseTrigger):
    """Wait in the triggerer until every job in ``job_ids`` is finished, failed, or the deadline passes.

    :param job_ids: the Zendesk job ids to wait on: a list, or the text a template renders for one
        (``"V3-a"``, ``"V3-a,V3-b"``, ``"['V3-a', 'V3-b']"``, a JSON list).
    :param zendesk_conn_id: the Airflow connection; all triggers on it share one poller.
    :param poll_interval: the longest time, in seconds, between two reads of these jobs.
    :param not_found_grace: seconds from ``started_at`` during which an id Zendesk does not know
        counts as "not visible yet".
    :param fail_on_item_errors: a completed job with failed items fails the wait.
    :param started_at: epoch seconds of the wait's first check (default: when the trigger starts).
    :param deadline: epoch seconds after which the wait ends with a ``timeout`` event; ``None`` waits on.
    :param not_before: epoch seconds before which no request may be sent: the ``Retry-After`` of a 429
        the task met just before it deferred (the triggerer's hook has not heard it).
    :param job_id: the sensor's ``job_id`` as the triggerer renders it, for a wait started in the
        triggerer (Airflow 3.3's ``start_from_trigger``); used when ``job_ids`` is None.
    :param timeout: seconds from ``started_at`` to the deadline, when no ``deadline`` is given.
    :param end_in_triggerer: a success (with the XCom the sensor returns) or a failed job ends the
        task in the triggerer (``TaskSuccessEvent`` / ``TaskFailedEvent``); any other end resumes
        the task on a worker, as a deferred wait does.

    Arguments this release does not know are kept (``serialize()`` returns them) and end the
    wait with an error event naming them: they come from a row written by a newer release, and
    ignoring an option that changes what the wait means could end it with the wrong answer.
    """

    def __init__(
        self,
        job_ids: str | Sequence[str] | None,
        zendesk_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        not_found_grace: float = DEFAULT_NOT_FOUND_GRACE,
        fail_on_item_errors: bool = False,
        started_at: float | None = None,
        deadline: float | None = None,
        not_before: float | None = None,
        *,
        job_id: str | Sequence[str] | None = None,
        timeout: float | None = None,
        end_in_triggerer: bool = False,
        **unknown: Any,
    ) -> None:
        # Stored as given, checked in run(): nothing here may raise but a TypeError (see .arguments).
        super().__init__()  # type: ignore[no-untyped-call]
        self.job_ids = job_ids
        self.zendesk_conn_id = zendesk_conn_id
        self.poll_interval = poll_interval
        self.not_found_grace = not_found_grace
        self.fail_on_item_errors = fail_on_item_errors
        self.started_at = started_at
        self.deadline = deadline
        self.not_before = not_before
        self.job_id = job_id
        self.timeout = timeout
        self.end_in_triggerer = end_in_triggerer
        #: Arguments this release does not know (a row written by a newer one): kept, and refused in run().
        self._unknown: dict[str, Any] = dict(unknown)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The arguments as given (whatever they hold), so a stored row rebuilds the same trigger."""
        kwargs: dict[str, Any] = {
            "job_ids": _as_stored(self.job_ids),
            "zendesk_conn_id": self.zendesk_conn_id,
            "poll_interval": self.poll_interval,
            "not_found_grace": self.not_found_grace,
            "fail_on_item_errors": self.fail_on_item_errors,
            "started_at": self.started_at,
            "deadline": self.deadline,
        }
        if self.not_before is not None:
            kwargs["not_before"] = self.not_before
        if self.job_id is not None:
            kwargs["job_id"] = _as_stored(self.job_id)
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        if self.end_in_triggerer is not False:
            kwargs["end_in_triggerer"] = self.end_in_triggerer
        kwargs.update(self._unknown)
        return f"{__name__}.ZendeskJobStatusTrigger", kwargs  # a subclass stores as the class it extends

    def check_arguments(self) -> TriggerArguments:
        """The stored arguments, checked; :class:`ZendeskInvalidInputError` names every bad one."""
        return check_trigger_arguments(self.serialize()[1], self._unknown)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            arguments = self.check_arguments()
        except ZendeskInvalidInputError as exc:
            self.log.warning("%s", exc)
            yield TriggerEvent(event_payload(EVENT_ERROR, [], str(exc), {}, error=exc))  # type: ignore[no-untyped-call]
            return
        poller = await _shared_poller(arguments.zendesk_conn_id)
        wait = _Wait(arguments, self.log, poller.clock())
        if arguments.end_in_triggerer:
            count, left = len(arguments.job_ids), wait.arguments.timeout
            self.log.info(
                "Started in the triggerer: checking %d job%s every %g s%s",
                count,
                "" if count == 1 else "s",
                arguments.poll_interval,
                "" if left is None else f" for up to {left:.0f} s",
            )
        # The poller hands each message to the wait in this task's context (its log lines land in
        # this task's log) without waking this task, which wakes once, at the end.
        with poller.register(
            arguments.job_ids,
            poll_interval=arguments.poll_interval,
            deadline=wait.arguments.deadline,
            on_message=wait.on_message,
        ):
            if arguments.not_before is not None:
                poller.pause_until(arguments.not_before)
            payload = await wait.done
        yield self._event(arguments, payload)

    def _event(self, arguments: TriggerArguments, payload: dict[str, Any]) -> TriggerEvent:
        """The event that ends the wait: in the triggerer where no worker is needed, else back to the task."""
        status = payload["status"]
        if not arguments.end_in_triggerer or status not in (EVENT_SUCCESS, EVENT_FAILED):
            return TriggerEvent(payload)  # type: ignore[no-untyped-call]
        from airflow.triggers.base import TaskFailedEvent, TaskSuccessEvent  # only Airflow 3.3+ starts such a wait

        if status == EVENT_FAILED:  # the sensor's AirflowFailException: no retry revives a dead job
            self.log.error("%s", payload["message"])
            return TaskFailedEvent()
        self.log.info("%s", payload["message"] or "Zendesk finished the jobs")
        xcom = summaries(payload["jobs"], arguments.job_ids, many=arguments.many)
        return TaskSuccessEvent(xcoms={"return_value": cast("JsonValue", xcom)})


def _as_stored(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


class _Wait:
    """One running wait: what it remembers between the poller's messages, and what each one means."""

    def __init__(self, arguments: TriggerArguments, log: Any, now: float) -> None:
        # A wait started in the triggerer starts its clock (and its ``timeout``) at its first run.
        started_at = arguments.started_at if arguments.started_at is not None else now
        with_start = dataclasses.replace(arguments, started_at=started_at)
        self.arguments = dataclasses.replace(with_start, deadline=with_start.effective_deadline)
        self.log = log
        self.started_at = started_at
        self.options = WaitOptions(
            fail_on_item_errors=arguments.fail_on_item_errors, not_found_grace=arguments.not_found_grace
        )
        self.progress = ProgressLog(
            log, not_found_grace=arguments.not_found_grace, remind_every=reminder_for(arguments.poll_interval)
        )
        self.last_seen: Mapping[str, JobStatus] = {}
        #: The last "no answer" of the current outage, if Zendesk has not answered since.
        self.unanswered: PollUnanswered | None = None
        self.done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def on_message(self, message: PollMessage) -> bool:
        """The poller's callback: True once the wait is over (its payload is then in :attr:`done`)."""
        if self.done.done():
            return True
        job_ids = self.arguments.job_ids
        try:
            payload = self.read(message)
        except ZendeskJobsError as exc:  # e.g. a finished job's items not in Zendesk's form: said, no traceback
            self.log.warning("Stopped waiting on %s: %s", show_ids(job_ids), exc)
            payload = event_payload(EVENT_ERROR, job_ids, str(exc), self.last_seen, error=exc)
        except Exception as exc:  # a fault here must end the wait with a message, not leave it hanging
            self.log.exception("Could not judge the answer for %s", show_ids(job_ids))
            payload = event_payload(EVENT_ERROR, job_ids, str(exc), self.last_seen, error=exc)
        if payload is None:
            return False
        self.done.set_result(payload)
        return True

    def read(self, message: PollMessage) -> dict[str, Any] | None:
        """One message from the poller: the event payload when the wait is over, else None."""
        job_ids, deadline = self.arguments.job_ids, self.arguments.deadline
        if isinstance(message, PollAnswer):
            if message.unanswered_since is not None:
                self.progress.answered_again(message.at - message.unanswered_since)
            self.unanswered = None
            outcome = evaluate_wait(
                job_ids, message.statuses, options=self.options, started_at=self.started_at, now=message.at
            )
            self.last_seen = outcome.statuses
            self.progress.poll(job_ids, outcome, now=message.at)
            if outcome.decision is WaitDecision.SUCCEEDED:
                return event_payload(EVENT_SUCCESS, job_ids, outcome.message, outcome.statuses)
            if outcome.decision is WaitDecision.FAILED:
                return event_payload(EVENT_FAILED, job_ids, outcome.message, outcome.statuses)
            return self.timed_out(message.at) if deadline is not None and message.at >= deadline else None
        if isinstance(message, PollUnanswered):
            # An outage is no answer yet: the wait goes on until Zendesk answers or the deadline comes.
            self.unanswered = message
            self.progress.unanswered(
                message.error,
                now=message.at,
                since=message.since,
                next_check=message.next_check,
                warn_after=min(self.arguments.poll_interval, REMINDER_SECONDS),
            )
            return None
        if isinstance(message, PollFailure):
            error = message.error
            text = str(error) or f"{type(error).__name__} while reading the job statuses"
            if getattr(error, "path", None):  # a request's answer: say whose wait it ended
                text = f"While checking {show_ids(job_ids)}: {text}"
            self.log.warning("Stopped waiting: %s", text)
            return event_payload(EVENT_ERROR, job_ids, text, self.last_seen, error=error)
        if isinstance(message, PollPaused):
            self.progress.paused(job_ids, message.until - message.at)
            return None
        return self.timed_out(message.at)  # DeadlineReached

    def timed_out(self, now: float) -> dict[str, Any]:
        last_seen, unanswered, deadline = self.last_seen, self.unanswered, self.arguments.deadline
        unfinished = [i for i in self.arguments.job_ids if i not in last_seen or not last_seen[i].is_terminal]
        seen = "; ".join(last_seen[i].describe_progress() for i in unfinished[:IDS_SHOWN] if i in last_seen)
        when = datetime.fromtimestamp(deadline if deadline is not None else now, tz=timezone.utc)
        message = (
            f"Zendesk job{'s' if len(unfinished) > 1 else ''} {show_ids(unfinished)} did not finish by the "
            f"sensor's deadline ({when.isoformat(timespec='seconds')}, {now - self.started_at:.0f} s after the "
            f"first check)"
            + (f"; last seen: {seen}" if seen else "")
            + (
                f"; Zendesk gave no answer for the last {describe_duration(now - unanswered.since)} "
                f"({describe_no_answer(unanswered.error)})"
                if unanswered is not None
                else ""
            )
            + ". Raise the timeout or look at the job in Zendesk."
        )
        self.log.warning("%s", message)
        return event_payload(EVENT_TIMEOUT, self.arguments.job_ids, message, last_seen)
