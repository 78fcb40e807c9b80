"""``RemoteEmulator``: an emulator in its own process, driven over its ``/__emulator__/`` HTTP API.

For what runs Airflow in other processes (``airflow dags test``, a scheduler and a triggerer, an
installed wheel), where the in-process :class:`~.emulator.ZendeskEmulator` cannot be shared::

    from airflow_provider_zendesk_jobs.testing import RemoteEmulator

    with RemoteEmulator.start("--manual-clock") as emu:       # python -m airflow_provider_zendesk_jobs.testing
        os.environ["AIRFLOW_CONN_ZENDESK_DEFAULT"] = emu.connection_extra_json()
        job_id = emu.create_job("tickets_import", count=3)
        emu.advance(emu.finish_time(job_id) - emu.now())
        assert emu.job(job_id)["status"] == "completed"
    # the process has ended here

It offers :class:`~.emulator_control.EmulatorControl`, the methods of ``ZendeskEmulator`` a test
drives (the clock, faults, the request and record logs, jobs, the rate limit, tokens, settings),
with the same errors: ``KeyError`` for an unknown job, ``ValueError`` for a bad argument.
:meth:`RemoteEmulator.attach` drives one somebody else started (its :meth:`~RemoteEmulator.stop`
then leaves it running). Standard library only, like the emulator.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from airflow_provider_zendesk_jobs.testing.control import PREFIX as CONTROL_PATH
from airflow_provider_zendesk_jobs.testing.credentials import DEFAULT_CREDENTIALS, Credentials, connection_json
from airflow_provider_zendesk_jobs.testing.emulator_control import EmulatorControl, job_records
from airflow_provider_zendesk_jobs.testing.emulator_process import EmulatorProcess
from airflow_provider_zendesk_jobs.testing.faults import Fault
from airflow_provider_zendesk_jobs.testing.record_log import RecordSummary
from airflow_provider_zendesk_jobs.testing.request_log import RequestRecord

_CREDENTIAL_OPTIONS = (
    ("email", "--email"),
    ("api_token", "--api-token"),
    ("oauth_token", "--oauth-token"),
    ("client_id", "--client-id"),
    ("client_secret", "--client-secret"),
)


class RemoteEmulatorError(RuntimeError):
    """The emulator did not answer a control call, or answered it with an error that is not the caller's."""


def _fault(data: Mapping[str, Any]) -> Fault:
    fault = Fault.from_dict(dict(data))
    fault.applied = int(data.get("applied", 0))
    return fault


