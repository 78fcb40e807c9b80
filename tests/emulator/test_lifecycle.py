"""The job state machine through the Python API, on a manual clock (no sleeps)."""

from __future__ import annotations

import math
import re

import pytest

from airflow_provider_zendesk_jobs.testing import ManualClock, ZendeskEmulator

JOB_ID = re.compile(r"^V3-[0-9a-f]{32}$")


def advance_to(emu: ZendeskEmulator, when: float) -> None:
    emu.advance(when - emu.clock.now())


def test_lifecycle_queued_working_completed_at_finish_time_exactly(emu):
    job_id = emu.create_job("tickets_create", count=100)
    assert JOB_ID.match(job_id)
    start = emu.clock.now()
    queued = emu.job(job_id)
    assert queued == {
        "id": job_id,
        "url": f"{emu.url}/api/v2/job_statuses/{job_id}.json",
        "status": "queued",
        "job_type": "Bulk Create Ticket",
        "total": 100,
        "progress": None,
        "message": None,
        "results": None,
    }
    assert list(queued) == ["id", "url", "status", "job_type", "total", "progress", "message", "results"]
    # queued_seconds=1, then 100 records * 0.1 s of work
    assert emu.finish_time(job_id) == start + 11.0
    emu.advance(1.0)
    working = emu.job(job_id)
    assert working["status"] == "working"
    assert working["progress"] == 0
    assert working["message"] == "Creating ticket #1"
    assert working["results"] is None
    emu.advance(3.1)
    working = emu.job(job_id)
    assert working["progress"] == 31
    assert working["message"] == "Creating ticket #31"
    advance_to(emu, emu.finish_time(job_id) - 0.001)
    assert emu.job(job_id)["status"] == "working"
    assert emu.job(job_id)["progress"] == 99
    advance_to(emu, emu.finish_time(job_id))
    done = emu.job(job_id)
    assert done["status"] == "completed"
    assert done["progress"] == 100
    assert done["message"] == "Completed at 2023-11-14 22:13:31 +0000"
    assert done["results"][:2] == [{"index": 0, "id": 1000}, {"index": 1, "id": 1001}]
    assert len(done["results"]) == 100


def test_progress_never_goes_down(emu):
    job_id = emu.create_job("tickets_update", count=7, work_seconds=3.0)
    seen = []
    for _ in range(50):
        emu.advance(0.1)
        progress = emu.job(job_id)["progress"]
        seen.append(progress if progress is not None else -1)
    assert seen == sorted(seen)
    assert seen[-1] == 7


def test_timing_overrides_per_job(emu):
    job_id = emu.create_job("tickets_create", count=3, queued_seconds=0.0, work_seconds=0.0)
    assert emu.job(job_id)["status"] == "completed"
    slow = emu.create_job("tickets_create", count=3, queued_seconds=60.0, work_seconds=600.0)
    assert emu.finish_time(slow) == emu.clock.now() + 660.0
    emu.advance(59.0)
    assert emu.job(slow)["status"] == "queued"


def test_working_phase_lasts_at_least_one_second(emu):
    job_id = emu.create_job("tickets_create", count=2)
    assert emu.finish_time(job_id) == emu.clock.now() + 1.0 + 1.0


@pytest.mark.parametrize(
    ("kind", "job_type", "verb"),
    [
        ("tickets_create", "Bulk Create Ticket", "Creating ticket"),
        ("tickets_import", "Bulk Import Ticket", "Importing ticket"),
        ("tickets_update", "Bulk Update Ticket", "Updating ticket"),
        ("users_create_or_update", "Bulk Create Or Update User", "Creating or updating user"),
        ("tickets_destroy", "Bulk Delete Ticket", "Deleting ticket"),
    ],
)
def test_each_kind_names_its_job_type_and_working_message(emu, kind, job_type, verb):
    job_id = emu.create_job(kind, count=10)
    emu.advance(1.0 + 0.5)
    job = emu.job(job_id)
    assert job["job_type"] == job_type
    assert job["message"] == f"{verb} #5"


def test_result_shapes_per_kind(emu):
    create = emu.create_job("tickets_create", records=[{"subject": "ok"}, {"subject": "FAIL please"}])
    imported = emu.create_job("tickets_import", records=[{"subject": "ok"}])
    update = emu.create_job("tickets_update", records=[{"id": 244, "status": "open"}, {"id": 245, "name": "FAIL"}])
    delete = emu.create_job("tickets_destroy", records=[244, {"id": 245}])
    emu.advance(100.0)
    assert emu.job(create)["results"] == [
        {"index": 0, "id": 1000},
        {"index": 1, "error": "TicketCreateFailed", "id": None, "details": "Subject: is invalid (contains FAIL)"},
    ]
    assert emu.job(imported)["results"] == [{"index": 0, "id": 1001, "account_id": 18525119}]
    assert emu.job(update)["results"] == [
        {"action": "update", "id": 244, "status": "Updated", "success": True},
        {
            "action": "update",
            "id": 245,
            "success": False,
            "error": "TicketUpdateFailed",
            "details": "Name: is invalid (contains FAIL)",
        },
    ]
    assert emu.job(delete)["results"] == [
        {"action": "delete", "id": 244, "status": "Deleted", "success": True},
        {"action": "delete", "id": 245, "status": "Deleted", "success": True},
    ]


