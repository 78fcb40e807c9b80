"""One ``show_many`` loop per (event loop, connection) for every deferred wait: a request per wait per
interval would burn the account's rate limit (200 a minute on Team plans).

A wait is due after its interval or at its deadline; one registering within an interval of the planned
cycle joins it. A 429 pauses every wait until ``Retry-After``; an outage (``ErrorKind.TRANSIENT``) is
"no answer yet", retried with a backoff capped at the shortest interval, one warning per outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from types import TracebackType

from airflow_provider_zendesk_jobs.api.request_builders import SHOW_MANY_LIMIT, chunked
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError, ZendeskRateLimitError, is_transient
from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusAsyncHook
from airflow_provider_zendesk_jobs.job_ids import show_ids, validate_job_ids
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.triggers.messages import (
    DeadlineReached,
    PollAnswer,
    PollFailure,
    PollMessage,
    PollPaused,
    PollUnanswered,
)
from airflow_provider_zendesk_jobs.waiting.progress import describe_no_answer

__all__ = ["ATTEMPTS_PER_REQUEST", "OnMessage", "SharedJobStatusPoller", "Subscription"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_log = logging.getLogger(__name__)

#: Attempts the poller's hook makes per request: the poller owns every wait between tries.
ATTEMPTS_PER_REQUEST = 1

#: Called with each message for a wait, in the context the wait registered from; True = "I am done".
OnMessage = Callable[[PollMessage], bool]


# What the first request would import on the event loop: the trigger imports this module in a thread.
_FIRST_USE = "httpx anyio._backends._asyncio airflow.providers.common.compat.connection asgiref.sync airflow.sdk.log"
for _name in [*_FIRST_USE.split(), "airflow.sdk.execution_time.context", "airflow.sdk.execution_time.cache"]:
    with contextlib.suppress(ImportError):  # an Airflow or anyio without it imports nothing there
        importlib.import_module(_name)


@dataclass(eq=False, slots=True)
class Subscription:
    """One registered wait: its ids, its rhythm, its callback. ``close()`` (or ``with``) leaves the poller."""

    poller: SharedJobStatusPoller = field(repr=False)
    job_ids: tuple[str, ...]
    interval: float
    #: Clock time of the wait's deadline; inf when it has none, or once it was read (or told) at or after it.
    deadline: float
    next_poll: float
    on_message: OnMessage = field(repr=False)
    #: When a request for these ids first went unanswered in the current outage (None: answered).
    unanswered_since: float | None = None
    closed: bool = False
    #: The registering task's context: the callback's log lines land in that task's log.
    context: contextvars.Context = field(default_factory=contextvars.copy_context, repr=False)

    def deliver(self, message: PollMessage) -> None:
        """Hand over one message in the wait's context; the wait leaves when its callback says it is done."""
        if self.closed:
            return
        try:
            done = self.context.run(self.on_message, message)
        except Exception:  # a faulty wait must not stop the answers to every other wait
            _log.exception("A wait on Zendesk jobs %s failed to handle %s", show_ids(self.job_ids), message)
            done = True
        if done:
            self.close()

    def read(self, sent: float, message: PollAnswer | PollFailure) -> None:
        """A request for these ids, sent at ``sent``, answered: next due an interval on; one at the deadline ends it."""
        self.next_poll = sent + self.interval
        if sent >= self.deadline:
            self.deadline = math.inf  # read at or after it: the wait decides, nothing more is owed
        self.deliver(message)

    def close(self) -> None:
        """Leave the poller: its ids are not asked for again on this wait's behalf. Safe to call twice."""
        if not self.closed:
            self.closed = True
            self.poller._forget(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class SharedJobStatusPoller:
    """Polls ``show_many`` for every wait registered on one connection, in one task.

    ``clock`` and ``sleep`` (async) are a pair (tests pass a manual one); the default ``hook`` uses them and
    tries each request once; ``rand`` gives the outage backoff's jitter.
    """

    def __init__(
        self,
        zendesk_conn_id: str = ZendeskJobStatusAsyncHook.default_conn_name,
        *,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        hook: ZendeskJobStatusAsyncHook | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.zendesk_conn_id = zendesk_conn_id
        self.clock = clock
        self._sleep = sleep
        self._hook = hook or ZendeskJobStatusAsyncHook(
            zendesk_conn_id, retry_limit=ATTEMPTS_PER_REQUEST, clock=clock, sleep=sleep
        )
        self._rand = rand
        self._waits: dict[Subscription, None] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        #: When the poller plans its next cycle (inf: none planned); new waits join it.
        self._next_cycle = math.inf
        #: The end of Zendesk's last Retry-After: no request before it.
        self._paused_until = 0.0
        #: During an outage: no request before this, tries without an answer, since when.
        self._retry_at = 0.0
        self._unanswered_tries = 0
        self._outage_since: float | None = None
        self._idle = False
        self.closed = False

    @property
    def waits(self) -> int:
        return len(self._waits)

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    @property
    def idle(self) -> bool:
        """True while the poller only waits on its clock: no request in flight, no wake-up pending."""
        return self._idle and not self._wake.is_set() and not self.closed

    def register(
        self, job_ids: Sequence[str], *, poll_interval: float, on_message: OnMessage, deadline: float | None = None
    ) -> Subscription:
        """Read ``job_ids`` at least every ``poll_interval`` s; ``on_message`` returns True once the wait is over.

        A ``deadline`` gets one answer read at or after it, or :class:`DeadlineReached` during a pause.
        """
        if self.closed:
            raise RuntimeError("this Zendesk poller has stopped; ask the registry for the current one")
        ids = tuple(dict.fromkeys(validate_job_ids(list(job_ids))))
        if not _is_number(poll_interval) or not 0 < poll_interval < math.inf:
            raise ZendeskInvalidInputError(f"poll_interval must be a number of seconds above 0, got {poll_interval!r}.")
        if deadline is not None and not _is_number(deadline):
            raise ZendeskInvalidInputError(f"deadline must be epoch seconds or None, got {deadline!r}.")
        now = self.clock()
        next_poll = now + poll_interval
        if now < self._next_cycle <= next_poll:
            next_poll = self._next_cycle  # join the cycle already planned: one request for both
        ends = math.inf if deadline is None else float(deadline)
        wait = Subscription(self, ids, float(poll_interval), ends, next_poll, on_message)
        self._waits[wait] = None
        if min(next_poll, ends) < self._next_cycle:  # sooner than the poller plans to wake: wake it
            self._next_cycle = min(next_poll, ends)
            self._wake.set()
        if self._task is None:
            name = f"zendesk-poller-{self.zendesk_conn_id}"  # a fresh context: its log lines belong to no task
            self._task = contextvars.Context().run(asyncio.get_running_loop().create_task, self._run(), name=name)
        return wait

    def pause_until(self, until: float) -> None:
        """Send nothing before ``until``: Zendesk's ``Retry-After``, logged and told to every wait once per pause."""
        now = self.clock()
        if until <= max(now, self._paused_until):
            return
        self._paused_until = until
        _log.warning(
            "Zendesk asked to slow down (429): no request on connection %s for %.1f s; %d waits will be checked after",
            self.zendesk_conn_id,
            until - now,
            len(self._waits),
        )
        for wait in list(self._waits):
            wait.deliver(PollPaused(now, until))

    def _forget(self, wait: Subscription) -> None:
        self._waits.pop(wait, None)
        if not self._waits:  # no wait left: stop at once, including a request in flight or a pause
            self.closed = True
            task = self._task
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.cancel()

    # -- the loop -------------------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while self._waits:
                now = self.clock()
                held_until = max(self._paused_until, self._retry_at)
                if now < held_until:  # a 429's pause, or the backoff of an outage
                    for wait in list(self._waits):
                        if wait.deadline <= now:  # no answer can be read at it: the wait hears it now
                            wait.deadline = math.inf
                            wait.deliver(DeadlineReached(now))
                    await self._nap(min(held_until, *(w.deadline for w in self._waits)))
                    continue
                due = [w for w in self._waits if w.next_poll <= now or w.deadline <= now]
                if not due:
                    await self._nap(min(min(w.next_poll, w.deadline) for w in self._waits))
                    continue
                due.sort(key=attrgetter("next_poll"))  # the longest waiting first: after an outage, those not asked yet
                await self._run_cycle(due)
        except Exception:  # a fault of the poller itself must not leave waits hanging
            _log.exception("The Zendesk job-status poller for %s stopped on an unexpected error", self.zendesk_conn_id)
        finally:
            self.closed = True
            stopped = RuntimeError(
                "the triggerer's Zendesk poller stopped while this wait was registered (see the triggerer's log)"
            )
            for wait in list(self._waits):
                wait.deliver(PollFailure(self.clock(), stopped))
            try:
                await self._hook.aclose()
            except Exception:  # closing a broken connection is not worth failing anything over
                _log.debug("Closing the poller's HTTP client failed", exc_info=True)

    async def _nap(self, until: float) -> None:
        """Sleep until ``until`` (clock time), waking early when a new wait needs an answer sooner."""
        self._next_cycle = until
        self._wake.clear()
        self._idle = True
        sleeper = asyncio.ensure_future(self._sleep(max(0.0, until - self.clock())))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._idle = False
            self._next_cycle = math.inf
            sleeper.cancel()
            waker.cancel()

    async def _run_cycle(self, due: list[Subscription]) -> None:
        """Ask for the ids of every due wait; each wait hears as soon as the requests with its ids are answered."""
        missing: dict[Subscription, int] = {}
        by_id: dict[str, list[Subscription]] = {}
        for wait in due:
            missing[wait] = len(wait.job_ids)
            for job_id in wait.job_ids:
                by_id.setdefault(job_id, []).append(wait)
        found: dict[str, JobStatus] = {}
        first_sent: dict[Subscription, float] = {}
        conn_id = self.zendesk_conn_id
        for chunk in chunked(list(by_id), SHOW_MANY_LIMIT):
            if not self._waits or self.clock() < self._paused_until:
                return  # everyone left, or a pause began: the waits not asked stay due
            asked = [job_id for job_id in chunk if any(not w.closed for w in by_id[job_id])]  # still wanted
            if not asked:
                continue
            sent = self.clock()
            try:
                answer = await self._hook.get_job_statuses_by_id(asked, checked=True)  # checked by register()
            except Exception as exc:
                where = getattr(exc, "path", None)
                _log.debug("show_many for %d ids on %s got no usable answer: %s (%s)", len(asked), conn_id, exc, where)
                hit = {w: None for job_id in asked for w in by_id[job_id] if missing.pop(w, None) is not None}
                pause = self._hook.rate_limit_wait()
                if isinstance(exc, ZendeskRateLimitError) and pause > 0:
                    self.pause_until(self.clock() + pause)  # every wait stays due, for after the pause
                    return
                if is_transient(exc):
                    self._unanswered(list(hit), sent, exc)
                    return  # the rest of the cycle waits for the backoff; the next try asks for them first
                for wait in hit:
                    wait.read(sent, PollFailure(sent, exc))
                continue
            if self._outage_since is not None:
                took, tries = sent - self._outage_since, self._unanswered_tries
                _log.info("Zendesk answered again on connection %s after %.0f s (%d tries)", conn_id, took, tries)
                self._outage_since, self._unanswered_tries = None, 0
            found.update(answer)
            for job_id in asked:
                for wait in by_id[job_id]:
                    if wait not in missing:
                        continue
                    first_sent.setdefault(wait, sent)
                    missing[wait] -= 1
                    if missing[wait] == 0 and not wait.closed:
                        del missing[wait]
                        since, wait.unanswered_since = wait.unanswered_since, None
                        statuses = {job_id: found[job_id] for job_id in wait.job_ids if job_id in found}
                        wait.read(first_sent[wait], PollAnswer(first_sent[wait], statuses, since))

    def _unanswered(self, waits: list[Subscription], sent: float, error: Exception) -> None:
        """No answer for these waits this time: back off, keep every wait, and tell these ones."""
        now = self.clock()
        self._unanswered_tries += 1
        shortest = min((wait.interval for wait in self._waits), default=1.0)
        backoff = self._hook.retry_policy.delay(self._unanswered_tries, None, self._rand(), cap=shortest)
        retry_at = now + max(backoff, self._hook.rate_limit_wait())  # a 503's Retry-After is a floor
        self._retry_at = max(self._retry_at, retry_at)
        if self._outage_since is None:
            self._outage_since = sent
            _log.warning(
                "Zendesk gave no answer on connection %s (%s); %d waits keep waiting, next try in %.1f s",
                self.zendesk_conn_id,
                describe_no_answer(error),
                len(self._waits),
                retry_at - now,
            )
        for wait in waits:
            wait.next_poll = retry_at
            wait.unanswered_since = sent if wait.unanswered_since is None else wait.unanswered_since
            wait.deliver(PollUnanswered(now, wait.unanswered_since, error, retry_at))
            if wait.deadline <= now:
                wait.deadline = math.inf  # this was the read at the deadline: it is over, answered or not
                wait.deliver(DeadlineReached(now))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
