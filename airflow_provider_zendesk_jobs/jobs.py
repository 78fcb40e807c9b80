"""The parsed job-status model: what Zendesk said about a job, with no I/O and no Airflow inside.

Zendesk's job bodies vary by the kind of bulk call and by the age of the account. An item of
``results`` may carry ``index`` (ticket imports, often with ``account_id``), ``status``
(``Created``, ``Updated``, ``Deleted``, ``Failed``: user and organization calls), ``action`` and
``success`` (bulk updates and deletes), ``error`` and ``details`` for a rejected record, or
``errors`` (older accounts; empty text there means no error). A permanent deletion answers an
object (``{"success": true}``) instead of a list. So parsing is lenient about which keys an
item carries and strict about types: an unknown key is kept in ``extra``, while a value of the
wrong type raises :class:`ZendeskResponseError` naming the field, never a bare
``KeyError``/``TypeError``.

A poll needs only a job's id, status and counters, and a job can carry thousands of items,
so :class:`JobStatus` keeps its ``results`` list as Zendesk sent it and reads the items the
first time someone asks for them (``results``, ``items``, ``failed_items``, ``succeeded_ids``,
``to_dict()``). A malformed item raises :class:`ZendeskResponseError` there, naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from airflow_provider_zendesk_jobs.exceptions import ZendeskResponseError

#: The keys of a result item that :class:`JobResult` reads into its own fields.
_ITEM_KEYS = frozenset({"index", "id", "action", "status", "success", "error", "errors", "details"})
#: The keys of an item in the XCom form that come from :class:`JobResult`'s own fields, never from ``extra``.
_XCOM_ITEM_KEYS = frozenset({"index", "id", "success", "action", "status", "error", "details"})


class JobState(str, Enum):
    """The lifecycle position of a job. ``UNKNOWN`` stands for any status Zendesk may add later."""

    QUEUED = "queued"
    WORKING = "working"
    COMPLETED = "completed"
    FAILED = "failed"
    KILLED = "killed"
    UNKNOWN = "unknown"

    @classmethod
    def from_status(cls, status: str) -> JobState:
        """Map Zendesk's raw status; a value we do not know is not terminal, so a wait never ends on it."""
        try:
            return cls(status.strip().lower())
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


#: States after which a job never changes again.
TERMINAL_STATES: frozenset[JobState] = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.KILLED})
#: States of a job that may still change (``UNKNOWN`` included: we cannot know it is over).
NON_TERMINAL_STATES: frozenset[JobState] = frozenset(set(JobState) - TERMINAL_STATES)
#: Terminal states that mean the job itself did not do its work.
FAILED_STATES: frozenset[JobState] = frozenset({JobState.FAILED, JobState.KILLED})


def _bad(job_id: str | None, what: str) -> ZendeskResponseError:
    where = f"job {job_id}: {what}" if job_id else what
    return ZendeskResponseError(
        f"Zendesk sent a job status that is not in the documented form ({where}). "
        "If this repeats, check that the connection points at a Zendesk account and report the body."
    )


#: The optional fields of a job and of an item: the types JSON gives them, how an error names them and
#: what it asks for. Types are exact, as ``json.loads`` makes them: ``true`` is no whole number.
_FIELD_TYPES: dict[str, tuple[tuple[type, ...], str, str]] = {
    "job_type": ((str,), "'job_type'", "text or null"),
    "total": ((int,), "'total'", "a whole number or null"),
    "progress": ((int,), "'progress'", "a whole number or null"),
    "message": ((str,), "'message'", "text or null"),
    "url": ((str,), "'url'", "text or null"),
    # the fields of an item of ``results`` (a job's own status is checked on its own: it may not be null)
    "index": ((int,), "'index'", "a whole number or null"),
    "id": ((int, str), "id", "a number, text or null"),
    "action": ((str,), "'action'", "text or null"),
    "status": ((str,), "'status'", "text or null"),
    "success": ((bool,), "success", "true, false or null"),
}


