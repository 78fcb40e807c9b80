"""Short, safe excerpts of what Zendesk sent, for error messages.

An edge proxy can answer with a 50 KB HTML page; a person needs the first words of it,
without markup, not the whole page in a task log.
"""

from __future__ import annotations

import re

EXCERPT_LENGTH = 200
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


def excerpt(body: bytes | str | None, limit: int = EXCERPT_LENGTH) -> str:
    """The first ``limit`` characters of ``body`` as one line, HTML tags removed."""
    if not body:
        return "(empty body)"
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if "<" in text and ">" in text:
        text = _TAGS.sub(" ", text)
    text = _SPACE.sub(" ", text).strip()
    if not text:
        return "(no text in body)"
    return text if len(text) <= limit else text[:limit] + "..."
