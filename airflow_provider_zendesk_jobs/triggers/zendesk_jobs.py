"""``ZendeskJobStatusTrigger``: the deferred wait on one Zendesk job or many.

The trigger does no HTTP of its own. It joins the shared poller of its connection on the
triggerer's event loop (see :mod:`.poller`), is handed the answers for its ids, and asks
:func:`~airflow_provider_zendesk_jobs.waiting.evaluate_wait` whether the wait is over, the
same rule the sensor's poke uses. It yields exactly one event (see :mod:`.events`) and
leaves the poller before yielding it, or as soon as it is cancelled.

Everything it needs to resume after a triggerer restart is in :meth:`serialize`: ids,
connection id, interval, options, and absolute epoch times (the wait's first check, for the
not-found grace; the deadline, for the sensor's timeout; and, when the task met a 429 just
before deferring, the end of its ``Retry-After``). Never a credential: the connection is read
by the poller's async hook, through Airflow's async connection path.

The constructor stores its arguments as given and never checks them: the triggerer rebuilds
triggers from their stored rows and survives only a ``TypeError`` there. ``run()`` checks them
first (:mod:`.arguments`), and a bad one ends that wait at once with an error event naming it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import ModuleType
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError, ZendeskJobsError
from airflow_provider_zendesk_jobs.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_zendesk_jobs.job_ids import show_ids
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.triggers.arguments import TriggerArguments, check_trigger_arguments
from airflow_provider_zendesk_jobs.triggers.messages import (
    PollAnswer,
    PollFailure,
    PollMessage,
    PollPaused,
    PollUnanswered,
)
from airflow_provider_zendesk_jobs.waiting.events import (
    EVENT_ERROR,
    EVENT_FAILED,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    event_payload,
)
from airflow_provider_zendesk_jobs.waiting.progress import (
    REMINDER_SECONDS,
    ProgressLog,
    describe_duration,
    describe_no_answer,
    reminder_for,
)
from airflow_provider_zendesk_jobs.waiting.rule import (
    DEFAULT_NOT_FOUND_GRACE,
    WaitDecision,
    WaitOptions,
    evaluate_wait,
)

if TYPE_CHECKING:
    from airflow_provider_zendesk_jobs.triggers.poller import SharedJobStatusPoller

__all__ = ["ZendeskJobStatusTrigger"]

_CLASSPATH = "airflow_provider_zendesk_jobs.triggers.zendesk_jobs.ZendeskJobStatusTrigger"
_SHOWN_IN_MESSAGES = 5


_REGISTRY = "airflow_provider_zendesk_jobs.triggers.registry"
_registry_loaded: concurrent.futures.Future[ModuleType] | None = None


def _load_registry() -> concurrent.futures.Future[ModuleType]:
    """The poller's module, imported once, in one thread, whatever the number of triggers starting at once."""
    global _registry_loaded
    if _registry_loaded is None:
        loaded: concurrent.futures.Future[ModuleType] = concurrent.futures.Future()

        def load() -> None:
            try:
                loaded.set_result(importlib.import_module(_REGISTRY))
            except BaseException as exc:  # handed to every trigger waiting for it
                loaded.set_exception(exc)

        _registry_loaded = loaded
        threading.Thread(target=load, name="zendesk-jobs-import", daemon=True).start()
    return _registry_loaded


async def _shared_poller(zendesk_conn_id: str) -> SharedJobStatusPoller:
    """The connection's poller; the first trigger imports it (and the hook and httpx) in a thread.

    Airflow's triggerer imports this module on its event loop, which every deferred task shares;
    the poller's imports took a quarter of a second there. In a thread the loop runs meanwhile.
    """
    loaded = _load_registry()
    registry = loaded.result() if loaded.done() else await asyncio.wrap_future(loaded)
    poller: SharedJobStatusPoller = registry.shared_poller(zendesk_conn_id)
    return poller


def _show_ids(job_ids: Sequence[str]) -> str:
    return show_ids(job_ids, _SHOWN_IN_MESSAGES)


