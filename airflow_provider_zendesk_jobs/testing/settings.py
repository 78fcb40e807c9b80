"""The settings a running emulator can change: job timings, limits, switches and answer styles.

One reading and one writing of them, shared by ``ZendeskEmulator.settings()`` /
``change_settings()`` and the ``/__emulator__/settings`` endpoint, so a value refused in
Python is refused over HTTP with the same message. A change is checked whole before any of it
is applied: a bad value changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from airflow_provider_zendesk_jobs.testing.api_settings import PAGINATION_STYLES, ApiSettings
from airflow_provider_zendesk_jobs.testing.jobs_store import StoreSettings

#: Clock seconds, finite and >= 0.
STORE_TIMINGS = ("queued_seconds", "seconds_per_item", "not_visible_seconds", "retention_seconds")
#: Whole numbers >= 1, and which settings object holds each.
API_LIMITS = ("max_active_jobs", "max_records", "max_show_many")
STORE_LIMITS = ("listed_jobs",)
SWITCHES = ("pagination_style", "next_link_base", "failing_ids", "bulk_user_imports")
#: Every name ``change_settings`` takes; ``settings()`` also answers ``rate_limit`` (changed by ``set_rate_limit``).
SETTING_NAMES = (*STORE_TIMINGS, *STORE_LIMITS, *API_LIMITS, *SWITCHES)


def describe(store: StoreSettings, api: ApiSettings, rate_limit: int | None) -> dict[str, Any]:
    """Every setting as JSON-ready values (``failing_ids`` as a sorted list)."""
    settings: dict[str, Any] = asdict(store)
    settings.update(
        max_active_jobs=api.max_active_jobs,
        max_records=api.max_records,
        max_show_many=api.max_show_many,
        pagination_style=api.pagination_style,
        next_link_base=api.next_link_base,
        failing_ids=sorted(api.failing_ids, key=str),
        bulk_user_imports=api.bulk_user_imports,
        rate_limit=rate_limit,
    )
    return settings


def _timing(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
    return float(value)


def _limit(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return value


def _pagination_style(name: str, value: Any) -> str:
    if value not in PAGINATION_STYLES:
        raise ValueError(f"pagination_style must be one of {PAGINATION_STYLES}, not {value!r}")
    return str(value)


def _next_link_base(name: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"next_link_base must be a URL or None, not {value!r}")
    return value.rstrip("/") if value else None


def _failing_ids(name: str, value: Any) -> set[object]:
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(
        isinstance(i, (int, str)) and not isinstance(i, bool) for i in value
    ):
        raise ValueError(f"failing_ids must be a list of ids (integers or strings), not {value!r}")
    return set(value)


def _switch(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, not {value!r}")
    return value


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    **dict.fromkeys(STORE_TIMINGS, _timing),
    **dict.fromkeys((*API_LIMITS, *STORE_LIMITS), _limit),
    "pagination_style": _pagination_style,
    "next_link_base": _next_link_base,
    "failing_ids": _failing_ids,
    "bulk_user_imports": _switch,
}


def apply(store: StoreSettings, api: ApiSettings, changes: Mapping[str, Any]) -> None:
    """Check every change, then apply them all; ValueError naming the first bad or unknown one."""
    unknown = sorted(set(changes) - set(_CHECKS))
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(unknown)}; known: {', '.join(SETTING_NAMES)}")
    checked = {name: _CHECKS[name](name, value) for name, value in changes.items()}
    for name, value in checked.items():
        setattr(store if name in (*STORE_TIMINGS, *STORE_LIMITS) else api, name, value)
