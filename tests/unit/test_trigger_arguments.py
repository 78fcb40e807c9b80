"""The trigger's stored arguments: built from any row without raising, checked in run(), old rows still run.

Airflow's triggerer builds each trigger from the kwargs in its database row and survives only a
``TypeError`` there. These tests hold the constructor to that for any value (a property test over
garbage in every field), check that ``run()`` then ends the wait with one error event naming each
bad argument, and that the rows release 0.1.0 wrote (``tests/unit/fixtures/trigger_rows_0_1_0.json``)
and the text a template renders for a list of ids still wait to the end against the emulator.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger
from tests.airflow_compat import trigger_kwargs_as_the_triggerer_reads
from tests.support.pollers import asked_ids, on_emulator_time, show_many_requests

pytestmark = pytest.mark.timeout(120)

CLASSPATH = "airflow_provider_zendesk_jobs.triggers.zendesk_jobs.ZendeskJobStatusTrigger"
ROWS_0_1_0 = json.loads((Path(__file__).parent / "fixtures" / "trigger_rows_0_1_0.json").read_text())
DEFAULTS: dict[str, Any] = {
    "zendesk_conn_id": "zendesk_default",
    "poll_interval": 30.0,
    "not_found_grace": 60.0,
    "fail_on_item_errors": False,
    "started_at": None,
    "deadline": None,
}
FIELDS = (
    "job_ids",
    "zendesk_conn_id",
    "poll_interval",
    "not_found_grace",
    "fail_on_item_errors",
    "started_at",
    "deadline",
    "not_before",
)


@pytest.fixture
def emulator_time(emulator: ZendeskEmulator) -> Iterator[None]:
    with on_emulator_time(emulator):
        yield


def as_the_triggerer_reads(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The kwargs through Airflow's own row encoding and decoding, as the triggerer rebuilds a trigger."""
    return trigger_kwargs_as_the_triggerer_reads(kwargs)


async def all_events(trigger: ZendeskJobStatusTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


# -- rows written by release 0.1.0 ----------------------------------------------------------------------
@pytest.mark.parametrize("row", ROWS_0_1_0, ids=[row["about"][:40] for row in ROWS_0_1_0])
async def test_a_row_written_by_0_1_0_rebuilds_and_waits_to_the_end(
    emulator: ZendeskEmulator, emulator_time: None, row: dict[str, Any]
) -> None:
    assert row["classpath"] == CLASSPATH
    literal = row["kwargs"]
    rebuilt = ZendeskJobStatusTrigger(**as_the_triggerer_reads(literal))
    assert rebuilt.serialize() == (CLASSPATH, literal)  # the row round-trips unchanged
    checked = rebuilt.check_arguments()
    assert checked.job_ids == literal["job_ids"]
    assert checked.poll_interval == literal["poll_interval"]
    assert checked.not_before == literal.get("not_before")

    # The ids are the row's format, not jobs this emulator knows: the same row on the emulator's jobs.
    ids = [emulator.create_job(count=2, work_seconds=12) for _ in literal["job_ids"]]
    event = (await all_events(ZendeskJobStatusTrigger(**{**as_the_triggerer_reads(literal), "job_ids": ids})))[-1]
    assert event["status"] == "success", event["message"]
    assert event["job_ids"] == ids
    first = show_many_requests(emulator)[0].time
    assert first >= literal.get("not_before", 0)  # a pending Retry-After is still honoured


# -- the text a template renders for the ids ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("V3-a", ["V3-a"]),
        ('["V3-a","V3-b"]', ["V3-a", "V3-b"]),
        ("V3-a,V3-b", ["V3-a", "V3-b"]),
        ("['V3-a', 'V3-b']", ["V3-a", "V3-b"]),
        (" V3-a , V3-b , V3-a ", ["V3-a", "V3-b"]),
        (("V3-a", "V3-b"), ["V3-a", "V3-b"]),
    ],
)
def test_job_ids_may_be_the_text_a_template_renders(text: Any, ids: list[str]) -> None:
    trigger = ZendeskJobStatusTrigger(text)
    assert trigger.serialize()[1]["job_ids"] == (list(text) if isinstance(text, tuple) else text)
    assert trigger.check_arguments().job_ids == ids


async def test_a_wait_on_rendered_text_reads_the_ids_as_a_list(emulator: ZendeskEmulator, emulator_time: None) -> None:
    ids = [emulator.create_job(count=2, work_seconds=4), emulator.create_job(count=2, work_seconds=8)]
    trigger = ZendeskJobStatusTrigger(str(ids), poll_interval=5, started_at=emulator.clock.now())
    (event,) = await all_events(trigger)
    assert event["status"] == "success"
    assert event["job_ids"] == ids
    assert asked_ids(show_many_requests(emulator)[0]) == ids  # one request, both ids


