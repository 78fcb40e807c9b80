"""The Zendesk endpoints over real HTTP: bulk calls, show one, show many, bad input."""

from __future__ import annotations

import pytest

from tests.support.emulator_http import call, get_json

JSON = "application/json; charset=utf-8"


@pytest.mark.parametrize(
    ("method", "path", "body", "job_type", "first_item"),
    [
        ("POST", "/api/v2/tickets/create_many.json", {"tickets": [{"subject": "a"}]}, "Bulk Create Ticket",
         {"index": 0, "id": 1000}),
        ("POST", "/api/v2/imports/tickets/create_many", {"tickets": [{"subject": "a"}]}, "Bulk Import Ticket",
         {"index": 0, "id": 1000, "account_id": 18525119}),
        ("PUT", "/api/v2/tickets/update_many.json", {"tickets": [{"id": 77, "status": "solved"}]}, "Bulk Update Ticket",
         {"action": "update", "id": 77, "status": "Updated", "success": True}),
        ("PUT", "/api/v2/tickets/update_many.json?ids=77", {"ticket": {"status": "solved"}}, "Bulk Update Ticket",
         {"action": "update", "id": 77, "status": "Updated", "success": True}),
        ("POST", "/api/v2/users/create_or_update_many", {"users": [{"email": "u@example.com"}]},
         "Bulk Create Or Update User", {"id": 360000001000, "status": "Created", "email": "u@example.com"}),
        ("DELETE", "/api/v2/tickets/destroy_many.json?ids=77", None, "Bulk Delete Ticket",
         {"action": "delete", "id": 77, "status": "Deleted", "success": True}),
    ],
)  # fmt: skip
def test_bulk_calls_answer_a_queued_job_that_completes_with_zendesk_shapes(
    emu, method, path, body, job_type, first_item
):
    answer = call(emu, method, path, body)
    assert answer.status == 200
    assert answer.headers["content-type"] == JSON
    job = answer.json()["job_status"]
    assert job["status"] == "queued"
    assert job["job_type"] == job_type
    assert job["total"] == 1
    assert job["progress"] is None
    assert job["results"] is None
    assert job["url"] == f"{emu.url}/api/v2/job_statuses/{job['id']}.json"
    emu.advance(emu.finish_time(job["id"]) - emu.clock.now())
    done = get_json(emu, f"/api/v2/job_statuses/{job['id']}")["job_status"]
    assert done["status"] == "completed"
    assert done["results"] == [first_item]


def test_update_many_with_ids_applies_the_ticket_to_each(emu):
    job = call(emu, "PUT", "/api/v2/tickets/update_many?ids=1,2,3", {"ticket": {"status": "open"}}).json()
    emu.advance(100.0)
    results = emu.job(job["job_status"]["id"])["results"]
    assert [item["id"] for item in results] == [1, 2, 3]


def test_permanent_deletion_over_http(emu):
    job = call(emu, "DELETE", "/api/v2/deleted_tickets/destroy_many?ids=1,2").json()["job_status"]
    assert job["total"] is None
    emu.advance(100.0)
    done = get_json(emu, f"/api/v2/job_statuses/{job['id']}.json")["job_status"]
    assert done["results"] == {"success": True}
    assert done["message"].startswith("Completed at ")


def test_fail_markers_through_http(emu):
    records = [{"subject": "fine"}, {"subject": "please FAIL"}, {"subject": "fine too"}]
    job_id = call(emu, "POST", "/api/v2/tickets/create_many", {"tickets": records}).json()["job_status"]["id"]
    killed_id = call(
        emu, "POST", "/api/v2/tickets/create_many", {"tickets": [{"subject": "x", "external_id": "KILL_JOB"}]}
    ).json()["job_status"]["id"]
    emu.advance(100.0)
    results = get_json(emu, f"/api/v2/job_statuses/{job_id}")["job_status"]["results"]
    assert [("error" in item) for item in results] == [False, True, False]
    assert get_json(emu, f"/api/v2/job_statuses/{killed_id}")["job_status"]["status"] == "killed"


def test_show_one_unknown_is_404_record_not_found(emu):
    answer = call(emu, "GET", "/api/v2/job_statuses/V3-0123456789abcdef0123456789abcdef.json")
    assert answer.status == 404
    assert answer.json() == {"error": "RecordNotFound", "description": "Not found"}
    assert answer.headers["content-type"] == JSON


