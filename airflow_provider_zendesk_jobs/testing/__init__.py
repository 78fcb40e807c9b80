"""A local Zendesk job-status server for demos, this project's tests and users' own DAG tests.

Standard library only, and no Airflow import, so it starts fast and runs anywhere::

    from airflow_provider_zendesk_jobs.testing import ManualClock, ZendeskEmulator

    with ZendeskEmulator(clock=ManualClock()) as emu:
        job_id = emu.create_job("tickets_create", count=10)
        emu.advance(emu.finish_time(job_id) - emu.clock.now())
        assert emu.job(job_id)["status"] == "completed"

Jobs move queued -> working -> completed (or failed / killed) on the emulator's clock; records
whose ``subject``, ``email``, ``name`` or ``external_id`` contain ``FAIL`` give failed items,
``KILL_JOB`` / ``FAIL_JOB`` end the whole job (see :mod:`.job_kinds`). Faults (:class:`Fault`)
make it answer 429, 5xx, HTML pages, slow, hanging, malformed or cut answers. The console script
``zendesk-jobs-emulator`` runs it standalone; ``airflow_provider_zendesk_jobs.testing.pytest_plugin``
offers pytest fixtures.
"""

from __future__ import annotations

from airflow_provider_zendesk_jobs.testing.clock import Clock, ManualClock, ScaledClock
from airflow_provider_zendesk_jobs.testing.credentials import DEFAULT_CREDENTIALS, Credentials
from airflow_provider_zendesk_jobs.testing.emulator import ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.faults import FAULT_KINDS, Fault
from airflow_provider_zendesk_jobs.testing.job_kinds import KINDS
from airflow_provider_zendesk_jobs.testing.request_log import RequestRecord

JOB_KINDS = tuple(KINDS)

__all__ = [
    "DEFAULT_CREDENTIALS",
    "FAULT_KINDS",
    "JOB_KINDS",
    "Clock",
    "Credentials",
    "Fault",
    "ManualClock",
    "RequestRecord",
    "ScaledClock",
    "ZendeskEmulator",
]
