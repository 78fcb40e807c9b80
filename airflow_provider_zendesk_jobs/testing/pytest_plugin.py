"""pytest fixtures that run the emulator for a test (opt in, it is not auto-registered)::

    # conftest.py at the root of your tests
    pytest_plugins = ["airflow_provider_zendesk_jobs.testing.pytest_plugin"]

    def test_gate(zendesk_emulator):
        job_id = zendesk_emulator.create_job("tickets_import", count=5)
        ...  # AIRFLOW_CONN_ZENDESK_DEFAULT already points at the emulator

Both fixtures use a :class:`ManualClock`, so jobs only move when the test advances the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.testing.clock import ManualClock
from airflow_provider_zendesk_jobs.testing.emulator import ZendeskEmulator

CONN_ENV_VAR = "AIRFLOW_CONN_ZENDESK_DEFAULT"


@pytest.fixture
def zendesk_emulator_factory() -> Iterator[Callable[..., ZendeskEmulator]]:
    """Start emulators with any ``ZendeskEmulator`` arguments; all are stopped after the test.

    Unless given, ``clock`` is a fresh :class:`ManualClock` and the port a free one.
    """
    started: list[ZendeskEmulator] = []

    def make(**kwargs: Any) -> ZendeskEmulator:
        kwargs.setdefault("clock", ManualClock())
        emulator = ZendeskEmulator(**kwargs)
        emulator.start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def zendesk_emulator(
    zendesk_emulator_factory: Callable[..., ZendeskEmulator], monkeypatch: pytest.MonkeyPatch
) -> ZendeskEmulator:
    """A started emulator on a manual clock; ``AIRFLOW_CONN_ZENDESK_DEFAULT`` points at it (API token)."""
    emulator = zendesk_emulator_factory()
    monkeypatch.setenv(CONN_ENV_VAR, emulator.connection_extra_json())
    return emulator
