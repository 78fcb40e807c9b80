"""Every record accounted for: the bulk import never ends green with a record nobody can name.

Each case was a way the import ended ``success`` with records never sent, lost the ids Zendesk
created, sent records twice, or stopped for one bad chunk. All run against the emulator on its
manual clock; its record log proves what Zendesk received, and how often.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowTaskTimeout, TaskDeferred

from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator
from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator
from tests.integration.test_bulk_operator import (
    BULK_IMPORT,
    CONTEXT,
    assert_each_sent_once,
    operator,
    tickets,
)


@pytest.fixture
def emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    emulator: ZendeskEmulator = zendesk_emulator_factory(
        conn_id="zendesk_default", queued_seconds=2, seconds_per_item=0.1
    )
    return emulator


class FakeTi:
    """The part of a task instance the operator uses: its try number, and XCom pushes it makes itself."""

    def __init__(self, try_number: int = 1) -> None:
        self.try_number = try_number
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def context(ti: FakeTi | None = None) -> Any:
    return {**CONTEXT, **({"ti": ti} if ti is not None else {})}


def sent_calls(emu: ZendeskEmulator) -> int:
    return emu.request_count(BULK_IMPORT, "POST")


@pytest.mark.timeout(120)
def test_a_failing_import_names_its_records_and_still_returns_its_result(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    ti = FakeTi()
    results = tmp_path / "results.jsonl"
    op = operator(emulator, tmp_path, records=tickets(150, {3, 120}), max_failed_records=1, results_path=str(results))
    with pytest.raises(AirflowFailException) as failed:
        op.execute(context(ti))
    message = str(failed.value)
    assert "2 records failed or are unresolved, more than max_failed_records=1" in message
    assert "record 3 (TicketCreateFailed" in message and "record 120 (TicketCreateFailed" in message
    assert ti.pushed["return_value"]["failed"] == 2  # the result is in XCom before the task fails
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(lines) == 150 and sum(line["outcome"] == "failed" for line in lines) == 2


@pytest.mark.timeout(120)
def test_a_lost_answer_fails_the_task_even_without_any_threshold(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    # Another client's job of 100 tickets: the lost answer of a chunk of 100 cannot be told from it.
    emulator.create_job("tickets_create", count=100, queued_seconds=0, work_seconds=1)
    emulator.add_fault(Fault("truncated", count=1, path_prefix=BULK_IMPORT))
    ti = FakeTi()
    with pytest.raises(AirflowFailException, match="100 records have no outcome anyone can name"):
        operator(emulator, tmp_path, records=tickets(250)).execute(context(ti))
    assert_each_sent_once(emulator, 250)
    value = ti.pushed["return_value"]
    assert (value["succeeded"], value["failed"], value["unresolved"]) == (150, 0, 100)
    assert value["uncertain"][0]["first_record"] == 0


@pytest.mark.timeout(120)
def test_a_call_that_started_nothing_is_sent_again_only_where_the_job_list_proves_it(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    # One chunk at a time, so chunk 1 is sent after chunk 0's job finished: that job marks the call's time.
    emulator.add_fault(Fault("server_error", status=500, count=1, path_prefix=BULK_IMPORT, method="POST"))
    value = operator(emulator, tmp_path, records=tickets(300), max_active_jobs=1).execute(CONTEXT)
    assert sent_calls(emulator) == 4  # the 500, then chunks 0, 1 and 2 once each
    assert_each_sent_once(emulator, 300)
    assert value["succeeded"] == 300 and value["unresolved"] == 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("others", [0, 100], ids=["list-reaches-back", "100-newer-jobs"])
def test_a_late_retry_never_sends_a_chunk_the_job_list_can_no_longer_speak_for(
    emulator: ZendeskEmulator, tmp_path: Path, others: int
) -> None:
    records = tickets(300)
    emulator.add_fault(Fault("server_error", status=500, count=1, path_prefix=BULK_IMPORT, method="POST"))
    # The first try sends chunk 0 (a 500: nothing started) and ends before the call's 60 s grace passed.
    with pytest.raises(AirflowTaskTimeout):
        operator(emulator, tmp_path, records=records, max_active_jobs=1, timeout=20).execute(CONTEXT)
    received = emulator.records_received()
    for _ in range(others):  # the next morning: other integrations' jobs pushed this import's out of the list
        emulator.create_job("tickets_update", count=3, queued_seconds=0, work_seconds=1)
    emulator.advance(3600)
    retry = operator(emulator, tmp_path, records=records, max_active_jobs=1)
    if others:
        with pytest.raises(AirflowFailException, match="records 0 to 99 \\(chunk 0, uncertain\\)"):
            retry.execute(context(FakeTi(2)))
        assert emulator.records_received() == received + 200  # chunk 0 is never sent again
    else:
        assert retry.execute(context(FakeTi(2)))["succeeded"] == 300
    assert emulator.duplicate_records("external_id") == {}


@pytest.mark.timeout(120)
def test_results_are_kept_as_each_job_ends_so_a_later_try_loses_nothing_zendesk_forgot(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    records = tickets(300, {7})
    with pytest.raises(AirflowTaskTimeout):
        operator(emulator, tmp_path, records=records, max_active_jobs=1, timeout=20).execute(CONTEXT)
    first_jobs = list(emulator.record_log.per_job())
    assert 100 <= emulator.records_received() < 300
    for job_id in first_jobs:
        emulator.expire_job(job_id)  # the next day: Zendesk forgot every job of the first try
    emulator.advance(2 * 86_400)
    with pytest.raises(AirflowFailException) as failed:
        operator(emulator, tmp_path, records=records, max_active_jobs=1, fail_on_item_errors=True).execute(
            context(FakeTi(2))
        )
    assert "record 7 (TicketCreateFailed" in str(failed.value)  # read back from the ledger, not from Zendesk
    assert_each_sent_once(emulator, 300)


@pytest.mark.timeout(120)
def test_a_refused_chunk_fails_its_records_the_import_goes_on_and_a_corrected_one_goes_alone(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    emulator.add_fault(Fault("server_error", status=422, count=1, path_prefix=BULK_IMPORT, method="POST"))
    records = tickets(300)
    value = operator(emulator, tmp_path, records=records, max_active_jobs=1).execute(CONTEXT)
    assert (value["succeeded"], value["failed"]) == (200, 100)
    assert {failure["error"] for failure in value["failures"]} == {"HTTP 422"}
    assert [failure["record_index"] for failure in value["failures"]] == list(range(100))
    assert emulator.records_received() == 200
    calls = sent_calls(emulator)
    corrected = [
        {**record, "subject": record["subject"] + " (fixed)"} if i < 100 else record for i, record in enumerate(records)
    ]
    again = operator(emulator, tmp_path, records=corrected, max_active_jobs=1).execute(context(FakeTi(2)))
    assert sent_calls(emulator) == calls + 1  # the corrected chunk alone
    assert (again["succeeded"], again["failed"]) == (300, 0)
    assert_each_sent_once(emulator, 300)


@pytest.mark.timeout(60)
def test_an_empty_input_is_a_normal_day(
    emulator: ZendeskEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "none.jsonl"
    source.write_text("\n")
    value = operator(emulator, tmp_path, records_path=str(source)).execute(CONTEXT)
    assert (value["records"], value["succeeded"], value["failed"], value["jobs"]) == (0, 0, 0, [])
    assert emulator.request_count() == 0
    assert capsys.readouterr().out.count("holds no records; nothing to send") == 1


@pytest.mark.timeout(60)
def test_values_json_cannot_carry_are_refused_before_any_request(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    source = tmp_path / "t.jsonl"
    source.write_text('{"subject": "a"}\n{"subject": "b", "priority": NaN}\n')
    with pytest.raises(AirflowFailException, match=f"line 2 of {source} holds NaN"):
        operator(emulator, tmp_path, records_path=str(source)).execute(CONTEXT)
    assert emulator.request_count() == 0


@pytest.mark.timeout(60)
def test_a_records_file_changed_during_a_deferral_fails_naming_it(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    source = tmp_path / "t.jsonl"
    source.write_text("".join(json.dumps(record) + "\n" for record in tickets(250)))
    op = operator(emulator, tmp_path, records_path=str(source), deferrable=True, max_active_jobs=1)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(CONTEXT)
    source.write_text("".join(json.dumps(record) + "\n" for record in tickets(120)))  # replaced, and shorter
    emulator.advance(3600)
    with pytest.raises(AirflowFailException, match=f"{source} changed while the task was deferred"):
        op.execute_complete(CONTEXT, event=None, **deferred.value.kwargs)
    assert emulator.records_received() == 100


@pytest.mark.timeout(60)
def test_record_contents_are_never_rendered_as_templates(tmp_path: Path) -> None:
    from airflow.sdk import DAG

    body = "Ticket {{ticket.id}} for {{ ds }}: {% raw %}"
    with DAG("t", schedule=None):
        op = ZendeskBulkJobOperator(
            task_id="t", action="tickets.import", records=[{"subject": "s", "comment": {"body": body}}]
        )
        whole = ZendeskBulkJobOperator(task_id="w", action="tickets.import", records='[{"subject": "{{ ds }}"}]')
    op.render_template_fields({"ds": "2026-12-07"})  # type: ignore[arg-type]
    whole.render_template_fields({"ds": "2026-12-07"})  # type: ignore[arg-type]
    assert op.records == [{"subject": "s", "comment": {"body": body}}]
    assert json.loads(whole.records) == [{"subject": "2026-12-07"}]  # a whole template string is the author's choice


@pytest.mark.timeout(120)
def test_at_the_job_limit_with_nothing_of_its_own_active_a_deferrable_import_frees_its_slot(
    emulator: ZendeskEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.api_settings.max_active_jobs = 2
    for _ in range(2):  # other integrations fill the account
        emulator.create_job("tickets_update", count=5, queued_seconds=0, work_seconds=600)
    op = operator(emulator, tmp_path, records=tickets(100), deferrable=True)
    waits = 0
    kwargs: Any = None
    while True:
        try:
            value = op.execute(CONTEXT) if kwargs is None else op.execute_after_pause(CONTEXT, event=None, **kwargs)
            break
        except TaskDeferred as deferred:
            if type(deferred.trigger).__name__ != "DateTimeTrigger":
                emulator.advance(emulator.finish_time(deferred.trigger.job_ids[0]) - emulator.clock.now())
                value = op.execute_complete(CONTEXT, event=None, **deferred.kwargs)
                break
            waits += 1
            kwargs = deferred.kwargs
            emulator.advance(deferred.trigger.moment.timestamp() - emulator.clock.now())
    assert waits >= 10 and value["succeeded"] == 100  # it waited out the other jobs without a worker slot
    lines = capsys.readouterr().out.count("The Zendesk account is at its job limit")
    assert 1 <= lines <= waits * op.poll_interval / 60 + 1  # one line a minute at most


@pytest.mark.timeout(120)
def test_a_thousand_records_write_a_few_lines_not_one_per_chunk(
    emulator: ZendeskEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    operator(emulator, tmp_path, records=tickets(1000), max_active_jobs=3, poll_interval=5).execute(CONTEXT)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "bulk_jobs" in line or "hooks.base" in line]
    assert out.count(" of 1,000 records (") <= 10 + 1 + 1  # a tenth each, or a minute; the first; the last
    assert len(lines) < 20, lines


@pytest.mark.timeout(60)
def test_a_records_file_edited_while_a_worker_runs_the_import_fails_naming_the_chunk(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    source = tmp_path / "t.jsonl"
    records = tickets(300)
    source.write_text("".join(json.dumps(record) + "\n" for record in records))
    advance = emulator.advance

    def edit_after_the_first_round(seconds: float) -> float:
        edited = [*records[:250], {**records[250], "external_id": "edited-250"}, *records[251:]]
        source.write_text("".join(json.dumps(record) + "\n" for record in edited))
        return advance(seconds)

    op = operator(emulator, tmp_path, records_path=str(source), max_active_jobs=1, sleep=edit_after_the_first_round)
    with pytest.raises(AirflowFailException, match=r"chunk 2 \(records 200 to 299\) no longer holds the records"):
        op.execute(CONTEXT)
    assert emulator.records_received() == 200 and "edited-250" not in emulator.record_log.counts("external_id")
