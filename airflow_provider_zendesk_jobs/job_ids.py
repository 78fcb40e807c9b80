"""Which job ids we accept (a safe alphabet: no id can change a path or query), and how a templated value
becomes a list of them (a template renders a list as ``"['V3-a', 'V3-b']"``; ids hold no commas or brackets).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError

_MAX_LENGTH = 128
JOB_ID_RULE = f"1 to {_MAX_LENGTH} characters from A-Z, a-z, 0-9, '-' and '_'"
_JOB_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{_MAX_LENGTH}}}")
_BAD_CHARACTER = re.compile(r"[^A-Za-z0-9_-]")
#: What a template renders for None, a boolean or a number; Zendesk's ids (32 hex, maybe after ``V3-``) never are.
_RENDERED_NON_ID = re.compile(r"None|True|False|null|true|false|-?[0-9]{1,31}")
_SHOWN = 60
#: A message names at most this many job ids (or failed items of a job), then "and N more".
IDS_SHOWN = 5


def show_ids(job_ids: Sequence[str], shown: int = IDS_SHOWN) -> str:
    """``V3-a, V3-b, V3-c, V3-d, V3-e and 95 more``: how a message names the ids of one wait."""
    if len(job_ids) <= shown:
        return ", ".join(job_ids)
    return f"{', '.join(job_ids[:shown])} and {len(job_ids) - shown} more"


def show_value(value: object) -> str:
    """A given value as a message quotes it: its repr, cut at 60 characters, and never an error of its own
    (a value from a stored trigger row or a template may have a repr that fails)."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


def validate_job_id(job_id: object) -> str:
    """Return ``job_id`` unchanged when it is a safe Zendesk job id, else raise saying what is wrong."""
    if not isinstance(job_id, str):
        raise ZendeskInvalidInputError(
            f"A Zendesk job id must be text, got {type(job_id).__name__} {show_value(job_id)}. "
            "Pass the 'id' of the job status a bulk call returned (e.g. 'V3-0b5a6293...')."
        )
    if not _JOB_ID.fullmatch(job_id):
        raise ZendeskInvalidInputError(
            f"{show_value(job_id)} is not a valid Zendesk job id ({_what_is_wrong(job_id)}): it must be {JOB_ID_RULE}. "
            "Pass the 'id' of the job status a bulk call returned, not its URL or a list rendered as text "
            "with other separators."
        )
    if _RENDERED_NON_ID.fullmatch(job_id):
        raise ZendeskInvalidInputError(
            f"{job_id!r} is not a Zendesk job id: it is how a template renders None, a boolean or a number. "
            "Check that the upstream task returns the 'id' of the job status its bulk call returned "
            "(e.g. 'V3-0b5a6293...') and that xcom_pull names that task."
        )
    return job_id


def _what_is_wrong(job_id: str) -> str:
    if not job_id:
        return "it is empty"
    if bad := _BAD_CHARACTER.search(job_id):
        return f"it contains {bad.group()!r}"
    return f"it has {len(job_id)} characters, more than {_MAX_LENGTH}"


def validate_job_ids(job_ids: Sequence[object]) -> list[str]:
    """Validate every id of a list; an empty list is refused because there is nothing to wait on."""
    if isinstance(job_ids, str | bytes) or not isinstance(job_ids, Sequence):
        raise ZendeskInvalidInputError(
            f"Expected a list of Zendesk job ids, got {type(job_ids).__name__} {show_value(job_ids)}."
        )
    if not job_ids:
        raise ZendeskInvalidInputError(
            "The list of Zendesk job ids is empty: there is nothing to wait on. "
            "Check the task that produced the ids (its XCom may be empty)."
        )
    return [validate_job_id(job_id) for job_id in job_ids]


def normalize_job_ids(value: Any) -> tuple[list[str], bool]:
    """A rendered ``job_id`` field as ``(ids, many)``: ``many`` when a list (or text like one) was given."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            inner = text[1:-1].strip()
            parts = [part.strip().strip("'\"").strip() for part in inner.split(",")] if inner else []
            return validate_job_ids(parts), True
        if "," in text:
            return validate_job_ids([part.strip() for part in text.split(",")]), True
        return [validate_job_id(value)], False
    if isinstance(value, list | tuple):
        return validate_job_ids(list(value)), True
    raise ZendeskInvalidInputError(
        f"job_id must be a Zendesk job id or a list of them, got {type(value).__name__} {show_value(value)}. "
        "When it comes from XCom, check that the upstream task returns the job id."
    )
