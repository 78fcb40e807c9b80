"""The pure parts of a bulk import, each on its own: the catalogue, records, the ledger, results, settling, lines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.api.bulk_actions import BULK_ACTIONS, check_call_arguments, resolve_action
from airflow_provider_zendesk_jobs.api.request_builders import submit_request
from airflow_provider_zendesk_jobs.api.responses import TransportFailure, interpret_transport_error
from airflow_provider_zendesk_jobs.bulk.chunk_reader import ChunkReader
from airflow_provider_zendesk_jobs.bulk.ledger import ImportTakenOverError, Ledger
from airflow_provider_zendesk_jobs.bulk.ledger_entries import ChunkState, Outcome, Owner
from airflow_provider_zendesk_jobs.bulk.ledger_store import (
    FileLedgerStore,
    LedgerStoreError,
    TaskStateLedgerStore,
    ledger_key,
)
from airflow_provider_zendesk_jobs.bulk.reconcile import Submission, Verdict, classify_failure, find_started_job
from airflow_provider_zendesk_jobs.bulk.records import ReadPoint, RecordSource, chunk_fingerprint
from airflow_provider_zendesk_jobs.bulk.results import ChunkResults, map_chunk, refused_chunk, unresolved_chunk
from airflow_provider_zendesk_jobs.bulk.summary import (
    ImportSummary,
    ProgressPace,
    error_table,
    result_lines,
    running_total,
)
from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskAuthError,
    ZendeskInvalidInputError,
    ZendeskJobLimitError,
    ZendeskJobsError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator

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
    assert len(BULK_ACTIONS) == 30
    assert {action.result_key for action in BULK_ACTIONS.values()} == {"created", "updated", "deleted"}
    assert all(
        action.source.startswith("https://developer.zendesk.com/api-reference/") for action in BULK_ACTIONS.values()
    )


@pytest.mark.parametrize(
    ("name", "records", "arguments", "expected"),
    [
        (
            "tickets.update_many_by_ids",
            [1, 2],
            {"change": {"additional_tags": ["imported"]}},
            ("PUT", "/api/v2/tickets/update_many?ids=1,2", {"ticket": {"additional_tags": ["imported"]}}),
        ),
        ("tickets.mark_many_as_spam", [3], {}, ("PUT", "/api/v2/tickets/mark_many_as_spam?ids=3", None)),
        (
            "users.update_many_by_external_ids",
            ["a-1", "b 2"],
            {"change": {"notes": "x"}},
            ("PUT", "/api/v2/users/update_many?external_ids=a-1,b+2", {"user": {"notes": "x"}}),
        ),
        (
            "organizations.destroy_many_by_external_ids",
            ["o-1"],
            {},
            ("DELETE", "/api/v2/organizations/destroy_many?external_ids=o-1", None),
        ),
        (
            "group_memberships.create_many",
            [{"user_id": 1, "group_id": 2}],
            {},
            ("POST", "/api/v2/group_memberships/create_many", {"group_memberships": [{"user_id": 1, "group_id": 2}]}),
        ),
        (
            "custom_object_records.delete_by_external_id",
            ["e-1"],
            {"custom_object_key": "apartment"},
            (
                "POST",
                "/api/v2/custom_objects/apartment/jobs",
                {"job": {"action": "delete_by_external_id", "items": ["e-1"]}},
            ),
        ),
        (
            "tickets.import",
            [{"subject": "a"}],
            {"params": {"archive_immediately": True}},
            ("POST", "/api/v2/imports/tickets/create_many?archive_immediately=true", {"tickets": [{"subject": "a"}]}),
        ),
    ],
)
def test_each_new_call_sends_what_zendesk_documents(
    name: str, records: list[Any], arguments: dict[str, Any], expected: tuple[str, str, Any]
) -> None:
    action = BULK_ACTIONS[name]
    check_call_arguments(action, **arguments)
    assert action.request(records, **arguments) == expected


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("tickets.update_many_by_ids", {}, "give change= as a non-empty dict"),
        ("tickets.update_many_by_ids", {"change": {}}, "give change= as a non-empty dict"),
        ("tickets.import", {"change": {"status": "open"}}, "takes no change="),
        ("custom_object_records.create", {}, "needs custom_object_key="),
        ("custom_object_records.create", {"custom_object_key": "../tickets"}, "needs custom_object_key="),
        ("tickets.import", {"custom_object_key": "apartment"}, "not a custom object call"),
        ("tickets.import", {"params": {"ids": "1"}}, "ids and external_ids are the records' own"),
        ("tickets.import", {"params": {"archive_immediately": 1.5}}, "a value is a string"),
        ("tickets.import", {"params": ["archive_immediately"]}, "must be a dict"),
    ],
)
def test_what_a_call_needs_beside_its_records_is_checked_before_anything(
    name: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ZendeskInvalidInputError, match=re.escape(message)):
        check_call_arguments(BULK_ACTIONS[name], **arguments)


def test_records_by_external_id_are_text_without_commas_and_custom_record_ids_a_safe_alphabet() -> None:
    by_external = BULK_ACTIONS["users.destroy_many_by_external_ids"]
    assert RecordSource(by_external, records=["a", {"external_id": "b"}, 7]).scan(100)[0] == 3
    with pytest.raises(ZendeskInvalidInputError, match=r"records\[1\] is \"a,b\", not an external id"):
        RecordSource(by_external, records=["x", "a,b"]).scan(100)
    delete = BULK_ACTIONS["custom_object_records.delete"]
    with pytest.raises(ZendeskInvalidInputError, match="not a custom object record id"):
        RecordSource(delete, records=["01GDXYD7ZTWYP542BA8MDDTE36", "a/b"]).scan(100)


def test_items_that_name_no_record_settle_a_chunk_only_when_every_record_is_accounted_for() -> None:
    action = BULK_ACTIONS["users.destroy_many_by_external_ids"]
    deleted = [{"action": "delete", "id": 10 + n, "status": "Deleted", "success": True} for n in range(2)]
    done = map_chunk(action, 0, ["a", "b"], job(results=deleted))
    assert done.done == {
        "deleted": [
            {"record_index": 0, "id": None, "external_id": "a"},
            {"record_index": 1, "id": None, "external_id": "b"},
        ]
    }
    one_failed = [deleted[0], {"action": "delete", "id": 11, "success": False, "error": "UserDeleteFailed"}]
    unsure = map_chunk(action, 0, ["a", "b"], job(results=one_failed))
    assert unsure.done == {} and unsure.unreported == [0, 1] and len(unsure.unmapped) == 2  # never guessed
    placed = [deleted[0], {"index": 1, "action": "delete", "id": 11, "success": False, "error": "UserDeleteFailed"}]
    known = map_chunk(action, 0, ["a", "b"], job(results=placed))  # the failure names its place: the rest is "a"
    assert [f["record_index"] for f in known.failures] == [1] and known.unmapped == []
    assert known.done == {"deleted": [{"record_index": 0, "id": None, "external_id": "a"}]}


def test_a_create_or_update_failure_that_carries_its_place_in_id_is_placed_only_where_the_shape_proves_it() -> None:
    action = BULK_ACTIONS["users.create_or_update_many"]
    records = [{"email": "a@x.org"}, {"email": "b@x.org"}, {"email": "c@x.org"}]
    results = [
        {"id": 900001, "status": "Created", "email": "a@x.org"},
        {"id": 1, "error": "UserUpdateError", "details": "Email is invalid", "status": "Failed"},
        {"id": 360000001234, "error": "UserUpdateError", "status": "Failed"},  # an id, not a place
    ]
    mapped = map_chunk(action, 100, records, job(results=results))
    assert [f["record_index"] for f in mapped.failures] == [101]
    assert len(mapped.unmapped) == 1 and mapped.unreported == [102]


def test_an_unknown_action_or_both_forms_are_refused_before_anything() -> None:
    with pytest.raises(ZendeskInvalidInputError, match=r"tickets\.import"):
        resolve_action("tickets.imports")
    with pytest.raises(ZendeskInvalidInputError, match="not both"):
        resolve_action("tickets.import", method="POST")
    custom = resolve_action(None, "post", "/api/v2/macros/destroy_many", None)
    assert custom.records_are_ids and custom.method == "POST"
    with pytest.raises(ZendeskInvalidInputError, match="takes no change="):
        ZendeskBulkJobOperator(task_id="t", action="tickets.import", records=[], change={"status": "open"})
    with pytest.raises(ZendeskInvalidInputError, match="/api/v2/"):
        resolve_action(None, "POST", "https://elsewhere/api", "x")


# -- records ---------------------------------------------------------------------------------------
def test_a_list_is_checked_whole_and_a_bad_record_named_by_its_index() -> None:
    with pytest.raises(ZendeskInvalidInputError, match=r"records\[2\] is \"x\", not an object"):
        RecordSource(IMPORT, records=[{}, {}, "x"]).scan(100)
    with pytest.raises(ZendeskInvalidInputError, match=r"records\[1\] is true, not an id"):
        RecordSource(DESTROY, records=[5, True]).scan(100)
    source = RecordSource(DESTROY, records=[5, "6", {"id": 7}])
    assert source.scan(100)[0] == 3
    assert [(n, r) for n, r, _ in source.chunks(2)] == [(0, [5, 6]), (1, [7])]
    assert [(n, r, b) for n, r, b in source.chunks(2, wanted={1})] == [(1, [7], ReadPoint(2))]


def test_a_json_lines_file_is_streamed_and_a_bad_line_named(tmp_path: Path) -> None:
    path = tmp_path / "tickets.jsonl"
    path.write_text('{"subject": "a"}\n\n{"subject": "b"}\n[1]\n')
    with pytest.raises(ZendeskInvalidInputError, match=r"line 4 of .*tickets.jsonl is \[1\], not an object"):
        RecordSource(IMPORT, path=str(path)).scan(100)
    path.write_text('{"subject": "a"}\n{"subject": \n')
    with pytest.raises(ZendeskInvalidInputError, match=r"line 2 of .* is not JSON"):
        RecordSource(IMPORT, path=f"file://{path}").scan(100)


def test_a_csv_file_gives_objects_with_nested_columns_and_no_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("subject,comment.body,external_id,priority\nHello,Body 1,x-1,\nBye,Body 2,x-2,high\n")
    source = RecordSource(IMPORT, path=str(path))
    count, fingerprint = source.scan(100)
    assert count == 2
    assert [(n, r) for n, r, _ in source.chunks(100)] == [
        (
            0,
            [
                {"subject": "Hello", "comment": {"body": "Body 1"}, "external_id": "x-1"},
                {"subject": "Bye", "comment": {"body": "Body 2"}, "external_id": "x-2", "priority": "high"},
            ],
        )
    ]
    path.write_text("subject\nOther\n")
    assert RecordSource(IMPORT, path=str(path)).scan(100)[1] != fingerprint


@pytest.mark.parametrize("header", ["subject,comment,comment.body", "subject,comment.body,comment"])
def test_a_csv_row_with_a_value_and_a_field_nested_in_it_is_refused_naming_both_columns(
    tmp_path: Path, header: str
) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text(f"{header}\nHello,,body only\nBye,hello,world\n")
    with pytest.raises(ZendeskInvalidInputError) as info:
        RecordSource(IMPORT, path=str(path)).scan(100)
    message = str(info.value)
    assert message.startswith(f"line 3 of {path} has a value in both column 'comment' and column 'comment.body'")
    assert "Leave one of the two cells empty, or rename one of the columns" in message


def test_a_missing_file_is_a_clear_error_and_an_empty_list_holds_no_chunk(tmp_path: Path) -> None:
    with pytest.raises(ZendeskInvalidInputError, match="does not exist"):
        RecordSource(IMPORT, path=str(tmp_path / "none.jsonl")).scan(100)
    assert RecordSource(IMPORT, records=[]).scan(100) == (0, [])


def test_the_scan_fingerprints_each_chunk_as_it_is_sent_and_refuses_what_json_cannot_carry(tmp_path: Path) -> None:
    records = [{"subject": f"T{i}"} for i in range(5)]
    count, prints = RecordSource(IMPORT, records=records).scan(2)
    assert count == 5 and len(prints) == 3
    assert prints == [chunk_fingerprint(records[i : i + 2], IMPORT) for i in (0, 2, 4)]
    changed = [*records[:4], {"subject": "other"}]
    assert RecordSource(IMPORT, records=changed).scan(2)[1][:2] == prints[:2]  # only the last chunk differs
    path = tmp_path / "t.jsonl"
    path.write_text('{"subject": "a"}\n{"subject": "b", "priority": NaN}\n')
    with pytest.raises(ZendeskInvalidInputError, match=rf"line 2 of {path} holds NaN or an infinity"):
        RecordSource(IMPORT, path=str(path)).scan(100)
    with pytest.raises(ZendeskInvalidInputError, match=r"records\[1\] holds a value JSON cannot carry"):
        RecordSource(IMPORT, records=[{"subject": "a"}, {"subject": b"bytes"}]).scan(100)
    with pytest.raises(ZendeskInvalidInputError, match=r"records\[0\] holds NaN"):
        RecordSource(IMPORT, records=[{"subject": "a", "score": float("inf")}]).scan(100)


def test_a_csv_row_with_more_cells_than_columns_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("subject,priority\nA,high\nB,low,urgent,x\nC,normal,\n")
    with pytest.raises(ZendeskInvalidInputError, match=rf"line 3 of {path} has 2 more cells than the header"):
        RecordSource(IMPORT, path=str(path)).scan(100)
    path.write_text("subject,priority\nA,high\nC,normal,\n")  # an empty extra cell loses nothing
    assert RecordSource(IMPORT, path=str(path)).scan(100)[0] == 2


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

    def read(reader: ChunkReader, wanted: list[int], **kwargs: Any) -> list[tuple[int, list[Any]]]:
        return [(number, records) for number, records, _ in reader.chunks(wanted, keep, **kwargs)]

    assert read(reader, [0, 1]) == [(0, expected[0:3]), (1, expected[3:6])]
    starts = {number: begins for number, _, begins in reader.chunks([1, 2], keep)}
    assert parses[0] == 9  # each record once, though chunk 1 was asked for twice
    assert starts[1] is not None and starts[1].record == 3 and starts[2] is not None and starts[2].record == 6
    point = reader.point()
    assert point is not None and point.record == 9
    reader.close()
    # after a deferral: on from the point, and a chunk behind it read from where it begins
    resumed = ChunkReader(source, 3, ReadPoint.from_dict(point.to_dict()))
    parses[0] = 0
    assert read(resumed, [3]) == [(3, expected[9:])]
    assert parses[0] == 1
    assert read(resumed, [2], starts=starts) == [(2, expected[6:9])]
    assert parses[0] == 4  # chunk 2 alone, from its own place in the file
    assert read(resumed, [0]) == [(0, expected[0:3])]  # no place known: from the first record
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
    assert [(n, r) for n, r, _ in reader.chunks([2], lambda number: False)] == [(2, [5])]
    assert [(n, r) for n, r, _ in ChunkReader(source, 2, ReadPoint(4)).chunks([2], lambda number: False)] == [(2, [5])]


# -- the ledger ------------------------------------------------------------------------------------
class DictStore:
    """The task state store's face (get, set with a retention), over a dict: what the accessor keeps."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.writes: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        assert value is not None and retention is not None
        self.values[key] = json.dumps(value, allow_nan=False)
        self.writes.append(key)


