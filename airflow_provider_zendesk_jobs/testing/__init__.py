"""A local Zendesk job-status server for demos, this project's tests and users' own DAG tests.

Standard library only, and no Airflow import, so it starts fast and runs anywhere::

    from airflow_provider_zendesk_jobs.testing import ManualClock, ZendeskEmulator

    with ZendeskEmulator(clock=ManualClock()) as emu:
        job_id = emu.create_job("tickets_create", count=10)
        emu.advance(emu.finish_time(job_id) - emu.now())
        assert emu.job(job_id)["status"] == "completed"

Where Airflow runs in other processes (``airflow dags test``, a deployment, an installed wheel),
:class:`RemoteEmulator` starts the same emulator as its own process (the console script) and offers
the same methods over its ``/__emulator__/`` HTTP API; both satisfy :class:`EmulatorControl`, so a
helper typed against it drives either. :class:`ClockRunner` lets a manual clock run at a chosen
speed from a background thread, once something has happened (``start_when``).

Jobs move queued -> working -> completed (or failed / killed) on the emulator's clock; records
whose ``subject``, ``email``, ``name`` or ``external_id`` contain ``FAIL`` give failed items,
``KILL_JOB`` / ``FAIL_JOB`` end the whole job (see :mod:`.job_kinds`). Faults (:class:`Fault`)
make it answer 429, 5xx, HTML pages, slow, hanging, malformed or cut answers. The console script
``zendesk-jobs-emulator`` runs it standalone; ``airflow_provider_zendesk_jobs.testing.pytest_plugin``
offers pytest fixtures.
"""

from __future__ import annotations

from airflow_provider_zendesk_jobs.testing.clock import Clock, ManualClock, ScaledClock
from airflow_provider_zendesk_jobs.testing.clock_runner import ClockRunner
from airflow_provider_zendesk_jobs.testing.credentials import DEFAULT_CREDENTIALS, Credentials
from airflow_provider_zendesk_jobs.testing.emulator import ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.emulator_control import EmulatorControl
from airflow_provider_zendesk_jobs.testing.emulator_process import EmulatorProcessError
from airflow_provider_zendesk_jobs.testing.faults import FAULT_KINDS, Fault
from airflow_provider_zendesk_jobs.testing.job_kinds import KINDS
from airflow_provider_zendesk_jobs.testing.record_log import RecordSummary
from airflow_provider_zendesk_jobs.testing.remote import RemoteEmulator, RemoteEmulatorError
from airflow_provider_zendesk_jobs.testing.request_log import RequestRecord

JOB_KINDS = tuple(KINDS)

__all__ = [
    "DEFAULT_CREDENTIALS",
    "FAULT_KINDS",
    "JOB_KINDS",
    "Clock",
    "ClockRunner",
    "Credentials",
    "EmulatorControl",
    "EmulatorProcessError",
    "Fault",
    "ManualClock",
    "RecordSummary",
    "RemoteEmulator",
    "RemoteEmulatorError",
    "RequestRecord",
    "ScaledClock",
    "ZendeskEmulator",
]
