"""``python -m airflow_provider_zendesk_jobs.testing``: the same as ``zendesk-jobs-emulator``."""

from __future__ import annotations

from airflow_provider_zendesk_jobs.testing.cli import main

raise SystemExit(main())