def start(store: Any, try_number: int = 1, records: int = 250, prints: list[str] | None = None) -> Ledger:
    ledger, _ = Ledger.start(
        store,
        Owner.new(try_number),
        action="tickets.import",
        records=records,
        chunk_size=100,
        chunk_fingerprints=prints or ["a", "b", "c"],
    )
    return ledger


def test_the_ledger_writes_each_chunk_to_its_own_key_and_a_next_try_recovers_it() -> None:
    accessor = DictStore()
    store = TaskStateLedgerStore(accessor)
    ledger = start(store)
    assert ledger.total_chunks == 3 and ledger.chunk_length(2) == 50 and ledger.pending(5) == [0, 1, 2]
    ledger.begin(0, 1.0, "a", None)
    ledger.accepted(0, "V3-a")
    ledger.begin(1, 2.0, "b", {"record": 100})
    ledger.begin(2, 3.0, "c", {"record": 200})
    ledger.requeue(2)
    assert ledger.pending(5) == [2] and ledger.active() == [0] and ledger.in_state(ChunkState.SENDING) == [1]
    ledger.save()
    assert sorted(accessor.values) == [
        f"zendesk_bulk.{key}" for key in ("chunk.0", "chunk.1", "chunk.2", "head", "owner")
    ]
    # A later try: the chunk left "sending" is uncertain, the active one goes on, the pending one is sent.
    again = start(store, try_number=2)
    assert again.resumed and again.in_state(ChunkState.UNCERTAIN) == [1] and again.active() == [0]
    assert again.pending(5) == [2]
    part = ChunkResults(done={"created": [{"record_index": 0, "id": 7}] * 99}, failures=[{"error": "E"}])
    again.done(0, Outcome.COMPLETED, part.to_dict(), succeeded=99, failed=1, unresolved=0)
    assert again.totals.records == 100 and again.totals.failed == 1 and 0 not in again.open
    stored = again.read_chunk(0)
    assert stored is not None and ChunkResults.from_dict(stored.results).succeeded == 99  # kept as the job ended


