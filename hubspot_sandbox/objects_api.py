"""Handlers of the courses record endpoints: list, get, writes, batches, merge."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hubspot_sandbox.config import COURSES_OBJECT_TYPE_ID, SandboxConfig
from hubspot_sandbox.errors import (
    ApiError,
    PropertyProblem,
    bad_request,
    error_body,
    not_found,
    property_validation_error,
)
from hubspot_sandbox.messages import Request, Response, batch_response, next_page
from hubspot_sandbox.store import (
    COMPUTED_PROPERTIES,
    DEFAULT_TYPE_IDS,
    Course,
    Store,
    canonical_to_type,
)
from hubspot_sandbox.values import format_instant, validate_properties

BASE_PROPERTIES = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")
"""Returned on every record whatever ``properties`` asks for."""

REQUIRED_ON_CREATE = ("hs_course_name",)
LIST_MAX = 100
LIST_MAX_WITH_HISTORY = 50
BATCH_MAX = 100
INLINE_ASSOCIATIONS_MAX = 100
NOT_FOUND_MESSAGE = "Object not found.  objectId are usually numeric."
TYPE_STRINGS = {"contacts": "course_to_contact", "companies": "course_to_company"}


def encode_cursor(course_id: str) -> str:
    """Encode the id of the next record as an opaque ``after`` cursor.

    The cursor depends on nothing but the id, so it stays valid across
    sandbox restarts on the same data.

    Args:
        course_id: First id of the next page.

    Returns:
        URL-safe base64 without padding.
    """
    return base64.urlsafe_b64encode(course_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """Decode an ``after`` cursor (opaque, or a bare record id as documented).

    Args:
        cursor: The cursor or None.

    Returns:
        The smallest id of the requested page.

    Raises:
        ApiError: 400 when the cursor is not one this sandbox issued.
    """
    if not cursor:
        return 0
    if cursor.isdigit():
        return int(cursor)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode()).decode().strip()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise bad_request("Invalid paging cursor 'after'.") from exc
    if not decoded.isdigit():
        raise bad_request("Invalid paging cursor 'after'.")
    return int(decoded)


def parse_limit(raw: object, default: int, maximum: int, config: SandboxConfig) -> int:
    """Validate a page size.

    Args:
        raw: The value from the query or body.
        default: Value when absent.
        maximum: Largest allowed value.
        config: Decides between capping and refusing larger values.

    Returns:
        The page size.

    Raises:
        ApiError: 400 for non-integers, values below 1, or values above the
            maximum when ``list_over_limit`` is ``"error"``.
    """
    if raw is None or raw == "":
        return default
    try:
        limit = int(str(raw))
    except ValueError as exc:
        raise bad_request(f"limit must be an integer, got '{raw}'.") from exc
    if limit < 1:
        raise bad_request("limit must be at least 1.")
    if limit > maximum:
        if config.list_over_limit == "error":
            raise bad_request(
                f"limit {limit} is above the maximum of {maximum} for this request."
            )
        return maximum
    return limit


@dataclass
class _Prepared:
    """A validated batch input waiting to be applied."""

    position: int
    values: dict[str, str]
    trace_id: str | None
    course: Course | None = None
    associations: list[tuple[str, str, int, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Failure:
    """A batch input that failed, with the status it would fail the call with."""

    position: int
    status: int
    body: dict[str, Any]


class ObjectsApi:
    """Implements the courses object endpoints over a :class:`Store`.

    Args:
        store: The portal.
        config: The sandbox configuration.
    """

    def __init__(self, store: Store, config: SandboxConfig) -> None:
        self.store = store
        self.config = config

    # -- rendering ------------------------------------------------------------

    def serialize(
        self,
        course: Course,
        properties: Sequence[str] | None = None,
        history: Sequence[str] = (),
        associations: Sequence[str] = (),
        all_properties: bool = False,
    ) -> dict[str, Any]:
        """Render a course as HubSpot's ``SimplePublicObject``.

        Args:
            course: The course.
            properties: Requested property names (unknown ones are ignored).
            history: Names for ``propertiesWithHistory``.
            associations: Object types for inline associations.
            all_properties: Return every stored value (write responses).

        Returns:
            The JSON-ready record.
        """
        known = self.store.properties
        values: dict[str, str | None] = {}
        if all_properties:
            values.update({k: v for k, v in course.properties.items() if v})
        for name in properties or ():
            if name in known:
                values[name] = course.value(name)
        for name in BASE_PROPERTIES:
            values[name] = course.value(name)
        body: dict[str, Any] = {
            "id": course.id,
            "properties": values,
            "createdAt": format_instant(course.created_at),
            "updatedAt": format_instant(course.updated_at),
            "archived": course.archived,
        }
        if course.archived and course.archived_at is not None:
            body["archivedAt"] = format_instant(course.archived_at)
        if history:
            body["propertiesWithHistory"] = {
                name: [entry.to_json() for entry in course.history_of(name)]
                for name in history
                if name in known
            }
        inline = self._inline_associations(course, associations)
        if inline:
            body["associations"] = inline
        return body

    def _inline_associations(
        self, course: Course, requested: Sequence[str]
    ) -> dict[str, Any]:
        inline: dict[str, Any] = {}
        for name in requested:
            kind = canonical_to_type(name)
            if kind is None:
                continue
            records = self.store.associations_of(course.id, kind)
            if not records:
                continue
            entries: list[dict[str, str]] = []
            for record in records[:INLINE_ASSOCIATIONS_MAX]:
                for spec in record.types:
                    if spec.category == "HUBSPOT_DEFINED":
                        type_name = TYPE_STRINGS[kind]
                    else:
                        type_name = (spec.label or str(spec.type_id)).lower()
                        type_name = type_name.replace(" ", "_")
                    entries.append({"id": record.to_id, "type": type_name})
            collection: dict[str, Any] = {"results": entries}
            if len(records) > INLINE_ASSOCIATIONS_MAX:
                after = records[INLINE_ASSOCIATIONS_MAX].to_id
                collection["paging"] = {
                    "next": {
                        "after": after,
                        "link": (
                            f"/crm/v4/objects/{COURSES_OBJECT_TYPE_ID}/{course.id}"
                            f"/associations/{kind}?after={after}"
                        ),
                    }
                }
            inline[kind] = collection
        return inline

    # -- lookups --------------------------------------------------------------

    def _check_id_property(
        self, id_property: str | None, upsert: bool = False
    ) -> str | None:
        """Validate an ``idProperty`` and return it (None for record ids).

        Reads and updates accept ``hs_object_id`` as meaning record ids; upsert
        refuses it, as HubSpot does ([UNVERIFIED] for reads and updates).
        """
        if not id_property or (id_property == "hs_object_id" and not upsert):
            return None
        definition = self.store.properties.get(id_property)
        if definition is None or not definition.get("hasUniqueValue"):
            raise bad_request(
                f"Unable to perform update/upsert by non-unique "
                f"{COURSES_OBJECT_TYPE_ID} property {id_property} "
                f"in portal ID {self.config.portal_id}"
            )
        return id_property

    def find(
        self, key: str, id_property: str | None, archived: bool = False
    ) -> Course | None:
        """Find a course by record id or by the value of a unique property.

        Args:
            key: The record id, or the value of ``id_property``.
            id_property: A unique property name, or None for record ids.
            archived: Look for archived courses instead of active ones.

        Returns:
            The course, or None.
        """
        store = self.store
        course: Course | None
        if id_property:
            if archived:
                course = next(
                    (
                        c
                        for c in store.archived_courses()
                        if c.properties.get(id_property) == key
                    ),
                    None,
                )
            else:
                course = store.find_by_unique(id_property, key)
        else:
            key = store.merged_into.get(key, key)
            course = store.courses.get(key)
        if course is None or course.archived != archived:
            return None
        return course

    # -- list / get -----------------------------------------------------------

    def list_page(self, req: Request) -> Response:
        """``GET .../courses``: one page of records in id order.

        Args:
            req: The request.

        Returns:
            ``CollectionResponseSimplePublicObjectWithAssociationsForwardPaging``.
        """
        properties = req.list_param("properties")
        history = req.list_param("propertiesWithHistory")
        associations = req.list_param("associations")
        maximum = LIST_MAX_WITH_HISTORY if history else LIST_MAX
        limit = parse_limit(req.param("limit"), 10, maximum, self.config)
        after_id = decode_cursor(req.param("after"))
        archived = req.bool_param("archived")
        with self.store.lock:
            ids, next_id = self.store.page_ids(after_id, limit, archived)
            results = [
                self.serialize(self.store.courses[i], properties, history, associations)
                for i in ids
            ]
        body: dict[str, Any] = {"results": results}
        if next_id is not None:
            body["paging"] = next_page(encode_cursor(next_id), limit)
        return Response(200, body)

    def get(self, req: Request) -> Response:
        """``GET .../courses/{id}``.

        Args:
            req: The request.

        Returns:
            ``SimplePublicObjectWithAssociations`` or 404.

        Raises:
            ApiError: 404 when the course does not exist.
        """
        id_property = self._check_id_property(req.param("idProperty"))
        with self.store.lock:
            course = self.find(req.match["id"], id_property, req.bool_param("archived"))
            if course is None:
                raise not_found(NOT_FOUND_MESSAGE)
            body = self.serialize(
                course,
                req.list_param("properties"),
                req.list_param("propertiesWithHistory"),
                req.list_param("associations"),
            )
        return Response(200, body)

    # -- single writes --------------------------------------------------------

    def _validate(
        self,
        raw: object,
        course: Course | None,
        creating: bool,
    ) -> tuple[dict[str, str], list[PropertyProblem]]:
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise bad_request("properties must be an object of name to value.")
        current = course.properties if course is not None else None
        values, problems = validate_properties(self.store.properties, raw, current)
        if creating:
            for name in REQUIRED_ON_CREATE:
                if not values.get(name) and all(p.name != name for p in problems):
                    problems.append(
                        PropertyProblem(
                            name,
                            "REQUIRED_PROPERTY",
                            f'Property "{name}" is required to create a course.',
                        )
                    )
        return values, problems

    def _conflict(
        self,
        values: Mapping[str, str],
        course: Course | None,
        claimed: dict[tuple[str, str], str],
        marker: str,
    ) -> dict[str, Any] | None:
        for name in self.store.unique_properties():
            value = values.get(name)
            if not value:
                continue
            holder = self.store.find_by_unique(name, value)
            other = holder.id if holder is not None else claimed.get((name, value))
            own = course.id if course is not None else marker
            if other is not None and other != own:
                message = (
                    f"A course with {name} '{value}' already exists. "
                    f"Existing ID: {other}"
                )
                return error_body(message, "CONFLICT", context={"existingId": [other]})
        for name in self.store.unique_properties():
            value = values.get(name)
            if value:
                claimed[(name, value)] = course.id if course is not None else marker
        return None

    def _parse_associations(self, raw: object) -> list[tuple[str, str, int, str]]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise bad_request("associations must be an array.")
        by_type_id = {
            spec.type_id: kind
            for kind, specs in self.store.association_labels.items()
            for spec in specs
        }
        parsed: list[tuple[str, str, int, str]] = []
        for item in raw:
            to_id = str(((item or {}).get("to") or {}).get("id", ""))
            types = (item or {}).get("types") or []
            if not to_id or not isinstance(types, list) or not types:
                raise bad_request("Each association needs 'to.id' and 'types'.")
            for spec in types:
                type_id = spec.get("associationTypeId")
                category = spec.get("associationCategory", "HUBSPOT_DEFINED")
                kind = by_type_id.get(type_id) if isinstance(type_id, int) else None
                if kind is None:
                    raise bad_request(
                        f"Association type id {type_id} is not valid for "
                        f"{COURSES_OBJECT_TYPE_ID}."
                    )
                parsed.append((kind, to_id, type_id, category))
        return parsed

    def _associate(
        self, course: Course, links: Iterable[tuple[str, str, int, str]]
    ) -> None:
        for kind, to_id, type_id, category in links:
            self.store.associate(course.id, kind, to_id, type_id, category)

    def create(self, req: Request) -> Response:
        """``POST .../courses``: create one course.

        Args:
            req: The request.

        Returns:
            201 ``SimplePublicObject``.

        Raises:
            ApiError: 400 for invalid values, 409 for a duplicate unique value.
        """
        payload = req.json_object()
        with self.store.lock:
            values, problems = self._validate(payload.get("properties"), None, True)
            if problems:
                raise ApiError(
                    400, property_validation_error(problems, self.config.portal_id)
                )
            conflict = self._conflict(values, None, {}, "new")
            if conflict is not None:
                raise ApiError(409, conflict)
            links = self._parse_associations(payload.get("associations"))
            course = self.store.create_course(values, "API")
            self._associate(course, links)
            body = self.serialize(course, all_properties=True)
        location = (
            f"{req.base_url}/crm/objects/2026-03/{COURSES_OBJECT_TYPE_ID}/{course.id}"
        )
        return Response(201, body, {"Location": location})

    def update(self, req: Request) -> Response:
        """``PATCH .../courses/{id}``: update one course.

        Args:
            req: The request.

        Returns:
            200 ``SimplePublicObject``.

        Raises:
            ApiError: 404, 400 or 409.
        """
        payload = req.json_object()
        id_property = self._check_id_property(req.param("idProperty"))
        with self.store.lock:
            course = self.find(req.match["id"], id_property)
            if course is None:
                raise not_found(NOT_FOUND_MESSAGE)
            values, problems = self._validate(payload.get("properties"), course, False)
            if problems:
                raise ApiError(
                    400, property_validation_error(problems, self.config.portal_id)
                )
            conflict = self._conflict(values, course, {}, course.id)
            if conflict is not None:
                raise ApiError(409, conflict)
            self.store.update_course(course.id, values)
            body = self.serialize(course, all_properties=True)
        return Response(200, body)

    def archive(self, req: Request) -> Response:
        """``DELETE .../courses/{id}``: move a course to the recycle bin.

        Args:
            req: The request.

        Returns:
            204 (also for an already archived course).

        Raises:
            ApiError: 404 when no course ever had that id.
        """
        with self.store.lock:
            course = self.store.courses.get(req.match["id"])
            if course is None:
                raise not_found(NOT_FOUND_MESSAGE)
            self.store.archive_course(course.id)
        return Response(204)

    def merge(self, req: Request) -> Response:
        """``POST /crm/objects/2026-03/courses/merge``.

        The primary course keeps its id, gains the other's values where its own
        are empty, its associations, and its id in ``hs_merged_object_ids``;
        the merged course disappears and its id then resolves to the primary.

        Args:
            req: The request.

        Returns:
            200 ``SimplePublicObject`` of the primary course.

        Raises:
            ApiError: 400 or 404.
        """
        payload = req.json_object()
        primary_id = str(payload.get("primaryObjectId", ""))
        other_id = str(payload.get("objectIdToMerge", ""))
        if not primary_id or not other_id or primary_id == other_id:
            raise bad_request("primaryObjectId and objectIdToMerge must differ.")
        with self.store.lock:
            primary = self.find(primary_id, None)
            other = self.find(other_id, None)
            if primary is None or other is None:
                raise not_found(NOT_FOUND_MESSAGE)
            fill = {
                k: v
                for k, v in other.properties.items()
                if v and not primary.properties.get(k) and k not in COMPUTED_PROPERTIES
            }
            merged = [
                p
                for p in primary.properties.get("hs_merged_object_ids", "").split(";")
                if p
            ]
            fill["hs_merged_object_ids"] = ";".join([*merged, other.id])
            for kind in DEFAULT_TYPE_IDS:
                for record in self.store.associations_of(other.id, kind):
                    for spec in record.types:
                        self.store.associate(
                            primary.id,
                            kind,
                            record.to_id,
                            spec.type_id,
                            spec.category,
                            spec.label,
                        )
            self.store.update_course(primary.id, fill, source_type="MERGE")
            self.store.delete_course(other.id)
            self.store.merged_into[other.id] = primary.id
            body = self.serialize(primary, all_properties=True)
        return Response(200, body)

    # -- batches --------------------------------------------------------------

    def _inputs(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        inputs = payload.get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise bad_request("inputs must be an array of objects.")
        if len(inputs) > BATCH_MAX:
            raise bad_request(
                f"Too many inputs: {len(inputs)}. A batch accepts at most "
                f"{BATCH_MAX} inputs.",
                context={"inputs": [str(len(inputs))]},
            )
        return inputs

    @staticmethod
    def _trace_ids(inputs: Sequence[Mapping[str, Any]]) -> list[str | None] | None:
        """Return the trace ids when every input has a unique one, else None."""
        traces = [i.get("objectWriteTraceId") for i in inputs]
        if (
            inputs
            and all(isinstance(t, str) and t for t in traces)
            and len(set(traces)) == len(traces)
        ):
            return [str(t) for t in traces]
        return None

    @staticmethod
    def _reject_duplicates(keys: Sequence[str]) -> None:
        seen: set[str] = set()
        duplicates: list[str] = []
        for key in keys:
            if key in seen and key not in duplicates:
                duplicates.append(key)
            seen.add(key)
        if duplicates:
            raise bad_request(
                "Duplicate IDs found in batch input: [{}]. IDs must be unique".format(
                    ", ".join(duplicates)
                ),
                context={"ids": duplicates},
            )

    def _batch_error(self, failure: _Failure, trace_id: str | None) -> dict[str, Any]:
        body = failure.body
        context = {k: list(v) for k, v in (body.get("context") or {}).items()}
        if trace_id is not None:
            context["objectWriteTraceId"] = [trace_id]
        entry: dict[str, Any] = {
            "status": "error",
            "category": body["category"],
            "message": body["message"],
            "context": context,
            "errors": body.get("errors", []),
            "links": body.get("links", {}),
        }
        if "subCategory" in body:
            entry["subCategory"] = body["subCategory"]
        return entry

    def _finish(
        self,
        started: str,
        results: list[dict[str, Any]],
        failures: list[_Failure],
        traces: list[str | None] | None,
        ok_status: int,
    ) -> Response:
        errors = [
            self._batch_error(f, traces[f.position] if traces else None)
            for f in failures
        ]
        return batch_response(
            results,
            errors,
            started=started,
            completed=format_instant(self.store.now()),
            ok=ok_status,
        )

    @staticmethod
    def _fail_whole(failures: list[_Failure], traces: list[str | None] | None) -> None:
        if failures and traces is None:
            first = min(failures, key=lambda f: f.position)
            raise ApiError(first.status, first.body)

    def batch_read(self, req: Request) -> Response:
        """``POST .../courses/batch/read``.

        Args:
            req: The request.

        Returns:
            200 ``BatchResponseSimplePublicObject`` or 207 with
            ``OBJECT_NOT_FOUND`` for missing ids.
        """
        started = format_instant(self.store.now())
        payload = req.json_object()
        inputs = self._inputs(payload)
        id_property = payload.get("idProperty") or None
        if id_property is not None:
            id_property = self._check_id_property(str(id_property))
        properties = [str(p) for p in payload.get("properties") or []]
        history = [str(p) for p in payload.get("propertiesWithHistory") or []]
        archived = req.bool_param("archived")
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        seen: set[str] = set()
        with self.store.lock:
            for item in inputs:
                key = str(item.get("id", ""))
                course = self.find(key, id_property, archived)
                if course is None:
                    missing.append(key)
                elif course.id not in seen:
                    seen.add(course.id)
                    results.append(self.serialize(course, properties, history))
        failures = []
        if missing:
            failures.append(
                _Failure(
                    0,
                    404,
                    error_body(
                        "Could not get some COURSE objects, they may be deleted or "
                        "not exist. Check that ids are valid.",
                        "OBJECT_NOT_FOUND",
                        context={"ids": missing},
                    ),
                )
            )
        return self._finish(started, results, failures, None, 200)

    def batch_create(self, req: Request) -> Response:
        """``POST .../courses/batch/create``.

        Args:
            req: The request.

        Returns:
            201, or 207 with per-input errors when every input has a unique
            ``objectWriteTraceId``.

        Raises:
            ApiError: 400/409 failing the whole batch without trace ids.
        """
        started = format_instant(self.store.now())
        inputs = self._inputs(req.json_object())
        traces = self._trace_ids(inputs)
        prepared: list[_Prepared] = []
        failures: list[_Failure] = []
        claimed: dict[tuple[str, str], str] = {}
        with self.store.lock:
            for position, item in enumerate(inputs):
                trace = traces[position] if traces else None
                values, problems = self._validate(item.get("properties"), None, True)
                if problems:
                    body = property_validation_error(problems, self.config.portal_id)
                    failures.append(_Failure(position, 400, body))
                    continue
                conflict = self._conflict(values, None, claimed, f"#{position}")
                if conflict is not None:
                    failures.append(_Failure(position, 409, conflict))
                    continue
                try:
                    links = self._parse_associations(item.get("associations"))
                except ApiError as exc:
                    failures.append(_Failure(position, exc.status, exc.body))
                    continue
                prepared.append(_Prepared(position, values, trace, associations=links))
            self._fail_whole(failures, traces)
            results = []
            for entry in prepared:
                course = self.store.create_course(entry.values, "API")
                self._associate(course, entry.associations)
                result = self.serialize(course, all_properties=True)
                if entry.trace_id is not None:
                    result["objectWriteTraceId"] = entry.trace_id
                results.append(result)
        return self._finish(started, results, failures, traces, 201)

    def batch_update(self, req: Request) -> Response:
        """``POST .../courses/batch/update``.

        Args:
            req: The request.

        Returns:
            200, or 207 for missing records (always) and invalid inputs (with
            unique trace ids).

        Raises:
            ApiError: 400 for duplicate ids or, without trace ids, invalid values.
        """
        started = format_instant(self.store.now())
        payload = req.json_object()
        inputs = self._inputs(payload)
        traces = self._trace_ids(inputs)
        self._reject_duplicates(["{}".format(i.get("id", "")) for i in inputs])
        prepared: list[_Prepared] = []
        failures: list[_Failure] = []
        not_found_failures: list[_Failure] = []
        claimed: dict[tuple[str, str], str] = {}
        with self.store.lock:
            for position, item in enumerate(inputs):
                trace = traces[position] if traces else None
                key = str(item.get("id", ""))
                id_property = self._check_id_property(item.get("idProperty") or None)
                course = self.find(key, id_property)
                if course is None:
                    not_found_failures.append(
                        _Failure(
                            position,
                            404,
                            error_body(
                                "Could not get some COURSE objects, they may be "
                                "deleted or not exist. Check that ids are valid.",
                                "OBJECT_NOT_FOUND",
                                context={"ids": [key]},
                            ),
                        )
                    )
                    continue
                values, problems = self._validate(item.get("properties"), course, False)
                if problems:
                    body = property_validation_error(problems, self.config.portal_id)
                    failures.append(_Failure(position, 400, body))
                    continue
                conflict = self._conflict(values, course, claimed, course.id)
                if conflict is not None:
                    failures.append(_Failure(position, 409, conflict))
                    continue
                prepared.append(_Prepared(position, values, trace, course))
            self._fail_whole(failures, traces)
            results = []
            for entry in prepared:
                if entry.course is None:
                    continue
                self.store.update_course(entry.course.id, entry.values)
                result = self.serialize(entry.course, all_properties=True)
                if entry.trace_id is not None:
                    result["objectWriteTraceId"] = entry.trace_id
                results.append(result)
        return self._finish(
            started, results, failures + not_found_failures, traces, 200
        )

    def batch_upsert(self, req: Request) -> Response:
        """``POST .../courses/batch/upsert``: create or update by unique value.

        Args:
            req: The request.

        Returns:
            200 with ``new`` flags, or 207 with per-input errors (unique trace
            ids, or inputs naming a record id that does not exist).

        Raises:
            ApiError: 400 for duplicate ids, a non-unique ``idProperty`` or,
                without trace ids, invalid values.
        """
        started = format_instant(self.store.now())
        inputs = self._inputs(req.json_object())
        traces = self._trace_ids(inputs)
        for item in inputs:
            if item.get("idProperty"):
                self._check_id_property(str(item["idProperty"]), upsert=True)
        self._reject_duplicates([str(i.get("id", "")) for i in inputs])
        prepared: list[_Prepared] = []
        failures: list[_Failure] = []
        claimed: dict[tuple[str, str], str] = {}
        with self.store.lock:
            for position, item in enumerate(inputs):
                trace = traces[position] if traces else None
                key = str(item.get("id", ""))
                id_property = item.get("idProperty") or None
                course = self.find(key, id_property)
                if course is None and id_property is None:
                    failures.append(
                        _Failure(
                            position,
                            404,
                            error_body(
                                "Could not get some COURSE objects, they may be "
                                "deleted or not exist. Check that ids are valid.",
                                "OBJECT_NOT_FOUND",
                                context={"ids": [key]},
                            ),
                        )
                    )
                    continue
                raw = dict(item.get("properties") or {})
                if course is None and id_property is not None:
                    raw.setdefault(id_property, key)
                values, problems = self._validate(raw, course, course is None)
                if problems:
                    body = property_validation_error(problems, self.config.portal_id)
                    failures.append(_Failure(position, 400, body))
                    continue
                marker = course.id if course is not None else f"#{position}"
                conflict = self._conflict(values, course, claimed, marker)
                if conflict is not None:
                    failures.append(_Failure(position, 409, conflict))
                    continue
                prepared.append(_Prepared(position, values, trace, course))
            self._fail_whole(failures, traces)
            results = []
            for entry in prepared:
                created = entry.course is None
                if entry.course is None:
                    course = self.store.create_course(entry.values, "API")
                else:
                    course = self.store.update_course(entry.course.id, entry.values)
                result = self.serialize(course, all_properties=True)
                result["new"] = created
                if entry.trace_id is not None:
                    result["objectWriteTraceId"] = entry.trace_id
                results.append(result)
        return self._finish(started, results, failures, traces, 200)

    def batch_archive(self, req: Request) -> Response:
        """``POST .../courses/batch/archive``.

        Args:
            req: The request.

        Returns:
            204; unknown ids are ignored as HubSpot does.
        """
        inputs = self._inputs(req.json_object())
        keys = [str(i.get("id", "")) for i in inputs]
        self._reject_duplicates(keys)
        with self.store.lock:
            for key in keys:
                if key in self.store.courses:
                    self.store.archive_course(key)
        return Response(204)
