"""A bulk import's arguments as a task is given them, checked: a bad value fails naming it, before anything is sent.

The counts are checked when the DAG is parsed; what a template renders (the records, ``change=``,
``query_params=``) is read back and checked again when the task runs. What the call itself
accepts beside its records is the catalogue's rule (:func:`~..api.bulk_actions.check_call_arguments`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_zendesk_jobs.api.bulk_actions import BulkAction, check_call_arguments
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError

__all__ = ["call_arguments", "check_records_given", "import_identity", "rendered_records", "whole_number"]


def whole_number(value: Any, name: str, low: int, high: int | None) -> int:
    """``value`` when it is a whole number from ``low`` to ``high`` (None: no upper bound); else a clear error."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bounds = f"{low} to {high}" if high is not None else f"{low} or more"
        raise ZendeskInvalidInputError(f"{name} must be a whole number, {bounds}; got {value!r}.")
    return value


def check_records_given(records: Any, records_path: str | None) -> None:
    """Exactly one of the two ways to give records."""
    if (records is None) == (records_path is None):
        raise ZendeskInvalidInputError(
            "Give records= (a list, or an XComArg) or records_path= (a JSON Lines or CSV file), exactly one."
        )


def rendered_records(records: Any) -> Sequence[Any]:
    """The records once templates are rendered: a list, or a list a template rendered as JSON text."""
    if isinstance(records, str):
        try:
            records = json.loads(records)
        except ValueError:
            raise ZendeskInvalidInputError("records rendered as text that is not a JSON list.") from None
    if isinstance(records, (dict, bytes)) or not isinstance(records, Sequence):
        raise ZendeskInvalidInputError(f"records must be a list, got {type(records).__name__}.")
    return records


def _json_text(value: Any, name: str) -> Any:
    """A dict argument a template rendered as text (``'{"additional_tags": ["x"]}'``), read back."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ZendeskInvalidInputError(f"{name} rendered as text that is not a JSON object: {value[:80]!r}.") from None


def call_arguments(
    action: BulkAction,
    *,
    change: Mapping[str, Any] | str | None,
    query_params: Mapping[str, Any] | str | None,
    custom_object_key: str | None,
) -> dict[str, Any]:
    """What the call takes beside its records, rendered and checked; the arguments not given are left out."""
    change, query = _json_text(change, "change"), _json_text(query_params, "query_params")
    check_call_arguments(action, change=change, params=query, custom_object_key=custom_object_key)
    arguments = {"change": change, "params": query, "custom_object_key": custom_object_key}
    return {name: value for name, value in arguments.items() if value is not None}


def import_identity(action: BulkAction, arguments: Mapping[str, Any]) -> str:
    """The import as its ledger knows it: the call, and a digest of what it sends beside the records."""
    if not arguments:
        return action.name
    text = json.dumps(dict(arguments), sort_keys=True, default=str).encode()
    return f"{action.name} ({hashlib.sha256(text).hexdigest()[:8]})"
