"""The sync hook against the emulator over loopback: reads, auth modes, pagination, bulk calls.

The hook sleeps on the emulator's manual clock, so no test waits in real time. Both hooks under every
fault (429s, 5xx, hangs, broken answers) are in tests/reliability/test_faults_hook.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskAuthError,
    ZendeskNotFoundError,
    ZendeskResponseError,
)
from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.jobs import JobState
from airflow_provider_zendesk_jobs.testing import ZendeskEmulator


def hook_for(
    emu: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, auth: str = "token", **kwargs: object
) -> ZendeskJobStatusHook:
    monkeypatch.setenv("AIRFLOW_CONN_ZENDESK_DEFAULT", emu.connection_extra_json(auth=auth))
    return ZendeskJobStatusHook(clock=emu.clock.now, sleep=emu.advance, **kwargs)  # type: ignore[arg-type]


def api_requests(emu: ZendeskEmulator) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in emu.requests]


# -- reads and the job lifecycle ----------------------------------------------------------------------
def test_lifecycle_read_through_the_clock(emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = emulator.create_job(kind="tickets_create", count=10, queued_seconds=2, work_seconds=10)
    hook = hook_for(emulator, monkeypatch)
    assert hook.get_job_status(job_id).state is JobState.QUEUED
    emulator.advance(7)
    working = hook.get_job_status(job_id)
    assert working.state is JobState.WORKING
    assert 0 < (working.progress or 0) < 10
    emulator.advance(emulator.finish_time(job_id) - emulator.clock.now())
    done = hook.get_job_status(job_id)
    assert done.state is JobState.COMPLETED
    assert len(done.succeeded_ids) == 10


def test_show_many_in_order_and_missing_ids(emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [emulator.create_job(count=1) for _ in range(150)]
    hook = hook_for(emulator, monkeypatch)
    asked = list(reversed(ids))
    assert [job.id for job in hook.get_job_statuses(asked)] == asked
    assert emulator.request_count("/api/v2/job_statuses/show_many") == 2
    with pytest.raises(ZendeskNotFoundError) as info:
        hook.get_job_statuses([ids[0], "V3-unknown"])
    assert info.value.job_ids == ("V3-unknown",)


def test_unknown_and_expired_ids_answer_not_found(emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = emulator.create_job(count=1)
    hook = hook_for(emulator, monkeypatch)
    with pytest.raises(ZendeskNotFoundError, match="V3-doesnotexist"):
        hook.get_job_status("V3-doesnotexist")
    emulator.advance(86_400 + 1)
    with pytest.raises(ZendeskNotFoundError, match=job_id):
        hook.get_job_status(job_id)


def test_not_yet_visible_job(
    zendesk_emulator_factory: Callable[..., ZendeskEmulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = zendesk_emulator_factory(not_visible_seconds=5)
    job_id = emu.create_job(count=1)
    hook = hook_for(emu, monkeypatch)
    assert hook.get_job_statuses_by_id([job_id]) == {}
    emu.advance(5)
    assert list(hook.get_job_statuses_by_id([job_id])) == [job_id]


@pytest.mark.parametrize("style", ["cursor", "offset"])
def test_list_walks_several_pages(emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, style: str) -> None:
    emulator.pagination_style = style
    emulator.store_settings.listed_jobs = 1000  # more than Zendesk's usual 100, to walk several pages
    ids = {emulator.create_job(count=1) for _ in range(230)}
    hook = hook_for(emulator, monkeypatch)
    listed = [job.id for job in hook.list_job_statuses()]
    assert set(listed) == ids and len(listed) == 230
    assert emulator.request_count("/api/v2/job_statuses", method="GET") == 3
    emulator.reset_requests()
    assert len(list(hook.list_job_statuses(limit=120))) == 120
    assert emulator.request_count("/api/v2/job_statuses", method="GET") == 2


def test_foreign_next_link_is_refused(emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.pagination_style = "offset"
    emulator.next_link_base = "http://evil.example.com:80"
    emulator.store_settings.listed_jobs = 1000
    for _ in range(120):
        emulator.create_job(count=1)
    hook = hook_for(emulator, monkeypatch)
    with pytest.raises(ZendeskResponseError, match="another address"):
        list(hook.list_job_statuses())
    assert emulator.request_count() == 1


def test_test_connection(emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    ok, message = hook_for(emulator, monkeypatch).test_connection()
    assert ok, message
    assert emulator.url in message


# -- auth modes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("auth", ["token", "oauth", "client_credentials"])
def test_every_auth_mode_reads(emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, auth: str) -> None:
    job_id = emulator.create_job(count=1)
    assert hook_for(emulator, monkeypatch, auth=auth).get_job_status(job_id).id == job_id
    expected = {"token": "basic", "oauth": "bearer", "client_credentials": "oauth-client-token"}[auth]
    assert emulator.requests[-1].auth == expected


def test_client_credential_token_is_renewed_after_expiry(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = emulator.create_job(count=1)
    hook = hook_for(emulator, monkeypatch, auth="client_credentials")
    hook.get_job_status(job_id)
    assert emulator.tokens_issued == 1
    emulator.expire_tokens()  # the cached token is now refused with 401
    hook.get_job_status(job_id)
    assert emulator.tokens_issued == 2
    statuses = [status for method, path, status in api_requests(emulator) if path.startswith("/api/v2/job_statuses")]
    assert statuses == [200, 401, 200]


def test_client_credential_token_renewed_before_its_lifetime_ends(
    zendesk_emulator_factory: Callable[..., ZendeskEmulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = zendesk_emulator_factory(oauth_token_ttl=600)
    job_id = emu.create_job(count=1)
    hook = hook_for(emu, monkeypatch, auth="client_credentials")
    hook.get_job_status(job_id)
    emu.advance(570)
    hook.get_job_status(job_id)
    assert emu.tokens_issued == 2
    assert all(r.status == 200 for r in emu.requests)


def test_wrong_credentials_are_refused(emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_ZENDESK_DEFAULT",
        f'{{"conn_type": "zendesk_jobs", "host": "{emulator.url}", "login": "demo@example.com", "password": "nope"}}',
    )
    with pytest.raises(ZendeskAuthError, match="401"):
        ZendeskJobStatusHook().get_job_status("V3-a")
    assert emulator.request_count() == 1


# -- bulk calls -------------------------------------------------------------------------------------
def test_bulk_import_with_a_failing_record(emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = hook_for(emulator, monkeypatch)
    tickets = [{"subject": "ok 1"}, {"subject": "please FAIL"}, {"subject": "ok 2"}]
    job = hook.submit_job("POST", "/api/v2/imports/tickets/create_many", {"tickets": tickets})
    assert job.state is JobState.QUEUED and job.total == 3
    emulator.advance(emulator.finish_time(job.id) - emulator.clock.now())
    done = hook.get_job_status(job.id).to_dict()
    assert done["counts"] == {"succeeded": 2, "failed": 1}
    assert done["failed"][0]["index"] == 1


@pytest.mark.parametrize(
    ("method", "endpoint", "payload", "expected"),
    [
        ("POST", "/api/v2/tickets/create_many", {"tickets": [{"subject": "a"}]}, "index"),
        ("PUT", "/api/v2/tickets/update_many", {"tickets": [{"id": 1, "status": "solved"}]}, "update"),
        ("POST", "/api/v2/users/create_or_update_many", {"users": [{"email": "a@b.c", "name": "A"}]}, "Created"),
        ("DELETE", "/api/v2/tickets/destroy_many?ids=1,2", None, "delete"),
        ("DELETE", "/api/v2/deleted_tickets/destroy_many?ids=1,2", None, "success"),
    ],
)
def test_every_bulk_call_shape(
    emulator: ZendeskEmulator,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    endpoint: str,
    payload: object,
    expected: str,
) -> None:
    hook = hook_for(emulator, monkeypatch)
    job = hook.submit_job(method, endpoint, payload)
    emulator.advance(emulator.finish_time(job.id) - emulator.clock.now())
    done = hook.get_job_status(job.id)
    assert done.state is JobState.COMPLETED
    if expected == "success":
        assert done.to_dict()["success"] is True
    else:
        item = done.items[0]
        assert expected in {item.action, item.status, "index" if item.index is not None else None}
