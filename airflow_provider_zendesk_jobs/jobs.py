"""The parsed job-status model: what Zendesk said about a job, with no I/O and no Airflow inside.

Zendesk's job bodies vary by the kind of bulk call and by the age of the account (see
``ZENDESK_API.md``), so parsing is lenient about which keys an item carries and strict
about types: an unknown key is kept in ``extra``, while a value of the wrong type raises
:class:`ZendeskResponseError` naming the field, never a bare ``KeyError``/``TypeError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
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
        state = _STATE_BY_STATUS.get(status)  # the exact spelling Zendesk sends, without an Enum look-up
        if state is not None:
            return state
        try:
            return cls(status.strip().lower())
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


#: The statuses Zendesk documents, spelled as it sends them.
_STATE_BY_STATUS: dict[str, JobState] = {state.value: state for state in JobState if state is not JobState.UNKNOWN}

#: States after which a job never changes again.
TERMINAL_STATES: frozenset[JobState] = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.KILLED})
#: States of a job that may still change (``UNKNOWN`` included: we cannot know it is over).
NON_TERMINAL_STATES: frozenset[JobState] = frozenset(set(JobState) - TERMINAL_STATES)
#: Terminal states that mean the job itself did not do its work.
FAILED_STATES: frozenset[JobState] = frozenset({JobState.FAILED, JobState.KILLED})


def _where(job_id: str | None, what: str) -> str:
    return f"job {job_id}: {what}" if job_id else what


def _bad(job_id: str | None, what: str) -> ZendeskResponseError:
    return ZendeskResponseError(
        f"Zendesk sent a job status that is not in the documented form ({_where(job_id, what)}). "
        "If this repeats, check that the connection points at a Zendesk account and report the body."
    )


def _optional_int(data: Mapping[str, Any], key: str, job_id: str | None) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(job_id, f"{key!r} should be a whole number or null, got {type(value).__name__}")
    return value


def _optional_str(data: Mapping[str, Any], key: str, job_id: str | None) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(job_id, f"{key!r} should be text or null, got {type(value).__name__}")
    return value


def _as_text(value: Any) -> str | None:
    """Zendesk's ``error``/``errors``/``details`` are usually text, sometimes an object; keep both as text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _bad_item(
    job_id: str | None, position: int, index: Any, item_id: Any, action: Any, status: Any, success: Any
) -> ZendeskResponseError:
    return _bad(job_id, _describe_bad_item(position, index, item_id, action, status, success))


def _describe_bad_item(position: int, index: Any, item_id: Any, action: Any, status: Any, success: Any) -> str:
    where = f"results[{position}]"
    if index is not None and type(index) is not int:
        return f"{where}.'index' should be a whole number or null, got {type(index).__name__}"
    if item_id is not None and type(item_id) is not int and type(item_id) is not str:
        return f"{where}.id should be a number, text or null, got {type(item_id).__name__}"
    if action is not None and type(action) is not str:
        return f"{where}.'action' should be text or null, got {type(action).__name__}"
    if status is not None and type(status) is not str:
        return f"{where}.'status' should be text or null, got {type(status).__name__}"
    return f"{where}.success should be true, false or null, got {type(success).__name__}"


#: Shared by every item without unknown keys; never mutated.
_NO_EXTRA: Mapping[str, Any] = {}


@dataclass(slots=True)
class JobResult:
    """One item of a finished job's ``results`` list: a record Zendesk created, updated or rejected.

    A job can carry thousands of items, so parsing takes one pass over each item with exact
    type checks, and whether it failed is decided once, here, for every later reader.
    """

    index: int | None
    id: int | str | None
    action: str | None = None
    status: str | None = None
    success: bool | None = None
    error: str | None = None
    details: str | None = None
    #: The keys Zendesk sent that the fields above do not read; never one that names a field of the XCom item.
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: Failed when Zendesk says so in any of the three ways it does (see ``ZENDESK_API.md``).
    failed: bool = field(init=False)

    def __post_init__(self) -> None:
        status = self.status
        self.failed = (
            bool(self.error) or self.success is False or (status is not None and status.strip().lower() == "failed")
        )
        extra = self.extra
        if extra and not _XCOM_ITEM_KEYS.isdisjoint(extra):
            # In the XCom form these keys hold the item's own fields: an unknown key never stands for one.
            self.extra = {key: value for key, value in extra.items() if key not in _XCOM_ITEM_KEYS}

    @classmethod
    def from_api(cls, data: Any, job_id: str | None = None, position: int = 0) -> JobResult:
        """Parse one item; ``position`` is where it sits in the job's ``results``, for the error message."""
        return _parse_items((data,), job_id, position, cls)[0]

    @property
    def error_text(self) -> str:
        """The reason shown to people: ``error``, else ``errors``, else ``status``, else ``success=false``."""
        if self.error:
            return self.error
        if self.status and self.status.strip().lower() == "failed":
            return self.status
        return "success=false"

    def to_dict(self) -> dict[str, Any]:
        """The normalised item of the XCom form: the same keys for every shape, unknown keys kept."""
        return _xcom_items((self,), True)[2][0]

    def failure_dict(self) -> dict[str, Any]:
        """The compact form listed under ``failed`` in the XCom form."""
        return {"index": self.index, "id": self.id, "error": self.error_text, "details": self.details}