def _checked(data: Mapping[str, Any], key: str, job_id: str | None, position: int | None = None) -> Any:
    """``data[key]`` when it is absent, null or of its type; else the error naming it (and its item's position)."""
    value = data.get(key)
    types, name, wanted = _FIELD_TYPES[key]
    if value is None or type(value) in types:
        return value
    where = name if position is None else f"results[{position}].{name}"
    raise _bad(job_id, f"{where} should be {wanted}, got {type(value).__name__}")


def _as_text(value: Any) -> str | None:
    """Zendesk's ``error``/``errors``/``details`` are usually text, sometimes an object; keep both as text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class JobResult:
    """One item of a finished job's ``results`` list: a record Zendesk created, updated or rejected.

    Whether it failed is decided once, here, for every later reader.
    """

    index: int | None
    id: int | str | None
    action: str | None = None
    status: str | None = None
    success: bool | None = None
    error: str | None = None
    details: str | None = None
    #: The keys Zendesk sent that the fields above do not read.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Failed in any of Zendesk's three ways: an ``error`` (or ``errors``), ``success: false``, or ``Failed``."""
        return bool(self.error) or self.success is False or _says_failed(self.status)

    @classmethod
    def from_api(cls, data: Any, job_id: str | None = None, position: int = 0) -> JobResult:
        """Parse one item; ``position`` is where it sits in the job's ``results``, for the error message."""
        if not isinstance(data, Mapping):
            raise _bad(job_id, f"results[{position}] should be an object, got {type(data).__name__}")
        return cls(
            index=_checked(data, "index", job_id, position),
            id=_checked(data, "id", job_id, position),
            action=_checked(data, "action", job_id, position),
            status=_checked(data, "status", job_id, position),
            success=_checked(data, "success", job_id, position),
            error=_as_text(data.get("error")) or _as_text(data.get("errors")) or None,
            details=_as_text(data.get("details")),
            extra={key: value for key, value in data.items() if key not in _ITEM_KEYS},
        )

    @property
    def error_text(self) -> str:
        """The reason shown to people: ``error``, else ``errors``, else ``status``, else ``success=false``."""
        if self.error:
            return self.error
        if _says_failed(self.status):
            return self.status or ""
        return "success=false"

    def to_dict(self) -> dict[str, Any]:
        """The normalised item of the XCom form: the same keys for every shape, unknown keys kept."""
        error = self.error_text if self.failed else None
        return {
            "index": self.index,
            "id": self.id,
            "success": error is None,
            "action": self.action,
            "status": self.status,
            "error": error,
            "details": self.details,
            # In the XCom form these keys hold the item's own fields: an unknown key never stands for one.
            **{key: value for key, value in self.extra.items() if key not in _XCOM_ITEM_KEYS},
        }

    def failure_dict(self) -> dict[str, Any]:
        """The compact form listed under ``failed`` in the XCom form."""
        return {"index": self.index, "id": self.id, "error": self.error_text, "details": self.details}


