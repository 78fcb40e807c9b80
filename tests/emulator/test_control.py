"""The /__emulator__ control endpoint, the request log and its counters."""

from __future__ import annotations

import pytest

from airflow_provider_zendesk_jobs.testing import RequestRecord
from tests.support.emulator_http import BASIC, call, get_json

LIST = "/api/v2/job_statuses"


def control(emu, method, path, body=None, **kwargs):
    return call(emu, method, f"/__emulator__{path}", body, auth=None, **kwargs)


def test_request_log_records_and_counts(emu):
    job_id = emu.create_job(count=1)
    call(emu, "GET", f"{LIST}/{job_id}.json?x=1")
    call(emu, "GET", LIST, auth=None)
    call(emu, "POST", "/api/v2/tickets/create_many", {"tickets": [{}]})
    records = emu.requests
    assert len(records) == 3
    first = records[0]
    assert isinstance(first, RequestRecord)
    assert first.method == "GET"
    assert first.path == f"{LIST}/{job_id}.json"
    assert first.query == "x=1"
    assert first.status == 200
    assert first.auth == "basic"
    assert first.fault is None
    assert first.time == emu.clock.now()
    assert first.wall_time > 1_600_000_000
    assert records[1].auth == "none"
    assert records[1].status == 401
    assert emu.request_count() == 3
    assert emu.request_count(LIST) == 2
    assert emu.request_count(method="post") == 1
    assert emu.request_count(LIST, method="GET") == 2
    assert emu.request_count("/api/v2/tickets") == 1
    records.clear()  # a copy
    assert emu.request_count() == 3
    emu.reset_requests()
    assert emu.requests == []
    assert emu.request_count() == 0


def test_control_calls_are_not_logged_nor_need_auth(emu):
    assert control(emu, "GET", "").status == 200
    assert control(emu, "GET", "/clock").status == 200
    assert emu.request_count() == 0


def test_overview(emu):
    body = control(emu, "GET", "/").json()
    assert body["url"] == emu.url
    assert body["now"] == emu.clock.now()
    assert body["settings"]["max_active_jobs"] == 30
    assert body["settings"]["pagination_style"] == "cursor"


def test_faults_over_http(emu):
    answer = control(emu, "POST", "/faults", {"kind": "server_error", "count": 1, "status": 500})
    assert answer.status == 201
    assert answer.json()["fault"]["kind"] == "server_error"
    assert len(control(emu, "GET", "/faults").json()["faults"]) == 1
    assert call(emu, "GET", LIST).status == 500
    assert control(emu, "GET", "/faults").json()["faults"] == []
    control(emu, "POST", "/faults", {"kind": "not_found"})
    assert control(emu, "DELETE", "/faults").json() == {"cleared": 1}
    assert call(emu, "GET", LIST).status == 200
    bad = control(emu, "POST", "/faults", {"kind": "meteor"})
    assert bad.status == 400
    assert bad.json()["error"] == "InvalidControlRequest"
    assert control(emu, "POST", "/faults", {"kind": "hang", "when": "now"}).status == 400
    assert control(emu, "POST", "/faults", raw=b"{nope").status == 400
    assert control(emu, "POST", "/faults", raw=b"[1]").status == 400


def test_request_log_over_http(emu):
    call(emu, "GET", LIST)
    call(emu, "POST", "/api/v2/tickets/create_many", {"tickets": [{}]})
    body = control(emu, "GET", "/requests").json()
    assert body["count"] == 2
    assert body["requests"][0]["path"] == LIST
    assert set(body["requests"][0]) == {"time", "wall_time", "method", "path", "query", "status", "auth", "fault"}
    assert control(emu, "GET", "/requests?method=post").json()["count"] == 1
    assert control(emu, "GET", "/requests?path_prefix=/api/v2/tickets").json()["count"] == 1
    assert control(emu, "DELETE", "/requests").status == 200
    assert control(emu, "GET", "/requests").json() == {"requests": [], "count": 0}


def test_clock_over_http(emu):
    start = emu.clock.now()
    body = control(emu, "GET", "/clock").json()
    assert body == {"now": start, "time": "2023-11-14 22:13:20 +0000", "clock": "ManualClock"}
    advanced = control(emu, "POST", "/clock/advance", {"seconds": 5})
    assert advanced.status == 200
    assert advanced.json()["now"] == start + 5
    assert emu.clock.now() == start + 5
    for bad in ({"seconds": -1}, {"seconds": "5"}, {}, {"seconds": True}):
        assert control(emu, "POST", "/clock/advance", bad).status == 400


