"""The CRM search endpoint for courses: filters, one sort, offset paging.

A search reads the active courses in id order. The typed values of the
computed properties (``hs_object_id``, ``hs_createdate``,
``hs_lastmodifieddate``) are kept per store version, so the filters and sort
of an incremental sync (a ``hs_lastmodifieddate`` window, ``hs_object_id``
above a cursor, sorted by ``hs_object_id``) skip parsing: ``hs_object_id``
bounds select a slice of the id list by bisection, each filter is one pass
over what is left, and only the first ``after + limit`` results are ordered.
Stored properties are read as they are, since tests may edit them directly.
"""

from __future__ import annotations

import bisect
import fnmatch
import heapq
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from operator import eq, ge, gt, le, lt, ne
from typing import Any

from hubspot_sandbox.config import SandboxConfig
from hubspot_sandbox.errors import bad_request
from hubspot_sandbox.messages import Request, Response
from hubspot_sandbox.objects_api import BASE_PROPERTIES, ObjectsApi, parse_limit
from hubspot_sandbox.store import COMPUTED_PROPERTIES, Course, Store
from hubspot_sandbox.values import parse_instant, to_epoch_ms

SEARCH_MAX_LIMIT = 200
SEARCH_RESULT_CAP = 10_000
MAX_BODY_CHARS = 3_000
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
QUERY_PROPERTIES = ("hs_course_name", "hs_course_id", "hs_course_description")
"""Properties the free-text ``query`` looks in ([UNVERIFIED] for courses)."""

_TOKEN_RE = re.compile(r"[\w@.+-]+", re.UNICODE)

Key = Any
Test = Callable[[Course], bool]

_COMPARE: dict[str, Callable[[Key, Key], bool]] = {
    "EQ": eq,
    "NEQ": ne,
    "LT": lt,
    "LTE": le,
    "GT": gt,
    "GTE": ge,
}


def _typed(kind: str, raw: str) -> Key:
    """Convert a stored or filter value to a comparable key for its type.

    Raises:
        ValueError: When the value does not parse.
    """
    if kind == "number":
        try:
            return Decimal(raw.strip())
        except InvalidOperation as exc:
            raise ValueError(raw) from exc
    if kind in {"datetime", "date"}:
        return to_epoch_ms(parse_instant(raw))
    if kind == "bool":
        return raw.strip().lower()
    if kind == "enumeration":
        return raw
    return raw.lower()


def _computed_key(course: Course, name: str, kind: str) -> Key:
    """``_typed(kind, course.value(name))`` of a computed property.

    Dates are taken from the course's instants instead of formatting and
    parsing them again: both give the epoch milliseconds, rounded down.

    Raises:
        ValueError: When the value does not parse.
    """
    if kind in {"datetime", "date"} and name == "hs_createdate":
        return to_epoch_ms(course.created_at)
    if kind in {"datetime", "date"} and name == "hs_lastmodifieddate":
        return to_epoch_ms(course.updated_at)
    return _typed(kind, str(course.value(name)))


@dataclass
class _Table:
    """The active courses in id order and the typed computed values per course.

    Valid while the store's version is ``version``.
    """

    version: int
    courses: list[Course]
    ids: list[int]
    columns: dict[tuple[str, str], dict[Course, Key] | None] = field(
        default_factory=dict
    )


@dataclass(frozen=True)
class _Filter:
    """One compiled filter.

    Attributes:
        test: Whether a course passes.
        span: ``(operator, low, high)`` of an ``hs_object_id`` range, which
            :func:`_span` turns into the slice of the sorted ids it can match.
    """

    test: Test
    span: tuple[str, Key, Key] | None = None


@dataclass(frozen=True)
class _Order:
    """The requested order: by ``key`` (None: by id), courses without one last."""

    key: Callable[[Course], Key] | None
    descending: bool = False


