"""The limits and answer styles of the Zendesk endpoints, shared by the job-status and the bulk routes."""

from __future__ import annotations

from dataclasses import dataclass, field

PAGINATION_STYLES = ("cursor", "offset")


@dataclass
class ApiSettings:
    """Limits and answer styles of the Zendesk endpoints; mutable while the emulator runs."""

    max_active_jobs: int = 30
    max_records: int = 100
    max_show_many: int = 100
    pagination_style: str = "cursor"
    next_link_base: str | None = None
    failing_ids: set[object] = field(default_factory=set)
    #: False: users/create_many and create_or_update_many answer 403, as on an account whose owner has not
    #: switched on bulk user imports (nothing is started, recorded or counted).
    bulk_user_imports: bool = True
