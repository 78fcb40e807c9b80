"""Running a trigger the way the triggerer does, to its one event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger


async def event_of(trigger: ZendeskJobStatusTrigger) -> dict[str, Any]:
    """Run the trigger to its one event; check that it yields no second one."""
    run = trigger.run()
    event = await anext(run)
    with pytest.raises(StopAsyncIteration):
        await anext(run)
    payload: dict[str, Any] = event.payload
    json.dumps(payload)  # the triggerer stores it: primitives only
    return payload
