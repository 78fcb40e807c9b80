"""The pure parts of a bulk import, each on its own: the catalogue, records, the ledger, results, settling, lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.api.bulk_actions import BULK_ACTIONS, resolve_action
from airflow_provider_zendesk_jobs.api.request_builders import submit_request
from airflow_provider_zendesk_jobs.api.responses import TransportFailure, interpret_transport_error
from airflow_provider_zendesk_jobs.bulk.ledger import ACTIVE, DONE, SENDING, UNCERTAIN, Ledger, LedgerStore, ledger_key
from airflow_provider_zendesk_jobs.bulk.progress import error_table, job_line, running_total
from airflow_provider_zendesk_jobs.bulk.reconcile import Verdict, find_started_job
from airflow_provider_zendesk_jobs.bulk.records import ChunkReader, ReadPoint, RecordSource
from airflow_provider_zendesk_jobs.bulk.results import ImportResults, job_counts, map_chunk
from airflow_provider_zendesk_jobs.bulk.submission import Submission, classify_failure
from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskAuthError,
    ZendeskInvalidInputError,
    ZendeskJobLimitError,
    ZendeskJobsError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)
from airflow_provider_zendesk_jobs.jobs import JobStatus

IMPORT = BULK_ACTIONS["tickets.import"]
DESTROY = BULK_ACTIONS["tickets.destroy_many"]


def job(status: str = "completed", results: Any = None, total: int | None = None, job_id: str = "V3-a") -> JobStatus:
    return JobStatus.from_api(
        {
            "id": job_id,
            "status": status,
            "total": total,
            "progress": None,
            "message": f"{status} message",
            "results": results,
        }
    )


# -- the catalogue ---------------------------------------------------------------------------------
def test_each_action_builds_its_request_body_or_ids() -> None:
    assert IMPORT.request([{"subject": "a"}]) == (
        "POST",
        "/api/v2/imports/tickets/create_many",
        {"tickets": [{"subject": "a"}]},
    )
    assert DESTROY.request([1, 2]) == ("DELETE", "/api/v2/tickets/destroy_many?ids=1,2", None)
    assert BULK_ACTIONS["users.update_many"].request([{"id": 3}])[0:2] == ("PUT", "/api/v2/users/update_many")
    assert len(BULK_ACTIONS) == 12
    assert {action.result_key for action in BULK_ACTIONS.values()} == {"created", "updated", "deleted"}


def test_an_unknown_action_or_both_forms_are_refused_before_anything() -> None:
    with pytest.raises(ZendeskInvalidInputError, match=r"tickets\.import"):
        resolve_action("tickets.imports")
    with pytest.raises(ZendeskInvalidInputError, match="not both"):
        resolve_action("tickets.import", method="POST")
    custom = resolve_action(None, "post", "/api/v2/macros/destroy_many", None)
    assert custom.records_are_ids and custom.method == "POST"
    with pytest.raises(ZendeskInvalidInputError, match="/api/v2/"):
        resolve_action(None, "POST", "https://elsewhere/api", "x")


# -- records ---------------------------------------------------------------------------------------
def test_a_list_is_checked_whole_and_a_bad_record_named_by_its_index() -> None:
    with pytest.raises(ZendeskInvalidInputError, match=r"records\[2\] is \"x\", not an object"):
        RecordSource(IMPORT, records=[{}, {}, "x"]).scan()
    with pytest.raises(ZendeskInvalidInputError, match=r"records\[1\] is true, not an id"):
        RecordSource(DESTROY, records=[5, True]).scan()
    source = RecordSource(DESTROY, records=[5, "6", {"id": 7}])
    assert source.scan()[0] == 3
    assert list(source.chunks(2)) == [(0, [5, 6]), (1, [7])]
    assert list(source.chunks(2, wanted={1})) == [(1, [7])]


def test_a_json_lines_file_is_streamed_and_a_bad_line_named(tmp_path: Path) -> None:
    path = tmp_path / "tickets.jsonl"
    path.write_text('{"subject": "a"}\n\n{"subject": "b"}\n[1]\n')
    with pytest.raises(ZendeskInvalidInputError, match=r"line 4 of .*tickets.jsonl is \[1\], not an object"):
        RecordSource(IMPORT, path=str(path)).scan()
    path.write_text('{"subject": "a"}\n{"subject": \n')
    with pytest.raises(ZendeskInvalidInputError, match=r"line 2 of .* is not JSON"):
        RecordSource(IMPORT, path=f"file://{path}").scan()


def test_a_csv_file_gives_objects_with_nested_columns_and_no_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("subject,comment.body,external_id,priority\nHello,Body 1,x-1,\nBye,Body 2,x-2,high\n")
    source = RecordSource(IMPORT, path=str(path))
    count, fingerprint = source.scan()
    assert count == 2
    assert list(source.chunks(100)) == [
        (
            0,
            [
                {"subject": "Hello", "comment": {"body": "Body 1"}, "external_id": "x-1"},
                {"subject": "Bye", "comment": {"body": "Body 2"}, "external_id": "x-2", "priority": "high"},
            ],
        )
    ]
    path.write_text("subject\nOther\n")
    assert RecordSource(IMPORT, path=str(path)).scan()[1] != fingerprint


@pytest.mark.parametrize("header", ["subject,comment,comment.body", "subject,comment.body,comment"])
def test_a_csv_row_with_a_value_and_a_field_nested_in_it_is_refused_naming_both_columns(
    tmp_path: Path, header: str
) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text(f"{header}\nHello,,body only\nBye,hello,world\n")
    with pytest.raises(ZendeskInvalidInputError) as info:
        RecordSource(IMPORT, path=str(path)).scan()
    message = str(info.value)
    assert message.startswith(f"line 3 of {path} has a value in both column 'comment' and column 'comment.body'")
    assert "Leave one of the two cells empty, or rename one of the columns" in message


def test_a_missing_file_and_an_empty_list_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ZendeskInvalidInputError, match="does not exist"):
        RecordSource(IMPORT, path=str(tmp_path / "none.jsonl")).scan()
    with pytest.raises(ZendeskInvalidInputError, match="no records"):
        RecordSource(IMPORT, records=[]).scan()


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_the_chunk_reader_reads_the_file_once_and_keeps_what_may_still_be_sent(
    tmp_path: Path, record_parses: list[int], suffix: str
) -> None:
    path = tmp_path / f"tickets.{suffix}"
    expected = [{"subject": f"T{i}", "comment": {"body": f"Body {i}"}} for i in range(10)]
    if suffix == "csv":
        path.write_text("subject,comment.body\n" + "".join(f"T{i},Body {i}\n" for i in range(10)))
    else:
        path.write_text("".join(json.dumps(record) + "\n" for record in expected))
    source = RecordSource(IMPORT, path=str(path))
    parses = record_parses
    reader = ChunkReader(source, 3)
    refused = {1}  # chunk 1 went back to the queue: its records are kept, not read again
    keep = refused.__contains__
    assert list(reader.chunks([0, 1], keep)) == [(0, expected[0:3]), (1, expected[3:6])]
    assert list(reader.chunks([1, 2], keep)) == [(1, expected[3:6]), (2, expected[6:9])]
    assert parses[0] == 9  # each record once, though chunk 1 was asked for twice
    point = reader.point()
    assert point is not None and point.record == 9
    reader.close()
    # after a deferral: on from the point, and a chunk behind it read again from the first record
    resumed = ChunkReader(source, 3, ReadPoint.from_dict(point.to_dict()))
    parses[0] = 0
    assert list(resumed.chunks([3], keep)) == [(3, expected[9:])]
    assert parses[0] == 1
    assert list(resumed.chunks([0], keep)) == [(0, expected[0:3])]
    resumed.close()
    if suffix == "jsonl":  # a bad record after the point is still named by its line
        with path.open("a") as out:
            out.write("[1]\n")
        with pytest.raises(ZendeskInvalidInputError, match=r"line 11 of "):
            list(ChunkReader(source, 3, point).chunks([3, 4], keep))


def test_a_read_point_that_cannot_be_used_reads_from_the_first_record() -> None:
    source = RecordSource(DESTROY, records=[1, 2, 3, 4, 5])
    assert ReadPoint.from_dict({"record": "x"}) is None and ReadPoint.from_dict(None) is None
    reader = ChunkReader(source, 2, ReadPoint(3))  # not a chunk's first record
    assert list(reader.chunks([2], lambda number: False)) == [(2, [5])]
    assert list(ChunkReader(source, 2, ReadPoint(4)).chunks([2], lambda number: False)) == [(2, [5])]


# -- the ledger ------------------------------------------------------------------------------------
def test_the_ledger_moves_chunks_and_survives_json_and_a_store(tmp_path: Path) -> None:
    ledger = Ledger(ledger_key("dag", "manual__2026-01-01T00:00:00+00:00", "task"), "tickets.import", "f", 250, 100)
    assert ledger.total_chunks == 3 and ledger.chunk_length(2) == 50
    ledger.begin(0, 1.0)
    ledger.accepted(0, "V3-a")
    ledger.begin(1, 2.0)
    ledger.begin(2, 3.0)
    ledger.refused(2)
    assert ledger.pending() == [2] and ledger.active() == [0] and ledger.in_state(SENDING) == [1]
    store = LedgerStore(str(tmp_path))
    store.save(ledger)
    again = store.load(ledger.key)
    assert again is not None and again.to_dict() == ledger.to_dict() and again.matches(ledger)
    again.after_restart()
    assert again.in_state(UNCERTAIN) == [1] and again.chunks[0].state == ACTIVE
    again.done(0, "completed", 99, 1)
    assert again.counts() == (100, 99, 1) and again.chunks[0].state == DONE
    assert ":" not in ledger.key and list(tmp_path.rglob("*.tmp")) == []


def test_an_unreadable_ledger_is_never_taken_for_no_ledger(tmp_path: Path) -> None:
    store = LedgerStore(str(tmp_path))
    (tmp_path / "k.json").write_text("{cut")
    with pytest.raises(ZendeskInvalidInputError, match="cannot be read"):
        store.load("k")
    assert store.load("other") is None


# -- results mapped back ---------------------------------------------------------------------------
def test_ticket_items_map_by_index_from_the_chunks_first_record() -> None:
    records = [{"subject": "a"}, {"subject": "b"}, {"subject": "c"}]
    done = job(
        results=[
            {"index": 0, "id": 10},
            {"index": 1, "error": "TicketCreateFailed", "details": "bad"},
            {"index": 9, "id": 99},
        ]
    )
    mapped = map_chunk(IMPORT, 300, records, done)
    assert mapped.succeeded == [{"record_index": 300, "id": 10}]
    assert mapped.failures == [
        {
            "record_index": 301,
            "job_id": "V3-a",
            "item_index": 1,
            "id": None,
            "error": "TicketCreateFailed",
            "details": "bad",
        }
    ]
    assert [item["item_index"] for item in mapped.unmapped] == [2]
    assert mapped.unreported == [302]


def test_user_items_map_by_email_or_external_id_and_ambiguity_is_unmapped() -> None:
    action = BULK_ACTIONS["users.create_many"]
    records = [{"email": "A@x.org"}, {"external_id": "e-2"}, {"email": "same@x.org"}, {"email": "same@x.org"}]
    done = job(
        results=[
            {"id": 1, "status": "Created", "email": "a@x.org"},
            {"id": 2, "status": "Created", "external_id": "e-2"},
            {"id": 3, "status": "Created", "email": "same@x.org"},
        ]
    )
    mapped = map_chunk(action, 0, records, done)
    assert mapped.succeeded == [{"record_index": 0, "id": 1}, {"record_index": 1, "id": 2}]
    assert len(mapped.unmapped) == 1 and mapped.unreported == [2, 3]


def test_updates_map_by_id_and_a_dead_job_fails_its_records_with_its_message() -> None:
    action = BULK_ACTIONS["tickets.update_many"]
    mapped = map_chunk(
        action,
        0,
        [{"id": 7}, {"id": 8}],
        job(results=[{"action": "update", "id": 8, "status": "Updated", "success": True}]),
    )
    assert mapped.succeeded == [{"record_index": 1, "id": 8}] and mapped.unreported == [0]
    killed = map_chunk(action, 100, [{"id": 7}], job(status="killed"))
    assert killed.failures[0]["error"] == "JobKilled" and killed.failures[0]["details"] == "killed message"
    assert job_counts(job(status="failed"), 40) == (0, 40)


def test_a_permanent_deletion_answers_for_the_whole_call() -> None:
    action = BULK_ACTIONS["deleted_tickets.destroy_many"]
    ok = map_chunk(action, 0, [5, 6], job(results={"success": True}))
    assert ok.succeeded == [{"record_index": 0, "id": 5}, {"record_index": 1, "id": 6}]
    bad = map_chunk(action, 0, [5], job(results={"success": False}))
    assert bad.failures[0]["error"] == "DeletionFailed" and bad.failures[0]["id"] == 5


def test_the_xcom_value_keeps_counts_and_caps_failures_with_a_results_path() -> None:
    results = ImportResults(IMPORT, 3, ["V3-a"])
    results.add(
        map_chunk(
            IMPORT,
            0,
            [{}, {}, {}],
            job(results=[{"index": 0, "id": 1}, {"index": 1, "error": "E1"}, {"index": 2, "error": "E1"}]),
        )
    )
    full = results.xcom()
    assert (full["succeeded"], full["failed"], full["created"]) == (1, 2, [{"record_index": 0, "id": 1}])
    small = results.xcom(cap=1, path="s3://b/r.jsonl")
    assert "created" not in small and len(small["failures"]) == 1 and small["failures_total"] == 2
    assert results.errors_by_code() == {"E1": 2}
    assert [line["outcome"] for line in results.lines()] == ["created", "failed", "failed"]
    json.dumps(full)


# -- settling an uncertain chunk -------------------------------------------------------------------
def test_a_lost_answer_is_settled_only_by_items_that_name_the_chunks_records() -> None:
    action = BULK_ACTIONS["users.update_many"]
    records = [{"id": 1}, {"id": 2}]
    ours = job(results=[{"id": 1, "status": "Updated"}, {"id": 2, "status": "Updated"}], total=2, job_id="V3-b")
    other = job(results=[{"id": 8, "status": "Updated"}, {"id": 9, "status": "Updated"}], total=2, job_id="V3-c")
    assert find_started_job(action, records, [other, ours], {"V3-a"}, settled=True) == (Verdict.FOUND, ours)
    assert find_started_job(action, records, [ours], {"V3-b"}, settled=True) == (Verdict.NOT_STARTED, None)
    assert find_started_job(action, records, [], set(), settled=False) == (Verdict.WAIT, None)
    running = job(status="working", total=2, job_id="V3-d")
    assert find_started_job(action, records, [running], set(), settled=True) == (Verdict.WAIT, None)
    assert find_started_job(action, records, [other], set(), settled=True) == (Verdict.UNPROVABLE, None)
    created = job(results=[{"index": 0, "id": 5}, {"index": 1, "id": 6}], total=2)
    assert find_started_job(IMPORT, [{}, {}], [created], set(), settled=True) == (Verdict.UNPROVABLE, None)


def test_what_a_failed_call_means_for_its_chunk() -> None:
    assert classify_failure(ZendeskJobLimitError("limit")) is Submission.NOT_STARTED
    assert classify_failure(ZendeskUnavailableError("x", status_code=503)) is Submission.NOT_STARTED
    assert classify_failure(ZendeskUnavailableError("x", status_code=500)) is Submission.UNKNOWN
    assert classify_failure(ZendeskUnavailableError("timed out after sending")) is Submission.UNKNOWN
    assert classify_failure(ZendeskResponseError("not json", status_code=200)) is Submission.UNKNOWN
    assert classify_failure(ZendeskResponseError("bad request", status_code=400)) is Submission.REFUSED
    assert classify_failure(ZendeskAuthError("no", status_code=401)) is Submission.REFUSED


def _bulk_call_failed(failure: TransportFailure) -> ZendeskJobsError:
    """The error a bulk call (one attempt, as the operator sends them) ends with after ``failure``."""
    request = submit_request("https://acme.zendesk.com", *IMPORT.request([{"subject": "a"}]))
    try:
        outcome = interpret_transport_error(request, failure, detail="SomeError")
    except ZendeskJobsError as raised:
        return raised
    return outcome.error


@pytest.mark.parametrize("failure", [TransportFailure.CONNECT, TransportFailure.CONNECT_TIMEOUT])
def test_a_bulk_call_that_never_reached_zendesk_started_nothing(failure: TransportFailure) -> None:
    error = _bulk_call_failed(failure)
    assert isinstance(error, ZendeskUnavailableError) and error.never_sent
    assert classify_failure(error) is Submission.NOT_STARTED


@pytest.mark.parametrize("failure", [TransportFailure.READ_TIMEOUT, TransportFailure.CLOSED, TransportFailure.OTHER])
def test_a_bulk_call_whose_answer_was_lost_after_sending_may_have_started_a_job(failure: TransportFailure) -> None:
    error = _bulk_call_failed(failure)
    assert isinstance(error, ZendeskUnavailableError) and not error.never_sent
    assert classify_failure(error) is Submission.UNKNOWN


# -- lines for people ------------------------------------------------------------------------------
def test_progress_lines_and_the_error_table() -> None:
    assert job_line("V3-a", "completed", 12, 1200, 100, 99, 1) == (
        "V3-a: completed, chunk 12 (records 1,200 to 1,299): 99 done, 1 failed"
    )
    assert running_total(1800, 5000, 1795, 5, 10, 32) == (
        "1,800 of 5,000 records: 1,795 done, 5 failed; 10 jobs active, 32 chunks to go"
    )
    assert error_table({}) == ""
    assert error_table({"TicketCreateFailed": 1200, "E": 3}).splitlines()[2:] == [
        "TicketCreateFailed    1,200",
        "E                         3",
    ]