def test_an_uncertain_chunk_takes_what_the_try_that_sent_it_wrote_down_since() -> None:
    store = TaskStateLedgerStore(DictStore())
    old = start(store, records=350, prints=["a", "b", "c", "d"])
    for number in range(4):
        old.begin(number, 1.0 + number, "abcd"[number], None)
    new = start(store, try_number=2, records=350, prints=["a", "b", "c", "d"])
    assert new.in_state(ChunkState.UNCERTAIN) == [0, 1, 2, 3]
    old.accepted(0, "V3-a")  # the old try goes on writing its chunks' keys until its next owner check
    old.done(1, Outcome.COMPLETED, {}, succeeded=100, failed=0, unresolved=0, job_id="V3-b")
    old.requeue(2)
    assert [new.adopt(number) for number in range(4)] == ["V3-a", None, None, None]
    assert new.active() == [0] and new.entry(0).job_id == "V3-a"
    assert 1 not in new.open and new.totals.records == 100 and new.totals.succeeded == 100
    assert new.pending(5)[0] == 2 and new.in_state(ChunkState.UNCERTAIN) == [3]  # still sending: nothing to take


def test_a_chunk_sent_past_the_head_is_found_by_the_next_try() -> None:
    store = TaskStateLedgerStore(DictStore())
    ledger = start(store)
    ledger.begin(0, 1.0, "a", None)  # the try dies before its head is saved again
    ledger.accepted(0, "V3-a")
    ledger.begin(1, 2.0, "b", None)
    again = start(store, try_number=2)
    assert again.next == 2 and again.active() == [0] and again.in_state(ChunkState.UNCERTAIN) == [1]


