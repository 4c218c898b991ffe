"""The CRM search endpoint for courses: filters, one sort, offset paging."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from hubspot_sandbox.config import SandboxConfig
from hubspot_sandbox.errors import bad_request
from hubspot_sandbox.messages import Request, Response
from hubspot_sandbox.objects_api import BASE_PROPERTIES, ObjectsApi, parse_limit
from hubspot_sandbox.store import Course, Store
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
        predicate = self._predicate(payload.get("filterGroups") or [])
        query = str(payload.get("query") or "").strip().lower()
        sort_key, descending = self._sort(payload.get("sorts") or [])
        properties = [str(p) for p in payload.get("properties") or []]
        with self.store.lock:
            horizon = None
            if self.config.search_lag_seconds > 0:
                horizon = self.store.now() - timedelta(
                    seconds=self.config.search_lag_seconds
                )
            matches = [
                course
                for course in self.store.active_courses()
                if (horizon is None or course.updated_at <= horizon)
                and predicate(course)
                and (not query or self._matches_query(course, query))
            ]
            matches.sort(key=lambda c: int(c.id))
            if sort_key is not None:
                present = [c for c in matches if sort_key(c) is not None]
                absent = [c for c in matches if sort_key(c) is None]
                present.sort(key=sort_key, reverse=descending)
                matches = present + absent
            else:
                matches.sort(key=lambda c: c.created_at)
            end = min(offset + limit, SEARCH_RESULT_CAP, len(matches))
            page = matches[offset:end]
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

    def _kind(self, name: str) -> str:
        definition = self.store.properties.get(name)
        if definition is None:
            raise bad_request(f"Property '{name}' does not exist on object type 0-410.")
        return str(definition.get("type", "string"))

    def _sort(self, sorts: object) -> tuple[Callable[[Course], Key] | None, bool]:
        if not isinstance(sorts, list) or not sorts:
            return None, False
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

        def key(course: Course) -> Key:
            value = course.value(name)
            if value is None:
                return None
            try:
                return _typed(kind, value)
            except ValueError:
                return None

        return key, direction == "DESCENDING"

    def _predicate(self, groups: object) -> Callable[[Course], bool]:
        if not isinstance(groups, list):
            raise bad_request("filterGroups must be an array.")
        if len(groups) > MAX_GROUPS:
            raise bad_request(
                f"Too many filter groups: {len(groups)}; the maximum is {MAX_GROUPS}."
            )
        compiled: list[list[Callable[[Course], bool]]] = []
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
        compiled = [group for group in compiled if group]
        if not compiled:
            return lambda course: True
        return lambda course: any(all(f(course) for f in g) for g in compiled)

    def _filter(self, spec: Mapping[str, Any]) -> Callable[[Course], bool]:
        operator = str(spec.get("operator", "EQ")).upper()
        if operator not in OPERATORS:
            raise bad_request(f"Unknown filter operator '{operator}'.")
        name = str(spec.get("propertyName", ""))
        if name.startswith("associations."):
            return self._association_filter(name, operator, spec)
        kind = self._kind(name)
        multi = self.store.properties[name].get("fieldType") == "checkbox"

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
            return lambda c: c.value(name) is not None
        if operator == "NOT_HAS_PROPERTY":
            return lambda c: c.value(name) is None
        if operator in {"IN", "NOT_IN"}:
            raw_values = spec.get("values")
            if not isinstance(raw_values, list):
                raise bad_request(f"Operator {operator} needs 'values'.")
            wanted = {_typed(kind, _text(v)) for v in raw_values}
            if operator == "IN":
                return lambda c: any(v in wanted for v in values_of(c))
            return lambda c: not any(v in wanted for v in values_of(c))
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
                return contains
            return lambda c: not contains(c)
        if operator == "BETWEEN":
            low, high = operand("value"), operand("highValue")
            return lambda c: any(low <= v <= high for v in values_of(c))
        target = operand("value")
        tests: dict[str, Callable[[Key], bool]] = {
            "EQ": lambda v: v == target,
            "LT": lambda v: v < target,
            "LTE": lambda v: v <= target,
            "GT": lambda v: v > target,
            "GTE": lambda v: v >= target,
        }
        if operator == "NEQ":
            return lambda c: all(v != target for v in values_of(c))
        check = tests[operator]
        return lambda c: any(check(v) for v in values_of(c))

    def _association_filter(
        self, name: str, operator: str, spec: Mapping[str, Any]
    ) -> Callable[[Course], bool]:
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
        return lambda c: c.id in ids

    def _matches_query(self, course: Course, query: str) -> bool:
        words = query.split()
        haystack = [
            token
            for name in QUERY_PROPERTIES
            for token in _TOKEN_RE.findall((course.value(name) or "").lower())
        ]
        return all(any(t.startswith(w) for t in haystack) for w in words)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