def test_jobs_over_http(emu):
    answer = control(emu, "POST", "/jobs", {"kind": "tickets_import", "count": 3, "fail_indexes": [1]})
    assert answer.status == 201
    job = answer.json()["job_status"]
    assert job["status"] == "queued"
    assert job["job_type"] == "Bulk Import Ticket"
    shown = control(emu, "GET", f"/jobs/{job['id']}").json()
    assert shown["finish_time"] == emu.finish_time(job["id"])
    assert (
        control(emu, "POST", f"/jobs/{job['id']}/status", {"status": "paused"}).json()["job_status"]["status"]
        == "paused"
    )
    assert control(emu, "GET", f"/jobs/{job['id']}").json()["finish_time"] is None
    assert control(emu, "POST", f"/jobs/{job['id']}/status", {"status": "killed", "message": "by hand"}).status == 200
    assert emu.job(job["id"])["message"] == "by hand"
    assert control(emu, "POST", f"/jobs/{job['id']}/expire").json() == {"expired": job["id"]}
    assert call(emu, "GET", f"{LIST}/{job['id']}").status == 404
    assert control(emu, "GET", f"/jobs/{job['id']}").status == 404


def test_job_control_errors(emu):
    assert control(emu, "POST", "/jobs", {"kind": "nope"}).status == 400
    assert control(emu, "POST", "/jobs", {"colour": "red"}).status == 400
    assert control(emu, "POST", "/jobs", {"records": "not a list of records"}).status in (400,)
    assert control(emu, "GET", "/jobs/V3-missing").status == 404
    job_id = emu.create_job(count=1)
    assert control(emu, "POST", f"/jobs/{job_id}/status", {"status": 3}).status == 400
    assert control(emu, "GET", f"/jobs/{job_id}/status").status == 405
    assert control(emu, "POST", f"/jobs/{job_id}/explode").status == 404


def test_rate_limit_over_http(emu):
    assert control(emu, "POST", "/rate_limit", {"per_minute": 1}).json() == {"per_minute": 1}
    assert call(emu, "GET", LIST).status == 200
    assert call(emu, "GET", LIST).status == 429
    assert control(emu, "POST", "/rate_limit", {"per_minute": None}).json() == {"per_minute": None}
    assert call(emu, "GET", LIST).status == 200
    assert control(emu, "POST", "/rate_limit", {"per_minute": 0}).status == 400
    assert control(emu, "POST", "/rate_limit", {}).status == 400


def test_tokens_expire_over_http(emu):
    grant = {"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"}
    token = call(emu, "POST", "/oauth/tokens", grant, auth=None).json()["access_token"]
    assert control(emu, "POST", "/tokens/expire").json() == {"tokens_issued": 1}
    assert call(emu, "GET", LIST, auth=f"Bearer {token}").status == 401


def test_settings_over_http(emu):
    answer = control(
        emu,
        "POST",
        "/settings",
        {
            "pagination_style": "offset",
            "next_link_base": "http://evil.example.com:80",
            "failing_ids": [5],
            "not_visible_seconds": 2,
            "max_active_jobs": 1,
            "listed_jobs": 7,
        },
    )
    assert answer.status == 200
    settings = answer.json()["settings"]
    assert settings["pagination_style"] == "offset"
    assert settings["failing_ids"] == [5]
    assert emu.pagination_style == "offset"
    assert emu.next_link_base == "http://evil.example.com:80"
    assert emu.failing_ids == {5}
    assert emu.store_settings.not_visible_seconds == 2.0
    assert emu.api_settings.max_active_jobs == 1
    assert emu.store_settings.listed_jobs == settings["listed_jobs"] == 7
    assert control(emu, "GET", "/settings").json()["settings"] == settings
    for bad in (
        {"pagination_style": "pages"},
        {"max_active_jobs": 0},
        {"listed_jobs": 0},
        {"listed_jobs": True},
        {"failing_ids": "5"},
        {"failing_ids": [{"id": 5}]},
        {"next_link_base": 5},
        {"queued_seconds": -1},
        {"speed": 2},
    ):
        assert control(emu, "POST", "/settings", bad).status == 400, bad