def _says_failed(status: str | None) -> bool:
    return status is not None and status.strip().lower() == "failed"


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A snapshot of one Zendesk background job, as one read returned it.

    Two snapshots parsed from the same body are equal; the items read from ``raw_results``
    are kept after the first read and take no part in comparisons.
    """

    id: str
    status: str
    state: JobState
    job_type: str | None = None
    total: int | None = None
    progress: int | None = None
    message: str | None = None
    url: str | None = None
    #: ``results`` as Zendesk sent it: a list of items (not read yet), an object, or None.
    raw_results: list[Any] | dict[str, Any] | None = None
    _items: list[JobResult] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> JobStatus:
        """Parse one job object (the value under ``job_status``, or one entry of ``job_statuses``)."""
        if not isinstance(data, Mapping):
            raise _bad(None, f"expected an object, got {type(data).__name__}")
        job_id = data.get("id")
        if not isinstance(job_id, str) or not job_id:
            raise _bad(None, f"'id' should be non-empty text, got {_describe(job_id)}")
        status = data.get("status")
        if not isinstance(status, str) or not status:
            raise _bad(job_id, f"'status' should be non-empty text, got {_describe(status)}")
        results = data.get("results")
        if results is None or isinstance(results, list):
            pass
        elif isinstance(results, Mapping):
            results = dict(results)
        else:
            raise _bad(job_id, f"'results' should be a list, an object or null, got {type(results).__name__}")
        return cls(
            id=job_id,
            status=status,
            state=JobState.from_status(status),
            job_type=_checked(data, "job_type", job_id),
            total=_checked(data, "total", job_id),
            progress=_checked(data, "progress", job_id),
            message=_checked(data, "message", job_id),
            url=_checked(data, "url", job_id),
            raw_results=results,
        )

    @property
    def results(self) -> list[JobResult] | dict[str, Any] | None:
        """The items read into :class:`JobResult` (on first use), the object of a permanent deletion, or None.

        Raises :class:`ZendeskResponseError` naming the first malformed item, at every read.
        """
        if not isinstance(self.raw_results, list):
            return self.raw_results
        if self._items is None:
            items = [JobResult.from_api(item, self.id, position) for position, item in enumerate(self.raw_results)]
            # The one write to this frozen snapshot: a cache of what its own raw_results say.
            object.__setattr__(self, "_items", items)
            return items
        return self._items

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal

    @property
    def items(self) -> list[JobResult]:
        """The per-record results; empty while the job runs and for object-shaped results."""
        results = self.results
        return results if isinstance(results, list) else []

    @property
    def failed_items(self) -> list[JobResult]:
        return [item for item in self.items if item.failed]

    @property
    def succeeded_ids(self) -> list[int | str]:
        return [item.id for item in self.items if not item.failed and item.id is not None]

    @property
    def success(self) -> bool | None:
        """For object-shaped results (a permanent deletion): Zendesk's overall ``success``, else ``None``."""
        if isinstance(self.raw_results, dict):
            value = self.raw_results.get("success")
            return value if isinstance(value, bool) else None
        return None

    def describe_progress(self) -> str:
        """One log line's worth, e.g. ``V3-abc: working 31/100``."""
        if self.total is not None:
            done = self.progress if self.progress is not None else 0
            counter = f" {done}/{self.total}"
        elif self.progress is not None:
            counter = f" {self.progress}"
        else:
            counter = ""
        line = f"{self.id}: {self.status}{counter}"
        if self.state is JobState.UNKNOWN:
            line += " (a status this provider does not know; treated as not finished)"
        if self.message and (self.state in FAILED_STATES or self.state is JobState.UNKNOWN):
            line += f" - {self.message}"
        return line

    def to_dict(self, *, include_results: bool = True) -> dict[str, Any]:
        """The XCom form: JSON-safe, compact, the same keys for every job shape.

        ``succeeded_ids``, ``failed`` (index, id, error, details of each failed item) and
        ``counts`` are always there, so a downstream task reads them without knowing the
        job's kind; ``results`` (every item normalised) only with ``include_results``, and
        ``success`` only for object-shaped results.
        """
        items = self.items
        failed = [item.failure_dict() for item in items if item.failed]
        out: dict[str, Any] = {
            "job_id": self.id,
            "status": self.status,
            "job_type": self.job_type,
            "total": self.total,
            "progress": self.progress,
            "message": self.message,
            "succeeded_ids": self.succeeded_ids,
            "failed": failed,
            "counts": {"succeeded": len(items) - len(failed), "failed": len(failed)},
        }
        if isinstance(self.raw_results, dict):
            out["success"] = self.success
        if include_results:
            out["results"] = [item.to_dict() for item in items]
        return out


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {str(value)[:40]!r}" if not isinstance(value, str) else "empty text"


def parse_job_status_body(body: Any) -> JobStatus:
    """Parse a show-one or bulk-call answer: ``{"job_status": {...}}``."""
    if not isinstance(body, Mapping) or "job_status" not in body:
        raise ZendeskResponseError(
            "Zendesk's answer has no 'job_status' object; the endpoint may not start a background job. "
            "Check the endpoint and method of the call."
        )
    return JobStatus.from_api(body["job_status"])


def parse_job_statuses_body(body: Any) -> list[JobStatus]:
    """Parse a list or show-many answer: ``{"job_statuses": [...]}``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("job_statuses"), list):
        raise ZendeskResponseError(
            "Zendesk's answer has no 'job_statuses' list. Check that the connection points at a Zendesk account."
        )
    return [JobStatus.from_api(item) for item in body["job_statuses"]]