# -- a wrong call signature is the one thing the constructor refuses -----------------------------------
def test_only_a_wrong_call_signature_raises_and_it_raises_type_error() -> None:
    with pytest.raises(TypeError):
        ZendeskJobStatusTrigger()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        ZendeskJobStatusTrigger(["V3-a"], "zendesk_default", 5, 60, False, None, None, None, "one too many")  # type: ignore[misc]
    not_keywords: dict[Any, Any] = {"job_ids": ["V3-a"], 5: "not a keyword"}
    with pytest.raises(TypeError):
        ZendeskJobStatusTrigger(**not_keywords)


# -- any garbage: nothing but TypeError from the constructor, one error event from run() -------------
_TEXT = st.text(alphabet="abcV3-_ ./", max_size=12)
ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)
_NOT_NUMBERS = [None, "30", True, False, [30], {"seconds": 30}, float("nan"), float("inf"), float("-inf"), 10**400]
_NOT_TIMES = [float("nan"), float("inf"), -1, -0.5, "tomorrow", "1700000000", True, [1], {}, 10**400, 1e20]
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "job_ids": st.sampled_from([["V3-a"], ["V3-a", "V3-b"], "V3-a", "V3-a,V3-b", "['V3-a', 'V3-b']", '["V3-a"]']),
    "zendesk_conn_id": st.sampled_from(["zendesk_default", "zendesk_eu"]),
    "poll_interval": st.floats(min_value=0.001, max_value=86_400) | st.integers(min_value=1, max_value=3600),
    "not_found_grace": st.floats(min_value=0, max_value=86_400) | st.integers(min_value=0, max_value=3600),
    "fail_on_item_errors": st.booleans(),
    "started_at": st.none() | st.floats(min_value=1e9, max_value=2e9),
    "deadline": st.none() | st.floats(min_value=1e9, max_value=2e9),
    "not_before": st.none() | st.floats(min_value=1e9, max_value=2e9),
}
BAD: dict[str, st.SearchStrategy[Any]] = {
    "job_ids": st.sampled_from(
        [
            *(None, 5, 0, True, 1.5, float("nan"), {"id": "V3-a"}, [], [None], [5], [["V3-a"]], ["V3-a", {"x": 1}]),
            *("V3-a/../x", ["V3-a/../x"], "../", "", "[]", "None", "12", "V3-a?x=1", "V3-a;b", b"V3-a", 10**400),
        ]
    )
    | st.integers()
    | st.dictionaries(_TEXT, ANYTHING, max_size=2),
    "zendesk_conn_id": st.sampled_from([None, "", "   ", 5, True, 1.5, ["zendesk_default"], {"conn": 1}, b"x"]),
    "poll_interval": st.sampled_from([*_NOT_NUMBERS, 0, 0.0, -1]) | st.integers(max_value=0) | st.floats(max_value=0),
    "not_found_grace": st.sampled_from([*_NOT_NUMBERS, -1, -1e-9]) | st.integers(max_value=-1),
    "fail_on_item_errors": st.sampled_from([None, 0, 1, 1.0, "true", "False", [], {}, [True]]),
    "started_at": st.sampled_from(_NOT_TIMES),
    "deadline": st.sampled_from(_NOT_TIMES),
    "not_before": st.sampled_from(_NOT_TIMES),
}
UNKNOWN_KEYS = st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True).filter(lambda key: key not in FIELDS)


@st.composite
def trigger_kwargs(draw: st.DrawFn) -> tuple[dict[str, Any], set[str], dict[str, Any]]:
    """Kwargs with at least one bad value, the bad field names, and the unknown extra keys."""
    bad = draw(st.sets(st.sampled_from(FIELDS)))
    unknown = draw(st.dictionaries(UNKNOWN_KEYS, ANYTHING, max_size=2))
    assume(bad or unknown)
    kwargs: dict[str, Any] = {}
    for name in FIELDS:
        if name in bad:
            kwargs[name] = draw(BAD[name])
        elif name == "job_ids" or draw(st.booleans()):  # a good value, or the default
            kwargs[name] = draw(GOOD[name])
    return {**kwargs, **unknown}, bad, unknown


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trigger_kwargs())
def test_any_stored_kwargs_build_a_trigger_and_end_in_one_error_event_naming_them(
    drawn: tuple[dict[str, Any], set[str], dict[str, Any]],
) -> None:
    kwargs, bad, unknown = drawn
    trigger = ZendeskJobStatusTrigger(**kwargs)  # any exception here would fail the test; none is allowed

    classpath, stored = trigger.serialize()
    expected = {**DEFAULTS, **kwargs}
    if expected.get("not_before") is None:
        expected.pop("not_before", None)
    assert (classpath, stored) == (CLASSPATH, expected)  # what it was given
    assert ZendeskJobStatusTrigger(**stored).serialize() == (classpath, stored)  # and the row rebuilds it
    repr(trigger)

    events = asyncio.run(all_events(trigger))
    assert len(events) == 1
    (event,) = events
    assert event["status"] == "error"
    assert event["error_type"] == "ZendeskInvalidInputError"
    message = event["message"]
    json.dumps(event)  # the triggerer stores it
    for name in bad:
        assert f"{name}: " in message
    for name in set(FIELDS) - bad:
        assert f"{name}: " not in message
    for key in unknown:
        assert f"{key!r}: not an argument of this release" in message
