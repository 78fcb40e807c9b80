"""Multi-request calls as plans both hooks run: show_many requests mapped back by id, and the walk over pages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

from airflow_provider_zendesk_jobs.api.connection_settings import ConnectionSettings
from airflow_provider_zendesk_jobs.api.request_builders import (
    JOB_STATUSES_PATH,
    MAX_PAGE_SIZE,
    ApiRequest,
    chunked,
    follow_request,
    list_request,
    show_many_request,
)
from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskInvalidInputError,
    ZendeskNotFoundError,
    ZendeskResponseError,
)
from airflow_provider_zendesk_jobs.job_ids import show_ids, validate_job_ids
from airflow_provider_zendesk_jobs.jobs import JobStatus, parse_job_statuses_body

#: A walk that sees more pages than this is looping (Zendesk keeps about the last 100 jobs).
MAX_PAGES = 10_000


def checked_job_ids(job_ids: Iterable[str]) -> list[str]:
    """The ids of one call, read once (a generator serves both passes) and checked."""
    if not isinstance(job_ids, str | bytes) and isinstance(job_ids, Iterable):
        job_ids = list(job_ids)
    return validate_job_ids(job_ids)  # text or None is refused here, not split into characters


def show_many_requests(
    settings: ConnectionSettings, job_ids: Iterable[str], *, checked: bool = False
) -> list[ApiRequest]:
    """One request per 100 distinct ids; every id is checked before the first request is built.

    ``checked``: the caller already ran ``job_ids`` through :func:`validate_job_ids` (the triggerer's
    poller, whose waits were checked once when they registered, sends the same ids every cycle; checking
    10,000 ids again took about 5 ms of the event loop per cycle).
    """
    ids = list(job_ids) if checked else checked_job_ids(job_ids)
    return [show_many_request(settings.base_url, chunk, validated=True) for chunk in chunked(ids)]


def statuses_by_id(body: Any, requested: Sequence[str]) -> dict[str, JobStatus]:
    """Map a show_many answer back by ``id`` (never by position); jobs not requested are ignored."""
    wanted = set(requested)
    return {job.id: job for job in parse_job_statuses_body(body) if job.id in wanted}


def in_requested_order(job_ids: Sequence[str], found: dict[str, JobStatus]) -> list[JobStatus]:
    """The answers in the order asked, or the not-found error naming every id Zendesk left out."""
    missing = [job_id for job_id in dict.fromkeys(job_ids) if job_id not in found]
    if missing:
        raise ZendeskNotFoundError(
            f"Zendesk does not know job {'ids' if len(missing) > 1 else 'id'} {show_ids(missing, 20)}: the id is "
            "wrong, or the job is older than Zendesk keeps job statuses (about a day).",
            job_ids=missing,
        )
    return [found[job_id] for job_id in job_ids]


def validate_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ZendeskInvalidInputError(f"limit must be a whole number of jobs, 1 or more, or None; got {limit!r}.")


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
        if isinstance(link, str) and link and settings.same_origin(link):
            return link
        cursor = meta.get("after_cursor")
        if (not isinstance(cursor, str) or not cursor) and isinstance(link, str) and link:
            raise _foreign(link)
        if not isinstance(cursor, str) or not cursor:
            raise ZendeskResponseError("Zendesk's job list says it has more pages but gives no cursor or link to them.")
        query = urlencode([("page[size]", str(page_size)), ("page[after]", cursor)], safe="[]")
        return f"{settings.base_url}{JOB_STATUSES_PATH}?{query}"
    next_page = body.get("next_page")
    if isinstance(next_page, str) and next_page:
        if not settings.same_origin(next_page):
            raise _foreign(next_page)
        return next_page
    return None


class JobListWalk:
    """The pages of ``GET /api/v2/job_statuses``, up to ``limit`` jobs (checked by the hook), never a page too many."""

    def __init__(self, settings: ConnectionSettings, limit: int | None = None) -> None:
        self.settings = settings
        self.limit = limit
        self.page_size = min(MAX_PAGE_SIZE, self.limit) if self.limit else MAX_PAGE_SIZE
        self.yielded = 0
        self._next: ApiRequest | None = list_request(settings.base_url, self.page_size)
        self._seen: set[str] = set()

    def next_request(self) -> ApiRequest | None:
        if self._next is None or (self.limit is not None and self.yielded >= self.limit):
            return None
        return self._next

    def feed(self, body: Any) -> list[JobStatus]:
        """The jobs of one page (cut at ``limit``); prepares the request for the next page."""
        jobs = parse_job_statuses_body(body)
        if self.limit is not None:
            jobs = jobs[: self.limit - self.yielded]
        self.yielded += len(jobs)
        url = next_page_url(body, self.settings, page_size=self.page_size)
        self._next = None if url is None else follow_request(url)
        if url is not None:
            if url in self._seen or len(self._seen) >= MAX_PAGES:
                raise ZendeskResponseError(
                    "Zendesk's job list sent the same next-page link twice; stopping instead of looping."
                )
            self._seen.add(url)
        return jobs
