"""The ledger of a bulk import: which chunk went out as which Zendesk job, kept key by key where every try reads it.

A chunk moves ``sending -> active -> done``. ``sending`` is written *before* the bulk call and
``active`` (with the job id) right after Zendesk answers, so a try killed in between leaves a
chunk whose fate is unknown: the next try treats it as ``uncertain`` and looks for its job in
Zendesk's job list before anything is sent again (:mod:`.reconcile`). A refusal that proves
nothing started (the job limit, 429, 503) makes it ``pending`` again.

Where it is kept (:mod:`.ledger_store`): on Airflow 3.3 the task state store, which every try of
the task instance shares whatever machine it runs on; elsewhere files under ``ledger_path``. It is
written incrementally, so a save costs the same at chunk 10,000 as at chunk 1:

* ``chunk.<n>``: one key per chunk that left ``pending``, the truth about that chunk, with the
  mapped results once its job finished (Zendesk forgets a job after about a day);
* ``head``: the import's identity, the first chunk never sent, the chunks not yet done and the
  running totals; the owner rewrites it once a round and before every deferral;
* ``owner``: the try that holds the import. A try takes it when it starts; a try that finds another
  owner stops before its next bulk call.

A chunk key is written before the owner is checked and the call sent, and a try that takes over
writes the owner before it reads the chunk keys, so a chunk the old try may still send is always
seen by the new one (as ``uncertain``), never sent by both without the new one knowing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_provider_zendesk_jobs.bulk.ledger_entries import RESENDABLE, ChunkEntry, ChunkState, Outcome, Owner, Totals
from airflow_provider_zendesk_jobs.bulk.ledger_store import LedgerStore, LedgerStoreError
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError, ZendeskJobsError

__all__ = ["JOB_RETENTION_SECONDS", "ImportTakenOverError", "Ledger"]

LEDGER_VERSION = 2
#: Zendesk forgets a job about a day after it was created; a chunk older than this is never looked up.
JOB_RETENTION_SECONDS = 20 * 3600.0


class ImportTakenOverError(ZendeskJobsError):
    """Another try holds the import now: this one stops before its next bulk call."""


@dataclass
class Ledger:
    """One import's ledger as a try sees it: the chunks not done, and counts of the rest.

    Every change of a chunk is written to its key at once; the head (``save``) summarises.
    """

    store: LedgerStore
    owner: Owner
    action: str
    records: int
    chunk_size: int
    fingerprint: str
    #: The first chunk never sent: every chunk before it is open or done.
    next: int = 0
    #: Chunks that left pending and are not done, by number.
    open: dict[int, ChunkEntry] = field(default_factory=dict)
    totals: Totals = field(default_factory=Totals)
    #: The newest of this import's jobs seen finished.
    watermark: str | None = None
    #: True when an earlier try (or run) had written this ledger.
    resumed: bool = False
    #: What the owning try kept beside its name: when it began, the input's signature.
    claim: dict[str, Any] = field(default_factory=dict)

    # -- opening ----------------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        store: LedgerStore,
        owner: Owner,
        *,
        action: str,
        records: int,
        chunk_size: int,
        chunk_fingerprints: Sequence[str],
        claim: Mapping[str, Any] | None = None,
    ) -> tuple[Ledger, list[int]]:
        """A try's start: take the import, then this import's ledger or a new one.

        ``claim`` is kept beside the owner for the try's later runs (when it began, what its input was).
        Returns the ledger and the refused chunks whose records changed (sent again, corrected).
        """
        holder = Owner.from_value(store.get("owner"))
        if holder is not None and holder.try_number > owner.try_number:
            raise ImportTakenOverError(
                f"{holder} of this task holds the import in {store.where()}; this try ({owner}) sends nothing."
            )
        store.set("owner", {**(claim or {}), **owner.to_dict()})
        whole = _whole_fingerprint(action, chunk_fingerprints)
        ledger = cls(store, owner, action, records, chunk_size, whole)
        ledger.claim = dict(claim or {})
        head = store.get("head")
        if head is None:
            ledger.save()
            return ledger, []
        ledger._load(head)
        if (ledger.action, ledger.records, ledger.chunk_size) != (action, records, chunk_size):
            raise ZendeskInvalidInputError(
                f"The ledger in {store.where()} belongs to another import ({ledger.action}, {ledger.records} "
                f"records, chunks of {ledger.chunk_size}) than this task's ({action}, {records} records, chunks "
                f"of {chunk_size}). Chunks of it were sent already; to send these records as a new import, run "
                "the task in a new DAG run."
            )
        ledger.resumed = True
        ledger._recover()
        corrected = ledger._compare(chunk_fingerprints) if ledger.fingerprint != whole else []
        ledger.fingerprint = whole
        ledger.save()
        return ledger, corrected

    @classmethod
    def resume(cls, store: LedgerStore, try_number: int, token: str | None) -> Ledger:
        """Back from a deferral of this try: the head it saved before deferring.

        The owner's token rides in the deferral; where Airflow handed none back (``airflow dags
        test`` drops the deferral's kwargs), the owner of the same try number is this try.
        """
        value = store.get("owner")
        holder = Owner.from_value(value)
        if token is None and holder is not None and holder.try_number == try_number:
            token = holder.token
        ledger = cls(store, Owner(try_number, token or ""), "", 0, 1, "")
        ledger.check_owner()
        ledger.claim = {key: item for key, item in dict(value).items() if key not in ("try_number", "token")}
        head = store.get("head")
        if head is None:
            raise LedgerStoreError(
                f"The ledger in {store.where()} is gone since this try deferred; it records which chunks were "
                "sent, so nothing more is sent. Look at the store before running the task again."
            )
        ledger._load(head)
        ledger.resumed = True
        return ledger

    def _load(self, head: Any) -> None:
        if not isinstance(head, Mapping) or head.get("version") != LEDGER_VERSION:
            raise LedgerStoreError(
                f"The ledger in {self.store.where()} is not one this release reads (version "
                f"{head.get('version') if isinstance(head, Mapping) else None!r}). Run the release that wrote it, "
                "or start the import in a new DAG run."
            )
        try:
            self.action = str(head["action"])
            self.records = int(head["records"])
            self.chunk_size = int(head["chunk_size"])
            self.fingerprint = str(head["fingerprint"])
            self.next = int(head["next"])
            self.open = {
                int(number): ChunkEntry.from_value(entry, f"chunk {number}")
                for number, entry in dict(head["open"]).items()
            }
            self.totals = Totals(**dict(head["totals"]))
            self.watermark = head.get("watermark")
        except (KeyError, TypeError, ValueError) as exc:
            raise LedgerStoreError(f"The ledger's head in {self.store.where()} cannot be read ({exc}).") from None

    def _recover(self) -> None:
        """After another try: each open chunk's own key is the truth, and chunks past ``next`` may have been sent."""
        for number in sorted(self.open):
            self._take(number, self.read_chunk(number))
        while self.next < self.total_chunks:
            entry = self.read_chunk(self.next)
            if entry is None:
                break
            self.next += 1
            self._take(self.next - 1, entry)
        for number, entry in self.open.items():
            if entry.state is ChunkState.SENDING:
                entry.state = ChunkState.UNCERTAIN
                entry.note = "the try that sent it ended before Zendesk's answer was written down"
                self._write(number, entry)

    def _take(self, number: int, entry: ChunkEntry | None) -> None:
        if entry is None:
            self.open.pop(number, None)
            return
        if entry.state is ChunkState.DONE:
            self.open.pop(number, None)
            self.totals.add(self.chunk_length(number), entry)
        else:
            self.open[number] = entry

    def _compare(self, chunk_fingerprints: Sequence[str]) -> list[int]:
        """The input changed: refused chunks may be corrected; a chunk that reached Zendesk may not change."""
        changed_sent: list[int] = []
        corrected: dict[int, ChunkEntry] = {}
        for number in range(min(self.next, len(chunk_fingerprints))):
            entry = self.open.get(number) or self.read_chunk(number)
            if entry is None or entry.fingerprint in (None, chunk_fingerprints[number]):
                continue
            if entry.state is ChunkState.PENDING:
                continue
            if entry.state is ChunkState.DONE and entry.outcome in RESENDABLE:
                corrected[number] = entry
            else:
                changed_sent.append(number)
        if changed_sent:
            shown = ", ".join(
                f"{n} (records {n * self.chunk_size:,} to {self.chunk_length(n) + n * self.chunk_size - 1:,})"
                for n in changed_sent[:5]
            )
            more = f" and {len(changed_sent) - 5} more" if len(changed_sent) > 5 else ""
            raise ZendeskInvalidInputError(
                f"The records of chunk {shown}{more} changed since an earlier try sent them to Zendesk (ledger in "
                f"{self.store.where()}). Only chunks Zendesk refused may be corrected; restore those records, or "
                "send the new ones as a new import in a new DAG run."
            )
        for number, entry in corrected.items():
            self.totals.remove(self.chunk_length(number), entry)
            self.open[number] = ChunkEntry(ChunkState.PENDING, note="its records were corrected after a refusal")
            self._write(number, self.open[number])
        return list(corrected)

    # -- the store ----------------------------------------------------------------------------------
    def read_chunk(self, number: int) -> ChunkEntry | None:
        """A chunk's key, results included: the truth about that chunk, whichever try wrote it."""
        value = self.store.get(f"chunk.{number}")
        return None if value is None else ChunkEntry.from_value(value, f"chunk {number}")

    def _write(self, number: int, entry: ChunkEntry) -> None:
        self.store.set(f"chunk.{number}", entry.to_dict())

    def check_owner(self) -> None:
        holder = Owner.from_value(self.store.get("owner"))
        if holder != self.owner:
            raise ImportTakenOverError(
                f"{holder or 'no try'} of this task holds the import in {self.store.where()} now; this try "
                f"({self.owner}) stops before its next bulk call and sends nothing more."
            )

    def save(self) -> None:
        """The head, by the owner only."""
        self.check_owner()
        self.store.set(
            "head",
            {
                "version": LEDGER_VERSION,
                "action": self.action,
                "records": self.records,
                "chunk_size": self.chunk_size,
                "fingerprint": self.fingerprint,
                "next": self.next,
                "open": {str(n): entry.to_dict(with_results=False) for n, entry in sorted(self.open.items())},
                "totals": asdict(self.totals),
                "watermark": self.watermark,
            },
        )

    # -- what a round asks ------------------------------------------------------------------------
    @property
    def total_chunks(self) -> int:
        return -(-self.records // self.chunk_size)

    def chunk_length(self, number: int) -> int:
        return min(self.chunk_size, self.records - number * self.chunk_size)

    def first_record(self, number: int) -> int:
        return number * self.chunk_size

    def in_state(self, state: ChunkState) -> list[int]:
        return sorted(number for number, entry in self.open.items() if entry.state is state)

    def active(self) -> list[int]:
        """Active chunks, the oldest sent first."""
        return sorted(self.in_state(ChunkState.ACTIVE), key=lambda number: (self.open[number].sent_at or 0.0, number))

    def pending(self, limit: int) -> list[int]:
        """Up to ``limit`` chunks to send next: those sent back to pending first, then the never sent."""
        numbers = self.in_state(ChunkState.PENDING)[:limit]
        return numbers + list(range(self.next, min(self.total_chunks, self.next + limit - len(numbers))))

    @property
    def finished(self) -> bool:
        return self.totals.chunks == self.total_chunks

    def entry(self, number: int) -> ChunkEntry:
        return self.open[number]

    # -- changes, each written to the chunk's key at once ---------------------------------------------
    def begin(self, number: int, now: float, fingerprint: str, point: Mapping[str, Any] | None) -> None:
        """Before the call: ``sending`` on record, then the owner checked (see the module's docstring)."""
        entry = ChunkEntry(
            ChunkState.SENDING,
            sent_at=now,
            fingerprint=fingerprint,
            point=dict(point) if point is not None else None,
            after=self.watermark,
        )
        self._write(number, entry)
        self.open[number] = entry
        self.next = max(self.next, number + 1)
        self.check_owner()

    def accepted(self, number: int, job_id: str) -> None:
        entry = self.open[number]
        entry.state, entry.job_id = ChunkState.ACTIVE, job_id
        self._write(number, entry)

    def requeue(self, number: int) -> None:
        """Zendesk said it started nothing: the chunk is pending again."""
        entry = self.open[number]
        self.open[number] = ChunkEntry(ChunkState.PENDING, fingerprint=entry.fingerprint, point=entry.point)
        self._write(number, self.open[number])

    def ambiguous(self, number: int, note: str) -> None:
        entry = self.open[number]
        entry.state, entry.note = ChunkState.UNCERTAIN, note
        self._write(number, entry)

    def done(
        self,
        number: int,
        outcome: Outcome,
        results: Mapping[str, Any],
        *,
        succeeded: int,
        failed: int,
        unresolved: int,
        note: str | None = None,
        job_id: str | None = None,
    ) -> None:
        """The chunk's end, with its records' results: written once, in its own key."""
        entry = self.open.pop(number)
        entry.state, entry.outcome = ChunkState.DONE, outcome
        entry.succeeded, entry.failed, entry.unresolved = succeeded, failed, unresolved
        entry.note = note or entry.note
        entry.job_id = job_id or entry.job_id
        entry.results = dict(results)
        self._write(number, entry)
        self.totals.add(self.chunk_length(number), entry)
        if entry.job_id and outcome in (Outcome.COMPLETED, Outcome.FAILED, Outcome.KILLED):
            self.watermark = entry.job_id

    def adopt(self, number: int) -> str | None:
        """An uncertain chunk another try was sending: what that try wrote down since, if anything.

        Returns the job id taken over when that try wrote one down (not sent again); else None.
        """
        written = self.read_chunk(number)
        if written is None or written.state in (ChunkState.SENDING, ChunkState.UNCERTAIN):
            return None
        if written.state is ChunkState.ACTIVE and written.job_id:
            self.accepted(number, written.job_id)
            return written.job_id
        if written.state is ChunkState.PENDING:
            self.requeue(number)
        elif written.state is ChunkState.DONE:
            self.open[number] = written
            self.done(
                number,
                written.outcome or Outcome.UNRESOLVED,
                written.results or {},
                succeeded=written.succeeded,
                failed=written.failed,
                unresolved=written.unresolved,
            )
        return None

    def done_chunks(self) -> Iterator[tuple[int, ChunkEntry]]:
        """Every chunk's key in order, results included (all are done at the end of an import)."""
        for number in range(self.total_chunks):
            entry = self.read_chunk(number)
            if entry is not None:
                yield number, entry

    def job_ids(self) -> list[str]:
        """The job ids of the open chunks (the done ones are in their keys)."""
        return [entry.job_id for _, entry in sorted(self.open.items()) if entry.job_id]


def _whole_fingerprint(action: str, chunk_fingerprints: Sequence[str]) -> str:
    digest = hashlib.sha256(action.encode())
    for part in chunk_fingerprints:
        digest.update(part.encode())
    return digest.hexdigest()[:32]