#: Builds a JobResult without running ``__init__``: the parser has already computed every field.
_new_result = object.__new__


#: Builds a JobStatus without running ``__init__``: ``from_api`` has already checked every field.
_new_status = object.__new__


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one Zendesk background job, as one read returned it."""

    id: str
    status: str
    state: JobState
    job_type: str | None = None
    total: int | None = None
    progress: int | None = None
    message: str | None = None
    url: str | None = None
    results: list[JobResult] | dict[str, Any] | None = None

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
        raw_results = data.get("results")
        results: list[JobResult] | dict[str, Any] | None
        if raw_results is None:
            results = None
        elif isinstance(raw_results, list):
            results = _parse_items(raw_results, job_id)
        elif isinstance(raw_results, Mapping):
            results = dict(raw_results)
        else:
            raise _bad(job_id, f"'results' should be a list, an object or null, got {type(raw_results).__name__}")
        job_type, total, progress, message, url = (
            data.get("job_type"),
            data.get("total"),
            data.get("progress"),
            data.get("message"),
            data.get("url"),
        )
        # Exact types first (what Zendesk sends); the helpers only run to accept null or explain an error.
        if not (type(job_type) is str or job_type is None):
            job_type = _optional_str(data, "job_type", job_id)
        if not (type(total) is int or total is None):
            total = _optional_int(data, "total", job_id)
        if not (type(progress) is int or progress is None):
            progress = _optional_int(data, "progress", job_id)
        if not (type(message) is str or message is None):
            message = _optional_str(data, "message", job_id)
        if not (type(url) is str or url is None):
            url = _optional_str(data, "url", job_id)
        # A poller parses every job of every wait at each poll: fill the frozen instance directly
        # instead of through the generated __init__ (one checked setattr per field).
        job = _new_status(cls)
        job.__dict__.update(
            id=job_id,
            status=status,
            state=JobState.from_status(status),
            job_type=job_type,
            total=total,
            progress=progress,
            message=message,
            url=url,
            results=results,
        )
        return job

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal

    @property
    def items(self) -> list[JobResult]:
        """The per-record results; empty while the job runs and for object-shaped results."""
        return self.results if isinstance(self.results, list) else []

    @property
    def failed_items(self) -> list[JobResult]:
        return [item for item in self.items if item.failed]

    @property
    def succeeded_ids(self) -> list[int | str]:
        return [item.id for item in self.items if not item.failed and item.id is not None]

    @property
    def success(self) -> bool | None:
        """For object-shaped results (a permanent deletion): Zendesk's overall ``success``, else ``None``."""
        if isinstance(self.results, dict):
            value = self.results.get("success")
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
        """The XCom form of DESIGN.md: JSON-safe, compact, the same keys for every job shape."""
        items = self.items
        succeeded_ids, failed, normalised = _xcom_items(items, include_results)
        out: dict[str, Any] = {
            "job_id": self.id,
            "status": self.status,
            "job_type": self.job_type,
            "total": self.total,
            "progress": self.progress,
            "message": self.message,
            "succeeded_ids": succeeded_ids,
            "failed": failed,
            "counts": {"succeeded": len(items) - len(failed), "failed": len(failed)},
        }
        if isinstance(self.results, dict):
            out["success"] = self.success
        if include_results:
            out["results"] = normalised
        return out


#: The item statuses Zendesk documents, spelled as it sends them, and whether each one means failed.
_STATUS_FAILED: dict[str, bool] = {"Created": False, "Updated": False, "Deleted": False, "Failed": True}