def test_users_are_created_then_updated_when_the_email_was_seen(emu):
    first = emu.create_job("users_create_or_update", records=[{"name": "A", "email": "a@example.com"}])
    second = emu.create_job(
        "users_create_or_update",
        records=[
            {"name": "A again", "email": "A@example.com"},
            {"name": "B", "email": "b@example.com"},
            {"name": "C", "email": "FAIL@example.com"},
            {"name": "D", "external_id": "x-FAIL"},
        ],
    )
    emu.advance(100.0)
    created = emu.job(first)["results"]
    assert created == [{"id": created[0]["id"], "status": "Created", "email": "a@example.com"}]
    results = emu.job(second)["results"]
    assert results[0] == {"id": created[0]["id"], "status": "Updated", "email": "A@example.com"}
    assert results[1]["status"] == "Created"
    assert results[1]["id"] > created[0]["id"]
    assert results[2] == {
        "id": None,
        "error": "UserCreateFailed",
        "details": "Email: is invalid (contains FAIL)",
        "status": "Failed",
    }
    assert results[3]["error"] == "UserCreateFailed"
    assert results[3]["details"] == "External id: is invalid (contains FAIL)"


def test_failing_a_known_user_gives_the_update_error_shape(emu):
    emu.create_job("users_create_or_update", records=[{"email": "known@example.com"}])
    job_id = emu.create_job("users_create_or_update", records=[{"email": "known@example.com"}], fail_indexes=[0])
    emu.advance(100.0)
    item = emu.job(job_id)["results"][0]
    assert item["error"] == "UserUpdateError"
    assert item["status"] == "Failed"
    assert isinstance(item["id"], int)


def test_fail_indexes_and_failing_ids(emu):
    emu.failing_ids = {7}
    job_id = emu.create_job("tickets_destroy", records=[5, 6, 7], fail_indexes=[0])
    emu.advance(100.0)
    results = emu.job(job_id)["results"]
    assert [item["success"] for item in results] == [False, True, False]
    assert results[0]["error"] == "TicketDeleteFailed"
    assert "failing_ids" in results[2]["details"]


def test_permanent_deletion_has_no_counts_and_an_object_result(emu):
    ok = emu.create_job("deleted_tickets_destroy", records=[1, 2])
    emu.failing_ids = {3}
    not_ok = emu.create_job("deleted_tickets_destroy", records=[3, 4])
    emu.advance(1.5)
    working = emu.job(ok)
    assert working["status"] == "working"
    assert working["total"] is None
    assert working["progress"] is None
    emu.advance(100.0)
    done = emu.job(ok)
    assert done["total"] is None
    assert done["progress"] is None
    assert done["results"] == {"success": True}
    assert done["job_type"] == "Bulk Permanent Delete Ticket"
    assert emu.job(not_ok)["results"] == {"success": False}


def test_kill_job_and_fail_job_markers_end_the_whole_job(emu):
    killed = emu.create_job("tickets_create", records=[{"subject": "a"}, {"subject": "KILL_JOB"}, {"subject": "c"}])
    failed = emu.create_job("users_create_or_update", records=[{"name": "x"}, {"email": "FAIL_JOB@example.com"}])
    advance_to(emu, max(emu.finish_time(killed), emu.finish_time(failed)))
    job = emu.job(killed)
    assert job["status"] == "killed"
    assert job["message"].startswith("Killed at 2023-11-14 ")
    assert job["results"] is None
    assert job["progress"] == 1
    job = emu.job(failed)
    assert job["status"] == "failed"
    assert re.match(r"^Failed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 : record 1 contains FAIL_JOB$", job["message"])
    assert job["results"] is None


@pytest.mark.parametrize("outcome", ["failed", "killed"])
def test_outcome_argument(emu, outcome):
    job_id = emu.create_job("tickets_create", count=4, outcome=outcome)
    advance_to(emu, emu.finish_time(job_id))
    job = emu.job(job_id)
    assert job["status"] == outcome
    assert job["results"] is None
    assert job["message"].startswith(outcome.capitalize() + " at ")


