"""GET /api/v2/job_statuses: order, cursor pagination, the offset style, foreign links."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.emulator_http import call, get_json


def path_of(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def make_jobs(emu, n: int) -> list[str]:
    """n jobs, created one clock second apart, all queued or working at the end."""
    ids = []
    for _ in range(n):
        ids.append(emu.create_job(count=1, queued_seconds=1000.0))
        emu.advance(1.0)
    return ids


def test_newest_first_unfinished_before_finished(emu):
    finished_early = emu.create_job(count=1, queued_seconds=0.0, work_seconds=1.0)
    emu.advance(1.0)
    finished_late = emu.create_job(count=1, queued_seconds=0.0, work_seconds=5.0)
    emu.advance(1.0)
    finished_in_between = emu.create_job(count=1, queued_seconds=0.0, work_seconds=1.0)
    running_old = emu.create_job(count=1, queued_seconds=100.0)
    emu.advance(1.0)
    running_new = emu.create_job(count=1, queued_seconds=100.0)
    emu.advance(10.0)
    listed = [job["id"] for job in get_json(emu, "/api/v2/job_statuses")["job_statuses"]]
    assert listed == [running_new, running_old, finished_late, finished_in_between, finished_early]


def test_cursor_pagination_over_several_pages(emu):
    ids = make_jobs(emu, 7)
    newest_first = list(reversed(ids))
    body = get_json(emu, "/api/v2/job_statuses?page[size]=3")
    seen = [job["id"] for job in body["job_statuses"]]
    assert body["meta"]["has_more"] is True
    assert body["links"]["prev"] is None
    pages = 1
    while body["meta"]["has_more"]:
        link = body["links"]["next"]
        assert link.startswith(emu.url + "/api/v2/job_statuses?")
        query = parse_qs(urlsplit(link).query)
        assert query["page[size]"] == ["3"]
        assert query["page[after]"] == [body["meta"]["after_cursor"]]
        body = get_json(emu, path_of(link))
        seen += [job["id"] for job in body["job_statuses"]]
        pages += 1
    assert pages == 3
    assert seen == newest_first
    assert body["links"]["next"] is None
    assert body["meta"]["after_cursor"] is not None
    assert set(body) == {"job_statuses", "meta", "links"}


def test_previous_page_link(emu):
    ids = list(reversed(make_jobs(emu, 5)))
    first = get_json(emu, "/api/v2/job_statuses?page[size]=2")
    second = get_json(emu, path_of(first["links"]["next"]))
    assert [job["id"] for job in second["job_statuses"]] == ids[2:4]
    back = get_json(emu, path_of(second["links"]["prev"]))
    assert [job["id"] for job in back["job_statuses"]] == ids[0:2]
    assert back["links"]["prev"] is None
    assert back["meta"]["has_more"] is False  # nothing further back
    assert back["links"]["next"] is not None


def test_cursor_stays_put_when_newer_jobs_arrive(emu):
    ids = list(reversed(make_jobs(emu, 4)))
    first = get_json(emu, "/api/v2/job_statuses?page[size]=2")
    emu.create_job(count=1, queued_seconds=1000.0)
    second = get_json(emu, path_of(first["links"]["next"]))
    assert [job["id"] for job in second["job_statuses"]] == ids[2:4]


def test_default_page_size_is_100(emu):
    emu.store_settings.listed_jobs = 1000
    make_jobs(emu, 101)
    body = get_json(emu, "/api/v2/job_statuses.json")
    assert len(body["job_statuses"]) == 100
    assert body["meta"]["has_more"] is True
    rest = get_json(emu, path_of(body["links"]["next"]))
    assert len(rest["job_statuses"]) == 1
    assert rest["meta"]["has_more"] is False


def test_empty_list(emu):
    body = get_json(emu, "/api/v2/job_statuses")
    assert body == {
        "job_statuses": [],
        "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
        "links": {"prev": None, "next": None},
    }


def test_encoded_brackets_are_accepted(emu):
    make_jobs(emu, 3)
    body = get_json(emu, "/api/v2/job_statuses?page%5Bsize%5D=1")
    assert len(body["job_statuses"]) == 1


@pytest.mark.parametrize(
    "query",
    [
        "page[size]=0",
        "page[size]=101",
        "page[size]=ten",
        "page[size]=",
        "page[after]=not-a-cursor",
        "page[after]=WzFd",  # valid base64 of [1]
        "page[before]=%25%25",
        "page[after]=a&page[before]=b",
    ],
)
def test_bad_pagination_parameters(emu, query):
    make_jobs(emu, 2)
    answer = call(emu, "GET", f"/api/v2/job_statuses?{query}")
    assert answer.status == 400
    body = answer.json()
    assert body["error"] == "InvalidPaginationParameter"
    assert body["description"]


def test_next_link_base_points_links_elsewhere(emu):
    make_jobs(emu, 3)
    emu.next_link_base = "http://evil.example.com:80/"
    body = get_json(emu, "/api/v2/job_statuses?page[size]=1")
    assert body["links"]["next"].startswith("http://evil.example.com:80/api/v2/job_statuses?")
    # the job urls stay on the emulator
    assert body["job_statuses"][0]["url"].startswith(emu.url)
    emu.next_link_base = None
    assert get_json(emu, "/api/v2/job_statuses?page[size]=1")["links"]["next"].startswith(emu.url)


def test_offset_pagination_style(emu):
    ids = list(reversed(make_jobs(emu, 5)))
    emu.pagination_style = "offset"
    body = get_json(emu, "/api/v2/job_statuses.json?per_page=2")
    assert set(body) == {"job_statuses", "next_page", "previous_page", "count"}
    assert body["count"] == 5
    assert body["previous_page"] is None
    assert body["next_page"] == f"{emu.url}/api/v2/job_statuses.json?page=2&per_page=2"
    seen = [job["id"] for job in body["job_statuses"]]
    while body["next_page"]:
        body = get_json(emu, path_of(body["next_page"]))
        seen += [job["id"] for job in body["job_statuses"]]
    assert seen == ids
    assert body["previous_page"] == f"{emu.url}/api/v2/job_statuses.json?page=2&per_page=2"
    # a cursor-style first request is read as per_page
    assert len(get_json(emu, "/api/v2/job_statuses?page[size]=4")["job_statuses"]) == 4
    assert len(get_json(emu, "/api/v2/job_statuses")["job_statuses"]) == 5
    emu.next_link_base = "http://evil.example.com:80"
    assert get_json(emu, "/api/v2/job_statuses?per_page=1")["next_page"].startswith("http://evil.example.com:80/")


@pytest.mark.parametrize("query", ["page=0", "page=x", "per_page=0", "per_page=101"])
def test_offset_style_bad_parameters(emu, query):
    emu.pagination_style = "offset"
    answer = call(emu, "GET", f"/api/v2/job_statuses?{query}")
    assert answer.status == 400
    assert answer.json()["error"] == "InvalidPaginationParameter"


def test_pagination_style_is_checked(emu):
    with pytest.raises(ValueError, match="pagination_style"):
        emu.pagination_style = "pages"


def test_the_list_shows_only_the_newest_jobs_like_zendesk(emu):
    ids = make_jobs(emu, 130)
    body = get_json(emu, "/api/v2/job_statuses")
    assert len(body["job_statuses"]) == 100 and body["meta"]["has_more"] is False
    listed = {job["id"] for job in body["job_statuses"]}
    assert listed <= set(ids) and len(listed) == 100
    oldest = [job_id for job_id in ids if job_id not in listed]
    assert len(oldest) == 30 and emu.job(oldest[0])["id"] == oldest[0]  # still readable by id
    emu.store_settings.listed_jobs = 10
    assert len(get_json(emu, "/api/v2/job_statuses")["job_statuses"]) == 10