def test_a_save_costs_the_same_at_the_last_chunk_as_at_the_first() -> None:
    accessor = DictStore()
    ledger = start(TaskStateLedgerStore(accessor), records=100_000, prints=["p"] * 1000)
    sizes = []
    for number in range(1000):
        ledger.begin(number, float(number), "p", {"record": number * 100})
        ledger.accepted(number, f"V3-{number}")
        if number >= 10:
            oldest = ledger.active()[0]
            ledger.done(oldest, Outcome.COMPLETED, {}, succeeded=100, failed=0, unresolved=0)
        ledger.save()
        sizes.append(len(accessor.values["zendesk_bulk.head"]))
    assert max(sizes[-10:]) <= 1.2 * max(sizes[10:20])  # the head holds the open chunks only, not the done ones


def test_one_try_owns_the_import_and_an_older_one_stops_before_its_next_call() -> None:
    store = TaskStateLedgerStore(DictStore())
    old = start(store, try_number=1)
    old.begin(0, 1.0, "a", None)
    old.accepted(0, "V3-a")
    new = start(store, try_number=2)  # the next try takes the import while the old one still runs
    with pytest.raises(ImportTakenOverError, match="try 2 of this task holds the import"):
        old.begin(1, 2.0, "b", None)  # written down as sending, then refused before the call
    with pytest.raises(ImportTakenOverError):
        old.save()
    with pytest.raises(ImportTakenOverError, match="this try \\(try 1\\) sends nothing"):
        start(store, try_number=1)
    new.save()
    assert new.active() == [0] and new.pending(3) == [1, 2]  # chunk 1's key says sending: the new try settles it
    resumed = Ledger.resume(store, 2, None)  # a resume that lost its kwargs is still its try's
    assert resumed.owner == new.owner