def test_job_type_override_and_absence(emu):
    named = emu.create_job("tickets_create", count=1, job_type="Bulk Create Organization")
    absent = emu.create_job("tickets_create", count=1, job_type="")
    assert emu.job(named)["job_type"] == "Bulk Create Organization"
    assert "job_type" not in emu.job(absent)


def test_set_job_status_freezes_and_supports_unknown_statuses(emu):
    job_id = emu.create_job("tickets_create", count=10)
    emu.advance(1.5)
    emu.set_job_status(job_id, "paused")
    emu.advance(1000.0)
    job = emu.job(job_id)
    assert job["status"] == "paused"
    assert job["progress"] == 5
    assert job["message"] is None
    assert emu.finish_time(job_id) == math.inf
    emu.set_job_status(job_id, "killed", message="Killed by an admin")
    assert emu.job(job_id)["status"] == "killed"
    assert emu.job(job_id)["message"] == "Killed by an admin"
    assert emu.finish_time(job_id) == emu.clock.now()
    emu.set_job_status(job_id, "completed")
    job = emu.job(job_id)
    assert job["progress"] == 10
    assert len(job["results"]) == 10
    assert job["message"].startswith("Completed at ")


def test_set_job_status_on_a_queued_job(emu):
    job_id = emu.create_job("tickets_create", count=3)
    emu.set_job_status(job_id, "failed")
    job = emu.job(job_id)
    assert job["status"] == "failed"
    assert job["progress"] == 0
    assert job["message"].endswith(" : the job was stopped")


def test_expire_job_and_retention(emu_factory_short_retention):
    emu = emu_factory_short_retention
    expired = emu.create_job("tickets_create", count=1)
    kept = emu.create_job("tickets_create", count=1)
    emu.expire_job(expired)
    with pytest.raises(KeyError):
        emu.job(expired)
    emu.advance(99.9)
    assert emu.job(kept)["status"] == "completed"
    emu.advance(0.1)
    with pytest.raises(KeyError):
        emu.job(kept)
    with pytest.raises(KeyError):
        emu.finish_time(kept)


@pytest.fixture
def emu_factory_short_retention(zendesk_emulator_factory):
    return zendesk_emulator_factory(retention_seconds=100.0)


def test_unknown_jobs_raise_key_error(emu):
    for action in (emu.job, emu.finish_time, emu.expire_job):
        with pytest.raises(KeyError):
            action("V3-nope")
    with pytest.raises(KeyError):
        emu.set_job_status("V3-nope", "killed")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "tickets_explode"}, "unknown job kind"),
        ({"outcome": "exploded"}, "outcome"),
        ({"records": [{}], "count": 1}, "not both"),
        ({"count": 0}, "count"),
        ({"records": []}, "at least one record"),
        ({"count": 2, "fail_indexes": [2]}, "fail_indexes"),
        ({"work_seconds": -1}, "work_seconds"),
    ],
)
def test_create_job_rejects_bad_arguments(emu, kwargs, message):
    with pytest.raises(ValueError, match=message):
        emu.create_job(**kwargs)


def test_create_job_defaults_to_one_generated_ticket(emu):
    job_id = emu.create_job()
    assert emu.job(job_id)["total"] == 1
    with pytest.raises(ValueError, match="status"):
        emu.set_job_status(job_id, "")


def test_ids_are_reproducible_with_a_seed():
    def ids(seed: int) -> list[str]:
        emu = ZendeskEmulator(clock=ManualClock(), seed=seed)
        return [emu.create_job(count=1) for _ in range(3)]

    assert ids(1) == ids(1)
    assert ids(1) != ids(2)
    assert len(set(ids(1))) == 3


def test_job_returns_a_copy(emu):
    job_id = emu.create_job(count=1)
    emu.advance(10.0)
    emu.job(job_id)["results"].clear()
    assert len(emu.job(job_id)["results"]) == 1


@pytest.mark.parametrize("ids", ["123", 7, [True], [1.5]])
def test_failing_ids_are_checked_when_set_as_over_http(emu, ids):
    emu.failing_ids = {7}
    with pytest.raises(ValueError, match="failing_ids must be a list of ids"):
        emu.failing_ids = ids
    assert emu.failing_ids == {7}


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("queued_seconds", -1),
        ("listed_jobs", 0),
        ("max_active_jobs", True),
        ("bulk_user_imports", "yes"),
    ],
)
def test_a_bad_setting_gets_one_refusal_when_the_emulator_is_made_and_when_it_is_changed(setting, value):
    with pytest.raises(ValueError, match=f"^{setting} must be") as made:
        ZendeskEmulator(clock=ManualClock(), **{setting: value})
    with pytest.raises(ValueError, match=f"^{setting} must be") as changed:
        ZendeskEmulator(clock=ManualClock()).change_settings(**{setting: value})
    assert str(made.value) == str(changed.value)