class RemoteEmulator:
    """A running emulator at ``url``, controlled over HTTP; :meth:`start` and :meth:`attach` make one.

    ``credentials`` are the account's (for :meth:`connection_extra_json`); ``timeout`` bounds each
    control call, in seconds. ``process`` is the ``EmulatorProcess`` this
    object owns, if it started one.
    """

    def __init__(
        self,
        url: str,
        *,
        credentials: Credentials = DEFAULT_CREDENTIALS,
        timeout: float = 30.0,
        process: EmulatorProcess | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must be the emulator's http://host:port, not {url!r}")
        self._url = url.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout
        self.process = process

    @classmethod
    def start(
        cls,
        *args: str,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        output: str | Path | None = None,
        startup_timeout: float = 30.0,
        credentials: Credentials = DEFAULT_CREDENTIALS,
        timeout: float = 30.0,
    ) -> RemoteEmulator:
        """Start the CLI emulator with the options ``args`` (e.g. ``"--manual-clock"``) on a free port.

        ``command`` replaces ``python -m airflow_provider_zendesk_jobs.testing`` (e.g. the path of an
        installed ``zendesk-jobs-emulator``). Credentials other than the demo ones are passed as the
        CLI's ``--email``, ``--api-token``... options. Raises
        :class:`EmulatorProcessError` with the end of the emulator's output when it
        exits first or is not ready within ``startup_timeout`` seconds.
        """
        options = [
            item
            for name, flag in _CREDENTIAL_OPTIONS
            if getattr(credentials, name) != getattr(DEFAULT_CREDENTIALS, name)
            for item in (flag, getattr(credentials, name))
        ]
        process = EmulatorProcess.launch(
            [*options, *args], command=command, env=env, cwd=cwd, output=output, startup_timeout=startup_timeout
        )
        return cls(process.url, credentials=credentials, timeout=timeout, process=process)

    @classmethod
    def attach(
        cls, url: str, *, credentials: Credentials = DEFAULT_CREDENTIALS, timeout: float = 30.0
    ) -> RemoteEmulator:
        """Drive an emulator that is already running at ``url``; raises :class:`RemoteEmulatorError` if none answers."""
        emulator = cls(url, credentials=credentials, timeout=timeout)
        emulator.overview()
        return emulator

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` of the Zendesk API, without a trailing slash."""
        return self._url

    def stop(self) -> None:
        """End the process this object started and wait for it; an attached emulator is left running."""
        if self.process is not None:
            self.process.stop()

    def __enter__(self) -> RemoteEmulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        owner = f", pid={self.process.pid}" if self.process is not None else ", attached"
        return f"RemoteEmulator({self._url}{owner})"

    def connection_extra_json(self, auth: str = "token") -> str:
        """JSON for ``AIRFLOW_CONN_<ID>``: the API-token form, or ``"oauth"`` / ``"client_credentials"``."""
        return connection_json(self._url, self.credentials, auth)

    # -- HTTP -------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        query: Mapping[str, str | None] | None = None,
        job_id: str | None = None,
    ) -> Any:
        """One control call; its answer's JSON. 400 -> ValueError, an unknown job -> KeyError(job_id)."""
        url = f"{self._url}{CONTROL_PATH}{path}"
        params = {name: value for name, value in (query or {}).items() if value is not None}
        if params:
            url += "?" + urlencode(params)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise self._error(exc, method, path, job_id) from None
        except (OSError, ValueError) as exc:  # URLError, refused, reset, timeout; a body that is not JSON
            where = f"; {self.process.describe_exit()}" if self.process is not None else ""
            raise RemoteEmulatorError(
                f"the emulator at {self._url} did not answer {method} {CONTROL_PATH}{path}: {exc}{where}"
            ) from None

    def _error(self, exc: urllib.error.HTTPError, method: str, path: str, job_id: str | None) -> Exception:
        try:
            answer = json.loads(exc.read())
        except ValueError:
            answer = {}
        error = answer.get("error") if isinstance(answer, dict) else None
        description = str(answer.get("description", exc.reason)) if isinstance(answer, dict) else str(exc.reason)
        if exc.code == 404 and error == "RecordNotFound" and job_id is not None:
            return KeyError(job_id)
        if exc.code == 400:
            return ValueError(description)
        return RemoteEmulatorError(f"{method} {CONTROL_PATH}{path} answered {exc.code} {error}: {description}")

    def overview(self) -> dict[str, Any]:
        """``GET /__emulator__``: the URL, the clock time and the settings."""
        answer: dict[str, Any] = self._call("GET", "")
        return answer

    # -- the clock --------------------------------------------------------------------------

    def now(self) -> float:
        return float(self._call("GET", "/clock")["now"])

    def clock_name(self) -> str:
        """``"ManualClock"`` (``--manual-clock``) or ``"ScaledClock"`` (``--speed``)."""
        return str(self._call("GET", "/clock")["clock"])

    def advance(self, seconds: float) -> float:
        return float(self._call("POST", "/clock/advance", {"seconds": seconds})["now"])

    # -- faults -----------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> Fault:
        return _fault(self._call("POST", "/faults", fault.to_dict())["fault"])

    @property
    def faults(self) -> list[Fault]:
        return [_fault(data) for data in self._call("GET", "/faults")["faults"]]

    def clear_faults(self) -> int:
        return int(self._call("DELETE", "/faults")["cleared"])

    # -- the request log --------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        return self.request_records()

    def request_records(self, path_prefix: str | None = None, method: str | None = None) -> list[RequestRecord]:
        answer = self._call("GET", "/requests", query={"path_prefix": path_prefix, "method": method})
        return [RequestRecord(**record) for record in answer["requests"]]

    def request_count(self, path_prefix: str | None = None, method: str | None = None) -> int:
        answer = self._call("GET", "/requests", query={"path_prefix": path_prefix, "method": method})
        return int(answer["count"])

    def reset_requests(self) -> None:
        self._call("DELETE", "/requests")

    # -- the records the bulk calls received --------------------------------------------------

    def record_summary(self, field: str = "external_id") -> RecordSummary:
        answer: RecordSummary = self._call("GET", "/records", query={"field": field})
        return answer

    def records_received(self) -> int:
        return self.record_summary()["total"]

    def duplicate_records(self, field: str = "external_id") -> dict[str, int]:
        return self.record_summary(field)["duplicates"]

    def record_counts(self, field: str = "external_id") -> dict[str, int]:
        counts: dict[str, int] = self._call("GET", "/records/counts", query={"field": field})["counts"]
        return counts

    def reset_records(self) -> None:
        self._call("DELETE", "/records")

    # -- jobs -------------------------------------------------------------------------------

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
        body: dict[str, Any] = {"kind": kind, "outcome": outcome}
        indexes = list(fail_indexes)
        optional = {
            "records": job_records(records),
            "count": count,
            "fail_indexes": indexes or None,
            "queued_seconds": queued_seconds,
            "work_seconds": work_seconds,
            "job_type": job_type,
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        return str(self._call("POST", "/jobs", body)["job_status"]["id"])

    def _job_path(self, job_id: str, action: str = "") -> str:
        return f"/jobs/{quote(job_id, safe='')}" + (f"/{action}" if action else "")

    def job(self, job_id: str) -> dict[str, Any]:
        status: dict[str, Any] = self._call("GET", self._job_path(job_id), job_id=job_id)["job_status"]
        return status

    def finish_time(self, job_id: str) -> float:
        finish = self._call("GET", self._job_path(job_id), job_id=job_id)["finish_time"]
        return math.inf if finish is None else float(finish)

    def set_job_status(self, job_id: str, status: str, message: str | None = None) -> None:
        self._call("POST", self._job_path(job_id, "status"), {"status": status, "message": message}, job_id=job_id)

    def expire_job(self, job_id: str) -> None:
        self._call("POST", self._job_path(job_id, "expire"), job_id=job_id)

    # -- rate limit, tokens, settings -------------------------------------------------------

    def set_rate_limit(self, per_minute: int | None) -> None:
        self._call("POST", "/rate_limit", {"per_minute": per_minute})

    @property
    def rate_limit(self) -> int | None:
        limit = self.settings()["rate_limit"]
        return None if limit is None else int(limit)

    def expire_tokens(self) -> None:
        self._call("POST", "/tokens/expire")

    @property
    def tokens_issued(self) -> int:
        return int(self._call("GET", "/tokens")["tokens_issued"])

    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = self._call("GET", "/settings")["settings"]
        return settings

    def change_settings(self, **changes: Any) -> dict[str, Any]:
        if isinstance(changes.get("failing_ids"), (set, frozenset)):
            changes["failing_ids"] = sorted(changes["failing_ids"], key=str)
        settings: dict[str, Any] = self._call("POST", "/settings", changes)["settings"]
        return settings


if TYPE_CHECKING:

    def _offers_the_protocol(remote: RemoteEmulator) -> EmulatorControl:
        return remote