def _parse_items(
    raw_items: Iterable[Any], job_id: str | None, start: int = 0, result_class: type[JobResult] = JobResult
) -> list[JobResult]:
    """Check and build every item of a ``results`` list in one loop.

    A poll or a results read can carry thousands of items, so the loop makes no call per item
    and looks up only the keys an item can still hold: the type checks count the keys they
    account for, and an item with none left has no ``error``, ``details`` or unknown key.
    """
    results: list[JobResult] = []
    append = results.append
    new_result = _new_result
    item_keys = _ITEM_KEYS
    status_failed = _STATUS_FAILED
    no_extra = _NO_EXTRA
    for data in raw_items:
        if type(data) is not dict:
            if not isinstance(data, Mapping):
                raise _bad(job_id, f"results[{start + len(results)}] should be an object, got {type(data).__name__}")
            data = dict(data)
        try:
            item_id = data["id"]  # nearly every item has one: cheaper than get()
        except KeyError:
            item_id = None
        index = data.get("index")
        action = data.get("action")
        status = data.get("status")
        success = data.get("success")
        left = len(data)
        if index is not None:
            if type(index) is not int:
                raise _bad_item(job_id, start + len(results), index, item_id, action, status, success)
            left -= 1
        if item_id is not None:
            if type(item_id) is not int and type(item_id) is not str:
                raise _bad_item(job_id, start + len(results), index, item_id, action, status, success)
            left -= 1
        if action is not None:
            if type(action) is not str:
                raise _bad_item(job_id, start + len(results), index, item_id, action, status, success)
            left -= 1
        if status is not None:
            if type(status) is not str:
                raise _bad_item(job_id, start + len(results), index, item_id, action, status, success)
            left -= 1
        if success is not None:
            if type(success) is not bool:
                raise _bad_item(job_id, start + len(results), index, item_id, action, status, success)
            left -= 1
        if left:
            error = data.get("error")
            if error is not None:
                left -= 1
                if type(error) is not str:
                    error = _as_text(error)
            if not error:
                errors = data.get("errors")
                if errors is not None:
                    left -= 1
                    error = (errors if type(errors) is str else _as_text(errors)) or None
                else:
                    error = None
            details = data.get("details")
            if details is not None:
                left -= 1
                if type(details) is not str:
                    details = _as_text(details)
            if not left:
                extra = no_extra
            elif left == 1:  # one unknown key (the usual case), or a known key sent as null
                extra = no_extra
                for key in data:
                    if key not in item_keys:
                        extra = {key: data[key]}
                        break
            else:
                extra = {key: value for key, value in data.items() if key not in item_keys} or no_extra
        else:
            error = details = None
            extra = no_extra
        result = new_result(result_class)
        result.index = index
        result.id = item_id
        result.action = action
        result.status = status
        result.success = success
        result.error = error
        result.details = details
        result.extra = extra
        if error or success is False:
            result.failed = True
        elif status is None:
            result.failed = False
        else:
            failed = status_failed.get(status)
            result.failed = status.strip().lower() == "failed" if failed is None else failed
        append(result)
    return results


def _xcom_items(
    items: Iterable[JobResult], include_results: bool
) -> tuple[list[int | str], list[dict[str, Any]], list[dict[str, Any]]]:
    """The item parts of the XCom form: the succeeded ids, the failed items, every item normalised.

    One loop over the items builds all three, each item dict written out in full (no call per item):
    an XCom value can carry a job's thousands of items.
    """
    succeeded_ids: list[int | str] = []
    failed: list[dict[str, Any]] = []
    normalised: list[dict[str, Any]] = []
    add_id = succeeded_ids.append
    add_failed = failed.append
    add = normalised.append
    for item in items:
        item_id = item.id
        if item.failed:
            error = item.error or item.error_text  # never empty, so ``success`` below is ``error is None``
            add_failed({"index": item.index, "id": item_id, "error": error, "details": item.details})
        else:
            error = None
            if item_id is not None:
                add_id(item_id)
        if include_results:
            add(
                {
                    "index": item.index,
                    "id": item_id,
                    "success": error is None,
                    "action": item.action,
                    "status": item.status,
                    "error": error,
                    "details": item.details,
                    **item.extra,  # holds none of the keys above (see JobResult)
                }
            )
    return succeeded_ids, failed, normalised


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
