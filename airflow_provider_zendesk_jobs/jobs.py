"""The parsed job-status model, with no I/O and no Airflow inside.

Items of ``results`` differ by bulk call and account age (``index``/``account_id``, ``status`` ``Created``/``Failed``,
``action`` + ``success``, ``error``/``details``, older ``errors``; a permanent deletion answers an object). Parsing
keeps unknown keys in ``extra`` and raises :class:`ZendeskResponseError` naming a field of the wrong type. Items are
read on first use: a job may carry thousands and a poll needs none.
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
        """An unknown status is not terminal, so a wait never ends on it."""
        try:
            return cls(status.strip().lower())
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES: frozenset[JobState] = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.KILLED})
NON_TERMINAL_STATES: frozenset[JobState] = frozenset(set(JobState) - TERMINAL_STATES)
#: Terminal states that mean the job itself did not do its work.
FAILED_STATES: frozenset[JobState] = frozenset({JobState.FAILED, JobState.KILLED})
#: The statuses Zendesk documents, in lifecycle order: what an audit filter or a job-event watcher may name.
JOB_STATUSES: tuple[str, ...] = tuple(state.value for state in JobState if state is not JobState.UNKNOWN)


def _bad(job_id: str | None, what: str) -> ZendeskResponseError:
    where = f"job {job_id}: {what}" if job_id else what
    return ZendeskResponseError(
        f"Zendesk sent a job status that is not in the documented form ({where}). "
        "If this repeats, check that the connection points at a Zendesk account and report the body."
    )


_TEXT, _WHOLE = ((str,), "text or null"), ((int,), "a whole number or null")
#: The optional fields of a job and of an item: exact JSON types (``true`` is no whole number), what is wanted.
_FIELD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    **dict.fromkeys(("job_type", "message", "url", "action", "status"), _TEXT),
    **dict.fromkeys(("total", "progress", "index"), _WHOLE),
    "id": ((int, str), "a number, text or null"),
    "success": ((bool,), "true, false or null"),
}


def _checked(data: Mapping[str, Any], key: str, job_id: str | None, position: int | None = None) -> Any:
    """``data[key]`` when absent, null or of its type; else the error naming it."""
    value = data.get(key)
    types, wanted = _FIELD_TYPES[key]
    if value is None or type(value) in types:
        return value
    name = key if key in ("id", "success") else f"'{key}'"  # messages name an item's id and success unquoted
    where = name if position is None else f"results[{position}].{name}"
    raise _bad(job_id, f"{where} should be {wanted}, got {type(value).__name__}")


def _as_text(value: Any) -> str | None:
    """Zendesk's ``error``/``errors``/``details`` are usually text, sometimes an object; keep both as text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class JobResult:
    """One item of a finished job's ``results``: a record Zendesk created, updated or rejected."""

    index: int | None
    id: int | str | None
    action: str | None = None
    status: str | None = None
    success: bool | None = None
    error: str | None = None
    details: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Failed in any of Zendesk's three ways: an ``error`` (or ``errors``), ``success: false``, or ``Failed``."""
        return bool(self.error) or self.success is False or _says_failed(self.status)

    @classmethod
    def from_api(cls, data: Any, job_id: str | None = None, position: int = 0) -> JobResult:
        """``position`` is where the item sits in ``results``, for the error message."""
        if not isinstance(data, Mapping):
            raise _bad(job_id, f"results[{position}] should be an object, got {type(data).__name__}")
        return cls(
            **{key: _checked(data, key, job_id, position) for key in ("index", "id", "action", "status", "success")},
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
        return {"index": self.index, "id": self.id, "error": self.error_text, "details": self.details}


def _says_failed(status: str | None) -> bool:
    return status is not None and status.strip().lower() == "failed"


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A snapshot of one Zendesk background job; snapshots of the same body are equal (cached items aside)."""

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
        if isinstance(results, Mapping):
            results = dict(results)
        elif results is not None and not isinstance(results, list):
            raise _bad(job_id, f"'results' should be a list, an object or null, got {type(results).__name__}")
        return cls(
            id=job_id,
            status=status,
            state=JobState.from_status(status),
            **{key: _checked(data, key, job_id) for key in ("job_type", "total", "progress", "message", "url")},
            raw_results=results,
        )

    @property
    def results(self) -> list[JobResult] | dict[str, Any] | None:
        """The items as :class:`JobResult` (read on first use), a permanent deletion's object, or None."""
        if not isinstance(self.raw_results, list):
            return self.raw_results
        if self._items is None:
            items = [JobResult.from_api(item, self.id, position) for position, item in enumerate(self.raw_results)]
            object.__setattr__(self, "_items", items)  # the one write to this frozen snapshot: a cache
        return self._items

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal

    @property
    def items(self) -> list[JobResult]:
        """Empty while the job runs and for object-shaped results."""
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
        value = self.raw_results.get("success") if isinstance(self.raw_results, dict) else None
        return value if isinstance(value, bool) else None

    def describe_progress(self) -> str:
        """One log line's worth, e.g. ``V3-abc: working 31/100``."""
        counter = "" if self.progress is None else f" {self.progress}"
        if self.total is not None:
            counter = f" {self.progress or 0}/{self.total}"
        line = f"{self.id}: {self.status}{counter}"
        if self.state is JobState.UNKNOWN:
            line += " (a status this provider does not know; treated as not finished)"
        if self.message and (self.state in FAILED_STATES or self.state is JobState.UNKNOWN):
            line += f" - {self.message}"
        return line

    def to_dict(self, *, include_results: bool = True) -> dict[str, Any]:
        """The XCom form, the same keys for every job shape; ``success`` only for object-shaped results."""
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