@dataclass
class _WaitState:
    """What one running wait remembers between answers."""

    started_at: float
    options: WaitOptions
    progress: ProgressLog
    last_seen: Mapping[str, JobStatus] = field(default_factory=dict)
    #: The last "no answer" of the current outage, if Zendesk has not answered since.
    unanswered: PollUnanswered | None = None


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

    Arguments this release does not know are kept (``serialize()`` returns them) and end the
    wait with an error event naming them: they come from a row written by a newer release, and
    ignoring an option that changes what the wait means could end it with the wrong answer.
    """

    def __init__(
        self,
        job_ids: str | Sequence[str],
        zendesk_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        not_found_grace: float = DEFAULT_NOT_FOUND_GRACE,
        fail_on_item_errors: bool = False,
        started_at: float | None = None,
        deadline: float | None = None,
        not_before: float | None = None,
        **unknown: Any,
    ) -> None:
        # Stored as given, checked in run(): the triggerer builds triggers from their database rows
        # and survives only a TypeError here, so nothing below may raise (see .arguments). Until
        # run() has checked them, the attributes hold the values as given.
        super().__init__()  # type: ignore[no-untyped-call]
        self.job_ids = job_ids
        self.zendesk_conn_id = zendesk_conn_id
        self.poll_interval = poll_interval
        self.not_found_grace = not_found_grace
        self.fail_on_item_errors = fail_on_item_errors
        self.started_at = started_at
        self.deadline = deadline
        self.not_before = not_before
        #: Arguments this release does not know (a row written by a newer one): kept, and refused in run().
        self._unknown: dict[str, Any] = dict(unknown)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The arguments as given (whatever they hold), so a stored row rebuilds the same trigger."""
        job_ids = self.job_ids
        kwargs: dict[str, Any] = {
            "job_ids": list(job_ids) if isinstance(job_ids, list | tuple) else job_ids,
            "zendesk_conn_id": self.zendesk_conn_id,
            "poll_interval": self.poll_interval,
            "not_found_grace": self.not_found_grace,
            "fail_on_item_errors": self.fail_on_item_errors,
            "started_at": self.started_at,
            "deadline": self.deadline,
        }
        if self.not_before is not None:
            kwargs["not_before"] = self.not_before
        kwargs.update(self._unknown)
        return _CLASSPATH, kwargs

    def check_arguments(self) -> TriggerArguments:
        """The arguments, checked; :class:`ZendeskInvalidInputError` names every bad one (run() calls it first)."""
        given = self.serialize()[1]  # the stored arguments; the ones this release does not know go apart
        try:
            return check_trigger_arguments(given, self._unknown)
        except ZendeskInvalidInputError:
            raise
        except Exception as exc:  # a check tripping over a value must still end in a message, not a crash
            raise ZendeskInvalidInputError(
                f"The deferred Zendesk wait cannot start: its stored arguments could not be read "
                f"({type(exc).__name__}: {exc})."
            ) from None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            arguments = self.check_arguments()
        except ZendeskInvalidInputError as exc:
            self.log.warning("%s", exc)
            yield TriggerEvent(event_payload(EVENT_ERROR, [], str(exc), {}, error=exc))  # type: ignore[no-untyped-call]
            return
        self.job_ids = arguments.job_ids
        self.zendesk_conn_id = arguments.zendesk_conn_id
        self.poll_interval = arguments.poll_interval
        self.not_found_grace = arguments.not_found_grace
        self.fail_on_item_errors = arguments.fail_on_item_errors
        self.started_at = arguments.started_at
        self.deadline = arguments.deadline
        self.not_before = arguments.not_before
        payload = await self._wait()
        yield TriggerEvent(payload)  # type: ignore[no-untyped-call]

    async def _wait(self) -> dict[str, Any]:
        """Wait for the rule to decide; the poller is left before the event is yielded, or on cancellation.

        The poller hands each message to :meth:`_handle` in this task's context (so the log
        lines land in this task's log) without waking this task; the task wakes once, at the end.
        """
        poller = await _shared_poller(self.zendesk_conn_id)
        state = _WaitState(
            started_at=self.started_at if self.started_at is not None else poller.clock(),
            options=WaitOptions(fail_on_item_errors=self.fail_on_item_errors, not_found_grace=self.not_found_grace),
            progress=ProgressLog(
                self.log, not_found_grace=self.not_found_grace, remind_every=reminder_for(self.poll_interval)
            ),
        )
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        def on_message(message: PollMessage) -> bool:
            if done.done():
                return True
            try:
                payload = self._handle(message, state)
            except ZendeskJobsError as exc:  # e.g. a finished job's items not in Zendesk's form: said, no traceback
                self.log.warning("Stopped waiting on %s: %s", _show_ids(self.job_ids), exc)
                payload = event_payload(EVENT_ERROR, self.job_ids, str(exc), state.last_seen, error=exc)
            except Exception as exc:  # a fault here must end the wait with a message, not leave it hanging
                self.log.exception("Could not judge the answer for %s", _show_ids(self.job_ids))
                payload = event_payload(EVENT_ERROR, self.job_ids, str(exc), state.last_seen, error=exc)
            if payload is None:
                return False
            done.set_result(payload)
            return True

        with poller.register(
            self.job_ids, poll_interval=self.poll_interval, deadline=self.deadline, on_message=on_message
        ):
            if self.not_before is not None:
                poller.hold_until(self.not_before)
            return await done

    def _handle(self, message: PollMessage, state: _WaitState) -> dict[str, Any] | None:
        """One message from the poller: the event payload when the wait is over, else None."""
        job_ids = self.job_ids
        if isinstance(message, PollAnswer):
            if message.unanswered_since is not None:
                state.progress.answered_again(message.at - message.unanswered_since)
            state.unanswered = None
            outcome = evaluate_wait(
                job_ids, message.statuses, options=state.options, started_at=state.started_at, now=message.at
            )
            state.last_seen = outcome.statuses
            state.progress.poll(job_ids, outcome, now=message.at)
            if outcome.decision is WaitDecision.SUCCEEDED:
                return event_payload(EVENT_SUCCESS, job_ids, outcome.message, outcome.statuses)
            if outcome.decision is WaitDecision.FAILED:
                return event_payload(EVENT_FAILED, job_ids, outcome.message, outcome.statuses)
            if self.deadline is not None and message.at >= self.deadline:
                return self._timeout(message.at, state.started_at, outcome.statuses)
            return None
        if isinstance(message, PollUnanswered):
            # An outage is no answer yet: the wait goes on until Zendesk answers or the deadline comes.
            state.unanswered = message
            state.progress.unanswered(
                message.error,
                now=message.at,
                since=message.since,
                next_check=message.next_check,
                warn_after=min(self.poll_interval, REMINDER_SECONDS),
            )
            return None
        if isinstance(message, PollFailure):
            error = message.error
            text = str(error) or f"{type(error).__name__} while reading the job statuses"
            if getattr(error, "path", None):  # a request's answer: say whose wait it ended
                text = f"While checking {_show_ids(job_ids)}: {text}"
            self.log.warning("Stopped waiting: %s", text)
            return event_payload(EVENT_ERROR, job_ids, text, state.last_seen, error=error)
        if isinstance(message, PollPaused):
            state.progress.paused(job_ids, message.until - message.at)
            return None
        return self._timeout(message.at, state.started_at, state.last_seen, state.unanswered)

    def _timeout(
        self,
        now: float,
        started_at: float,
        last_seen: Mapping[str, JobStatus],
        unanswered: PollUnanswered | None = None,
    ) -> dict[str, Any]:
        unfinished = [job_id for job_id in self.job_ids if job_id not in last_seen or not last_seen[job_id].is_terminal]
        seen = "; ".join(
            last_seen[job_id].describe_progress() for job_id in unfinished[:_SHOWN_IN_MESSAGES] if job_id in last_seen
        )
        deadline = datetime.fromtimestamp(self.deadline if self.deadline is not None else now, tz=timezone.utc)
        message = (
            f"Zendesk job{'s' if len(unfinished) > 1 else ''} {_show_ids(unfinished)} did not finish by the "
            f"sensor's deadline ({deadline.isoformat(timespec='seconds')}, {now - started_at:.0f} s after the "
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
        return event_payload(EVENT_TIMEOUT, self.job_ids, message, last_seen)
