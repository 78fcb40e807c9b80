"""Every API request the emulator served, for tests and benchmarks to count and inspect.

Control calls (``/__emulator__/``) are not recorded: counting them would make a test's
assertions depend on how it drove the emulator.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

#: ``RequestRecord.status`` of a request that got no answer (a ``hang`` or ``close`` fault).
NO_ANSWER = 0


@dataclass(frozen=True, slots=True)
class RequestRecord:
    time: float  #: clock time the request arrived
    wall_time: float  #: real epoch time it arrived
    method: str
    path: str  #: as sent, without the query string
    query: str
    status: int  #: the status answered; 0 when none was
    auth: str  #: "basic", "bearer", "oauth-client-token", "none" or "invalid"
    fault: str | None  #: the kind of fault applied, if one was

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """The most recent ``max_records`` requests: an emulator left running for days stays bounded."""

    def __init__(self, max_records: int = 100_000) -> None:
        if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1:
            raise ValueError(f"max_records must be a whole number >= 1, not {max_records!r}")
        self._records: deque[RequestRecord] = deque(maxlen=max_records)
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self, path_prefix: str | None = None, method: str | None = None) -> list[RequestRecord]:
        """The records whose path starts with ``path_prefix`` and whose method is ``method`` (any case)."""
        wanted = method.upper() if method is not None else None
        with self._lock:
            if path_prefix is None and wanted is None:
                return list(self._records)
            return [
                record
                for record in self._records
                if (path_prefix is None or record.path.startswith(path_prefix))
                and (wanted is None or record.method == wanted)
            ]

    def count(self, path_prefix: str | None = None, method: str | None = None) -> int:
        if path_prefix is None and method is None:
            with self._lock:
                return len(self._records)
        return len(self.records(path_prefix, method))

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
