"""The fault tests' emulator: the plugin's, on a manual clock at the real time, with room for many jobs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from tests.reliability.fault_support import clock_at_real_time


@pytest.fixture
def emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    """``zendesk_default`` points at it (API token)."""
    emulator: ZendeskEmulator = zendesk_emulator_factory(
        conn_id="zendesk_default", clock=clock_at_real_time(), max_active_jobs=10_000
    )
    return emulator