def test_changed_records_are_refused_unless_zendesk_refused_their_chunk() -> None:
    store = TaskStateLedgerStore(DictStore())
    ledger = start(store)
    ledger.begin(0, 1.0, "a", None)
    ledger.accepted(0, "V3-a")
    ledger.begin(1, 2.0, "b", None)
    ledger.done(1, Outcome.REFUSED, {}, succeeded=0, failed=100, unresolved=0)
    ledger.save()
    again, corrected = Ledger.start(
        store, Owner.new(2), action="tickets.import", records=250, chunk_size=100, chunk_fingerprints=["a", "B", "c"]
    )
    assert corrected == [1] and again.pending(3) == [1, 2] and again.totals.failed == 0
    with pytest.raises(ZendeskInvalidInputError, match=r"records of chunk 0 \(records 0 to 99\) changed"):
        Ledger.start(
            store,
            Owner.new(3),
            action="tickets.import",
            records=250,
            chunk_size=100,
            chunk_fingerprints=["A", "B", "c"],
        )
    with pytest.raises(ZendeskInvalidInputError, match="belongs to another import"):
        start(store, try_number=4, records=251)


def test_a_store_that_refuses_or_cannot_be_read_is_an_error_never_an_empty_ledger(tmp_path: Path) -> None:
    class Refusing(DictStore):
        def set(self, key: str, value: Any, *, retention: Any = None) -> None:
            raise RuntimeError("the API server is not answering")

    with pytest.raises(LedgerStoreError, match=r"refused 'owner'.*Nothing more is sent"):
        start(TaskStateLedgerStore(Refusing()))
    files = FileLedgerStore(str(tmp_path), ledger_key("dag", "manual__2026-01-01T00:00:00+00:00", "task"))
    ledger = start(files)
    assert ":" not in files.key and list(tmp_path.rglob("*.tmp")) == []
    (tmp_path / files.key / "head.json").write_text("{cut")
    with pytest.raises(LedgerStoreError, match="is not JSON"):
        start(files, try_number=2)
    assert ledger.records == 250


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
    assert mapped.done == {"created": [{"record_index": 300, "id": 10}]}
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
    assert mapped.done == {"created": [{"record_index": 0, "id": 1}, {"record_index": 1, "id": 2}]}
    assert len(mapped.unmapped) == 1 and mapped.unreported == [2, 3] and mapped.unresolved == 2


