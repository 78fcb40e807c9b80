"""The shared poller: every deferred wait on one connection, answered by one ``show_many`` loop.

A triggerer may hold thousands of waits. Polling each on its own costs N requests per
interval and burns the account's rate limit (Team plans get 200 requests a minute). Here
every wait registers its job ids and poll interval with one poller per (event loop,
connection); each cycle the poller asks ``show_many`` for the ids that are due, at most 100
per request, and hands each wait the answers for its own ids. The wait itself decides
(with :func:`~airflow_provider_zendesk_jobs.waiting.evaluate_wait`); the poller only reads.

How a cycle is planned:

* A wait is *due* when its interval has passed since its ids were last asked for (or its
  deadline has come). Every due wait is asked for in the cycle, however many requests that
  takes, so no wait is polled later than its interval and a short interval is never starved
  by long ones.
* The last request of a cycle usually has room (a request holds 100 ids). It is filled with
  waits that are not due yet but are within half their interval, soonest first. That costs
  no extra request, and it pulls waits that arrived at different moments onto one rhythm:
  after a cycle or two, waits with the same interval are all asked for in the same requests.
* Requests go out one after another, not concurrently. Zendesk's budget is per minute, so
  concurrency would only shorten a cycle, and a 429 answered to one of several requests in
  flight would already have cost the others. Sequential requests mean a pause for
  ``Retry-After`` stops every request at once. A cycle starts as early as the previous one
  took, so a long cycle does not make its last waits late.
* A 429 pauses the whole poller: no request leaves before its ``Retry-After`` has passed.
  Every wait is told about the pause once, and a wait whose deadline comes during a pause is
  told so on time.
* An outage is no answer this cycle, never the end of a wait (see "Outages" below).
* A request that fails for good (credentials refused, a request Zendesk refuses, a redirect)
  fails only the waits whose ids were in it; the others go on.
* A wait gets its answer as soon as the requests carrying its ids are answered: into its
  inbox, or handed to its callback, run in the wait's own context so that its log lines go to
  its own task's log (the trigger does this: no task switch per wait per cycle).

The poller's one task does every request and every pause, so a test drives it exactly with a
manual clock (see :mod:`.timing`), and cancelling it stops all its traffic. It ends as soon
as no wait is registered.

Outages
-------

A deferred wait is as patient as a poke. A 5xx, a timeout, a broken connection, a body that is
not JSON or a 429 without ``Retry-After`` (an error of kind ``ErrorKind.TRANSIENT``) is
"no answer this cycle" for the waits whose ids the request carried: they stay registered and
hear a :class:`PollUnanswered`; the cycle stops there, and no request leaves the poller until
a backoff has passed (doubling from 1 s, with jitter, drawn from the upper half below its
ceiling, which is the shortest poll interval of the waits). Then the waits not asked yet go
first, and so on until Zendesk answers. So, whatever the number of waits:

* an outage costs at most about two requests per poll interval (one request per try, a try
  at least every half interval once the backoff has grown), less than the waits' normal
  traffic (one request per 100 waits per interval);
* a wait hears that Zendesk answers again within one poll interval of it doing so;
* a wait's deadline is kept: it gets a :class:`DeadlineReached` on time during a backoff, as
  during a 429 pause, and a cycle never blocks for longer than one request (one read timeout).

The poller's hook tries each request once (:data:`ATTEMPTS_PER_REQUEST`): its own retries
would sleep inside the cycle, where no other wait is answered and no deadline is told, and
would multiply the requests of each try. Every wait between attempts is the poller's.
Measured on the emulator (``tests/reliability/test_outages.py``): 30 waits at a 10 s interval
through two minutes of 503s cost 18 to 20 requests during the outage (12 without it; the
same 18 to 20 for 1,000 waits, which cost 120 without it), and each wait wrote one warning
and one "answered again" line.

Only what waiting cannot fix ends a wait: refused credentials (401, 403), a request Zendesk
refuses (400, 422, an invalid id), or the wait's own deadline (a timeout, which a sensor's
``soft_fail`` turns into a skip).

Messages to a wait carry errors whose text names the request by method and path only (never
the ids of the other waits in a shared request); the full path is logged at DEBUG, in the
triggerer's own log.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

from airflow_provider_zendesk_jobs.api.request_builders import SHOW_MANY_LIMIT, chunked
from airflow_provider_zendesk_jobs.exceptions import (
    ErrorKind,
    ZendeskInvalidInputError,
    ZendeskJobsError,
    ZendeskRateLimitError,
)
from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusAsyncHook
from airflow_provider_zendesk_jobs.job_ids import validate_job_ids
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.triggers.messages import (
    DeadlineReached,
    PollAnswer,
    PollFailure,
    PollMessage,
    PollPaused,
    PollUnanswered,
)
from airflow_provider_zendesk_jobs.triggers.timing import Clock, Sleep

__all__ = [
    "DeadlineReached",
    "PollAnswer",
    "PollFailure",
    "PollMessage",
    "PollPaused",
    "PollUnanswered",
    "SharedJobStatusPoller",
    "Subscription",
]

_log = logging.getLogger(__name__)


def _warm_imports() -> None:
    """Import now what the first request would import on the event loop.

    The trigger imports this module in a thread (see ``ZendeskJobStatusTrigger``); the async
    hook's connection lookup (Airflow's async path and what it imports on first use), its
    secrets masking and httpx's first request import these lazily.
    """
    for name in (
        "httpx",
        "anyio._backends._asyncio",
        "airflow.providers.common.compat.connection",
        "airflow.sdk.execution_time.context",
        "airflow.sdk.execution_time.cache",
        "asgiref.sync",
        "airflow.sdk.log",
    ):
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - an Airflow or anyio without it imports nothing there
            continue


_warm_imports()

#: A wait not yet due rides along in a cycle's spare room when it is due within this share of its interval.
EARLY_SHARE = 0.5
#: A cycle starts early by the time the previous one took, but never by more than this share of an interval.
MAX_LEAD_SHARE = 0.25
#: Attempts the poller's hook makes per request: the poller owns the backoff between tries.
ATTEMPTS_PER_REQUEST = 1


#: Called with each message for a wait, in the context the wait registered from; True = "I am done".
OnMessage = Callable[[PollMessage], bool]


class _Waiter:
    """One registered wait: its ids, its rhythm, and the messages not yet read (or its callback)."""

    __slots__ = (
        "callback",
        "closed",
        "context",
        "deadline",
        "deadline_done",
        "ids",
        "inbox",
        "interval",
        "next_poll",
        "unanswered_since",
        "wakeup",
    )

    def __init__(
        self,
        ids: tuple[str, ...],
        interval: float,
        deadline: float | None,
        next_poll: float,
        callback: OnMessage | None = None,
    ) -> None:
        self.ids = ids
        self.interval = interval
        self.deadline = deadline
        self.next_poll = next_poll
        #: True once the wait was polled (or told) at or after its deadline: the deadline needs nothing more.
        self.deadline_done = False
        #: When a request for these ids first went unanswered in the current outage (None: answered).
        self.unanswered_since: float | None = None
        self.inbox: deque[PollMessage] = deque()
        self.wakeup: asyncio.Future[None] | None = None
        self.closed = False
        self.callback = callback
        #: The registering task's context: log lines written by the callback land in that task's log.
        self.context = contextvars.copy_context() if callback is not None else None

    def deliver(self, message: PollMessage) -> bool:
        """Hand over one message; True when the wait is over and should leave the poller."""
        if self.closed:
            return False
        callback, context = self.callback, self.context
        if callback is not None and context is not None:
            try:
                return bool(context.run(callback, message))
            except Exception:  # a faulty wait must not stop the answers to every other wait
                _log.exception("A wait on Zendesk jobs %s failed to handle %s", ", ".join(self.ids[:5]), message)
                return True
        inbox = self.inbox
        if isinstance(message, PollAnswer) and inbox and isinstance(inbox[-1], PollAnswer):
            inbox[-1] = message  # a newer answer supersedes one not read yet
        else:
            inbox.append(message)
        wakeup = self.wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)
        return False

    def wake_at(self, lead: float) -> float:
        """When the poller must be awake for this wait."""
        when = self.next_poll - lead
        if self.deadline is not None and not self.deadline_done:
            when = min(when, self.deadline)
        return when


class Subscription:
    """A wait's handle on the poller: read its messages, and leave."""

    __slots__ = ("_poller", "_waiter")

    def __init__(self, poller: SharedJobStatusPoller, waiter: _Waiter) -> None:
        self._poller = poller
        self._waiter = waiter

    @property
    def job_ids(self) -> tuple[str, ...]:
        return self._waiter.ids

    @property
    def closed(self) -> bool:
        return self._waiter.closed

    async def next_message(self) -> PollMessage:
        """The next answer, failure, pause or deadline notice for this wait's ids (without a callback)."""
        waiter = self._waiter
        if waiter.callback is not None:
            raise RuntimeError("this wait registered a callback: its messages go there")
        while not waiter.inbox:
            if waiter.closed:
                raise RuntimeError("this subscription to the Zendesk poller is closed; register again to wait")
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            waiter.wakeup = future
            try:
                await future
            finally:
                waiter.wakeup = None
        return waiter.inbox.popleft()

    def drain(self) -> list[PollMessage]:
        """Every message waiting now, oldest first, without waiting for more."""
        inbox = self._waiter.inbox
        messages = list(inbox)
        inbox.clear()
        return messages

    def close(self) -> None:
        """Leave the poller: its ids are not asked for again on this wait's behalf. Safe to call twice."""
        self._poller._unregister(self._waiter)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass
