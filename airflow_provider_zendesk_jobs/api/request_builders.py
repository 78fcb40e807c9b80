"""The requests this provider sends, as plain data: every id and endpoint checked before a socket opens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from airflow_provider_zendesk_jobs import __version__
from airflow_provider_zendesk_jobs.api.auth import TOKEN_PATH, ClientCredentialsAuth
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.job_ids import validate_job_id, validate_job_ids

JOB_STATUSES_PATH = "/api/v2/job_statuses"
#: Zendesk does not document a limit for show_many; 100 is what its other show_many calls take.
SHOW_MANY_LIMIT = 100
#: The largest page the cursor pagination serves.
MAX_PAGE_SIZE = 100
USER_AGENT = f"airflow-provider-zendesk-jobs/{__version__}"
BULK_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request for any HTTP client; ``path`` (with query) is what messages show, ``job_ids`` what a 404
    names, and only the token request, whose body holds its credentials, is not ``authenticated``."""

    method: str
    url: str
    path: str
    json: Any = field(default=None, repr=False)
    authenticated: bool = True
    job_ids: tuple[str, ...] = ()

    @property
    def answer_holds_credentials(self) -> bool:
        return self.path == TOKEN_PATH

    @property
    def idempotent(self) -> bool:
        """Only these are retried after an answer that may mean "done"; a second token grant only issues another."""
        return self.method in IDEMPOTENT_METHODS or self.path == TOKEN_PATH

    def headers(self, authorization: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self.json is not None:
            headers["Content-Type"] = "application/json"
        if authorization is not None:
            headers["Authorization"] = authorization
        return headers


def _with_query(path: str, params: Sequence[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(params, safe=',[]')}" if params else path


def show_job_request(base_url: str, job_id: str) -> ApiRequest:
    path = f"{JOB_STATUSES_PATH}/{validate_job_id(job_id)}"
    return ApiRequest("GET", base_url + path, path, job_ids=(job_id,))


def show_many_request(base_url: str, job_ids: Sequence[str], *, validated: bool = False) -> ApiRequest:
    """``validated``: the caller already checked every id (a poller sends the same ids every cycle)."""
    ids = list(job_ids) if validated else validate_job_ids(job_ids)
    if len(ids) > SHOW_MANY_LIMIT:
        raise ZendeskInvalidInputError(
            f"show_many takes at most {SHOW_MANY_LIMIT} ids a request, got {len(ids)}; "
            "split them (get_job_statuses does this for you)."
        )
    path = _with_query(f"{JOB_STATUSES_PATH}/show_many", [("ids", ",".join(ids))])
    return ApiRequest("GET", base_url + path, path, job_ids=tuple(ids))


def chunked(job_ids: Sequence[str], size: int = SHOW_MANY_LIMIT) -> list[list[str]]:
    """Split ids into show_many-sized requests, dropping repeats while keeping the order."""
    unique = list(dict.fromkeys(job_ids))
    return [unique[start : start + size] for start in range(0, len(unique), size)]


def list_request(base_url: str, page_size: int = MAX_PAGE_SIZE) -> ApiRequest:
    """``page_size``: from 1 to :data:`MAX_PAGE_SIZE`, as the walk derives it from a checked limit."""
    path = _with_query(JOB_STATUSES_PATH, [("page[size]", str(page_size))])
    return ApiRequest("GET", base_url + path, path)


def follow_request(url: str) -> ApiRequest:
    """A request for a pagination link already checked by :func:`operations.next_page_url`."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return ApiRequest("GET", url, path)


def bulk_call(method: Any, endpoint: Any, *, named: str = "submit_job") -> tuple[str, str]:
    """``(method, path)`` of a bulk call, checked: only paths under ``/api/v2/`` on the connection's host.

    One check for the operator's ``method=``/``endpoint=`` (when the DAG is parsed) and for
    ``submit_job`` (before a socket opens), so both refuse the same calls in the same words;
    ``named`` is how the caller's arguments are called in the message.
    """
    prefix = f"{named} " if named else ""
    if (verb := method.upper() if isinstance(method, str) else "") not in BULK_METHODS:
        raise ZendeskInvalidInputError(
            f"{prefix}method must be one of {', '.join(sorted(BULK_METHODS))}, got {method!r}."
        )
    if not isinstance(endpoint, str) or not endpoint:
        raise ZendeskInvalidInputError(
            f"{prefix}endpoint must be a path such as '/api/v2/tickets/create_many', got {endpoint!r}."
        )
    path = endpoint.strip()
    path = path if path.startswith("/") else "/" + path
    parts = urlsplit(path)
    elsewhere = "://" in path or path.startswith("//") or parts.netloc or parts.fragment or "\\" in path
    unsafe = "%" in parts.path or any(segment in ("..", ".") for segment in parts.path.split("/"))
    # the last test refuses whitespace, control and non-ASCII characters
    if elsewhere or unsafe or not parts.path.startswith("/api/v2/") or any(not "!" <= ch <= "~" for ch in path):
        raise ZendeskInvalidInputError(
            f"{prefix}endpoint {endpoint!r} is refused: give a path under /api/v2/ on the connection's "
            "own host, such as '/api/v2/tickets/create_many' (no full URL, no '..', no encoded characters)."
        )
    return verb, path


def submit_request(base_url: str, method: str, endpoint: str, payload: Any = None) -> ApiRequest:
    """A bulk call that answers a job status; only paths under ``/api/v2/`` on the connection's host."""
    verb, path = bulk_call(method, endpoint)
    return ApiRequest(verb, base_url + path, path, json=payload)


def token_request(base_url: str, auth: ClientCredentialsAuth) -> ApiRequest:
    body = {
        "grant_type": "client_credentials",
        "client_id": auth.client_id,
        "client_secret": auth.client_secret,
        "scope": auth.scope,
    }
    return ApiRequest("POST", base_url + TOKEN_PATH, TOKEN_PATH, json=body, authenticated=False)
