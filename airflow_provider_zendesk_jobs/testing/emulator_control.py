"""``EmulatorControl``: what a test, a demo or a script can do to an emulator, wherever it runs.

Two classes offer it: :class:`~airflow_provider_zendesk_jobs.testing.ZendeskEmulator`, the emulator
in this process, and :class:`~airflow_provider_zendesk_jobs.testing.RemoteEmulator`, one in another
process reached over its ``/__emulator__/`` HTTP API (:mod:`.control`, whose handlers are written
against this protocol). Code typed against ``EmulatorControl`` runs on either::

    def finish(emulator: EmulatorControl, job_id: str) -> dict[str, Any]:
        emulator.advance(emulator.finish_time(job_id) - emulator.now())
        return emulator.job(job_id)

Errors are the same on both: ``KeyError`` for an unknown or expired job, ``ValueError`` for a bad
argument (an unknown job kind, a negative clock step, an unknown setting...).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from airflow_provider_zendesk_jobs.testing.faults import Fault
from airflow_provider_zendesk_jobs.testing.record_log import RecordSummary
from airflow_provider_zendesk_jobs.testing.request_log import RequestRecord


def job_records(records: Sequence[Any] | None) -> list[Any] | None:
    """``create_job``'s ``records`` as the list both emulators send on: anything but a sequence of records is
    refused the same way on both, before anything is created or sent."""
    if records is not None and (isinstance(records, (str, bytes, dict)) or not isinstance(records, Sequence)):
        raise ValueError("records must be a list of record dicts (or of ticket ids for deletions)")
    return None if records is None else list(records)


class EmulatorControl(Protocol):
    """The emulator's control surface: clock, faults, logs, jobs, limits, settings, and its address."""

    @property
    def url(self) -> str:
        """``http://host:port`` of the Zendesk API, without a trailing slash."""
        ...

    def stop(self) -> None:
        """Stop serving (a remote emulator this object started: end its process and wait for it)."""
        ...

    def connection_extra_json(self, auth: str = "token") -> str:
        """``AIRFLOW_CONN_<ID>`` JSON: ``"token"`` (email and API token), ``"oauth"`` or ``"client_credentials"``."""
        ...

    # -- the clock ----------------------------------------------------------------------------

    def now(self) -> float:
        """The emulator's clock time, epoch seconds."""
        ...

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (finite, >= 0); returns the new clock time."""
        ...

    # -- faults -------------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> Fault:
        """Switch a fault on; returns it as the emulator holds it."""
        ...

    @property
    def faults(self) -> list[Fault]:
        """The faults still active, in the order they were added (with how often each applied)."""
        ...

    def clear_faults(self) -> int:
        """Switch every fault off; returns how many were active."""
        ...

    # -- the request log ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request served, oldest first (control calls excluded)."""
        ...

    def request_records(self, path_prefix: str | None = None, method: str | None = None) -> list[RequestRecord]:
        """The requests whose path starts with ``path_prefix`` and whose method is ``method`` (any case)."""
        ...

    def request_count(self, path_prefix: str | None = None, method: str | None = None) -> int:
        """How many requests :meth:`request_records` would return."""
        ...

    def reset_requests(self) -> None:
        """Forget every request served so far."""
        ...

    # -- the records the bulk calls received ----------------------------------------------------

    def records_received(self) -> int:
        """Records received by bulk calls that started a job."""
        ...

    def duplicate_records(self, field: str = "external_id") -> dict[str, int]:
        """Values of ``field`` received more than once, with how often (empty when nothing came twice)."""
        ...

    def record_counts(self, field: str = "external_id") -> dict[str, int]:
        """How often each value of ``field`` (``external_id``, ``email`` or ``id``) was received."""
        ...

    def record_summary(self, field: str = "external_id") -> RecordSummary:
        """Records per job, the total, refused calls, calls with an Idempotency-Key, duplicates of ``field``."""
        ...

    def reset_records(self) -> None:
        """Forget every record received so far."""
        ...

    # -- jobs ---------------------------------------------------------------------------------

    def create_job(
        self,
        kind: str = "tickets_create",
        records: Sequence[Any] | None = None,
        count: int | None = None,
        outcome: str = "completed",
        fail_indexes: Iterable[int] = (),
        queued_seconds: float | None = None,
        work_seconds: float | None = None,
        job_type: str | None = None,
    ) -> str:
        """Create a job as a bulk call would (without HTTP and the job limit); returns its id."""
        ...

    def job(self, job_id: str) -> dict[str, Any]:
        """The job status object as Zendesk would answer it now (even before it is visible)."""
        ...

    def finish_time(self, job_id: str) -> float:
        """Clock time at which the job becomes terminal (``inf`` while frozen in a non-terminal status)."""
        ...

    def set_job_status(self, job_id: str, status: str, message: str | None = None) -> None:
        """Freeze the job in ``status`` (``"killed"``, or an unknown one such as ``"paused"``)."""
        ...

    def expire_job(self, job_id: str) -> None:
        """The job is gone from now on: 404, and left out of show_many and the list."""
        ...

    # -- rate limit, tokens, settings -----------------------------------------------------------

    def set_rate_limit(self, per_minute: int | None) -> None:
        """Requests per clock minute on ``/api/v2``; None removes the limit."""
        ...

    @property
    def rate_limit(self) -> int | None:
        """The current rate limit (requests per clock minute), None without one."""
        ...

    def expire_tokens(self) -> None:
        """Every token ``/oauth/tokens`` issued stops working now."""
        ...

    @property
    def tokens_issued(self) -> int:
        """How many tokens ``/oauth/tokens`` has issued."""
        ...

    def settings(self) -> dict[str, Any]:
        """Timings, limits, switches and answer styles (see ``testing.settings.SETTING_NAMES``), and the rate limit."""
        ...

    def change_settings(self, **changes: Any) -> dict[str, Any]:
        """Change some settings (all or none: a bad value changes nothing); returns them all."""
        ...
