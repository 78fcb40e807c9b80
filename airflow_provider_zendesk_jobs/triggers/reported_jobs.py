"""Which jobs a job-event watcher has already fired for: its cursor, kept where the Airflow release allows.

Zendesk's job statuses carry no timestamps, and its list holds only the recent jobs, so the
cursor is the set of ids already reported, pruned to the ids still listed (it never outgrows
the list).

* Airflow 3.3+ gives a watcher trigger a state store on its asset (``asset_state_store``): the
  set is written there after each event, so a triggerer restart (or a move to another
  triggerer) goes on where it stopped. When nothing is stored yet, every listed job already in
  a watched status is reported once: nothing is lost.
* Airflow 3.0 to 3.2 have no such store, nor has a trigger watched by several assets at once
  (their accessor cannot tell which asset to write). The set lives in the trigger's memory, and
  the first read of each start is the baseline: the jobs already in a watched status then are
  taken as reported. A restart never repeats an event there, but a job that reached a watched
  status while no triggerer ran the watcher is not reported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

__all__ = ["ReportedJobs", "cursor_key"]


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
