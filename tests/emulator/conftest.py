"""Fixtures for the emulator's own tests; the plugin's fixtures come from the root conftest."""

from __future__ import annotations

import pytest

from airflow_provider_zendesk_jobs.testing import ZendeskEmulator


@pytest.fixture
def emu(zendesk_emulator: ZendeskEmulator) -> ZendeskEmulator:
    """The plugin's emulator, under a short name."""
    return zendesk_emulator