def test_unknown_control_paths_and_methods(emu):
    assert control(emu, "GET", "/nothing").status == 404
    wrong = control(emu, "PUT", "/faults")
    assert wrong.status == 405
    assert wrong.headers["allow"] == "DELETE, GET, POST"
    assert control(emu, "GET", "/clock/advance").status == 405


def test_control_paths_ignore_faults_and_auth(emu):
    from airflow_provider_zendesk_jobs.testing import Fault

    emu.add_fault(Fault("server_error", path_prefix="/"))
    assert control(emu, "GET", "/clock", headers={"Authorization": BASIC}).status == 200
    assert call(emu, "GET", LIST).status == 503
    assert get_json(emu, "/__emulator__/faults", auth=None)["faults"][0]["applied"] == 1


@pytest.mark.parametrize("path", ["/__emulator__", "/__emulator__/"])
def test_overview_paths(emu, path):
    assert call(emu, "GET", path, auth=None).status == 200


def test_request_log_keeps_only_the_newest_records():
    from airflow_provider_zendesk_jobs.testing.request_log import RequestLog, RequestRecord

    log = RequestLog(max_records=3)
    for n in range(5):
        log.add(RequestRecord(float(n), 0.0, "GET", f"/api/v2/job_statuses/V3-{n}", "", 200, "basic", None))
    assert [record.time for record in log.records()] == [2.0, 3.0, 4.0]
    assert log.count("/api/v2/job_statuses/") == 3
    with pytest.raises(ValueError, match="max_records"):
        RequestLog(max_records=0)


def test_record_counts_and_tokens_over_http(emu):
    tickets = [{"subject": "a", "external_id": "x"}, {"subject": "b", "external_id": "x"}]
    call(emu, "POST", "/api/v2/imports/tickets/create_many", {"tickets": tickets})
    assert control(emu, "GET", "/records/counts").json() == {"field": "external_id", "counts": {"x": 2}}
    assert control(emu, "GET", "/records/counts?field=email").json() == {"field": "email", "counts": {}}
    assert control(emu, "GET", "/records/counts?field=colour").status == 400
    assert control(emu, "GET", "/records").json()["duplicates"] == {"x": 2}
    assert control(emu, "GET", "/tokens").json() == {"tokens_issued": 0}
    assert control(emu, "POST", "/tokens").status == 405


def test_a_remote_client_attached_to_the_in_process_emulator_changes_it(emu):
    """The client and the handlers agree on every route: what the client does, the emulator object shows."""
    from airflow_provider_zendesk_jobs.testing import Fault, RemoteEmulator

    remote = RemoteEmulator.attach(emu.url)
    assert remote.advance(7) == emu.now() == 1_700_000_007.0
    job_id = remote.create_job("users_create", count=2, work_seconds=3)
    assert emu.job(job_id) == remote.job(job_id)
    assert remote.finish_time(job_id) == emu.finish_time(job_id)
    remote.set_job_status(job_id, "killed", "by hand")
    assert emu.job(job_id)["message"] == "by hand"
    remote.expire_job(job_id)
    with pytest.raises(KeyError):
        emu.job(job_id)
    with pytest.raises(KeyError):
        remote.job(job_id)
    remote.add_fault(Fault("rate_limit", count=1, method="get"))
    assert [fault.method for fault in emu.faults] == ["GET"]
    assert call(emu, "GET", LIST).status == 429
    assert remote.faults == []
    assert [record.status for record in remote.requests] == [record.status for record in emu.requests] == [429]
    remote.set_rate_limit(100)
    assert emu.rate_limit == 100
    assert remote.change_settings(failing_ids={3}, not_visible_seconds=1)["failing_ids"] == [3]
    assert emu.failing_ids == {3}
    assert emu.store_settings.not_visible_seconds == 1.0
    with pytest.raises(ValueError, match="pagination_style must be one of"):
        remote.change_settings(pagination_style="pages", failing_ids=[4])
    assert emu.failing_ids == {3}  # all or none
    remote.reset_requests()
    assert emu.request_count() == 0
    remote.stop()  # attached: the emulator keeps serving
    assert call(emu, "GET", LIST).status == 200