class _Cycle:
    ids: list[str]
    members: list[_Waiter]


class SharedJobStatusPoller:
    """Polls ``show_many`` for every wait registered on one connection, in one task.

    :param zendesk_conn_id: the Airflow connection every request goes through.
    :param clock: epoch seconds; :param sleep: an async sleep on that clock. Tests pass a
        manual clock and a sleep that moves it (see :mod:`.timing`).
    :param hook: the async hook to use (one per poller); by default one is made for the connection,
        trying each request once (:data:`ATTEMPTS_PER_REQUEST`).
    :param chunk_size: ids per ``show_many`` request (Zendesk's documented maximum is unconfirmed; 100 is safe).
    :param on_close: called once when the poller stops taking waits (the registry forgets it).
    :param rand: numbers in [0, 1) for the jitter of the backoff during an outage.
    """

    def __init__(
        self,
        zendesk_conn_id: str = ZendeskJobStatusAsyncHook.default_conn_name,
        *,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        hook: ZendeskJobStatusAsyncHook | None = None,
        chunk_size: int = SHOW_MANY_LIMIT,
        on_close: Callable[[SharedJobStatusPoller], None] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not 1 <= chunk_size <= SHOW_MANY_LIMIT:
            raise ZendeskInvalidInputError(f"chunk_size must be a whole number from 1 to {SHOW_MANY_LIMIT}.")
        self.zendesk_conn_id = zendesk_conn_id
        self._clock = clock
        self._sleep = sleep
        # Every wait of the hook (Retry-After, backoff) goes through the poller, on the poller's clock.
        self._hook = (
            hook
            if hook is not None
            else ZendeskJobStatusAsyncHook(
                zendesk_conn_id, retry_limit=ATTEMPTS_PER_REQUEST, clock=clock, sleep=self._hook_sleep
            )
        )
        self._chunk_size = chunk_size
        self._on_close = on_close
        self._waiters: dict[_Waiter, None] = {}
        #: How many registered waits want each id; a request only carries ids someone still wants.
        self._wanted: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._planned_wake = math.inf
        self._paused_until = 0.0
        self._pause_told_until = 0.0
        self._rand = rand
        #: During an outage: no request before this clock time, tries without an answer, since when.
        self._retry_at = 0.0
        self._unanswered_tries = 0
        self._outage_since: float | None = None
        self._lead = 0.0
        self._slept = 0.0
        self._idle = False
        self._closed = False
        #: Requests sent and cycles run, for logs, tests and benchmarks.
        self.requests_sent = 0
        self.cycles = 0

    def __repr__(self) -> str:
        return f"SharedJobStatusPoller(zendesk_conn_id={self.zendesk_conn_id!r}, waits={len(self._waiters)})"

    # -- registration ---------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the last wait has left: the registry then makes a new poller for the next one."""
        return self._closed

    @property
    def clock(self) -> Clock:
        """The poller's time: every message's ``at`` is on it."""
        return self._clock

    @property
    def waits(self) -> int:
        return len(self._waiters)

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    @property
    def idle(self) -> bool:
        """True while the poller only waits on its clock: no request in flight, no wake-up pending."""
        return self._idle and not self._wake.is_set() and not self._closed

    def register(
        self,
        job_ids: Sequence[str],
        *,
        poll_interval: float,
        deadline: float | None = None,
        on_message: OnMessage | None = None,
    ) -> Subscription:
        """Start polling ``job_ids`` at least every ``poll_interval`` seconds; first answer within one interval.

        ``deadline`` (clock time) guarantees one last answer read at or after it (or a
        :class:`DeadlineReached` when requests are paused then), so a wait can end on time.

        Messages are read with :meth:`Subscription.next_message`, or, with ``on_message``,
        handed to that callback as they arrive, run in the caller's context (so its log lines
        go to the caller's task log) without waking the caller's task; it returns True once
        the wait is over, which leaves the poller. With a thousand waits this saves a task
        switch and a future per wait per cycle. Must be called from the poller's event loop.
        """
        if self._closed:
            raise RuntimeError("this Zendesk poller has stopped; ask the registry for the current one")
        ids = tuple(dict.fromkeys(validate_job_ids(list(job_ids))))
        interval = _positive_seconds(poll_interval, "poll_interval")
        if deadline is not None and (isinstance(deadline, bool) or not isinstance(deadline, int | float)):
            raise ZendeskInvalidInputError(f"deadline must be epoch seconds or None, got {deadline!r}.")
        now = self._clock()
        waiter = _Waiter(ids, interval, None if deadline is None else float(deadline), now + interval, on_message)
        self._waiters[waiter] = None
        wanted = self._wanted
        for job_id in ids:
            wanted[job_id] = wanted.get(job_id, 0) + 1
        if self._task is None:
            loop = asyncio.get_running_loop()
            # A fresh context: the poller serves many tasks, so its log lines must not be filed
            # under the task whose trigger happened to start it.
            name = f"zendesk-poller-{self.zendesk_conn_id}"
            self._task = contextvars.Context().run(loop.create_task, self._run(), name=name)
        elif waiter.wake_at(self._lead) < self._planned_wake:
            self._wake.set()
        return Subscription(self, waiter)

    def _unregister(self, waiter: _Waiter) -> None:
        if waiter.closed:
            return
        waiter.closed = True
        if waiter.wakeup is not None and not waiter.wakeup.done():
            waiter.wakeup.set_result(None)
        self._waiters.pop(waiter, None)
        wanted = self._wanted
        for job_id in waiter.ids:
            left = wanted.get(job_id, 0) - 1
            if left > 0:
                wanted[job_id] = left
            else:
                wanted.pop(job_id, None)
        if not self._waiters:
            self._stop()

    def _mark_closed(self) -> None:
        if not self._closed:
            self._closed = True
            if self._on_close is not None:
                self._on_close(self)

    def _stop(self) -> None:
        """No wait left: stop at once, including a request in flight or a pause."""
        self._mark_closed()
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    async def aclose(self) -> None:
        """Drop every wait and stop; waits still reading get a :class:`PollFailure`."""
        error = RuntimeError("the Zendesk poller was closed while this wait was registered")
        for waiter in list(self._waiters):
            waiter.deliver(PollFailure(self._clock(), error))
            self._unregister(waiter)
        self._stop()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    # -- the loop -------------------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while self._waiters:
                now = self._clock()
                held_until = max(self._paused_until, self._retry_at)
                if now < held_until:  # a 429's pause, or the backoff of an outage
                    self._tell_deadlines(now)
                    if not self._waiters:  # the last wait ended at its deadline: nothing to pause for
                        continue
                    await self._nap(min(held_until, self._next_deadline()) - now)
                    continue
                cycle = self._plan(now)
                if cycle is None:
                    await self._nap(self._next_wake() - now)
                    continue
                await self._run_cycle(cycle)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a fault of the poller itself must not leave waits hanging
            _log.exception("The Zendesk job-status poller for %s stopped on an unexpected error", self.zendesk_conn_id)
            for waiter in list(self._waiters):
                self._deliver(waiter, PollFailure(self._clock(), exc))
        finally:
            self._mark_closed()
            stopped = RuntimeError(
                "the triggerer's Zendesk poller stopped while this wait was registered (see the triggerer's log)"
            )
            for waiter in list(self._waiters):
                if not (waiter.inbox and isinstance(waiter.inbox[-1], PollFailure)):
                    self._deliver(waiter, PollFailure(self._clock(), stopped))
            try:
                await self._hook.aclose()
            except Exception:  # closing a broken connection is not worth failing anything over
                _log.debug("Closing the poller's HTTP client failed", exc_info=True)

    async def _nap(self, seconds: float) -> None:
        """Sleep, but wake early when a new wait needs an answer sooner than planned."""
        seconds = max(0.0, seconds)
        self._planned_wake = self._clock() + seconds
        self._wake.clear()
        self._idle = True
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._idle = False
            self._planned_wake = -math.inf
            sleeper.cancel()
            waker.cancel()

    def _next_wake(self) -> float:
        lead = self._lead
        return min((waiter.wake_at(lead) for waiter in self._waiters), default=math.inf)

    def _next_deadline(self) -> float:
        return min(
            (w.deadline for w in self._waiters if w.deadline is not None and not w.deadline_done), default=math.inf
        )

    def _tell_deadlines(self, now: float) -> None:
        for waiter in list(self._waiters):
            if waiter.deadline is not None and not waiter.deadline_done and waiter.deadline <= now:
                waiter.deadline_done = True
                self._deliver(waiter, DeadlineReached(now))

    def _deliver(self, waiter: _Waiter, message: PollMessage) -> None:
        if waiter.deliver(message):
            self._unregister(waiter)

    def _plan(self, now: float) -> _Cycle | None:
        horizon = now + self._lead
        due: list[_Waiter] = []
        early: list[_Waiter] = []
        for waiter in self._waiters:
            if waiter.next_poll <= horizon or (
                waiter.deadline is not None and not waiter.deadline_done and waiter.deadline <= now
            ):
                due.append(waiter)
            elif waiter.next_poll - now <= waiter.interval * EARLY_SHARE:
                early.append(waiter)
        if not due:
            return None
        due.sort(key=_next_poll)
        ids: dict[str, None] = {}
        for waiter in due:
            ids.update(dict.fromkeys(waiter.ids))
        spare = -len(ids) % self._chunk_size
        if spare and early:
            early.sort(key=_next_poll)
            for waiter in early:
                extra = [job_id for job_id in waiter.ids if job_id not in ids]
                if len(extra) <= spare:
                    ids.update(dict.fromkeys(extra))
                    spare -= len(extra)
                    due.append(waiter)
                    if not spare:
                        break
        return _Cycle(list(ids), due)

    async def _run_cycle(self, cycle: _Cycle) -> None:
        self.cycles += 1
        clock = self._clock
        started = clock()
        waiting_on: dict[_Waiter, int] = {}
        by_id: dict[str, list[_Waiter]] = {}
        for waiter in cycle.members:
            waiting_on[waiter] = len(waiter.ids)
            for job_id in waiter.ids:
                by_id.setdefault(job_id, []).append(waiter)
        first_sent: dict[_Waiter, float] = {}
        found: dict[str, JobStatus] = {}
        self._slept = 0.0
        unanswered = False
        for chunk in chunked(cycle.ids, self._chunk_size):
            if not self._waiters or clock() < self._paused_until:
                break  # everyone left, or a pause began: the unanswered waits stay due
            asked = [job_id for job_id in chunk if job_id in self._wanted]
            if not asked:
                continue
            sent = clock()
            slept = self._slept
            self.requests_sent += 1
            try:
                answer = await self._hook.get_job_statuses_by_id(asked)
            except Exception as exc:
                sent += self._slept - slept
                _log.debug(
                    "show_many for %d ids on %s got no usable answer: %s (%s)",
                    len(asked),
                    self.zendesk_conn_id,
                    exc,
                    getattr(exc, "path", None),
                )
                pause = self._hook.rate_limit_wait()
                if isinstance(exc, ZendeskRateLimitError) and pause > 0:
                    self._pause(clock(), pause)  # every wait stays due, for after the pause
                elif getattr(exc, "kind", None) is ErrorKind.TRANSIENT:
                    self._unanswered(asked, by_id, waiting_on, sent, exc)
                    unanswered = True
                    break  # the rest of the cycle waits for the backoff: the next try asks them first
                else:
                    self._fail(asked, by_id, waiting_on, sent, exc)
                continue
            # When the answer was read: after any Retry-After the hook waited out.
            sent += self._slept - slept
            if self._outage_since is not None:
                self._answered_again(sent)
            found.update(answer)
            for job_id in asked:
                for waiter in by_id[job_id]:
                    if waiter not in waiting_on:
                        continue
                    first_sent.setdefault(waiter, sent)
                    waiting_on[waiter] -= 1
                    if waiting_on[waiter] == 0:
                        del waiting_on[waiter]
                        self._answer(waiter, first_sent[waiter], found)
        if self._waiters and not unanswered:
            # Time spent sending, not pausing: how much earlier the next cycle should start.
            shortest = min(waiter.interval for waiter in self._waiters)
            self._lead = min(max(0.0, clock() - started - self._slept), shortest * MAX_LEAD_SHARE)

    @staticmethod
    def _polled(waiter: _Waiter, sent: float) -> None:
        waiter.next_poll = sent + waiter.interval
        if waiter.deadline is not None and sent >= waiter.deadline:
            waiter.deadline_done = True

    def _answer(self, waiter: _Waiter, sent: float, found: dict[str, JobStatus]) -> None:
        if waiter.closed:
            return
        self._polled(waiter, sent)
        since, waiter.unanswered_since = waiter.unanswered_since, None
        statuses = {job_id: found[job_id] for job_id in waiter.ids if job_id in found}
        self._deliver(waiter, PollAnswer(sent, statuses, since))

    def _unanswered(
        self,
        asked: list[str],
        by_id: dict[str, list[_Waiter]],
        waiting_on: dict[_Waiter, int],
        sent: float,
        error: Exception,
    ) -> None:
        """No answer for these ids this time: back off (every wait stays registered) and tell their waits."""
        now = self._clock()
        self._unanswered_tries += 1
        first = self._outage_since is None
        if first:
            self._outage_since = sent
        shortest = min((waiter.interval for waiter in self._waiters), default=1.0)
        backoff = self._hook.retry_policy.delay(self._unanswered_tries, None, self._rand(), cap=shortest)
        # A 503's Retry-After, if Zendesk sent one, is a floor.
        retry_at = now + max(backoff, self._hook.rate_limit_wait())
        self._retry_at = max(self._retry_at, retry_at)
        if first:
            _log.warning(
                "Zendesk gave no answer on connection %s (%s); %d waits keep waiting, next try in %.1f s",
                self.zendesk_conn_id,
                _short(error),
                len(self._waiters),
                retry_at - now,
            )
        for waiter in _open_waits_of(asked, by_id, waiting_on):
            waiter.next_poll = retry_at
            if waiter.unanswered_since is None:
                waiter.unanswered_since = sent
            self._deliver(waiter, PollUnanswered(now, waiter.unanswered_since, error, retry_at))
            if waiter.deadline is not None and not waiter.deadline_done and waiter.deadline <= now:
                waiter.deadline_done = True  # this was the read at the deadline: it is over, answered or not
                self._deliver(waiter, DeadlineReached(now))

    def _answered_again(self, now: float) -> None:
        since = self._outage_since if self._outage_since is not None else now
        _log.info(
            "Zendesk answered again on connection %s after %.0f s (%d tries without an answer)",
            self.zendesk_conn_id,
            now - since,
            self._unanswered_tries,
        )
        self._outage_since = None
        self._unanswered_tries = 0

    def _fail(
        self,
        asked: list[str],
        by_id: dict[str, list[_Waiter]],
        waiting_on: dict[_Waiter, int],
        sent: float,
        error: Exception,
    ) -> None:
        """Only the waits whose ids were in the failed request hear of it."""
        for waiter in _open_waits_of(asked, by_id, waiting_on):
            self._polled(waiter, sent)
            self._deliver(waiter, PollFailure(sent, error))

    # -- pauses ---------------------------------------------------------------------------------------
    def hold_until(self, until: float) -> None:
        """Send nothing before ``until`` (clock time): a ``Retry-After`` Zendesk gave before a wait was deferred.

        Zendesk's budget is per account, so the pause holds for every wait on this connection.
        """
        now = self._clock()
        if until > now:
            self._pause(now, until - now)

    def _pause(self, now: float, seconds: float) -> None:
        until = now + seconds
        if until > self._paused_until:
            self._paused_until = until
        self._announce_pause(now, until)

    def _announce_pause(self, now: float, until: float) -> None:
        """Log once and tell every wait once per pause, not once per request that hit it."""
        if until <= self._pause_told_until:
            return
        self._pause_told_until = until
        _log.warning(
            "Zendesk asked to slow down (429): no request on connection %s for %.1f s; %d waits will be checked after",
            self.zendesk_conn_id,
            until - now,
            len(self._waiters),
        )
        for waiter in list(self._waiters):
            self._deliver(waiter, PollPaused(now, until))

    async def _hook_sleep(self, seconds: float) -> None:
        """The hook's waits between attempts: announced when Zendesk asked for them, and deadline-aware."""
        now = self._clock()
        end = now + seconds
        pause = self._hook.rate_limit_wait()
        if pause > 0:
            self._announce_pause(now, now + pause)
        while now < end:
            self._idle = True
            try:
                await self._sleep(min(end, self._next_deadline()) - now)
            finally:
                self._idle = False
            later = self._clock()
            self._slept += later - now
            now = later
            self._tell_deadlines(now)
            if self._closed:  # the last wait left meanwhile: no further attempt
                raise asyncio.CancelledError()


def _short(error: Exception) -> str:
    """The status, or the error's first sentence: for the triggerer's log line of an outage."""
    code = error.status_code if isinstance(error, ZendeskJobsError) else None
    if code is not None:
        return f"status {code}"
    return (str(error) or type(error).__name__).split(". ")[0][:200]


def _open_waits_of(
    asked: list[str], by_id: dict[str, list[_Waiter]], waiting_on: dict[_Waiter, int]
) -> Iterator[_Waiter]:
    """Each still-open wait with an id in a request that got no answer, once: it leaves ``waiting_on``."""
    for job_id in asked:
        for waiter in by_id[job_id]:
            if waiting_on.pop(waiter, None) is not None and not waiter.closed:
                yield waiter


def _next_poll(waiter: _Waiter) -> float:
    return waiter.next_poll


def _positive_seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ZendeskInvalidInputError(f"{name} must be a number of seconds above 0, got {value!r}.")
    return float(value)
