"""The opt-in pytest plugin: its fixtures here, and a real pytest run of a project that opts in."""

from __future__ import annotations

import importlib.metadata
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_provider_zendesk_jobs.testing import ManualClock
from tests.support.emulator_http import call, host_port

ROOT = Path(__file__).resolve().parents[2]


def test_fixture_is_started_on_a_manual_clock_with_the_connection_set(zendesk_emulator):
    assert isinstance(zendesk_emulator.clock, ManualClock)
    conn = json.loads(os.environ["AIRFLOW_CONN_ZENDESK_DEFAULT"])
    assert conn == json.loads(zendesk_emulator.connection_extra_json())
    assert conn["host"] == zendesk_emulator.url
    assert call(zendesk_emulator, "GET", "/api/v2/job_statuses").status == 200


def test_factory_makes_independent_emulators(zendesk_emulator_factory):
    first = zendesk_emulator_factory()
    second = zendesk_emulator_factory(api_token="other", clock=ManualClock(start=0.0))
    assert first.url != second.url
    assert isinstance(first.clock, ManualClock)
    assert second.clock.now() == 0.0
    first.create_job(count=1)
    assert first.request_count() == 0
    assert call(second, "GET", "/api/v2/job_statuses").status == 401


def test_factory_points_a_named_connection_at_the_emulator_in_the_auth_form_asked(zendesk_emulator_factory):
    default_before = os.environ.get("AIRFLOW_CONN_ZENDESK_DEFAULT")
    eu = zendesk_emulator_factory(conn_id="zendesk_eu", auth="client_credentials")
    conn = json.loads(os.environ["AIRFLOW_CONN_ZENDESK_EU"])
    assert conn == json.loads(eu.connection_extra_json(auth="client_credentials"))
    assert conn["host"] == eu.url and conn["extra"]["client_id"] == eu.credentials.client_id
    assert os.environ.get("AIRFLOW_CONN_ZENDESK_DEFAULT") == default_before  # only the named one
    with pytest.raises(ValueError, match="auth must be one of"):
        zendesk_emulator_factory(conn_id="zendesk_other", auth="basic")


def test_a_named_connection_is_gone_after_the_test():
    assert "AIRFLOW_CONN_ZENDESK_EU" not in os.environ


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_project_that_opts_in_gets_the_fixtures_and_they_clean_up(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    seen = tmp_path / "seen.json"
    (project / "conftest.py").write_text('pytest_plugins = ["airflow_provider_zendesk_jobs.testing.pytest_plugin"]\n')
    (project / "test_uses_it.py").write_text(
        textwrap.dedent(
            f"""
            import json, os, urllib.request

            def test_emulator(zendesk_emulator, zendesk_emulator_factory):
                other = zendesk_emulator_factory(not_visible_seconds=5)
                job_id = zendesk_emulator.create_job("tickets_create", count=2)
                zendesk_emulator.advance(zendesk_emulator.finish_time(job_id) - zendesk_emulator.clock.now())
                assert zendesk_emulator.job(job_id)["status"] == "completed"
                conn = json.loads(os.environ["AIRFLOW_CONN_ZENDESK_DEFAULT"])
                assert conn["host"] == zendesk_emulator.url
                with open({str(seen)!r}, "w") as f:
                    json.dump([zendesk_emulator.url, other.url], f)
            """
        )
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("AIRFLOW_CONN_ZENDESK_DEFAULT", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
        capture_output=True,
        text=True,
        cwd=project,
        env=env,
        timeout=50,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    for url in json.loads(seen.read_text()):
        host, _, port = url.removeprefix("http://").rpartition(":")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=1).close()


def test_the_plugin_is_not_registered_automatically():
    plugins = [entry.value for entry in importlib.metadata.entry_points(group="pytest11")]
    assert not any(value.startswith("airflow_provider_zendesk_jobs") for value in plugins)


def test_emulator_outlives_nothing(zendesk_emulator):
    """A sanity check that the fixture's emulator answers on its own port."""
    host, port = host_port(zendesk_emulator)
    with socket.create_connection((host, port), timeout=2):
        pass
