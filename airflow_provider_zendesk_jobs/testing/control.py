"""``/__emulator__/``: drive a running emulator over HTTP, e.g. from another process or a shell.

Everything the Python API offers a test (faults, the clock, jobs, the rate limit, the request
log) is reachable here without credentials. These paths are not Zendesk's: they are never
faulted, rate-limited or recorded in the request log.

=========  ===================================  =========================================
method     path                                 body / answer
=========  ===================================  =========================================
GET        /__emulator__                        URL, clock, settings
POST       /__emulator__/faults                 Fault fields as JSON -> 201 {"fault": ...}
GET        /__emulator__/faults                 {"faults": [...]}
DELETE     /__emulator__/faults                 {"cleared": n}
GET        /__emulator__/requests               {"requests": [...], "count": n} (?path_prefix=&method=)
DELETE     /__emulator__/requests               {"cleared": true}
GET        /__emulator__/records                {"jobs": {id: n}, "total", "refused_calls", "duplicates"} (?field=)
GET        /__emulator__/records/counts         {"field": ..., "counts": {value: n}} (?field=)
DELETE     /__emulator__/records                {"cleared": true}
GET        /__emulator__/clock                  {"now": epoch, "time": "... +0000"}
POST       /__emulator__/clock/advance          {"seconds": 5} -> {"now": ...}
POST       /__emulator__/jobs                   create_job arguments -> 201 {"job_status": ...}
GET        /__emulator__/jobs/{id}              {"job_status": ..., "finish_time": epoch}
POST       /__emulator__/jobs/{id}/status       {"status": "killed", "message": null}
POST       /__emulator__/jobs/{id}/expire       {"expired": id}
POST       /__emulator__/rate_limit             {"per_minute": 10} (null removes it)
GET        /__emulator__/tokens                 {"tokens_issued": n}
POST       /__emulator__/tokens/expire          issued OAuth tokens stop working -> {"tokens_issued": n}
GET/POST   /__emulator__/settings               pagination_style, next_link_base, failing_ids, bulk_user_imports,
                                                timings, limits (all or none) -> {"settings": ...}
=========  ===================================  =========================================

The handlers are written against :class:`~.emulator_control.EmulatorControl`, not the emulator
class: :class:`~airflow_provider_zendesk_jobs.testing.RemoteEmulator` is the client of these routes
and offers the same protocol. A bad argument answers 400 ``InvalidControlRequest`` with the
message the emulator's ``ValueError`` gave, an unknown job 404 ``RecordNotFound``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from airflow_provider_zendesk_jobs.testing.emulator_control import EmulatorControl
from airflow_provider_zendesk_jobs.testing.faults import Fault
from airflow_provider_zendesk_jobs.testing.jobs_store import zendesk_time
from airflow_provider_zendesk_jobs.testing.messages import (
    Request,
    Response,
    error_response,
    json_response,
    method_not_allowed,
    not_found_endpoint,
)

PREFIX = "/__emulator__"
_CREATE_JOB_ARGS = frozenset(
    {"kind", "records", "count", "outcome", "fail_indexes", "queued_seconds", "work_seconds", "job_type"}
)


class ControlError(Exception):
    """A control request this API cannot read (not JSON, a missing field): 400."""


def _json_object(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ControlError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def _number(data: dict[str, Any], name: str) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ControlError(f"{name} must be a finite number >= 0")
    return float(value)


class ControlApi:
    """Routes ``/__emulator__/...`` to ``emulator``; ``clock_name`` is what ``GET /clock`` says the clock is."""

    def __init__(self, emulator: EmulatorControl, clock_name: str) -> None:
        self.emulator = emulator
        self.clock_name = clock_name
        self._routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", ""): self._overview,
            ("POST", "/faults"): self._add_fault,
            ("GET", "/faults"): self._list_faults,
            ("DELETE", "/faults"): self._clear_faults,
            ("GET", "/requests"): self._list_requests,
            ("DELETE", "/requests"): self._clear_requests,
            ("GET", "/records"): self._list_records,
            ("GET", "/records/counts"): self._record_counts,
            ("DELETE", "/records"): self._clear_records,
            ("GET", "/clock"): self._clock,
            ("POST", "/clock/advance"): self._advance,
            ("POST", "/jobs"): self._create_job,
            ("POST", "/rate_limit"): self._rate_limit,
            ("GET", "/tokens"): self._tokens,
            ("POST", "/tokens/expire"): self._expire_tokens,
            ("GET", "/settings"): self._settings,
            ("POST", "/settings"): self._change_settings,
        }

    def handle(self, request: Request) -> Response:
        sub = request.path[len(PREFIX) :].rstrip("/")
        try:
            handler = self._routes.get((request.method, sub))
            if handler is not None:
                return handler(request)
            if sub.startswith("/jobs/"):
                return self._job_route(request, sub[len("/jobs/") :])
            allowed = sorted(method for method, path in self._routes if path == sub)
            if allowed:
                return method_not_allowed(", ".join(allowed))
            return not_found_endpoint()
        except ControlError as exc:
            return error_response(400, "InvalidControlRequest", str(exc))
        except KeyError as exc:
            return error_response(404, "RecordNotFound", f"no job {exc.args[0]!r}")
        except (ValueError, TypeError) as exc:
            return error_response(400, "InvalidControlRequest", str(exc))

    def _overview(self, request: Request) -> Response:
        emu = self.emulator
        return json_response(200, {"url": emu.url, "now": emu.now(), "settings": emu.settings()})

    # -- faults -----------------------------------------------------------------------------

    def _add_fault(self, request: Request) -> Response:
        fault = self.emulator.add_fault(Fault.from_dict(_json_object(request)))
        return json_response(201, {"fault": fault.to_dict()})

    def _list_faults(self, request: Request) -> Response:
        return json_response(200, {"faults": [fault.to_dict() for fault in self.emulator.faults]})

    def _clear_faults(self, request: Request) -> Response:
        return json_response(200, {"cleared": self.emulator.clear_faults()})

    # -- request log ------------------------------------------------------------------------

    def _list_requests(self, request: Request) -> Response:
        found = self.emulator.request_records(request.param("path_prefix"), request.param("method"))
        records = [record.to_dict() for record in found]
        return json_response(200, {"requests": records, "count": len(records)})

    def _clear_requests(self, request: Request) -> Response:
        self.emulator.reset_requests()
        return json_response(200, {"cleared": True})

    # -- records received ---------------------------------------------------------------------

    def _list_records(self, request: Request) -> Response:
        field = request.param("field") or "external_id"
        return json_response(200, self.emulator.record_summary(field))

    def _record_counts(self, request: Request) -> Response:
        field = request.param("field") or "external_id"
        return json_response(200, {"field": field, "counts": self.emulator.record_counts(field)})

    def _clear_records(self, request: Request) -> Response:
        self.emulator.reset_records()
        return json_response(200, {"cleared": True})

    # -- clock ------------------------------------------------------------------------------

    def _clock(self, request: Request) -> Response:
        now = self.emulator.now()
        return json_response(200, {"now": now, "time": zendesk_time(now), "clock": self.clock_name})

    def _advance(self, request: Request) -> Response:
        seconds = _number(_json_object(request), "seconds")
        now = self.emulator.advance(seconds)
        return json_response(200, {"now": now, "time": zendesk_time(now)})

    # -- jobs -------------------------------------------------------------------------------

    def _create_job(self, request: Request) -> Response:
        args = _json_object(request)
        unknown = sorted(set(args) - _CREATE_JOB_ARGS)
        if unknown:
            raise ControlError(f"unknown create_job arguments: {', '.join(unknown)}")
        job_id = self.emulator.create_job(**args)
        return json_response(201, {"job_status": self.emulator.job(job_id)})

    def _job_route(self, request: Request, rest: str) -> Response:
        job_id, _, action = rest.partition("/")
        emu = self.emulator
        if action == "" and request.method == "GET":
            return json_response(200, {"job_status": emu.job(job_id), "finish_time": _finite(emu.finish_time(job_id))})
        if action == "status" and request.method == "POST":
            data = _json_object(request)
            status = data.get("status")
            message = data.get("message")
            if not isinstance(status, str) or (message is not None and not isinstance(message, str)):
                raise ControlError('the body must be {"status": "...", "message": "..." or null}')
            emu.set_job_status(job_id, status, message)
            return json_response(200, {"job_status": emu.job(job_id)})
        if action == "expire" and request.method == "POST":
            emu.expire_job(job_id)
            return json_response(200, {"expired": job_id})
        if action in ("", "status", "expire"):
            return method_not_allowed("GET" if action == "" else "POST")
        return not_found_endpoint()

    # -- limits, tokens, settings -----------------------------------------------------------

    def _rate_limit(self, request: Request) -> Response:
        data = _json_object(request)
        if "per_minute" not in data:
            raise ControlError('the body must be {"per_minute": <int or null>}')
        self.emulator.set_rate_limit(data["per_minute"])
        return json_response(200, {"per_minute": self.emulator.rate_limit})

    def _tokens(self, request: Request) -> Response:
        return json_response(200, {"tokens_issued": self.emulator.tokens_issued})

    def _expire_tokens(self, request: Request) -> Response:
        self.emulator.expire_tokens()
        return json_response(200, {"tokens_issued": self.emulator.tokens_issued})

    def _settings(self, request: Request) -> Response:
        return json_response(200, {"settings": self.emulator.settings()})

    def _change_settings(self, request: Request) -> Response:
        return json_response(200, {"settings": self.emulator.change_settings(**_json_object(request))})


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
