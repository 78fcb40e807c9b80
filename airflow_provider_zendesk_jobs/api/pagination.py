"""Where the next page of the job list is, and whether we may go there.

Zendesk answers the list with cursor pagination (``meta.has_more`` + ``links.next``), and
some accounts with offset pagination (``next_page``). A link is followed only when it has
the connection's own scheme, host and port: credentials go nowhere else. A foreign link
is not skipped silently (that would drop pages): it raises, unless the cursor itself lets
us build the same page on our own origin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from airflow_provider_zendesk_jobs.api.connection_settings import ConnectionSettings
from airflow_provider_zendesk_jobs.api.request_builders import JOB_STATUSES_PATH
from airflow_provider_zendesk_jobs.exceptions import ZendeskResponseError


def _foreign(url: str) -> ZendeskResponseError:
    try:
        parts = urlsplit(url)
        where = f"{parts.scheme}://{parts.hostname}"
    except ValueError:  # not even a URL, e.g. an unclosed IPv6 bracket
        where = "a link that is not a valid URL"
    return ZendeskResponseError(
        f"Zendesk's job list points its next page at another address ({where}); "
        "it is not followed, so no credentials leave the connection's host. Check the connection's host "
        "(use the account's own https://<subdomain>.zendesk.com address)."
    )


def next_page_url(body: Any, settings: ConnectionSettings, *, page_size: int) -> str | None:
    """The URL of the next page, or None at the end of the list."""
    if not isinstance(body, Mapping):
        return None
    meta = body.get("meta")
    if isinstance(meta, Mapping) and "has_more" in meta:
        if meta.get("has_more") is not True:
            return None
        links = body.get("links")
        link = links.get("next") if isinstance(links, Mapping) else None
        if isinstance(link, str) and link:
            if settings.same_origin(link):
                return link
            cursor = meta.get("after_cursor")
            if not isinstance(cursor, str) or not cursor:
                raise _foreign(link)
        cursor = meta.get("after_cursor")
        if not isinstance(cursor, str) or not cursor:
            raise ZendeskResponseError("Zendesk's job list says it has more pages but gives no cursor or link to them.")
        query = urlencode([("page[size]", str(page_size)), ("page[after]", cursor)], safe="[]")
        return settings.url(f"{JOB_STATUSES_PATH}?{query}")
    next_page = body.get("next_page")
    if isinstance(next_page, str) and next_page:
        if not settings.same_origin(next_page):
            raise _foreign(next_page)
        return next_page
    return None
