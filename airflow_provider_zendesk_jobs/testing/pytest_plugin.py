"""pytest fixtures that run the emulator for a test (opt in, it is not auto-registered)::

    # conftest.py at the root of your tests
    pytest_plugins = ["airflow_provider_zendesk_jobs.testing.pytest_plugin"]

    def test_gate(zendesk_emulator):
        job_id = zendesk_emulator.create_job("tickets_import", count=5)
        ...  # AIRFLOW_CONN_ZENDESK_DEFAULT already points at the emulator

Both fixtures use a :class:`ManualClock`, so jobs only move when the test advances the clock.
They serve from a thread of the test's process; where Airflow runs in other processes (a
scheduler, ``airflow dags test``), start the emulator as its own with
:class:`~airflow_provider_zendesk_jobs.testing.RemoteEmulator`, which has the same methods.
The factory points any connection id at the emulator it starts::

    def test_two_accounts(zendesk_emulator_factory):
        eu = zendesk_emulator_factory(conn_id="zendesk_eu", auth="client_credentials")
        ...  # AIRFLOW_CONN_ZENDESK_EU points at it, with OAuth client credentials
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.testing.clock import ManualClock
from airflow_provider_zendesk_jobs.testing.emulator import ZendeskEmulator

DEFAULT_CONN_ID = "zendesk_default"


def conn_env_var(conn_id: str) -> str:
    """The environment variable Airflow reads connection ``conn_id`` from."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


@pytest.fixture
def zendesk_emulator_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ZendeskEmulator]]:
    """Start emulators with any ``ZendeskEmulator`` arguments; all are stopped after the test.

    Unless given, ``clock`` is a fresh :class:`ManualClock` and the port a free one. With
    ``conn_id``, that Airflow connection points at the emulator for the test, in the ``auth`` form
    :meth:`ZendeskEmulator.connection_extra_json` takes (``"token"``, ``"oauth"``, ``"client_credentials"``).
    """
    started: list[ZendeskEmulator] = []

    def make(*, conn_id: str | None = None, auth: str = "token", **kwargs: Any) -> ZendeskEmulator:
        kwargs.setdefault("clock", ManualClock())
        emulator = ZendeskEmulator(**kwargs)
        emulator.start()
        started.append(emulator)
        if conn_id is not None:
            monkeypatch.setenv(conn_env_var(conn_id), emulator.connection_extra_json(auth=auth))
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def zendesk_emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    """A started emulator on a manual clock; ``AIRFLOW_CONN_ZENDESK_DEFAULT`` points at it (API token)."""
    emulator: ZendeskEmulator = zendesk_emulator_factory(conn_id=DEFAULT_CONN_ID)
    return emulator
