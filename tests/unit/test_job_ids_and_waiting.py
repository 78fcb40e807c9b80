"""Job id validation, templated id lists, and the one rule for when a wait is over."""

from __future__ import annotations

import pytest

from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskInvalidInputError,
)
from airflow_provider_zendesk_jobs.job_ids import normalize_job_ids, validate_job_id
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.waiting import WaitDecision, WaitOptions, evaluate_wait


@pytest.mark.parametrize("good", ["V3-0b5a6293824601a4c59c0fe131439de8", "dd9321f29967688b27bc9499ebb4ae8d", "a_b-C"])
def test_real_ids_are_accepted(good: str) -> None:
    assert validate_job_id(good) == good


@pytest.mark.parametrize(
    "bad",
    ["../x", "a/b", "a?b", "a#b", "a%2Fb", "é", " a", "a b", "", "x" * 129, "a\nb"],
)
def test_unsafe_ids_are_refused_with_the_rule(bad: str) -> None:
    with pytest.raises(ZendeskInvalidInputError, match="1 to 128 characters from A-Z"):
        validate_job_id(bad)


def test_long_ids_are_shown_shortened() -> None:
    with pytest.raises(ZendeskInvalidInputError) as info:
        validate_job_id("x" * 10_000)
    assert "(10002 characters)" in str(info.value)
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(
    ("value", "ids", "many"),
    [
        ("V3-a", ["V3-a"], False),
        (["V3-a", "V3-b"], ["V3-a", "V3-b"], True),
        (("V3-a",), ["V3-a"], True),
        ("['V3-a', 'V3-b']", ["V3-a", "V3-b"], True),
        ('["V3-a","V3-b"]', ["V3-a", "V3-b"], True),
        ("V3-a,V3-b", ["V3-a", "V3-b"], True),
        (" V3-a ", ["V3-a"], False),
    ],
)
def test_templated_values_become_id_lists(value: object, ids: list[str], many: bool) -> None:
    # A bare id with surrounding spaces is refused by validation; lists are stripped.
    if value == " V3-a ":
        with pytest.raises(ZendeskInvalidInputError):
            normalize_job_ids(value)
        return
    assert normalize_job_ids(value) == (ids, many)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "got NoneType None"),
        (12, "got int 12"),
        ([], "is empty"),
        ("[]", "is empty"),
        ([["V3-a"]], "must be text, got list"),
        ([None], "must be text, got NoneType"),
    ],
)
def test_non_ids_from_templates_or_xcom_are_refused(value: object, message: str) -> None:
    with pytest.raises(ZendeskInvalidInputError, match=message):
        normalize_job_ids(value)


def status(job_id: str, state: str, **fields: object) -> JobStatus:
    return JobStatus.from_api({"id": job_id, "status": state, **fields})


OPTIONS = WaitOptions()


def test_waiting_while_any_job_runs() -> None:
    outcome = evaluate_wait(
        ["a", "b"],
        {"a": status("a", "completed", results=[]), "b": status("b", "working")},
        options=OPTIONS,
        started_at=0,
        now=5,
    )
    assert outcome.decision is WaitDecision.WAITING and not outcome.done


def test_all_completed_succeeds() -> None:
    outcome = evaluate_wait(["a"], {"a": status("a", "completed", results=[])}, options=OPTIONS, started_at=0, now=1)
    assert outcome.decision is WaitDecision.SUCCEEDED
    assert outcome.message == "Zendesk finished a"


@pytest.mark.parametrize("state", ["failed", "killed"])
def test_failed_or_killed_fails_at_once_naming_job_status_and_message(state: str) -> None:
    outcome = evaluate_wait(
        ["a", "b"],
        {"a": status("a", state, message="Worker lost"), "b": status("b", "working")},
        options=OPTIONS,
        started_at=0,
        now=1,
    )
    assert outcome.decision is WaitDecision.FAILED
    assert outcome.message == f"Zendesk job a ended {state}: Worker lost"
    assert outcome.statuses.keys() == {"a", "b"}  # what the task's log lines and XCom read


def test_item_errors_fail_only_when_asked() -> None:
    job = status("a", "completed", results=[{"index": 0, "id": 1}, {"index": 1, "error": "Dup", "details": "taken"}])
    relaxed = evaluate_wait(["a"], {"a": job}, options=OPTIONS, started_at=0, now=1)
    strict = evaluate_wait(["a"], {"a": job}, options=WaitOptions(fail_on_item_errors=True), started_at=0, now=1)
    assert relaxed.decision is WaitDecision.SUCCEEDED
    assert strict.decision is WaitDecision.FAILED
    assert strict.message == (
        "Zendesk job a completed but 1 of 2 items failed (fail_on_item_errors=True): item 1: Dup (taken)"
    )


def test_object_results_with_success_false_fail_when_asked() -> None:
    job = status("a", "completed", results={"success": False})
    strict = evaluate_wait(["a"], {"a": job}, options=WaitOptions(fail_on_item_errors=True), started_at=0, now=1)
    assert strict.decision is WaitDecision.FAILED


def test_not_found_waits_inside_grace_and_fails_after() -> None:
    inside = evaluate_wait(["a"], {}, options=WaitOptions(not_found_grace=60), started_at=100, now=159.9)
    after = evaluate_wait(["a"], {}, options=WaitOptions(not_found_grace=60), started_at=100, now=160)
    assert inside.decision is WaitDecision.WAITING and inside.not_visible_yet == ("a",)
    assert after.decision is WaitDecision.FAILED
    assert "about a day" in after.message and "after 60 s" in after.message
    assert after.message.startswith("Zendesk does not know job id a after 60 s of waiting: ")
    assert after.statuses == {} and after.not_visible_yet == ()


def test_unknown_status_keeps_waiting() -> None:
    outcome = evaluate_wait(["a"], {"a": status("a", "paused")}, options=OPTIONS, started_at=0, now=1000)
    assert outcome.decision is WaitDecision.WAITING


#: A wait on more ids than a message names: every message about it stays the same size.
MANY_IDS = [f"V3-{number:032x}" for number in range(5000)]


def test_a_wait_on_5000_unknown_ids_fails_naming_five_of_them() -> None:
    """The message goes into the trigger's event (stored in the database) and the task's log."""
    outcome = evaluate_wait(MANY_IDS, {}, options=WaitOptions(not_found_grace=60), started_at=0, now=60)
    assert outcome.decision is WaitDecision.FAILED
    assert f"Zendesk does not know job ids {', '.join(MANY_IDS[:5])} and 4995 more after 60 s" in outcome.message
    assert MANY_IDS[5] not in outcome.message
    assert len(outcome.message) < 500


def test_a_wait_on_5000_finished_ids_names_five_of_them() -> None:
    done = {job_id: status(job_id, "completed", results=[]) for job_id in MANY_IDS}
    outcome = evaluate_wait(MANY_IDS, done, options=OPTIONS, started_at=0, now=1)
    assert outcome.message == f"Zendesk finished {', '.join(MANY_IDS[:5])} and 4995 more"


class _ReprFails:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_a_value_whose_repr_fails_still_gets_a_message() -> None:
    with pytest.raises(ZendeskInvalidInputError, match="must be text, got _ReprFails <_ReprFails>"):
        validate_job_id(_ReprFails())
