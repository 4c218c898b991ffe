"""Unit tests of the tap's request shapes, against a scripted fake client."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import typing as t

import pytest

from hubspot_courses.client import ApiPaths, ApiResponse
from tap_hubspot_courses.reader import CourseReader, read_ahead


class FakeClient:
    """Answers POSTs from a handler and records every call."""

    def __init__(self, handler: t.Callable[[str, dict], dict]) -> None:
        self.paths = ApiPaths("2026-03")
        self.handler = handler
        self.calls: list[tuple[str, dict]] = []

    def post(self, path: str, body: dict, **_: t.Any) -> ApiResponse:
        self.calls.append((path, body))
        return ApiResponse(200, self.handler(path, body), {})

    def url_length(self, path: str, params: dict) -> int:
        names = params.get("properties") or []
        return len(path) + sum(len(name) + 3 for name in names)


def _reader(handler: t.Callable[[str, dict], dict]) -> tuple[CourseReader, FakeClient]:
    client = FakeClient(handler)
    reader = CourseReader(client, logging.getLogger("test"))  # type: ignore[arg-type]
    return reader, client


def test_associations_batch_read_follows_each_course_paging_to_the_end() -> None:
    contacts = [str(n) for n in range(1, 1001)]

    def handler(path: str, body: dict) -> dict:
        results = []
        for item in body["inputs"]:
            if item["id"] != "7":
                continue
            start = int(item.get("after") or 0)
            page = contacts[start : start + 500]
            result: dict[str, t.Any] = {
                "from": {"id": "7"},
                "to": [
                    {
                        "toObjectId": contact,
                        "associationTypes": [
                            {"category": "HUBSPOT_DEFINED", "typeId": 860}
                        ],
                    }
                    for contact in page
                ],
            }
            if start + 500 < len(contacts):
                result["paging"] = {"next": {"after": str(start + 500)}}
            results.append(result)
        errors = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "context": {"fromObjectId": ["8"]},
            }
        ]
        return {"status": "COMPLETE", "results": results, "errors": errors}

    reader, client = _reader(handler)

    rows = list(reader.associations("contacts", ["7", "8"]))

    assert sorted(int(row.to_object_id) for row in rows) == list(range(1, 1001))
    assert {row.association_type_id for row in rows} == {860}
    assert len(client.calls) == 2
    assert client.calls[1][1]["inputs"] == [{"id": "7", "after": "500"}]


def test_associations_batch_read_sends_at_most_1000_courses_per_call() -> None:
    reader, client = _reader(lambda path, body: {"results": []})

    list(reader.associations("companies", [str(n) for n in range(2500)]))

    assert [len(body["inputs"]) for _, body in client.calls] == [1000, 1000, 500]
    assert all(
        path.endswith("/courses/companies/batch/read") for path, _ in client.calls
    )


def test_search_pages_by_id_so_equal_timestamps_past_10k_each_come_once() -> None:
    ids = list(range(1, 10_501))

    def handler(path: str, body: dict) -> dict:
        filters = body["filterGroups"][0]["filters"]
        above = max(
            [int(f["value"]) for f in filters if f["propertyName"] == "hs_object_id"],
            default=0,
        )
        offset = int(body.get("after") or 0)
        assert offset + body["limit"] <= 10_000, "paged past the search cap"
        matching = [n for n in ids if n > above]
        page = matching[offset : offset + body["limit"]]
        answer: dict[str, t.Any] = {
            "total": len(matching),
            "results": [{"id": str(n), "properties": {}} for n in page],
        }
        if offset + body["limit"] < len(matching):
            answer["paging"] = {"next": {"after": str(offset + body["limit"])}}
        return answer

    reader, client = _reader(handler)
    now = dt.datetime.now(dt.UTC)

    seen = [
        result["id"]
        for page in reader.search_pages(
            ["hs_object_id"], window_start=now, window_end=now
        )
        for result in page.results
    ]

    assert seen == [str(n) for n in ids]
    assert len(client.calls) == 53


def test_read_ahead_fetches_the_next_page_while_the_caller_works_on_one() -> None:
    fetching = {n: threading.Event() for n in range(1, 4)}

    def pages() -> t.Iterator[int]:
        for n in range(1, 4):
            fetching[n].set()
            yield n

    seen = []
    for page in read_ahead(pages()):
        seen.append(page)
        if page < 3:
            assert fetching[page + 1].wait(10), f"page {page + 1} was not requested"
    assert seen == [1, 2, 3]


def test_read_ahead_raises_the_reader_error_after_the_pages_before_it() -> None:
    def pages() -> t.Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("page 3 failed")

    seen: list[int] = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        seen.extend(read_ahead(pages()))
    assert seen == [1, 2]


def test_read_ahead_stops_reading_when_the_caller_stops() -> None:
    requested: list[int] = []
    finished = threading.Event()

    def pages() -> t.Iterator[int]:
        try:
            for n in range(1, 1000):
                requested.append(n)
                yield n
        finally:
            finished.set()

    reading = read_ahead(pages())
    assert next(reading) == 1
    reading.close()
    assert finished.wait(10), "the reading thread kept going"
    assert max(requested) <= 3
