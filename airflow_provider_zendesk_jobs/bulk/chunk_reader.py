"""The chunks one run of a bulk import reads, round after round, with the source read about once.

Reading from the top each round made an import of 1,000 chunks parse its records hundreds of
times; the reader moves forward instead, keeps aside what a later round may need, and reads a
chunk behind it from where that chunk begins (its ``ReadPoint``, kept in the ledger).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import Any

from airflow_provider_zendesk_jobs.bulk.records import ReadPoint, RecordSource

__all__ = ["ChunkReader"]


class ChunkReader:
    """The chunks one run of the task asks for, round after round, with the source read about once.

    One live read moves forward through the source as later chunks are wanted. The records of a
    chunk it passed that may still be needed (``keep``: to send, to settle, to map once its job is
    done) are kept aside. A chunk behind the read that was not kept (after a deferral, say) is read
    from where it begins (its :class:`ReadPoint`, kept in the ledger), never from the file's start
    unless the file cannot tell positions.
    """

    def __init__(self, source: RecordSource, size: int, start: ReadPoint | None = None) -> None:
        self.source = source
        self.size = size
        #: Where the live read goes on from (None: the first record).
        self._point = start if start is not None and start.record % size == 0 else None
        #: The number of the next chunk the live read yields.
        self._next = self._first()
        self._live: Generator[tuple[int, list[Any], ReadPoint | None], None, None] | None = None
        self._aside: dict[int, tuple[list[Any], ReadPoint | None]] = {}

    def _first(self) -> int:
        return self._point.record // self.size if self._point is not None else 0

    def point(self) -> ReadPoint | None:
        """Where the live read stands: the first record of a chunk none of this run's reads reached yet."""
        return self._point

    def chunks(
        self,
        wanted: Iterable[int],
        keep: Callable[[int], bool],
        starts: Mapping[int, ReadPoint | None] | None = None,
    ) -> Iterator[tuple[int, list[Any], ReadPoint | None]]:
        """``(number, records, where it begins)`` of the ``wanted`` chunks, in order.

        ``keep`` says which passed chunks to keep aside; ``starts`` where chunks behind the read begin.
        A chunk the source no longer holds (the file shrank) is left out: the caller compares.
        """
        self._aside = {number: got for number, got in self._aside.items() if keep(number)}
        numbers = sorted(set(wanted))
        behind = [number for number in numbers if number < self._next and number not in self._aside]
        unplaced: set[int] = set()
        for number in behind:
            start = (starts or {}).get(number)
            if start is None or start.record != number * self.size:
                unplaced.add(number)
                continue
            reread = self.source.read_chunks(self.size, start)
            try:
                got = next(reread, None)
            finally:
                reread.close()
            if got is not None and got[0] == number:
                self._aside[number] = (got[1], start)
        if unplaced:  # rare: a stream that cannot seek
            self._aside.update(
                (number, (records, begins)) for number, records, begins in self.source.chunks(self.size, unplaced)
            )
        for number in numbers:
            while number >= self._next:
                if self._live is None:
                    self._live = self.source.read_chunks(self.size, self._point)
                    self._next = self._first()
                begins = self._point
                got = next(self._live, None)
                if got is None:  # the source holds fewer chunks than asked for
                    self._next = number + 1
                    break
                passed, records, self._point = got
                self._next = passed + 1
                if passed == number or keep(passed):
                    self._aside[passed] = (records, begins if passed == self._first_of(begins) else None)
            if number in self._aside:
                records, begins = self._aside[number]
                yield number, records, begins

    def _first_of(self, point: ReadPoint | None) -> int:
        return point.record // self.size if point is not None else 0

    def close(self) -> None:
        """Close the file of the live read (a deferral or the end of the run)."""
        if self._live is not None:
            self._live.close()
            self._live = None
