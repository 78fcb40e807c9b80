"""Pages of the job list: Zendesk's cursor pagination, and the older offset style.

A cursor is the opaque, URL-safe encoding of one job's position in the list order, so the next
page starts right after that job even when newer jobs arrived in between (keyset pagination,
as Zendesk does). Links are absolute URLs on the emulator's own origin, unless a test points
them elsewhere (``next_link_base``) to check that a client refuses to follow them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from airflow_provider_zendesk_jobs.testing.messages import BadInput, Request

MAX_PAGE_SIZE = 100
SortKey = tuple[int, float, float, int]
T = TypeVar("T")


def _bad(description: str) -> BadInput:
    return BadInput(400, "InvalidPaginationParameter", description)


def encode_cursor(key: SortKey) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _bad(f"page cursor {cursor[:40]!r} is not valid") from None
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        or not isinstance(value[0], int)
        or not isinstance(value[3], int)
    ):
        raise _bad(f"page cursor {cursor[:40]!r} is not valid")
    return (value[0], float(value[1]), float(value[2]), value[3])


def int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    text = request.param(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _bad(f"{name} must be an integer, not {text[:40]!r}") from None
    if value < low or (high is not None and value > high):
        upper = f" and {high}" if high is not None else ""
        raise _bad(f"{name} must be between {low}{upper}" if upper else f"{name} must be at least {low}")
    return value


@dataclass
class CursorPage:
    start: int
    stop: int
    #: More jobs in the direction of travel (before the page for ``page[before]``, else after it).
    has_more: bool
    has_after: bool
    has_before: bool


def cursor_page(keys: Sequence[SortKey], request: Request) -> tuple[CursorPage, int]:
    """Which slice of the ordered list a cursor request asks for, and the page size."""
    size = int_param(request, "page[size]", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    after = request.param("page[after]")
    before = request.param("page[before]")
    if after is not None and before is not None:
        raise _bad("page[after] and page[before] cannot be used together")
    if before is not None:
        key = decode_cursor(before)
        stop = _first_at_or_after(keys, key)
        start = max(0, stop - size)
        return CursorPage(start, stop, has_more=start > 0, has_after=stop < len(keys), has_before=start > 0), size
    start = 0
    if after is not None:
        key = decode_cursor(after)
        start = _first_after(keys, key)
    stop = min(len(keys), start + size)
    has_after = stop < len(keys)
    return CursorPage(start, stop, has_more=has_after, has_after=has_after, has_before=start > 0), size


def _first_after(keys: Sequence[SortKey], key: SortKey) -> int:
    for index, candidate in enumerate(keys):
        if candidate > key:
            return index
    return len(keys)


def _first_at_or_after(keys: Sequence[SortKey], key: SortKey) -> int:
    for index, candidate in enumerate(keys):
        if candidate >= key:
            return index
    return len(keys)


def page_link(base: str, path: str, pairs: list[tuple[str, str]]) -> str:
    return f"{base}{path}?{urlencode(pairs)}"


def cursor_links(
    base: str, path: str, size: int, page: CursorPage, first: SortKey | None, last: SortKey | None
) -> tuple[dict[str, object], dict[str, str | None]]:
    """The ``meta`` and ``links`` objects of a cursor page."""
    after_cursor = encode_cursor(last) if last is not None else None
    before_cursor = encode_cursor(first) if first is not None else None
    next_link = None
    if page.has_after and after_cursor is not None:
        next_link = page_link(base, path, [("page[size]", str(size)), ("page[after]", after_cursor)])
    prev_link = None
    if page.has_before and before_cursor is not None:
        prev_link = page_link(base, path, [("page[size]", str(size)), ("page[before]", before_cursor)])
    meta: dict[str, object] = {"has_more": page.has_more, "after_cursor": after_cursor, "before_cursor": before_cursor}
    return meta, {"prev": prev_link, "next": next_link}


def offset_page(items: Sequence[T], request: Request, base: str, path: str) -> tuple[Sequence[T], dict[str, object]]:
    """A page in the offset style: ``page`` (from 1) and ``per_page`` (``page[size]`` is read as a fallback)."""
    fallback = request.param("page[size]")
    name = "per_page" if request.param("per_page") is not None or fallback is None else "page[size]"
    per_page = int_param(request, name, MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    number = int_param(request, "page", 1, 1, None)
    start = (number - 1) * per_page
    chunk = items[start : start + per_page]
    next_page = None
    if start + per_page < len(items):
        next_page = page_link(base, path, [("page", str(number + 1)), ("per_page", str(per_page))])
    previous_page = None
    if number > 1:
        previous_page = page_link(base, path, [("page", str(number - 1)), ("per_page", str(per_page))])
    return chunk, {"next_page": next_page, "previous_page": previous_page, "count": len(items)}