def test_not_visible_window_then_visible(zendesk_emulator_factory):
    emu = zendesk_emulator_factory(not_visible_seconds=5.0)
    job_id = call(emu, "POST", "/api/v2/tickets/create_many", {"tickets": [{"subject": "a"}]}).json()["job_status"][
        "id"
    ]
    assert call(emu, "GET", f"/api/v2/job_statuses/{job_id}").status == 404
    assert get_json(emu, f"/api/v2/job_statuses/show_many?ids={job_id}") == {"job_statuses": []}
    assert get_json(emu, "/api/v2/job_statuses")["job_statuses"] == []
    assert emu.job(job_id)["status"] == "queued"  # the Python view sees it anyway
    emu.advance(4.999)
    assert call(emu, "GET", f"/api/v2/job_statuses/{job_id}").status == 404
    emu.advance(0.001)
    assert call(emu, "GET", f"/api/v2/job_statuses/{job_id}").status == 200


def test_retention_and_expiry_over_http(zendesk_emulator_factory):
    emu = zendesk_emulator_factory(retention_seconds=3600.0)
    old = emu.create_job(count=1)
    emu.advance(1800.0)
    young = emu.create_job(count=1)
    gone = emu.create_job(count=1)
    emu.expire_job(gone)
    assert call(emu, "GET", f"/api/v2/job_statuses/{gone}").status == 404
    emu.advance(1800.0)
    assert call(emu, "GET", f"/api/v2/job_statuses/{old}").status == 404
    assert call(emu, "GET", f"/api/v2/job_statuses/{young}").status == 200
    listed = [job["id"] for job in get_json(emu, "/api/v2/job_statuses")["job_statuses"]]
    assert listed == [young]
    many = get_json(emu, f"/api/v2/job_statuses/show_many?ids={old},{young},{gone}")["job_statuses"]
    assert [job["id"] for job in many] == [young]


def test_show_many_keeps_the_order_asked_drops_missing_and_duplicates(emu):
    a, b, c = (emu.create_job(count=1) for _ in range(3))
    body = get_json(emu, f"/api/v2/job_statuses/show_many.json?ids={c},V3-missing,{a},{c},%20{b}")
    assert [job["id"] for job in body["job_statuses"]] == [c, a, b]
    assert set(body) == {"job_statuses"}


def test_show_many_limits(emu):
    ids = ",".join(f"V3-{i}" for i in range(101))
    answer = call(emu, "GET", f"/api/v2/job_statuses/show_many?ids={ids}")
    assert answer.status == 400
    assert answer.json()["error"] == "TooManyIds"
    ids = ",".join(f"V3-{i}" for i in range(100))
    assert call(emu, "GET", f"/api/v2/job_statuses/show_many?ids={ids}").status == 200
    for query in ("", "?ids=", "?ids=,,"):
        answer = call(emu, "GET", f"/api/v2/job_statuses/show_many{query}")
        assert answer.status == 400
        assert answer.json()["error"] == "InvalidParameter"


@pytest.mark.parametrize(
    ("method", "path", "raw", "error"),
    [
        ("POST", "/api/v2/tickets/create_many", b"{not json", "InvalidJSON"),
        ("POST", "/api/v2/tickets/create_many", b"", "RecordInvalid"),
        ("POST", "/api/v2/tickets/create_many", b'{"users": []}', "RecordInvalid"),
        ("POST", "/api/v2/tickets/create_many", b'{"tickets": {"subject": "a"}}', "RecordInvalid"),
        ("POST", "/api/v2/tickets/create_many", b'{"tickets": []}', "RecordInvalid"),
        ("POST", "/api/v2/tickets/create_many", b'{"tickets": [1, 2]}', "RecordInvalid"),
        ("POST", "/api/v2/tickets/create_many", b'[{"subject": "a"}]', "RecordInvalid"),
        ("POST", "/api/v2/users/create_or_update_many", b'{"tickets": [{}]}', "RecordInvalid"),
        ("PUT", "/api/v2/tickets/update_many", b'{"tickets": [{"subject": "no id"}]}', "RecordInvalid"),
        ("PUT", "/api/v2/tickets/update_many?ids=1,2", b'{"tickets": []}', "RecordInvalid"),
        ("PUT", "/api/v2/tickets/update_many?ids=1,x", b'{"ticket": {}}', "RecordInvalid"),
        ("DELETE", "/api/v2/tickets/destroy_many", b"", "RecordInvalid"),
        ("DELETE", "/api/v2/tickets/destroy_many?ids=", b"", "RecordInvalid"),
        ("DELETE", "/api/v2/deleted_tickets/destroy_many?ids=a,b", b"", "RecordInvalid"),
        ("POST", "/api/v2/tickets/create_many", b'{"tickets": [' + b",".join([b"{}"] * 101) + b"]}",
         "TooManyRecords"),
        ("DELETE", "/api/v2/tickets/destroy_many?ids=" + ",".join(str(i) for i in range(101)), b"",
         "TooManyRecords"),
    ],
)  # fmt: skip
def test_bad_input_answers_400_with_a_json_error(emu, method, path, raw, error):
    answer = call(emu, method, path, raw=raw, headers={"Content-Type": "application/json"})
    assert answer.status == 400
    assert answer.headers["content-type"] == JSON
    body = answer.json()
    assert body["error"] == error
    assert isinstance(body["description"], str)
    assert body["description"]
    assert emu.request_count() == 1


