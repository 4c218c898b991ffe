"""HubSpot's read endpoints for courses, as pages the streams can checkpoint.

Every request goes through the shared :class:`~hubspot_courses.client.HubSpotClient`
(pacing, retries, error classification). This module only knows how the list,
search, batch read and association batch read endpoints page, and picks the
request shape that cannot fail on size: a property list too long for a URL
moves into a POST body, and a search body over HubSpot's 3,000 characters
searches for ids only and reads the properties by batch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import queue
import threading
import typing as t

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterator, Sequence

    from hubspot_courses.client import HubSpotClient

__all__ = ["AssociationRow", "CourseReader", "Page", "read_ahead"]

LIST_LIMIT = 100
"""HubSpot's maximum page size of the list endpoint."""

HISTORY_LIST_LIMIT = 50
"""HubSpot's maximum list page size when property history is requested."""

SEARCH_LIMIT = 200
"""HubSpot's maximum page size of the search endpoint."""

BATCH_READ_LIMIT = 100
"""HubSpot's maximum number of inputs of an object batch read."""

ASSOCIATION_BATCH_LIMIT = 1000
"""HubSpot's maximum number of inputs of an association batch read."""

MAX_URL_LENGTH = 7000
"""Longest request target sent; HubSpot answers 414 somewhere above 8,000."""

MAX_SEARCH_BODY = 3000
"""HubSpot's limit on the characters of a search request body."""

_LONGEST_CURSOR = "9" * 24
_NO_ASSOCIATIONS = "NO_ASSOCIATIONS_FOUND"


@dataclasses.dataclass(frozen=True)
class Page:
    """One completed page of course objects.

    Attributes:
        results: the course objects, as HubSpot sent them.
        after: the list cursor of the next page, ``None`` on the last page.
        last_id: the highest course id of a search page (the next page starts
            above it), ``None`` for list pages.
    """

    results: list[dict[str, t.Any]]
    after: str | None = None
    last_id: str | None = None


@dataclasses.dataclass(frozen=True)
class AssociationRow:
    """One association of a course with one record, by one association type."""

    course_id: str
    to_object_id: str
    association_type_id: int | None
    category: str | None
    label: str | None


_T = t.TypeVar("_T")
_END = object()


def read_ahead(pages: Iterator[_T]) -> Iterator[_T]:
    """Yield ``pages`` while a thread already fetches the one after.

    A paged read is sequential, since each page's cursor comes from the page
    before; what can overlap is the caller's work on one page with the
    request for the next. The thread stays at most two pages ahead (one
    waiting here, one in hand), raises its errors here in order, and stops
    after its current request when the caller stops early. Checkpoints are
    the caller's: a page read ahead but never yielded is simply read again
    by a resumed run.
    """
    handoff: queue.Queue[tuple[t.Any, BaseException | None]] = queue.Queue(1)
    stopped = threading.Event()

    def offer(item: tuple[t.Any, BaseException | None]) -> bool:
        while not stopped.is_set():
            try:
                handoff.put(item, timeout=0.2)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for page in pages:
                if not offer((page, None)):
                    break
            else:
                offer((_END, None))
        except BaseException as exc:  # re-raised in the caller's thread
            offer((_END, exc))
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    threading.Thread(target=produce, name="read-ahead", daemon=True).start()
    try:
        while True:
            page, error = handoff.get()
            if error is not None:
                raise error
            if page is _END:
                return
            yield page
    finally:
        stopped.set()


def epoch_ms(instant: dt.datetime) -> str:
    """Milliseconds since the epoch, as HubSpot's datetime filters take them."""
    return str(int(instant.timestamp() * 1000))


