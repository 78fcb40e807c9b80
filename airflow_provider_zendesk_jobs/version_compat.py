"""Which Airflow 3 minor is running, for the few code paths that differ between them (names come from common.compat)."""

from __future__ import annotations

from airflow import __version__
from packaging.version import Version

_VERSION = Version(__version__).release[:2]
AIRFLOW_V_3_1_PLUS: bool = _VERSION >= (3, 1)
AIRFLOW_V_3_2_PLUS: bool = _VERSION >= (3, 2)
AIRFLOW_V_3_3_PLUS: bool = _VERSION >= (3, 3)

__all__ = ["AIRFLOW_V_3_1_PLUS", "AIRFLOW_V_3_2_PLUS", "AIRFLOW_V_3_3_PLUS"]