class SearchApi:
    """Implements ``POST .../courses/search``.

    Args:
        store: The portal.
        config: The sandbox configuration (search lag, limit behaviour).
        objects: Used to render records.
    """

    def __init__(
        self, store: Store, config: SandboxConfig, objects: ObjectsApi
    ) -> None:
        self.store = store
        self.config = config
        self.objects = objects
        self._cache: _Table | None = None

    def search(self, req: Request) -> Response:
        """Answer a search request.

        Args:
            req: The request.

        Returns:
            ``CollectionResponseWithTotalSimplePublicObjectForwardPaging``.

        Raises:
            ApiError: 400 for invalid requests, paging past 10,000 results
                and bodies over 3,000 characters.
        """
        text = req.body.decode("utf-8", errors="replace")
        if len(text) > MAX_BODY_CHARS:
            raise bad_request(
                f"Search request body is {len(text)} characters; "
                f"the limit is {MAX_BODY_CHARS}."
            )
        payload = req.json_object() if text.strip() else {}
        limit = parse_limit(payload.get("limit"), 10, SEARCH_MAX_LIMIT, self.config)
        offset = self._offset(payload.get("after"))
        with self.store.lock:
            groups = self._groups(payload.get("filterGroups") or [])
            query = str(payload.get("query") or "").strip().lower()
            order = self._sort(payload.get("sorts") or [])
            properties = [str(p) for p in payload.get("properties") or []]
            courses, groups = _candidates(self._table(), groups)
            if self.config.search_lag_seconds > 0:
                horizon = self.store.now() - timedelta(
                    seconds=self.config.search_lag_seconds
                )
                courses = [c for c in courses if c.updated_at <= horizon]
            matches = _apply(groups, courses)
            if query:
                matches = [c for c in matches if self._matches_query(c, query)]
            end = min(offset + limit, SEARCH_RESULT_CAP, len(matches))
            page = _first(matches, end, order)[offset:end]
            results = [
                self.objects.serialize(c, [*properties, *BASE_PROPERTIES]) for c in page
            ]
        body: dict[str, Any] = {"total": len(matches), "results": results}
        if end < len(matches):
            body["paging"] = {"next": {"after": str(end)}}
        return Response(200, body)

    @staticmethod
    def _offset(raw: object) -> int:
        if raw is None or raw == "":
            return 0
        try:
            offset = int(str(raw))
        except ValueError as exc:
            raise bad_request(f"after must be an integer offset, got '{raw}'.") from exc
        if offset < 0:
            raise bad_request("after must not be negative.")
        if offset >= SEARCH_RESULT_CAP:
            raise bad_request(
                f"Search results are limited to {SEARCH_RESULT_CAP} per query; "
                f"after={offset} is past that limit. Narrow the filters instead "
                "of paging further.",
                context={"after": [str(offset)]},
            )
        return offset

    def _table(self) -> _Table:
        """Return the active courses and key cache of the store's version.

        Call it holding the store's lock.
        """
        version = self.store.version
        if self._cache is None or self._cache.version != version:
            courses = self.store.active_courses()
            self._cache = _Table(version, courses, [int(c.id) for c in courses])
        return self._cache

    def _column(self, name: str, kind: str) -> dict[Course, Key] | None:
        """Return a computed property's typed values by active course.

        Returns:
            The values, or None for stored properties (read as they are)
            and when a value does not parse.
        """
        if name not in COMPUTED_PROPERTIES:
            return None
        columns = self._table().columns
        if (name, kind) not in columns:
            try:
                columns[name, kind] = {
                    c: _computed_key(c, name, kind) for c in self._table().courses
                }
            except ValueError:
                columns[name, kind] = None
        return columns[name, kind]

    def _kind(self, name: str) -> str:
        definition = self.store.properties.get(name)
        if definition is None:
            raise bad_request(f"Property '{name}' does not exist on object type 0-410.")
        return str(definition.get("type", "string"))

    def _sort(self, sorts: object) -> _Order:
        if not isinstance(sorts, list) or not sorts:
            return _Order(lambda c: c.created_at)
        first = sorts[0]
        if isinstance(first, str):
            name, direction = (
                first.lstrip("-"),
                ("DESCENDING" if first.startswith("-") else "ASCENDING"),
            )
        elif isinstance(first, Mapping):
            name = str(first.get("propertyName", ""))
            direction = str(first.get("direction", "ASCENDING")).upper()
        else:
            raise bad_request("sorts must hold objects with propertyName.")
        kind = self._kind(name)
        descending = direction == "DESCENDING"
        if name == "hs_object_id" and kind == "number":
            return _Order(None, descending)
        column = self._column(name, kind)
        if column is not None:
            return _Order(lambda c: column[c], descending)

        def key(course: Course) -> Key:
            value = course.value(name)
            if value is None:
                return None
            try:
                return _typed(kind, value)
            except ValueError:
                return None

        return _Order(key, descending)

    def _groups(self, groups: object) -> list[list[_Filter]]:
        """Compile the filter groups, leaving out empty ones."""
        if not isinstance(groups, list):
            raise bad_request("filterGroups must be an array.")
        if len(groups) > MAX_GROUPS:
            raise bad_request(
                f"Too many filter groups: {len(groups)}; the maximum is {MAX_GROUPS}."
            )
        compiled: list[list[_Filter]] = []
        total = 0
        for group in groups:
            filters = (group or {}).get("filters") or []
            if len(filters) > MAX_FILTERS_PER_GROUP:
                raise bad_request(
                    f"Too many filters in one group: {len(filters)}; "
                    f"the maximum is {MAX_FILTERS_PER_GROUP}."
                )
            total += len(filters)
            compiled.append([self._filter(f) for f in filters])
        if total > MAX_FILTERS:
            raise bad_request(
                f"Too many filters: {total}; the maximum is {MAX_FILTERS}."
            )
        return [group for group in compiled if group]

    def _filter(self, spec: Mapping[str, Any]) -> _Filter:
        operator = str(spec.get("operator", "EQ")).upper()
        if operator not in OPERATORS:
            raise bad_request(f"Unknown filter operator '{operator}'.")
        name = str(spec.get("propertyName", ""))
        if name.startswith("associations."):
            return self._association_filter(name, operator, spec)
        kind = self._kind(name)
        multi = self.store.properties[name].get("fieldType") == "checkbox"
        column = None if multi else self._column(name, kind)

        def values_of(course: Course) -> list[Key]:
            raw = course.value(name)
            if raw is None:
                return []
            parts = raw.split(";") if multi else [raw]
            out = []
            for part in parts:
                try:
                    out.append(_typed(kind, part))
                except ValueError:
                    continue
            return out

        def operand(key: str) -> Key:
            value = spec.get(key)
            if value is None:
                raise bad_request(f"Operator {operator} needs '{key}'.")
            try:
                return _typed(kind, _text(value))
            except ValueError as exc:
                raise bad_request(
                    f"Filter value '{value}' is not valid for {name}."
                ) from exc

        if operator == "HAS_PROPERTY":
            return _Filter(lambda c: c.value(name) is not None)
        if operator == "NOT_HAS_PROPERTY":
            return _Filter(lambda c: c.value(name) is None)
        if operator in {"IN", "NOT_IN"}:
            raw_values = spec.get("values")
            if not isinstance(raw_values, list):
                raise bad_request(f"Operator {operator} needs 'values'.")
            wanted = {_typed(kind, _text(v)) for v in raw_values}
            if operator == "IN":
                return _Filter(lambda c: any(v in wanted for v in values_of(c)))
            return _Filter(lambda c: not any(v in wanted for v in values_of(c)))
        if operator in {"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}:
            pattern = _text(spec.get("value", "")).lower()
            patterns = [p for p in re.split(r"\s+", pattern) if p]

            def contains(course: Course) -> bool:
                raw = course.value(name)
                if raw is None:
                    return False
                tokens = _TOKEN_RE.findall(raw.lower())
                return all(
                    any(fnmatch.fnmatchcase(token, p) for token in tokens)
                    for p in patterns
                )

            if operator == "CONTAINS_TOKEN":
                return _Filter(contains)
            return _Filter(lambda c: not contains(c))
        if operator == "BETWEEN":
            low, high = operand("value"), operand("highValue")
        else:
            low = high = operand("value")
        span = None
        if name == "hs_object_id" and kind == "number" and operator != "NEQ":
            span = None if low.is_nan() or high.is_nan() else (operator, low, high)
        if operator == "BETWEEN":
            if column is not None:
                return _Filter(lambda c: low <= column[c] <= high, span)
            return _Filter(lambda c: any(low <= v <= high for v in values_of(c)))
        compare = _COMPARE[operator]
        if column is not None:
            return _Filter(lambda c: compare(column[c], low), span)
        if operator == "NEQ":
            return _Filter(lambda c: all(v != low for v in values_of(c)))
        return _Filter(lambda c: any(compare(v, low) for v in values_of(c)))

    def _association_filter(
        self, name: str, operator: str, spec: Mapping[str, Any]
    ) -> _Filter:
        to_type = name.split(".", 1)[1]
        if operator == "EQ":
            wanted = {_text(spec.get("value", ""))}
        elif operator == "IN":
            wanted = {_text(v) for v in spec.get("values") or []}
        else:
            raise bad_request("Association filters support EQ and IN only.")
        ids: set[str] = set()
        for other in wanted:
            ids |= self.store.associated_course_ids(to_type, other)
        return _Filter(lambda c: c.id in ids)

    def _matches_query(self, course: Course, query: str) -> bool:
        words = query.split()
        haystack = [
            token
            for name in QUERY_PROPERTIES
            for token in _TOKEN_RE.findall((course.value(name) or "").lower())
        ]
        return all(any(t.startswith(w) for t in haystack) for w in words)


def _span(ids: Sequence[int], operator: str, low: Key, high: Key) -> tuple[int, int]:
    """Return the slice of sorted ``ids`` that an ``hs_object_id`` filter can match."""
    start, stop = 0, len(ids)
    if operator in {"EQ", "GTE", "BETWEEN"}:
        start = bisect.bisect_left(ids, low)
    elif operator == "GT":
        start = bisect.bisect_right(ids, low)
    if operator in {"EQ", "LTE", "BETWEEN"}:
        stop = bisect.bisect_right(ids, high)
    elif operator == "LT":
        stop = bisect.bisect_left(ids, high)
    return start, stop


def _candidates(
    table: _Table, groups: list[list[_Filter]]
) -> tuple[list[Course], list[list[_Filter]]]:
    """Cut the active courses to the ``hs_object_id`` ranges the groups allow.

    Returns:
        The courses left, in id order, and the groups still to check: the
        range filters of a lone group hold for every course of the cut.
    """
    start, stop = len(table.ids), 0
    for group in groups:
        low, high = 0, len(table.ids)
        for spec in group:
            if spec.span is not None:
                first, end = _span(table.ids, *spec.span)
                low, high = max(low, first), min(high, end)
        if low < high:
            start, stop = min(start, low), max(stop, high)
    if not groups:
        return table.courses, groups
    if len(groups) == 1:
        rest = [spec for spec in groups[0] if spec.span is None]
        return table.courses[start:stop], [rest] if rest else []
    return table.courses[start:stop], groups


def _apply(groups: list[list[_Filter]], courses: list[Course]) -> list[Course]:
    """Keep the courses passing every filter of at least one group, in order."""
    if not groups:
        return courses
    passed: set[Course] = set()
    for group in groups:
        rows = courses
        for spec in group:
            rows = list(filter(spec.test, rows))
        if len(groups) == 1:
            return rows
        passed.update(rows)
    return [c for c in courses if c in passed]


def _first(matches: list[Course], count: int, order: _Order) -> list[Course]:
    """Return the first ``count`` of ``matches`` (in id order) in ``order``.

    Courses with a sort key come by key, ties in id order, then those
    without one in id order: what a stable sort of all of them gives.
    """
    if order.key is None:
        if order.descending:
            return matches[len(matches) - count :][::-1]
        return matches[:count]
    key = order.key
    keyed = [(k, c) for c in matches if (k := key(c)) is not None]
    pick = heapq.nlargest if order.descending else heapq.nsmallest
    first = [c for _, c in pick(count, keyed, key=lambda pair: pair[0])]
    if len(first) < count:
        first += [c for c in matches if key(c) is None][: count - len(first)]
    return first


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