def test_create_or_update_splits_created_and_updated_by_the_items_status() -> None:
    action = BULK_ACTIONS["users.create_or_update_many"]
    records = [{"email": "a@x.org"}, {"email": "b@x.org"}]
    done = job(
        results=[
            {"id": 1, "status": "Created", "email": "a@x.org"},
            {"id": 2, "status": " updated", "email": "b@x.org"},
        ]
    )
    mapped = map_chunk(action, 0, records, done)
    assert mapped.done == {"created": [{"record_index": 0, "id": 1}], "updated": [{"record_index": 1, "id": 2}]}
    summary = ImportSummary(action, 2)
    summary.add("V3-a", mapped)
    value = summary.xcom()
    assert value["created"] == [{"record_index": 0, "id": 1}] and value["updated"] == [{"record_index": 1, "id": 2}]


def test_updates_map_by_id_and_a_dead_job_fails_its_records_with_its_message() -> None:
    action = BULK_ACTIONS["tickets.update_many"]
    mapped = map_chunk(
        action,
        0,
        [{"id": 7}, {"id": 8}],
        job(results=[{"action": "update", "id": 8, "status": "Updated", "success": True}]),
    )
    assert mapped.done == {"updated": [{"record_index": 1, "id": 8}]} and mapped.unreported == [0]
    killed = map_chunk(action, 100, [{"id": 7}], job(status="killed"))
    assert killed.failures[0]["error"] == "JobKilled" and killed.failures[0]["details"] == "killed message"


