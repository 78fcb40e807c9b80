"""Reading the records of a bulk import, from a list or a JSON Lines / CSV file, as a stream.

A file is read line by line through ``ObjectStoragePath`` (a local path, ``file://``, ``s3://``
or any scheme an installed provider registers), so 100,000 records are never in memory or in
XCom at once. Every record is checked in one pass before anything is sent (:meth:`RecordSource.scan`),
and a bad one is named by its index (``records[7]``) or its line (``line 8 of s3://b/tickets.jsonl``).

The scan also fingerprints each chunk's records: a later try of the same task goes on with its
ledger only if the chunks that reached Zendesk hold the same records, so chunk 12 always means the
same 100 records; a chunk Zendesk refused may be corrected and is then sent again alone.

The chunks to send are read by one :class:`~airflow_provider_zendesk_jobs.bulk.chunk_reader.ChunkReader`
per run, moving forward through the file as rounds ask for later chunks.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeGuard

from airflow_provider_zendesk_jobs.api.bulk_actions import EXTERNAL_IDS, IDS, OBJECTS, RECORD_IDS, BulkAction
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError

__all__ = ["ImportInputChangedError", "ReadPoint", "RecordSource", "chunk_fingerprint", "normalise_record"]

_CSV_SUFFIXES = (".csv",)


#: What one record of each kind is, for messages.
_EXPECTED = {
    OBJECTS: "a JSON object",
    IDS: "a record id (a whole number)",
    EXTERNAL_IDS: "an external id (text without commas)",
    RECORD_IDS: "a custom object record id (text of letters and digits)",
}
_RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _bad(where: str, what: str, action: BulkAction) -> ZendeskInvalidInputError:
    return ZendeskInvalidInputError(
        f"{where} {what}; {action.name} takes {_EXPECTED[action.records]} per record. Fix the record; nothing was "
        "sent to Zendesk."
    )


def normalise_record(record: Any, action: BulkAction, where: str) -> Any:
    """The record as it is sent: an object, or for calls by id the id (``{"id": n}`` and ``"n"`` accepted).

    An external id or a record id travels in a comma-separated query or a job's items, so it is
    text without commas; ``{"external_id": ...}`` and ``{"id": ...}`` objects are accepted too.
    """
    if action.records == OBJECTS:
        if not isinstance(record, dict):
            raise _bad(where, f"is {_shown(record)}, not an object", action)
        return record
    if action.records == IDS:
        value = record.get("id") if isinstance(record, dict) else record
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _bad(where, f"is {_shown(record)}, not an id", action)
        return value
    field = "external_id" if action.records == EXTERNAL_IDS else "id"
    value = record.get(field) if isinstance(record, dict) else record
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or "," in value or value != value.strip():
        raise _bad(where, f"is {_shown(record)}, not {_EXPECTED[action.records]}", action)
    if action.records == RECORD_IDS and not _RECORD_ID.fullmatch(value):
        raise _bad(where, f"is {_shown(record)}, not {_EXPECTED[action.records]}", action)
    return value


def _encoded(record: Any, where: str, action: BulkAction) -> bytes:
    """The record as a fingerprint hashes it: strict JSON."""
    try:
        return json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False).encode() + b"\n"
    except ValueError:
        raise _bad(where, "holds NaN or an infinity, which JSON cannot carry", action) from None
    except TypeError as exc:
        raise _bad(where, f"holds a value JSON cannot carry ({exc})", action) from None


def chunk_fingerprint(records: Sequence[Any], action: BulkAction, where: str = "a record") -> str:
    """What a chunk's records are, in 16 hex digits, as :meth:`RecordSource.scan` computes it for each chunk."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(_encoded(record, where, action))
    return digest.hexdigest()[:16]


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _nested(row: dict[str, str], where: str) -> dict[str, Any]:
    """A CSV row as an object: empty cells left out, ``comment.body`` columns nested.

    A column that is a value (``comment``) and another that nests a field inside it
    (``comment.body``), both filled in one row, cannot both be kept: that row is refused,
    naming the two columns, rather than one of them silently dropped.
    """
    record: dict[str, Any] = {}
    values: dict[tuple[str, ...], str] = {}  # the path of each value set, and its column
    nests: dict[tuple[str, ...], str] = {}  # the path of each object made, and the first column inside it
    extra = [cell for cell in row.get(None) or () if cell]  # type: ignore[call-overload]
    if extra:
        raise ZendeskInvalidInputError(
            f"{where} has {len(extra)} more cell{'s' if len(extra) > 1 else ''} than the header has columns "
            f"({_shown(extra)}); add the missing column names to the header, or remove the cells. Nothing was "
            "sent to Zendesk."
        )
    for column, cell in row.items():
        if column is None or cell is None or cell == "":
            continue
        parts = tuple(column.split("."))
        scalar = next((values[parts[:end]] for end in range(1, len(parts)) if parts[:end] in values), None)
        if scalar is None and parts in nests:
            scalar, column = column, nests[parts]
        if scalar is not None:
            raise ZendeskInvalidInputError(
                f"{where} has a value in both column {scalar!r} and column {column!r}; {column!r} makes "
                f"{scalar!r} an object, so it cannot also be a value. Leave one of the two cells empty, or "
                "rename one of the columns. Nothing was sent to Zendesk."
            )
        target = record
        for end in range(1, len(parts)):
            nests.setdefault(parts[:end], column)
            target = target.setdefault(parts[end - 1], {})
        values[parts] = column
        target[parts[-1]] = cell
    return record


