"""Fixtures for the emulator's own tests: the public pytest plugin's, imported.

``pytest_plugins`` may only be set in the root conftest, so the plugin's fixtures are imported.
"""

from __future__ import annotations

import pytest

from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.pytest_plugin import (  # noqa: F401
    zendesk_emulator,
    zendesk_emulator_factory,
)


@pytest.fixture
def emu(request: pytest.FixtureRequest) -> ZendeskEmulator:
    """The plugin's emulator, under a short name."""
    emulator: ZendeskEmulator = request.getfixturevalue("zendesk_emulator")
    return emulator