def test_a_permanent_deletion_answers_for_the_whole_call() -> None:
    action = BULK_ACTIONS["deleted_tickets.destroy_many"]
    ok = map_chunk(action, 0, [5, 6], job(results={"success": True}))
    assert ok.done == {"deleted": [{"record_index": 0, "id": 5}, {"record_index": 1, "id": 6}]}
    bad = map_chunk(action, 0, [5], job(results={"success": False}))
    assert bad.failures[0]["error"] == "DeletionFailed" and bad.failures[0]["id"] == 5


def test_the_xcom_value_keeps_counts_and_caps_every_list_with_a_results_path() -> None:
    first = map_chunk(
        IMPORT,
        0,
        [{}, {}, {}],
        job(results=[{"index": 0, "id": 1}, {"index": 1, "error": "E1"}, {"index": 2, "error": "E1"}]),
    )
    refused = refused_chunk(3, [{}, {}], "HTTP 422", "Unprocessable")
    uncertain = unresolved_chunk(2, 5, 2, "the answer was lost")
    parts = [("V3-a", first), (None, refused), (None, uncertain)]
    full = ImportSummary(IMPORT, 7)
    small = ImportSummary(IMPORT, 7, cap=1)
    for job_id, part in parts:
        full.add(job_id, ChunkResults.from_dict(json.loads(json.dumps(part.to_dict()))))  # as kept in the ledger
        small.add(job_id, part)
    value = full.xcom()
    assert (value["succeeded"], value["failed"], value["unresolved"]) == (1, 4, 2)
    assert value["created"] == [{"record_index": 0, "id": 1}] and value["jobs"] == ["V3-a"]
    assert value["failures"][2] == {
        "record_index": 3,
        "job_id": None,
        "item_index": None,
        "id": None,
        "error": "HTTP 422",
        "details": "Unprocessable",
    }
    capped = small.xcom(path="s3://b/r.jsonl")
    assert "created" not in capped and len(capped["failures"]) == 1 and capped["failures_total"] == 4
    assert capped["uncertain_total"] == 1 and capped["jobs_total"] == 1 and capped["unresolved"] == 2
    assert full.errors_by_code() == {"E1": 2, "HTTP 422": 2}
    assert [line["outcome"] for line in result_lines(IMPORT, first)] == ["created", "failed", "failed"]
    assert [line["record_index"] for line in result_lines(IMPORT, uncertain)] == [5, 6]
    json.dumps(value)