class ImportInputChangedError(ZendeskInvalidInputError):
    """The records changed under a running import: mapping results to them would name the wrong records."""


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
        return iter(_Stream(self))

    def records_checked(self) -> Iterator[Any]:
        for where, record in self._raw():
            yield normalise_record(record, self.action, where)

    def read_chunks(
        self, size: int, start: ReadPoint | None = None
    ) -> Generator[tuple[int, list[Any], ReadPoint | None], None, None]:
        """``(chunk number, records, where the next chunk begins)`` from ``start`` (a chunk's first record) on.

        The point is None when the file cannot tell a position (a stream that cannot seek): a
        later read then starts from the first record.
        """
        stream = _Stream(self, start)
        number = stream.index // size
        chunk: list[Any] = []
        for where, record in stream:
            chunk.append(normalise_record(record, self.action, where))
            if len(chunk) == size:
                yield number, chunk, stream.point()
                chunk = []
                number += 1
        if chunk:
            yield number, chunk, stream.point()

    def scan(self, size: int) -> tuple[int, list[str]]:
        """Check every record (before anything is sent); returns ``(count, each chunk's fingerprint)``.

        A value JSON cannot carry (NaN, an infinity, bytes, a date) is refused here, naming the
        record, never left for the client to fail on after the chunk was written down as sent.
        """
        prints: list[str] = []
        digest = hashlib.sha256()
        count = 0
        for where, raw in self._raw():
            digest.update(_encoded(normalise_record(raw, self.action, where), where, self.action))
            count += 1
            if count % size == 0:
                prints.append(digest.hexdigest()[:16])
                digest = hashlib.sha256()
        if count % size:
            prints.append(digest.hexdigest()[:16])
        return count, prints

    def signature(self) -> dict[str, Any] | None:
        """The file's size and modification time (or etag): a resumed run refuses a file changed under it."""
        if self.path is None:
            return None
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        try:
            info = ObjectStoragePath(self.path).stat()
        except FileNotFoundError:
            return {"missing": True}
        size = getattr(info, "st_size", None)
        mtime = getattr(info, "st_mtime", None)
        extra = info.as_info() if hasattr(info, "as_info") else {}
        etag = extra.get("ETag") or extra.get("etag") if isinstance(extra, dict) else None
        return {"size": size, "mtime": mtime, **({"etag": str(etag)} if etag else {})}

    def check_unchanged(self, signature: Any) -> None:
        """The file is as the try that began the import saw it (its :meth:`signature`), else the import stops."""
        now = self.signature()
        if now != signature:
            raise ImportInputChangedError(
                f"{self.describe()} changed while the task was deferred ({signature} -> {now}); the rest of its "
                "records would be mapped against other records. Restore the file, or clear the task: the next try "
                "checks every record against what was sent."
            )

    def chunks(self, size: int, wanted: set[int] | None = None) -> Iterator[tuple[int, list[Any], ReadPoint | None]]:
        """``(chunk number, records, where it begins)`` in order, from the first record; only ``wanted`` ones if given.

        The read stops at the last wanted chunk: the records after it are not parsed.
        """
        last = None if wanted is None else max(wanted, default=-1)
        if last is not None and last < 0:
            return
        begins: ReadPoint | None = None
        for number, chunk, after in self.read_chunks(size):
            if wanted is None or number in wanted:
                yield number, chunk, begins
            if last is not None and number >= last:
                return
            begins = after


