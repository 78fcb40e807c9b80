"""Apache Airflow provider for Zendesk background jobs: wait on them, read their results, audit them."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