# -- settling an uncertain chunk -------------------------------------------------------------------
def test_a_lost_answer_is_settled_only_by_items_that_name_the_chunks_records() -> None:
    action = BULK_ACTIONS["users.update_many"]
    records = [{"id": 1}, {"id": 2}]
    ours = job(results=[{"id": 1, "status": "Updated"}, {"id": 2, "status": "Updated"}], total=2, job_id="V3-b")
    other = job(results=[{"id": 8, "status": "Updated"}, {"id": 9, "status": "Updated"}], total=2, job_id="V3-c")
    assert find_started_job(action, records, [other, ours], {"V3-a"}, settled=True) == (Verdict.FOUND, ours)
    assert find_started_job(action, records, [ours], {"V3-b"}, settled=True, complete=True) == (
        Verdict.NOT_STARTED,
        None,
    )
    assert find_started_job(action, records, [], set(), settled=False) == (Verdict.WAIT, None)
    running = job(status="working", total=2, job_id="V3-d")
    assert find_started_job(action, records, [running], set(), settled=True) == (Verdict.WAIT, None)
    assert find_started_job(action, records, [other], set(), settled=True) == (Verdict.UNPROVABLE, None)
    created = job(results=[{"index": 0, "id": 5}, {"index": 1, "id": 6}], total=2)
    assert find_started_job(IMPORT, [{}, {}], [created], set(), settled=True) == (Verdict.UNPROVABLE, None)


def test_no_job_started_only_where_the_list_reaches_back_past_the_call() -> None:
    action = BULK_ACTIONS["users.update_many"]
    records = [{"id": 1}, {"id": 2}]
    before = job(total=2, job_id="V3-older")  # another client's job, finished before the call
    ours = job(total=2, job_id="V3-ours")  # this import's newest job finished before the call
    listed = [ours, before]
    # below this import's last finished job: older than the call, so never a candidate
    assert find_started_job(action, records, listed, set(), settled=True, after="V3-ours") == (
        Verdict.NOT_STARTED,
        None,
    )
    # without that job in the list (100 newer jobs, or a day later), nothing proves no job started
    full_list = [job(total=9, job_id=f"V3-{n}") for n in range(100)]
    assert find_started_job(action, records, full_list, set(), settled=True, after="V3-ours") == (
        Verdict.UNPROVABLE,
        None,
    )
    assert find_started_job(action, records, [], set(), settled=True, complete=True) == (Verdict.NOT_STARTED, None)
    assert find_started_job(action, records, [], set(), settled=True, complete=True, expired=True) == (
        Verdict.UNPROVABLE,
        None,
    )


def test_what_a_failed_call_means_for_its_chunk() -> None:
    assert classify_failure(ZendeskJobLimitError("limit")) is Submission.NOT_STARTED
    assert classify_failure(ZendeskUnavailableError("x", status_code=503)) is Submission.NOT_STARTED
    assert classify_failure(ZendeskUnavailableError("x", status_code=500)) is Submission.UNKNOWN
    assert classify_failure(ZendeskUnavailableError("timed out after sending")) is Submission.UNKNOWN
    assert classify_failure(ZendeskResponseError("not json", status_code=200)) is Submission.UNKNOWN
    assert classify_failure(ZendeskResponseError("bad request", status_code=400)) is Submission.REFUSED
    assert classify_failure(ZendeskResponseError("too large", status_code=413)) is Submission.REFUSED
    assert classify_failure(ZendeskResponseError("invalid", status_code=422)) is Submission.REFUSED
    assert classify_failure(ZendeskAuthError("no", status_code=401)) is Submission.STOP
    assert classify_failure(ZendeskResponseError("no such call", status_code=404)) is Submission.STOP


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
    assert running_total(1800, 5000, 1795, 5, 10, 32) == (
        "1,800 of 5,000 records (36%): 1,795 done, 5 failed; 10 jobs active, 32 chunks to go"
    )
    assert running_total(100, 100, 0, 0, 1, 0, unresolved=100).endswith(
        "0 failed, 100 unresolved; 1 job active, 0 chunks to go"
    )
    pace = ProgressPace()
    assert pace.due(0.0, 0, 1000)  # the first line
    assert not pace.due(30.0, 50, 1000)  # neither a tenth more nor a minute
    assert pace.due(31.0, 100, 1000)  # a tenth
    assert not pace.due(60.0, 150, 1000) and pace.due(91.0, 150, 1000)  # a minute since the last line
    assert error_table({}) == ""
    assert error_table({"TicketCreateFailed": 1200, "E": 3}).splitlines()[2:] == [
        "TicketCreateFailed    1,200",
        "E                         3",
    ]