class CourseReader:
    """Reads courses page by page through one shared client."""

    def __init__(self, client: HubSpotClient, logger: logging.Logger) -> None:
        """Read through ``client``, logging request details to ``logger``."""
        self.client = client
        self.logger = logger
        self.paths = client.paths

    # ------------------------------------------------------------ list

    def list_fits(
        self,
        properties: Sequence[str],
        *,
        with_history: Sequence[str] = (),
        archived: bool = False,
    ) -> bool:
        """Whether a list request naming these properties fits in a URL."""
        params = self._list_params(
            properties, with_history, archived, _LONGEST_CURSOR, LIST_LIMIT
        )
        return self.client.url_length(self.paths.objects(), params) <= MAX_URL_LENGTH

    def list_pages(
        self,
        properties: Sequence[str],
        *,
        with_history: Sequence[str] = (),
        archived: bool = False,
        after: str | None = None,
    ) -> Iterator[Page]:
        """Page through ``GET objects`` from ``after`` to the last page.

        Args:
            properties: property names to return.
            with_history: property names to return with their history.
            archived: list archived courses instead of active ones.
            after: cursor of the first page to read; ``None`` for the start.

        Yields:
            Each page with the cursor of the page after it.
        """
        limit = HISTORY_LIST_LIMIT if with_history else LIST_LIMIT
        while True:
            params = self._list_params(properties, with_history, archived, after, limit)
            body = self.client.get(self.paths.objects(), params) or {}
            after = _next_after(body)
            yield Page(list(body.get("results") or []), after=after)
            if after is None:
                return

    @staticmethod
    def _list_params(
        properties: Sequence[str],
        with_history: Sequence[str],
        archived: bool,
        after: str | None,
        limit: int,
    ) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {"limit": limit, "properties": list(properties)}
        if with_history:
            params["propertiesWithHistory"] = list(with_history)
        if archived:
            params["archived"] = True
        if after is not None:
            params["after"] = after
        return params

    # ------------------------------------------------------------ batch read

    def batch_read(
        self,
        ids: Sequence[str],
        properties: Sequence[str],
        *,
        with_history: Sequence[str] = (),
        archived: bool = False,
    ) -> list[dict[str, t.Any]]:
        """Read courses by id, ``BATCH_READ_LIMIT`` per call, in ``ids`` order.

        Courses deleted since their id was listed are skipped.
        """
        found: dict[str, dict[str, t.Any]] = {}
        params = {"archived": True} if archived else None
        for start in range(0, len(ids), BATCH_READ_LIMIT):
            chunk = ids[start : start + BATCH_READ_LIMIT]
            response = self.client.post(
                self.paths.objects("/batch/read"),
                {
                    "inputs": [{"id": course_id} for course_id in chunk],
                    "properties": list(properties),
                    "propertiesWithHistory": list(with_history),
                },
                params=params,
            )
            body = response.body or {}
            for result in body.get("results") or []:
                found[str(result.get("id"))] = result
            if body.get("numErrors"):
                self.logger.debug(
                    "Batch read of %d courses: %s could not be read.",
                    len(chunk),
                    body.get("numErrors"),
                )
        return [found[course_id] for course_id in ids if course_id in found]

    # ------------------------------------------------------------ search

    def search_fits(self, properties: Sequence[str]) -> bool:
        """Whether a search body naming these properties stays under the limit."""
        body = self._search_body(
            properties,
            dt.datetime.now(dt.UTC),
            dt.datetime.now(dt.UTC),
            _LONGEST_CURSOR,
        )
        return len(json.dumps(body)) <= MAX_SEARCH_BODY

    def search_pages(
        self,
        properties: Sequence[str],
        *,
        window_start: dt.datetime,
        window_end: dt.datetime,
        last_id: str | None = None,
    ) -> Iterator[Page]:
        """Page through courses modified in ``[window_start, window_end)``.

        Pages are keyed on the course id instead of the search's ``after``
        offset: each page asks for ids above the last one seen, sorted
        ascending. A query therefore never reaches the 10,000-result cap,
        any number of courses sharing one timestamp are each read once, and
        a course leaving the window mid-sync (modified again) cannot shift
        the offsets of the courses behind it.

        Args:
            properties: property names to return.
            window_start: inclusive lower bound on ``hs_lastmodifieddate``.
            window_end: exclusive upper bound on ``hs_lastmodifieddate``.
            last_id: read only courses with a higher id (resuming).

        Yields:
            Each page with the highest id on it.
        """
        while True:
            body = self._search_body(properties, window_start, window_end, last_id)
            answer = self.client.post(self.paths.objects("/search"), body, search=True)
            results = list((answer.body or {}).get("results") or [])
            if results:
                last_id = str(results[-1].get("id"))
            yield Page(results, last_id=last_id)
            if not results or _next_after(answer.body or {}) is None:
                return

    @staticmethod
    def _search_body(
        properties: Sequence[str],
        window_start: dt.datetime,
        window_end: dt.datetime,
        last_id: str | None,
    ) -> dict[str, t.Any]:
        filters: list[dict[str, str]] = [
            {
                "propertyName": "hs_lastmodifieddate",
                "operator": "GTE",
                "value": epoch_ms(window_start),
            },
            {
                "propertyName": "hs_lastmodifieddate",
                "operator": "LT",
                "value": epoch_ms(window_end),
            },
        ]
        if last_id is not None:
            filters.append(
                {"propertyName": "hs_object_id", "operator": "GT", "value": last_id}
            )
        return {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": SEARCH_LIMIT,
        }

    # ------------------------------------------------------------ associations

    def associations(
        self, to_type: str, ids: Sequence[str]
    ) -> Iterator[AssociationRow]:
        """Every association from the courses ``ids`` to ``to_type`` records.

        Uses the batch read (1,000 courses per call) and follows each course's
        own ``paging.next.after`` until its last page, so a course with any
        number of associations yields all of them. Courses without
        associations come back as ``NO_ASSOCIATIONS_FOUND`` errors, which
        mean "none".

        Yields:
            One row per course, associated record and association type.
        """
        path = self.paths.associations(to_type, "/batch/read")
        inputs: list[dict[str, str]] = [{"id": course_id} for course_id in ids]
        while inputs:
            follow: list[dict[str, str]] = []
            for start in range(0, len(inputs), ASSOCIATION_BATCH_LIMIT):
                chunk = inputs[start : start + ASSOCIATION_BATCH_LIMIT]
                body = self.client.post(path, {"inputs": chunk}).body or {}
                self._log_association_errors(to_type, body)
                for result in body.get("results") or []:
                    course_id = str((result.get("from") or {}).get("id"))
                    yield from _association_rows(course_id, result)
                    after = _next_after(result)
                    if after is not None:
                        follow.append({"id": course_id, "after": after})
            inputs = follow

    def _log_association_errors(self, to_type: str, body: dict[str, t.Any]) -> None:
        unexpected = [
            error
            for error in body.get("errors") or []
            if _NO_ASSOCIATIONS not in str(error.get("subCategory") or "")
            and _NO_ASSOCIATIONS not in str(error.get("category") or "")
        ]
        if unexpected:
            categories = sorted({str(error.get("category")) for error in unexpected})
            self.logger.warning(
                "Association batch read to '%s': %d courses could not be read "
                "(%s); their associations are missing from this run.",
                to_type,
                len(unexpected),
                ", ".join(categories),
            )


def _association_rows(
    course_id: str, result: dict[str, t.Any]
) -> Iterator[AssociationRow]:
    for target in result.get("to") or []:
        to_id = str(target.get("toObjectId"))
        for kind in target.get("associationTypes") or [{}]:
            type_id = kind.get("typeId")
            yield AssociationRow(
                course_id=course_id,
                to_object_id=to_id,
                association_type_id=None if type_id is None else int(type_id),
                category=kind.get("category"),
                label=kind.get("label"),
            )


def _next_after(body: dict[str, t.Any]) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return None if after in (None, "") else str(after)
