"""What a failed bulk call means for its chunk: nothing started, perhaps started, or refused for good.

* **not started**: the job limit (429 ``TooManyJobs``), the request rate (429) or 503: Zendesk
  says it did nothing; or no connection opened (refused, a connect timeout, a name that does not
  resolve), so the request never left. The chunk goes back to the queue and is sent later.
* **unknown**: the answer was lost after the request left (another 5xx, a timeout or a cut
  connection, a 2xx whose body is not a job status): a job may have started. The chunk is
  never simply sent again; Zendesk's job list settles it (:mod:`.reconcile`).
* **refused**: Zendesk refused the chunk itself (400, 413, 422): its records fail with Zendesk's
  answer, nothing started, and the import goes on with the next chunks. A later try sends the
  chunk again only if its records were corrected.
* **stop**: the credentials, the permission or the call itself (401, 403, 404, a redirect, any
  other answer): no chunk can go through, so the import stops, naming the reason.
"""

from __future__ import annotations

from enum import Enum

from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskJobsError,
    ZendeskRateLimitError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)

__all__ = ["Submission", "classify_failure"]


class Submission(Enum):
    NOT_STARTED = "not started"
    UNKNOWN = "unknown"
    REFUSED = "refused"
    STOP = "stop"


#: Answers that refuse the chunk's records themselves, not the call: the next chunk may go through.
CHUNK_REFUSALS = frozenset({400, 413, 422})


def classify_failure(error: ZendeskJobsError) -> Submission:
    if isinstance(error, ZendeskRateLimitError):
        return Submission.NOT_STARTED
    if isinstance(error, ZendeskUnavailableError):
        return Submission.NOT_STARTED if error.status_code == 503 or error.never_sent else Submission.UNKNOWN
    if isinstance(error, ZendeskResponseError) and (error.status_code is None or 200 <= error.status_code < 300):
        return Submission.UNKNOWN
    if error.status_code in CHUNK_REFUSALS:
        return Submission.REFUSED
    return Submission.STOP
