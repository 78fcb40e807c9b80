"""ZendeskBulkJobOperator against the emulator on its manual clock: budgets, refusals, lost answers, next tries.

The operator sleeps through ``emulator.advance`` and reads the emulator's clock, so every poll
moves Zendesk's time by exactly ``poll_interval`` and nothing waits in real time. The emulator's
record log proves what was received, and how often.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowTaskTimeout, TaskDeferred

from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator
from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import on_clock

BULK_IMPORT = "/api/v2/imports/tickets/create_many"


@pytest.fixture
def emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    emulator: ZendeskEmulator = zendesk_emulator_factory(
        conn_id="zendesk_default", queued_seconds=2, seconds_per_item=0.1
    )
    return emulator


def tickets(count: int, failing: set[int] = frozenset()) -> list[dict[str, Any]]:  # type: ignore[assignment]
    return [
        {
            "subject": f"Ticket {i}" + (" FAIL" if i in failing else ""),
            "external_id": f"src-{i}",
            "comment": {"body": "Imported."},
        }
        for i in range(count)
    ]


def operator(
    emu: ZendeskEmulator, tmp_path: Path, *, sleep: Callable[[float], Any] | None = None, **kwargs: Any
) -> ZendeskBulkJobOperator:
    """The operator on the emulator's clock, sleeping through ``sleep`` (by default ``emu.advance``)."""
    kwargs.setdefault("action", "tickets.import")
    kwargs.setdefault("poll_interval", 5)
    return on_clock(ZendeskBulkJobOperator, emu.clock.now, sleep or emu.advance)(
        task_id="import_tickets",
        ledger_path=str(tmp_path / "ledgers"),
        **kwargs,
    )


CONTEXT: Any = {"run_id": "manual__1"}


def ledger_head(tmp_path: Path, task_id: str = "import_tickets") -> dict[str, Any]:
    """The head of the file ledger the operator keeps under ``tmp_path/ledgers``."""
    (path,) = (tmp_path / "ledgers").glob(f"*/manual__1/{task_id}/head.json")
    head: dict[str, Any] = json.loads(path.read_text())
    return head


def assert_each_sent_once(emu: ZendeskEmulator, count: int) -> None:
    assert emu.duplicate_records("external_id") == {}
    assert emu.records_received() == count
    assert set(emu.record_log.counts("external_id")) == {f"src-{i}" for i in range(count)}