def test_exactly_100_records_are_accepted(emu):
    answer = call(emu, "POST", "/api/v2/tickets/create_many", {"tickets": [{"subject": str(i)} for i in range(100)]})
    assert answer.status == 200
    assert answer.json()["job_status"]["total"] == 100


def test_too_many_active_jobs_is_refused_with_429(zendesk_emulator_factory):
    emu = zendesk_emulator_factory(max_active_jobs=2)
    body = {"tickets": [{"subject": "a"}]}
    for _ in range(2):
        assert call(emu, "POST", "/api/v2/tickets/create_many", body).status == 200
    refused = call(emu, "POST", "/api/v2/tickets/create_many", body)
    assert refused.status == 429
    assert refused.json() == {
        "error": "TooManyJobs",
        "description": "Number of allowed background jobs exceeded: 2 jobs are queued or working; the limit is 2. "
        "Wait for some to finish before starting more.",
    }
    assert "retry-after" not in refused.headers  # none is documented for the job limit
    assert len(call(emu, "GET", "/api/v2/job_statuses").json()["job_statuses"]) == 2  # nothing was started
    emu.advance(2.0)  # both finished
    assert call(emu, "POST", "/api/v2/tickets/create_many", body).status == 200


def test_the_default_job_limit_is_30_and_the_31st_bulk_call_is_refused(zendesk_emulator_factory):
    emu = zendesk_emulator_factory()
    body = {"tickets": [{"subject": "a"}]}
    assert [call(emu, "POST", "/api/v2/tickets/create_many", body).status for _ in range(30)] == [200] * 30
    refused = call(emu, "POST", "/api/v2/imports/tickets/create_many", body)
    assert refused.status == 429
    assert refused.json()["error"] == "TooManyJobs"
    assert "30 jobs are queued or working; the limit is 30" in refused.json()["description"]
    assert call(emu, "GET", "/api/v2/job_statuses").status == 200  # reads are not refused


def test_unknown_path_and_wrong_method(emu):
    for path in ("/api/v2/tickets", "/api/v2/job_statuses/V3-a/extra", "/nothing/here", "/api/v2"):
        answer = call(emu, "GET", path)
        assert answer.status == 404, path
        assert answer.json() == {"error": "InvalidEndpoint", "description": "Not found"}
    for method, path, allowed in [
        ("POST", "/api/v2/job_statuses", "GET"),
        ("DELETE", "/api/v2/job_statuses/show_many.json", "GET"),
        ("PUT", "/api/v2/job_statuses/V3-x", "GET"),
        ("GET", "/api/v2/tickets/create_many.json", "POST"),
        ("POST", "/api/v2/tickets/update_many", "PUT"),
        ("GET", "/api/v2/deleted_tickets/destroy_many", "DELETE"),
        ("PATCH", "/api/v2/users/create_or_update_many", "POST"),
        ("GET", "/oauth/tokens", "POST"),
    ]:
        answer = call(emu, method, path)
        assert answer.status == 405, (method, path)
        assert answer.headers["allow"] == allowed
        assert answer.json()["error"] == "MethodNotAllowed"
        assert answer.headers["content-type"] == JSON


def test_trailing_slash_and_json_suffix_are_the_same_route(emu):
    job_id = emu.create_job(count=1)
    for path in (f"/api/v2/job_statuses/{job_id}", f"/api/v2/job_statuses/{job_id}.json"):
        assert get_json(emu, path)["job_status"]["id"] == job_id
    assert "job_statuses" in get_json(emu, "/api/v2/job_statuses/")
    assert "job_statuses" in get_json(emu, "/api/v2/job_statuses.json")


def test_show_one_answer_of_a_terminal_job_is_stable(emu):
    job_id = emu.create_job(count=3)
    emu.advance(100.0)
    first = call(emu, "GET", f"/api/v2/job_statuses/{job_id}").body
    emu.advance(100.0)
    assert call(emu, "GET", f"/api/v2/job_statuses/{job_id}").body == first
    emu.set_job_status(job_id, "killed")
    assert call(emu, "GET", f"/api/v2/job_statuses/{job_id}").json()["job_status"]["status"] == "killed"


def test_too_many_jobs_when_the_active_ones_are_frozen(zendesk_emulator_factory):
    emu = zendesk_emulator_factory(max_active_jobs=1)
    emu.set_job_status(emu.create_job(count=1), "working")
    refused = call(emu, "POST", "/api/v2/tickets/create_many", {"tickets": [{}]})
    assert refused.status == 429
    assert refused.json()["error"] == "TooManyJobs"
    assert "retry-after" not in refused.headers
