"""Which Airflow 3 minor is running, for the few places where behaviour differs between them.

Names come from ``airflow.providers.common.compat``; these flags are only for code paths that
are not a name's location (the official providers keep such a module in each provider).
"""

from __future__ import annotations


def airflow_version() -> tuple[int, int, int]:
    """The running Airflow's release as ``(major, minor, micro)``, pre-release tags dropped."""
    from airflow import __version__
    from packaging.version import Version

    version = Version(__version__)
    return version.major, version.minor, version.micro


AIRFLOW_V_3_1_PLUS: bool = airflow_version() >= (3, 1, 0)
AIRFLOW_V_3_2_PLUS: bool = airflow_version() >= (3, 2, 0)
AIRFLOW_V_3_3_PLUS: bool = airflow_version() >= (3, 3, 0)

__all__ = ["AIRFLOW_V_3_1_PLUS", "AIRFLOW_V_3_2_PLUS", "AIRFLOW_V_3_3_PLUS", "airflow_version"]
