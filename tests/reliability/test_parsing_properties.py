"""Any JSON in place of a job, its results or an item: a JobStatus or the provider's response error.

Every property runs the parsers a real answer goes through: the single-job body (show one and
bulk calls), the show_many body mapped back by id, a page of the job list with its pagination
fields, and the bytes on the wire before that. Whatever the value, the outcome is a parsed job or
:class:`ZendeskResponseError`, never another exception, and the XCom form of what parsed is strict
JSON (``allow_nan=False``, as Airflow's XCom transport requires). A job's items are read on
first use, so for them the response error comes at that read, and at every read after it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_zendesk_jobs.api.connection_settings import settings_from_connection
from airflow_provider_zendesk_jobs.api.operations import JobListWalk, statuses_by_id
from airflow_provider_zendesk_jobs.api.request_builders import show_job_request, show_many_request, token_request
from airflow_provider_zendesk_jobs.api.responses import RetryableError, interpret_response
from airflow_provider_zendesk_jobs.exceptions import ZendeskJobsError, ZendeskResponseError
from airflow_provider_zendesk_jobs.jobs import JobResult, JobStatus, parse_job_status_body, parse_job_statuses_body

SETTINGS = settings_from_connection(host="acme", login="agent@example.com", password="tok-1234567", extra={})

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
item_keys = st.sampled_from(["index", "id", "action", "status", "success", "error", "errors", "details", "title"])
items = st.dictionaries(item_keys | st.text(max_size=6), json_values, max_size=6)
jobs = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=12) | json_values,
        "status": st.sampled_from(["queued", "working", "completed", "failed", "killed", "paused"]) | json_values,
    },
    optional={
        "total": st.integers() | json_values,
        "progress": st.integers() | json_values,
        "message": st.text() | json_values,
        "job_type": st.text() | json_values,
        "url": st.text() | json_values,
        "results": st.none() | st.lists(items | json_values, max_size=5) | items | json_values,
    },
)
#: Links as Zendesk sends them, as another origin would, and as no URL parser accepts.
links = st.sampled_from(
    [
        "https://acme.zendesk.com/api/v2/job_statuses?page[after]=c2",
        "https://evil.example.com/api/v2/job_statuses?page=2",
        "http://acme.zendesk.com/api/v2/job_statuses",
        "https://user:pw@acme.zendesk.com/x",
        "https://acme.zendesk.com:99999/x",
        "http://[::1",
        "//acme.zendesk.com/x",
        "",
    ]
) | st.text(max_size=30)
list_bodies = st.fixed_dictionaries(
    {"job_statuses": st.lists(jobs | json_values, max_size=4) | json_values},
    optional={
        "meta": st.fixed_dictionaries(
            {}, optional={"has_more": st.booleans() | json_values, "after_cursor": st.text(max_size=6) | json_values}
        )
        | json_values,
        "links": st.fixed_dictionaries({}, optional={"next": links | json_values}) | json_values,
        "next_page": links | json_values,
        "count": json_values,
    },
)


def assert_strict_json(job: JobStatus) -> bool:
    """The XCom form, with and without items, survives strict JSON unchanged; False when the items are malformed.

    The items are read on first use, so a malformed one raises the response error there, naming
    its position, at every read, while what a poll reads (id, status, counters) stays usable.
    """
    assert job.describe_progress().startswith(job.id)
    try:
        for include in (True, False):
            data = job.to_dict(include_results=include)
            assert json.loads(json.dumps(data, allow_nan=False)) == data
    except ZendeskResponseError as exc:
        message = str(exc)
    else:
        return True
    assert message.startswith("Zendesk sent a job status that is not in the documented form")
    assert f"job {job.id}: results[" in message
    for read in (lambda: job.items, lambda: job.failed_items, lambda: job.succeeded_ids):
        with pytest.raises(ZendeskResponseError) as again:  # reported at every read, never accepted later
            read()
        assert str(again.value) == message
    return False


def parse_or_response_error(value: Any) -> JobStatus | None:
    """The job, when it parsed and its items read; None when either raised the response error."""
    try:
        job = JobStatus.from_api(value)
    except ZendeskResponseError as exc:
        message = str(exc)
    else:
        return job if assert_strict_json(job) else None
    assert message.startswith("Zendesk sent a job status that is not in the documented form")
    return None


@settings(max_examples=200, deadline=None)
@given(jobs)
def test_job_shaped_values_parse_or_raise_response_error(value: dict[str, Any]) -> None:
    parse_or_response_error(value)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_any_json_value_in_place_of_a_job_parses_or_raises(value: Any) -> None:
    parse_or_response_error(value)


@settings(max_examples=150, deadline=None)
@given(st.lists(items | json_values, max_size=6))
def test_any_results_list_parses_or_raises(results: list[Any]) -> None:
    job = parse_or_response_error({"id": "V3-a", "status": "completed", "results": results})
    if job is not None:
        data = job.to_dict()
        assert data["counts"]["succeeded"] + data["counts"]["failed"] == len(results)
        assert len(data["results"]) == len(results)


@settings(max_examples=150, deadline=None)
@given(items | json_values)
def test_any_item_parses_or_raises(value: Any) -> None:
    try:
        item = JobResult.from_api(value, "V3-a", 3)
    except ZendeskResponseError as exc:
        message = str(exc)
    else:
        message = ""
    if message:
        assert "job V3-a: results[3]" in message
        return
    for data in (item.to_dict(), item.failure_dict()):
        assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert item.to_dict()["success"] is not item.failed


@settings(max_examples=150, deadline=None)
@given(jobs | json_values | st.dictionaries(st.text(max_size=8), json_values, max_size=3))
def test_single_job_bodies_parse_or_raise(value: Any) -> None:
    """``{"job_status": ...}``: show one and every bulk call."""
    for body in ({"job_status": value}, value):
        try:
            job = parse_job_status_body(body)
        except ZendeskResponseError:
            continue
        assert_strict_json(job)


@settings(max_examples=150, deadline=None)
@given(list_bodies | json_values)
def test_show_many_and_list_pages_parse_or_raise(body: Any) -> None:
    """``{"job_statuses": [...]}``: show_many mapped back by id, and one page of the job list."""
    for read in (
        parse_job_statuses_body,
        lambda value: list(statuses_by_id(value, ["V3-a", "V3-b"]).values()),
        lambda value: JobListWalk(SETTINGS).feed(value),
    ):
        try:
            parsed = read(body)
        except ZendeskResponseError:
            continue
        for job in parsed:
            assert_strict_json(job)


def non_json_bytes() -> st.SearchStrategy[bytes]:
    """What arrives instead of JSON: NaN and Infinity, deep nesting, cut bodies, anything."""
    return (
        st.sampled_from([b"NaN", b"Infinity", b"-Infinity"]).map(
            lambda c: b'{"job_status": {"id": "V3-a", "x": %s}}' % c
        )
        | st.integers(min_value=1, max_value=200_000).map(lambda depth: b"[" * depth + b"]" * depth)
        | st.integers(min_value=0, max_value=80).map(lambda cut: b'{"job_status": {"id": "V3-a", "status": "q"}}'[:cut])
        | st.binary(max_size=64)
    )


@settings(max_examples=150, deadline=None)
@given(json_values.map(lambda v: json.dumps(v).encode()) | non_json_bytes())
def test_any_bytes_on_the_wire_decode_and_parse_or_raise(body: bytes) -> None:
    """The whole read path from the answer's bytes: decode, then parse both body kinds."""
    for request in (show_job_request(SETTINGS.base_url, "V3-a"), show_many_request(SETTINGS.base_url, ["V3-a"])):
        try:
            value = interpret_response(request, 200, {}, body, now=0.0)
        except RetryableError as exc:  # a GET with a body that is not JSON is worth another attempt
            retried: ZendeskJobsError | None = exc.error
        else:
            retried = None
        if retried is not None:
            assert isinstance(retried, ZendeskResponseError)
            assert "not JSON" in str(retried)
            continue
        for parse in (parse_job_status_body, parse_job_statuses_body):
            try:
                parsed = parse(value)
            except ZendeskResponseError:
                continue
            for job in parsed if isinstance(parsed, list) else [parsed]:
                assert_strict_json(job)


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=8, max_size=40, alphabet="abcdef0123456789"), st.integers(min_value=0, max_value=60))
def test_a_cut_token_answer_is_never_quoted(token: str, cut: int) -> None:
    """A proxy that cuts the answer of POST /oauth/tokens must not put part of the token in an error."""
    from airflow_provider_zendesk_jobs.api.auth import ClientCredentialsAuth

    request = token_request(SETTINGS.base_url, ClientCredentialsAuth("cid", "client-secret-xyz"))
    body = json.dumps({"access_token": token, "token_type": "bearer"}).encode()[:cut]
    for status in (200, 400, 401, 403, 500):
        try:
            interpret_response(request, status, {}, body, now=0.0)
        except ZendeskJobsError as exc:
            text = str(exc)
        except RetryableError as exc:
            text = str(exc.error)
        else:
            continue
        assert token[:8] not in text and "client-secret-xyz" not in text
        assert "body not shown" in text
