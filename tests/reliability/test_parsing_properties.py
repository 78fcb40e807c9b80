"""Any JSON in place of a job, its results or an item: a JobStatus or the provider's response error."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_zendesk_jobs.exceptions import ZendeskResponseError
from airflow_provider_zendesk_jobs.jobs import JobStatus, parse_job_status_body, parse_job_statuses_body

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
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


def parse_or_response_error(value: Any) -> JobStatus | None:
    try:
        return JobStatus.from_api(value)
    except ZendeskResponseError as exc:
        message = str(exc)
    assert "Zendesk" in message
    return None


@settings(max_examples=200, deadline=None)
@given(jobs)
def test_job_shaped_values_parse_or_raise_response_error(value: dict[str, Any]) -> None:
    job = parse_or_response_error(value)
    if job is not None:
        for include in (True, False):
            data = job.to_dict(include_results=include)
            assert json.loads(json.dumps(data)) == data
        assert job.describe_progress().startswith(job.id)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_any_json_value_parses_or_raises_response_error(value: Any) -> None:
    parse_or_response_error(value)
    for parser in (parse_job_status_body, parse_job_statuses_body):
        with contextlib.suppress(ZendeskResponseError):
            parser(value)


@settings(max_examples=150, deadline=None)
@given(st.lists(items | json_values, max_size=6))
def test_any_results_list_parses_or_raises(results: list[Any]) -> None:
    job = parse_or_response_error({"id": "V3-a", "status": "completed", "results": results})
    if job is not None:
        data = job.to_dict()
        assert data["counts"]["succeeded"] + data["counts"]["failed"] == len(results)
        assert json.loads(json.dumps(data)) == data
