"""The requests-per-minute budget on the emulator's clock (a sliding minute)."""

from __future__ import annotations

import pytest

from tests.support.emulator_http import call

LIST = "/api/v2/job_statuses"


def test_budget_headers_then_429_until_the_window_ends(emu):
    emu.set_rate_limit(3)
    assert emu.rate_limit == 3
    remaining = []
    for _ in range(3):
        answer = call(emu, "GET", LIST)
        assert answer.status == 200
        assert answer.headers["x-rate-limit"] == "3"
        assert answer.headers["ratelimit-limit"] == "3"
        assert answer.headers["ratelimit-reset"] == "60"
        assert answer.headers["x-rate-limit-remaining"] == answer.headers["ratelimit-remaining"]
        remaining.append(int(answer.headers["x-rate-limit-remaining"]))
    assert remaining == [2, 1, 0]
    emu.advance(15.0)
    refused = call(emu, "GET", LIST)
    assert refused.status == 429
    assert refused.json()["error"] == "APIRateLimitExceeded"
    assert refused.headers["retry-after"] == "45"
    assert refused.headers["x-rate-limit-remaining"] == "0"
    emu.advance(44.5)
    refused = call(emu, "GET", LIST)
    assert refused.status == 429
    assert refused.headers["retry-after"] == "1"
    emu.advance(0.5)
    fresh = call(emu, "GET", LIST)
    assert fresh.status == 200
    assert fresh.headers["x-rate-limit-remaining"] == "2"


def test_the_window_slides_with_each_request(emu):
    emu.set_rate_limit(2)
    assert call(emu, "GET", LIST).status == 200  # t=0
    emu.advance(30.0)
    second = call(emu, "GET", LIST)  # t=30
    assert second.status == 200
    assert second.headers["ratelimit-reset"] == "30"  # the first one leaves the window at t=60
    emu.advance(10.0)
    refused = call(emu, "GET", LIST)  # t=40
    assert refused.status == 429
    assert refused.headers["retry-after"] == "20"
    emu.advance(20.0)
    assert call(emu, "GET", LIST).status == 200  # t=60: the first one has left
    emu.advance(1.0)
    refused = call(emu, "GET", LIST)  # t=61: two served since t=30
    assert refused.status == 429
    assert refused.headers["retry-after"] == "29"
    served = [record.time for record in emu.requests if record.status == 200]
    assert all(sum(1 for t in served if start <= t < start + 60) <= 2 for start in served)


def test_every_api_answer_counts_and_carries_the_headers(emu):
    emu.set_rate_limit(2)
    unauthorised = call(emu, "GET", LIST, auth=None)
    assert unauthorised.status == 401
    assert unauthorised.headers["x-rate-limit-remaining"] == "1"
    missing = call(emu, "GET", "/api/v2/job_statuses/V3-nothing")
    assert missing.status == 404
    assert missing.headers["x-rate-limit-remaining"] == "0"
    assert call(emu, "POST", "/api/v2/tickets/create_many", {"tickets": [{}]}).status == 429


def test_token_endpoint_and_control_calls_are_not_limited(emu):
    emu.set_rate_limit(1)
    grant = {"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"}
    for _ in range(3):
        answer = call(emu, "POST", "/oauth/tokens", grant, auth=None)
        assert answer.status == 200
        assert "x-rate-limit" not in answer.headers
        assert call(emu, "GET", "/__emulator__/clock", auth=None).status == 200
    assert call(emu, "GET", LIST).status == 200
    assert call(emu, "GET", LIST).status == 429


def test_no_headers_without_a_limit_and_limit_can_be_removed(emu):
    assert "x-rate-limit" not in call(emu, "GET", LIST).headers
    emu.set_rate_limit(1)
    call(emu, "GET", LIST)
    assert call(emu, "GET", LIST).status == 429
    emu.set_rate_limit(None)
    answer = call(emu, "GET", LIST)
    assert answer.status == 200
    assert "x-rate-limit" not in answer.headers


@pytest.mark.parametrize("bad", [0, -5, 1.5, True])
def test_limit_must_be_a_positive_int(emu, bad):
    with pytest.raises(ValueError, match="per_minute"):
        emu.set_rate_limit(bad)