@pytest.mark.timeout(120)
def test_a_thousand_tickets_within_the_budget_with_every_result_mapped(
    emulator: ZendeskEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.api_settings.max_active_jobs = 3  # the account's limit equals the task's budget: a 4th job is refused
    value = operator(emulator, tmp_path, records=tickets(1000, {5, 250, 999}), max_active_jobs=3).execute(CONTEXT)
    assert_each_sent_once(emulator, 1000)
    assert emulator.record_log.summary()["refused_calls"] == 0  # never more than 3 of its jobs at once
    assert (value["records"], value["succeeded"], value["failed"]) == (1000, 997, 3)
    assert len(value["jobs"]) == 10 and value["unmapped"] == [] and value["unreported"] == []
    assert [f["record_index"] for f in value["failures"]] == [5, 250, 999]
    assert value["failures"][1]["item_index"] == 50 and value["failures"][1]["error"] == "TicketCreateFailed"
    assert [c["record_index"] for c in value["created"]] == [i for i in range(1000) if i not in {5, 250, 999}]
    assert emulator.request_count(BULK_IMPORT, "POST") == 10
    text = capsys.readouterr().out
    assert "1,000 of 1,000 records (100%): 997 done, 3 failed; 0 jobs active, 0 chunks to go" in text
    assert "chunk 2 (records 200 to 299)" not in text  # each finished job is a DEBUG line, not one per chunk
    assert "TicketCreateFailed" in text.split("Failed records by error:")[1]


@pytest.mark.timeout(120)
def test_the_accounts_job_limit_refuses_chunks_that_are_sent_later_never_twice(
    emulator: ZendeskEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.api_settings.max_active_jobs = 4
    emulator.create_job("tickets_update", count=5, queued_seconds=0, work_seconds=30)  # another integration's jobs
    emulator.create_job("tickets_update", count=5, queued_seconds=0, work_seconds=60)
    value = operator(emulator, tmp_path, records=tickets(700), max_active_jobs=5).execute(CONTEXT)
    assert emulator.record_log.summary()["refused_calls"] >= 1
    assert_each_sent_once(emulator, 700)
    assert value["succeeded"] == 700
    assert capsys.readouterr().out.count("was refused and nothing started") >= 1


@pytest.mark.timeout(120)
def test_a_503_on_a_bulk_call_means_not_started_and_the_chunk_goes_later(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    emulator.add_fault(Fault("server_error", status=503, count=2, path_prefix=BULK_IMPORT))
    value = operator(emulator, tmp_path, records=tickets(300)).execute(CONTEXT)
    assert emulator.request_count(BULK_IMPORT, "POST") == 5
    assert_each_sent_once(emulator, 300)
    assert value["succeeded"] == 300


@pytest.mark.timeout(120)
def test_a_lost_answer_is_found_in_the_job_list_when_its_items_name_the_records(
    emulator: ZendeskEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = [{"id": 500 + i, "notes": "moved", "external_id": f"src-{i}"} for i in range(150)]
    emulator.add_fault(Fault("truncated", count=1, path_prefix="/api/v2/users/update_many"))
    value = operator(emulator, tmp_path, action="users.update_many", records=users).execute(CONTEXT)
    assert_each_sent_once(emulator, 150)  # the cut answer's job was found, not sent again
    assert value["succeeded"] == 150 and len(value["updated"]) == 150 and value["uncertain"] == []
    assert "found in the job list" in capsys.readouterr().out


@pytest.mark.timeout(120)
def test_a_lost_answer_that_no_item_can_prove_is_reported_never_resent(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    emulator.add_fault(Fault("truncated", count=1, path_prefix=BULK_IMPORT))
    with pytest.raises(
        AirflowFailException, match=r"100 records have no outcome.*records 0 to 99 \(chunk 0, uncertain\)"
    ):
        operator(emulator, tmp_path, records=tickets(250)).execute(CONTEXT)
    assert_each_sent_once(emulator, 250)
    value = operator(emulator, tmp_path, records=tickets(250), allow_unresolved=True).execute(CONTEXT)
    assert_each_sent_once(emulator, 250)  # the next try, allowed to end with them, sends nothing again
    assert value["unresolved"] == 100
    assert value["uncertain"] and value["uncertain"][0]["first_record"] == 0
    assert value["uncertain"][0]["last_record"] == 99
    assert value["succeeded"] == 150


@pytest.mark.timeout(120)
def test_the_next_try_goes_on_from_the_ledger_and_sends_nothing_twice(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    records = tickets(1000, {10})
    with pytest.raises(AirflowTaskTimeout, match="next try"):
        operator(emulator, tmp_path, records=records, max_active_jobs=2, timeout=30).execute(CONTEXT)
    first = emulator.records_received()
    assert 0 < first < 1000
    value = operator(emulator, tmp_path, records=records, max_active_jobs=2).execute(CONTEXT)
    assert_each_sent_once(emulator, 1000)
    assert (value["succeeded"], value["failed"], len(value["jobs"])) == (999, 1, 10)


@pytest.mark.timeout(60)
def test_changed_records_never_go_on_from_anothers_ledger(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    with pytest.raises(AirflowTaskTimeout):
        operator(emulator, tmp_path, records=tickets(300), max_active_jobs=1, timeout=5).execute(CONTEXT)
    with pytest.raises(AirflowFailException, match="belongs to another import"):
        operator(emulator, tmp_path, records=tickets(301)).execute(CONTEXT)


@pytest.mark.timeout(60)
def test_bad_records_fail_before_any_request(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    with pytest.raises(AirflowFailException, match=r"records\[2\]"):
        operator(emulator, tmp_path, action="tickets.destroy_many", records=[1, 2, "x"]).execute(CONTEXT)
    assert emulator.request_count() == 0


@pytest.mark.timeout(120)
def test_deferrable_waits_on_the_oldest_job_and_each_resume_fills_the_freed_places(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    op = operator(emulator, tmp_path, records=tickets(500), max_active_jobs=2, deferrable=True)
    resume: Any = None
    deferrals = 0
    while True:
        try:
            value = op.execute(CONTEXT) if resume is None else op.execute_complete(CONTEXT, **resume)
            break
        except TaskDeferred as deferred:
            deferrals += 1
            job_ids = deferred.trigger.job_ids
            assert len(job_ids) == 1
            carried = deferred.kwargs["resume"]
            oldest = min(
                (entry for entry in ledger_head(tmp_path)["open"].values() if entry["state"] == "active"),
                key=lambda entry: entry["sent_at"],
            )
            assert job_ids == [oldest["job_id"]]
            emulator.advance(emulator.finish_time(job_ids[0]) - emulator.clock.now())
            resume = {"event": {"status": "success", "job_ids": job_ids}, **deferred.kwargs}
            assert set(carried) <= {
                "token",
                "read_point",
                "progress_at",
                "progress_share",
                "not_before",
                "full_since",
                "full_logged_at",
            }
    assert deferrals >= 3
    assert_each_sent_once(emulator, 500)
    assert value["succeeded"] == 500


@pytest.mark.timeout(60)
def test_a_refusals_retry_after_holds_across_a_deferral(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    """A 429 on a bulk call while another job is active: the task defers on that job, and its resume sends
    nothing before the Retry-After is over, however early the trigger hands the task back.

    Each resume is a new operator, as in a new worker process: nothing but the deferral's kwargs carries over.
    """

    def task() -> ZendeskBulkJobOperator:
        return operator(emulator, tmp_path, records=tickets(300), max_active_jobs=2, deferrable=True)

    with pytest.raises(TaskDeferred) as first:
        task().execute(CONTEXT)
    (oldest,) = first.value.trigger.job_ids
    (other,) = {entry["job_id"] for entry in ledger_head(tmp_path)["open"].values()} - {oldest}
    emulator.set_job_status(other, "working")  # still at work through every resume below
    emulator.add_fault(Fault("rate_limit", count=1, retry_after=600, path_prefix=BULK_IMPORT))
    emulator.advance(emulator.finish_time(oldest) - emulator.clock.now())
    with pytest.raises(TaskDeferred) as second:  # chunk 2 refused with Retry-After: 600; waits on the other job
        task().execute_complete(CONTEXT, event={"status": "success", "job_ids": [oldest]}, **first.value.kwargs)
    refused_at = emulator.clock.now()
    assert second.value.trigger.job_ids == [other]
    assert second.value.kwargs["resume"]["not_before"] == pytest.approx(refused_at + 600)
    calls = emulator.request_count(BULK_IMPORT, "POST")
    emulator.advance(30)
    with pytest.raises(TaskDeferred) as third:  # handed back early (as after a triggerer restart): nothing sent
        task().execute_complete(CONTEXT, event={"status": "success", "job_ids": [other]}, **second.value.kwargs)
    assert emulator.request_count(BULK_IMPORT, "POST") == calls
    emulator.advance(refused_at + 600 - emulator.clock.now())
    with pytest.raises(TaskDeferred):  # the Retry-After is over: chunk 2 goes out
        task().execute_complete(CONTEXT, event={"status": "success", "job_ids": [other]}, **third.value.kwargs)
    assert emulator.request_count(BULK_IMPORT, "POST") == calls + 1
    assert emulator.duplicate_records("external_id") == {}


@pytest.mark.timeout(60)
def test_a_deferral_on_a_job_is_timed_on_the_tasks_clock(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    """``build_wait``'s clock is the one the deferral reads: the job's start, the try's deadline, Airflow's timeout."""
    op = operator(emulator, tmp_path, records=tickets(100), deferrable=True, timeout=600)
    began = emulator.clock.now()  # years before the real time: a reading of the real clock would show
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(CONTEXT)
    trigger = deferred.value.trigger
    assert began <= trigger.started_at <= emulator.clock.now()  # when the job's chunk was sent
    assert trigger.deadline == pytest.approx(began + 600, abs=5)
    assert deferred.value.timeout is not None and deferred.value.timeout.total_seconds() >= 600


@pytest.mark.timeout(60)
def test_a_failed_job_after_deferral_is_reported_with_its_records(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    op = operator(emulator, tmp_path, records=tickets(150), deferrable=True, max_failed_records=200)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(CONTEXT)
    first = deferred.value.trigger.job_ids[0]
    emulator.set_job_status(first, "killed")
    emulator.advance(3600)
    value = op.execute_complete(CONTEXT, event={"status": "failed", "job_ids": [first]}, **deferred.value.kwargs)
    assert value["failed"] == 100 and value["failures"][0]["error"] == "JobKilled"
    assert value["succeeded"] == 50
    with pytest.raises(AirflowTaskTimeout):
        op.execute_complete(CONTEXT, event={"status": "timeout", "message": "late"}, **deferred.value.kwargs)


@pytest.mark.timeout(60)
def test_a_file_in_a_results_file_out_and_a_small_xcom(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    source = tmp_path / "tickets.jsonl"
    source.write_text("".join(json.dumps(record) + "\n" for record in tickets(120, {3, 4, 5})))
    results = tmp_path / "out" / "results.jsonl"
    value = operator(
        emulator,
        tmp_path,
        records_path=f"file://{source}",
        results_path=str(results),
        max_failures_in_xcom=2,
    ).execute(CONTEXT)
    assert value["results_path"] == str(results) and "created" not in value
    assert value["failures_total"] == 3 and len(value["failures"]) == 2
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(lines) == 120 and sum(line["outcome"] == "failed" for line in lines) == 3


@pytest.mark.timeout(60)
def test_more_failures_than_allowed_fail_the_task_after_the_import(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    with pytest.raises(
        AirflowFailException, match="3 records failed or are unresolved, more than max_failed_records=2"
    ):
        operator(emulator, tmp_path, records=tickets(50, {1, 2, 3}), max_failed_records=2).execute(CONTEXT)
    assert emulator.records_received() == 50


def test_arguments_are_checked_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        ZendeskBulkJobOperator(task_id="t", action="tickets.import", records=[], chunk_size=101)
    with pytest.raises(ValueError, match="max_active_jobs"):
        ZendeskBulkJobOperator(task_id="t", action="tickets.import", records=[], max_active_jobs=31)
    with pytest.raises(ValueError, match="exactly one"):
        ZendeskBulkJobOperator(task_id="t", action="tickets.import")


@pytest.mark.timeout(60)
def test_a_job_zendesk_forgets_reports_its_records_as_unreported(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    op = operator(emulator, tmp_path, records=tickets(150), deferrable=True, allow_unresolved=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(CONTEXT)
    first = deferred.value.trigger.job_ids[0]
    emulator.expire_job(first)  # Zendesk no longer knows the first chunk's job
    emulator.advance(3600)
    value = op.execute_complete(CONTEXT, event=None, **deferred.value.kwargs)
    assert_each_sent_once(emulator, 150)
    assert value["succeeded"] == 50 and value["failed"] == 0
    assert value["unreported"] == list(range(100))  # none of the 150 records is missing from the result
    assert value["uncertain"] == []


@pytest.mark.timeout(60)
def test_a_bulk_call_that_could_not_connect_is_sent_again_never_left_uncertain(
    emulator: ZendeskEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another integration's job of 100 tickets in the list: a lost answer of chunk 0 could not be told from it.
    emulator.create_job("tickets_create", count=100, queued_seconds=0, work_seconds=1)
    send = requests.Session.request
    refused: list[str] = []

    def connect_fails_once(session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
        if method == "POST" and BULK_IMPORT in url and not refused:
            refused.append(url)
            raise requests.ConnectTimeout("timed out connecting")
        return send(session, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", connect_fails_once)
    value = operator(emulator, tmp_path, records=tickets(250)).execute(CONTEXT)
    assert refused  # the first bulk call never reached Zendesk
    assert_each_sent_once(emulator, 250)
    assert value["uncertain"] == [] and value["succeeded"] == 250


@pytest.mark.timeout(300)
@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferrable"])
def test_ten_thousand_records_are_read_from_the_file_a_bounded_number_of_times(
    emulator: ZendeskEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    record_parses: list[int],
    deferrable: bool,
) -> None:
    count = 10_000
    source = tmp_path / "tickets.jsonl"
    source.write_text("".join(json.dumps(record) + "\n" for record in tickets(count)))
    emulator.api_settings.max_active_jobs = 30
    parses = record_parses
    store = emulator._store
    create = store.create
    created = [0]

    def staggered(*args: Any, **kwargs: Any) -> Any:  # jobs of many lengths finish a few at a time, as on an account
        created[0] += 1
        kwargs["queued_seconds"] = float(created[0] * 7 % 40)
        return create(*args, **kwargs)

    monkeypatch.setattr(store, "create", staggered)
    op = operator(emulator, tmp_path, records_path=str(source), max_active_jobs=30, deferrable=deferrable)
    resume: Any = None
    while True:
        try:
            value = op.execute(CONTEXT) if resume is None else op.execute_complete(CONTEXT, **resume)
            break
        except TaskDeferred as deferred:
            job_ids = deferred.trigger.job_ids
            emulator.advance(emulator.finish_time(job_ids[0]) - emulator.clock.now())
            resume = {"event": {"status": "success", "job_ids": job_ids}, **deferred.kwargs}
    assert value["succeeded"] == count
    assert_each_sent_once(emulator, count)
    print(f"records parsed: {parses[0]:,} for {count:,} records")
    # once to check them all, once to send them, once to map the results: never again per round
    assert parses[0] <= 3 * count


@pytest.mark.timeout(60)
def test_reads_and_bulk_calls_share_one_hook_one_token_and_the_tasks_clock(
    zendesk_emulator_factory: Callable[..., ZendeskEmulator], tmp_path: Path
) -> None:
    emulator = zendesk_emulator_factory(
        conn_id="zendesk_default", auth="client_credentials", queued_seconds=2, seconds_per_item=0.1
    )
    emulator.add_fault(Fault("server_error", status=500, count=1, path_prefix="/api/v2/job_statuses/show_many"))
    pauses: list[float] = []

    def pause(seconds: float) -> float:
        pauses.append(seconds)
        return emulator.advance(seconds)

    op = operator(emulator, tmp_path, records=tickets(250), sleep=pause)
    value = op.execute(CONTEXT)
    assert value["succeeded"] == 250
    assert_each_sent_once(emulator, 250)
    assert emulator.tokens_issued == 1  # one OAuth token for the reads and the bulk calls
    assert any(0 < seconds < op.poll_interval for seconds in pauses)  # the read's retry waited on the task's clock
