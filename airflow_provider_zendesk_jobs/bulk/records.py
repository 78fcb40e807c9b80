"""Reading the records of a bulk import, from a list or a JSON Lines / CSV file, as a stream.

A file is read line by line through ``ObjectStoragePath`` (a local path, ``file://``, ``s3://``
or any scheme an installed provider registers), so 100,000 records are never in memory or in
XCom at once. Every record is checked in one pass before anything is sent (:meth:`RecordSource.scan`),
and a bad one is named by its index (``records[7]``) or its line (``line 8 of s3://b/tickets.jsonl``).

The scan also fingerprints the records: a later try of the same task finds its ledger only
if the records are the same ones, so chunk 12 always means the same 100 records.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_zendesk_jobs.api.bulk_actions import BulkAction
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError

__all__ = ["RecordSource", "normalise_record"]

_CSV_SUFFIXES = (".csv",)


def _bad(where: str, what: str, action: BulkAction) -> ZendeskInvalidInputError:
    expected = "a record id (a whole number)" if action.records_are_ids else "a JSON object"
    return ZendeskInvalidInputError(
        f"{where} {what}; {action.name} takes {expected} per record. Fix the record; nothing was sent to Zendesk."
    )


def normalise_record(record: Any, action: BulkAction, where: str) -> Any:
    """The record as it is sent: an object, or for ``?ids=`` calls an int id (``{"id": n}`` and ``"n"`` accepted)."""
    if action.records_are_ids:
        value = record.get("id") if isinstance(record, dict) else record
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _bad(where, f"is {_shown(record)}, not an id", action)
        return value
    if not isinstance(record, dict):
        raise _bad(where, f"is {_shown(record)}, not an object", action)
    return record


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _nested(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as an object: empty cells left out, ``comment.body`` columns nested."""
    record: dict[str, Any] = {}
    for column, cell in row.items():
        if column is None or cell is None or cell == "":
            continue
        target = record
        parts = column.split(".")
        for part in parts[:-1]:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                break
            target = child
        else:
            target[parts[-1]] = cell
    return record


@dataclass(frozen=True)
class RecordSource:
    """The records of one import: a list given to the task, or a JSON Lines / CSV file read as a stream."""

    action: BulkAction
    records: Sequence[Any] | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        if (self.records is None) == (self.path is None):
            raise ZendeskInvalidInputError(
                "Give records= (a list) or records_path= (a JSON Lines or CSV file), not both."
            )
        if self.records is not None and (
            isinstance(self.records, (str, bytes, dict)) or not isinstance(self.records, Sequence)
        ):
            raise ZendeskInvalidInputError(
                f"records must be a list of records, got {type(self.records).__name__}; for a file, use records_path=."
            )

    def describe(self) -> str:
        return self.path if self.path is not None else "records"

    def _raw(self) -> Iterator[tuple[str, Any]]:
        """``(where, record)`` pairs, decoded but not yet checked."""
        if self.records is not None:
            for index, record in enumerate(self.records):
                yield f"records[{index}]", record
            return
        assert self.path is not None
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        location = ObjectStoragePath(self.path)
        csv_file = self.path.lower().endswith(_CSV_SUFFIXES)
        try:
            with location.open("rb") as raw:  # type: ignore[no-untyped-call]
                text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="" if csv_file else None)
                if csv_file:
                    reader = csv.DictReader(text)
                    for row in reader:
                        yield f"line {reader.line_num} of {self.path}", _nested(row)
                    return
                for number, line in enumerate(text, start=1):
                    if not line.strip():
                        continue
                    where = f"line {number} of {self.path}"
                    try:
                        yield where, json.loads(line)
                    except ValueError as exc:
                        raise ZendeskInvalidInputError(
                            f"{where} is not JSON ({exc}); a JSON Lines file holds one record per line. "
                            "Nothing was sent to Zendesk."
                        ) from None
        except FileNotFoundError:
            raise ZendeskInvalidInputError(f"records_path {self.path!r} does not exist.") from None
        except UnicodeDecodeError as exc:
            raise ZendeskInvalidInputError(f"records_path {self.path!r} is not UTF-8 text ({exc}).") from None

    def records_checked(self) -> Iterator[Any]:
        for where, record in self._raw():
            yield normalise_record(record, self.action, where)

    def scan(self) -> tuple[int, str]:
        """Check every record (before anything is sent); returns ``(count, fingerprint)``."""
        digest = hashlib.sha256(self.action.name.encode())
        count = 0
        for record in self.records_checked():
            digest.update(json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode())
            digest.update(b"\n")
            count += 1
        if count == 0:
            raise ZendeskInvalidInputError(f"{self.describe()} holds no records; there is nothing to send.")
        return count, digest.hexdigest()[:32]

    def chunks(self, size: int, wanted: set[int] | None = None) -> Iterator[tuple[int, list[Any]]]:
        """``(chunk number, records)`` in order; only the chunks in ``wanted`` when given (the rest are skipped)."""
        chunk: list[Any] = []
        number = 0
        for record in self.records_checked():
            chunk.append(record)
            if len(chunk) == size:
                if wanted is None or number in wanted:
                    yield number, chunk
                chunk = []
                number += 1
                if wanted is not None and number > max(wanted, default=-1):
                    return
        if chunk and (wanted is None or number in wanted):
            yield number, chunk