@dataclass(frozen=True)
class ReadPoint:
    """Where a read of the records goes on: the next record's index, and in a file its position and line.

    It rides in a deferral's ``next_kwargs``, so the task resumed reads on from where it stopped
    instead of from the file's first record.
    """

    record: int
    #: The text stream's position (``TextIOWrapper.tell``); None for a list.
    position: int | None = None
    #: Lines read before the next record, so messages keep naming the right line.
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ReadPoint | None:
        """The point carried by a deferral; None (read from the start) for anything else."""
        if not isinstance(data, Mapping):
            return None
        record, position, line = data.get("record"), data.get("position"), data.get("line", 0)
        if not (_count(record) and _count(line) and (position is None or _count(position))):
            return None
        return cls(record, position, line)


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class _Stream:
    """One read of the records, from the first or from a :class:`ReadPoint`.

    A file is read with ``readline`` (never by iterating it, which turns ``tell`` off), so between
    two records :meth:`point` can say where the next one begins.
    """

    def __init__(self, source: RecordSource, start: ReadPoint | None = None) -> None:
        if start is not None and source.path is not None and start.position is None:
            start = None  # a file without a position: from its first record
        self.source = source
        self.start = start
        #: Records read so far, counting from the first record of the import.
        self.index = start.record if start is not None else 0
        self.line = start.line if start is not None else 0
        self._text: io.TextIOWrapper | None = None

    def point(self) -> ReadPoint | None:
        if self.source.path is None:
            return ReadPoint(self.index)
        if self._text is None:
            return self.start
        try:
            position = self._text.tell()
        except (OSError, ValueError):
            return None
        return ReadPoint(self.index, position, self.line)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        source = self.source
        if source.records is not None:
            while self.index < len(source.records):
                self.index += 1
                yield f"records[{self.index - 1}]", source.records[self.index - 1]
            return
        assert source.path is not None
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        location = ObjectStoragePath(source.path)
        csv_file = source.path.lower().endswith(_CSV_SUFFIXES)
        try:
            with location.open("rb") as raw:  # type: ignore[no-untyped-call]
                self._text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="" if csv_file else None)
                try:
                    yield from self._csv() if csv_file else self._json_lines()
                finally:
                    self._text = None
        except FileNotFoundError:
            raise ZendeskInvalidInputError(f"records_path {source.path!r} does not exist.") from None
        except UnicodeDecodeError as exc:
            raise ZendeskInvalidInputError(f"records_path {source.path!r} is not UTF-8 text ({exc}).") from None

    def _lines(self) -> Iterator[str]:
        assert self._text is not None
        while line := self._text.readline():
            self.line += 1
            yield line

    def _seek_to_start(self) -> None:
        if self.start is not None and self.start.position is not None:
            assert self._text is not None
            self._text.seek(self.start.position)
            self.line = self.start.line

    def _csv(self) -> Iterator[tuple[str, Any]]:
        self.line = 0
        reader = csv.DictReader(self._lines())
        if self.start is not None:
            _ = reader.fieldnames  # the header first, then on from the point
            self._seek_to_start()
        for row in reader:
            self.index += 1
            where = f"line {self.line} of {self.source.path}"
            yield where, _nested(row, where)

    def _json_lines(self) -> Iterator[tuple[str, Any]]:
        self._seek_to_start()
        for line in self._lines():
            if not line.strip():
                continue
            where = f"line {self.line} of {self.source.path}"
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ZendeskInvalidInputError(
                    f"{where} is not JSON ({exc}); a JSON Lines file holds one record per line. "
                    "Nothing was sent to Zendesk."
                ) from None
            self.index += 1
            yield where, record
