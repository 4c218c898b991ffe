"""Handlers of the properties, associations and object-library endpoints."""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping
from typing import Any

from hubspot_sandbox.config import COURSES_OBJECT_TYPE_ID, SandboxConfig
from hubspot_sandbox.errors import bad_request, error_body, not_found
from hubspot_sandbox.messages import (
    Request,
    Response,
    batch_response,
    next_page,
    not_found_entry,
)
from hubspot_sandbox.store import (
    OBJECT_TYPE_IDS,
    AssociatedRecord,
    AssociationType,
    Store,
    canonical_to_type,
)
from hubspot_sandbox.values import format_instant

ASSOC_BATCH_READ_MAX = 1_000
ASSOC_BATCH_CREATE_MAX = 2_000
ASSOC_PAGE_MAX = 500
_SINGULAR = {"contacts": "contact", "companies": "company"}


def _page_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(b"o:%d" % index).decode().rstrip("=")


def _page_start(cursor: object) -> int:
    if cursor is None or cursor == "":
        return 0
    text = str(cursor)
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise bad_request("Invalid paging cursor 'after'.") from exc
    if not decoded.startswith("o:") or not decoded[2:].isdigit():
        raise bad_request("Invalid paging cursor 'after'.")
    return int(decoded[2:])


def _to_object(record: AssociatedRecord) -> dict[str, Any]:
    return {
        "toObjectId": int(record.to_id) if record.to_id.isdigit() else record.to_id,
        "associationTypes": [spec.to_json() for spec in record.types],
    }


class SchemaApi:
    """Properties, associations and object-library handlers.

    Args:
        store: The portal.
        config: The sandbox configuration.
    """

    def __init__(self, store: Store, config: SandboxConfig) -> None:
        self.store = store
        self.config = config

    # -- properties -----------------------------------------------------------

    def properties_list(self, req: Request) -> Response:
        """``GET /crm/{v3/properties|properties/2026-03}/courses``.

        Args:
            req: The request (``archived=true`` lists archived definitions).

        Returns:
            ``CollectionResponsePropertyNoPaging``.
        """
        archived = req.bool_param("archived")
        wanted = set(req.list_param("properties"))
        with self.store.lock:
            results = [
                copy.deepcopy(d)
                for d in self.store.properties.values()
                if bool(d.get("archived")) == archived
                and (not wanted or d["name"] in wanted)
            ]
        return Response(200, {"results": results})

    def properties_get(self, req: Request) -> Response:
        """``GET /crm/.../properties/.../courses/{name}``.

        Args:
            req: The request.

        Returns:
            One ``Property``.

        Raises:
            ApiError: 404 for an unknown name.
        """
        name = req.match["name"]
        with self.store.lock:
            definition = self.store.properties.get(name)
            if definition is None:
                raise not_found(
                    f"Unable to find property {name} for object type "
                    f"{COURSES_OBJECT_TYPE_ID}"
                )
            return Response(200, copy.deepcopy(definition))

    def properties_batch_read(self, req: Request) -> Response:
        """``POST /crm/.../properties/.../courses/batch/read``.

        Args:
            req: The request.

        Returns:
            ``BatchResponseProperty`` (207 with errors for unknown names).
        """
        started = format_instant(self.store.now())
        payload = req.json_object()
        inputs = payload.get("inputs") or []
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        with self.store.lock:
            for item in inputs:
                name = str((item or {}).get("name", ""))
                definition = self.store.properties.get(name)
                if definition is None:
                    missing.append(name)
                else:
                    results.append(copy.deepcopy(definition))
        errors = []
        if missing:
            message = "Unable to find some properties: " + ", ".join(missing)
            errors.append(not_found_entry(message, {"names": missing}))
        return batch_response(
            results,
            errors,
            started=started,
            completed=format_instant(self.store.now()),
        )

    # -- object library -------------------------------------------------------

    def enablement(self, req: Request) -> Response:
        """``GET /crm/object-library/2026-03/enablement[/{objectTypeId}]``.

        Args:
            req: The request.

        Returns:
            The enablement map, or one flag.

        Raises:
            ApiError: 404 for object types the sandbox does not know.
        """
        enabled = self.config.courses_enabled
        object_type = req.match.get("t")
        if object_type:
            if object_type not in {COURSES_OBJECT_TYPE_ID, "courses"}:
                raise not_found(f"Unknown object-library object type {object_type}.")
            return Response(200, {"enablement": enabled})
        return Response(
            200,
            {
                "enablementByObjectTypeId": {
                    COURSES_OBJECT_TYPE_ID: enabled,
                    "0-420": False,
                    "0-421": False,
                }
            },
        )

    # -- associations ---------------------------------------------------------

    def _pair(self, req: Request) -> str:
        """Check ``{from}/{to}`` and return the canonical target type."""
        to_type = canonical_to_type(req.match["to"])
        if to_type is None:
            raise bad_request(
                "Associations from courses to '{}' are not emulated; use contacts "
                "(0-1) or companies (0-2).".format(req.match["to"])
            )
        return to_type

    def labels(self, req: Request) -> Response:
        """``GET /crm/{v4/associations|associations/2026-03}/courses/{to}/labels``.

        Args:
            req: The request.

        Returns:
            The association types between the pair.
        """
        to_type = self._pair(req)
        with self.store.lock:
            specs = list(self.store.association_labels[to_type])
        return Response(200, {"results": [spec.to_json() for spec in specs]})

    def _records_page(
        self, course_id: str, to_type: str, start: int, limit: int
    ) -> tuple[list[AssociatedRecord], str | None]:
        records = self.store.associations_of(course_id, to_type)
        page = records[start : start + limit]
        following = start + limit
        cursor = _page_cursor(following) if following < len(records) else None
        return page, cursor

    def batch_read(self, req: Request) -> Response:
        """``POST .../associations/.../courses/{to}/batch/read``.

        Each input gets at most 500 associated records and its own
        ``paging.next.after``; inputs may send back that ``after``. Inputs with
        no associations come back as ``NO_ASSOCIATIONS_FOUND`` errors (207).

        Args:
            req: The request.

        Returns:
            200 or 207 ``BatchResponsePublicAssociationMultiWithLabel``.

        Raises:
            ApiError: 400 for more than 1,000 inputs or a bad cursor.
        """
        to_type = self._pair(req)
        started = format_instant(self.store.now())
        inputs = req.json_object().get("inputs")
        if not isinstance(inputs, list):
            raise bad_request("inputs must be an array.")
        if len(inputs) > ASSOC_BATCH_READ_MAX:
            raise bad_request(
                f"Too many inputs: {len(inputs)}. Association batch read accepts "
                f"at most {ASSOC_BATCH_READ_MAX}."
            )
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self.store.lock:
            for item in inputs:
                course_id = str((item or {}).get("id", ""))
                start = _page_start((item or {}).get("after"))
                page, cursor = self._records_page(
                    course_id, to_type, start, ASSOC_PAGE_MAX
                )
                if not page:
                    message = (
                        f"No {_SINGULAR[to_type]} is associated with course "
                        f"{course_id}."
                    )
                    entry = error_body(
                        message,
                        "OBJECT_NOT_FOUND",
                        sub_category="crm.associations.NO_ASSOCIATIONS_FOUND",
                        context={"fromObjectId": [course_id]},
                    )
                    del entry["correlationId"]
                    entry.update({"errors": [], "links": {}})
                    errors.append(entry)
                    continue
                result: dict[str, Any] = {
                    "from": {"id": course_id},
                    "to": [_to_object(record) for record in page],
                }
                if cursor is not None:
                    result["paging"] = {"next": {"after": cursor}}
                results.append(result)
        return batch_response(
            results,
            errors,
            started=started,
            completed=format_instant(self.store.now()),
        )

    def _specs(self, to_type: str, raw: object) -> list[AssociationType]:
        if not isinstance(raw, list) or not raw:
            raise bad_request("types must be a non-empty array of association specs.")
        known = {spec.type_id: spec for spec in self.store.association_labels[to_type]}
        specs: list[AssociationType] = []
        for item in raw:
            if not isinstance(item, Mapping):
                raise bad_request("Each association spec must be an object.")
            type_id = item.get("associationTypeId")
            category = str(item.get("associationCategory", "HUBSPOT_DEFINED"))
            spec = known.get(type_id) if isinstance(type_id, int) else None
            if spec is None or spec.category != category:
                raise bad_request(
                    f"{category} association type id {type_id} is not valid "
                    f"between {COURSES_OBJECT_TYPE_ID} and "
                    f"{OBJECT_TYPE_IDS[to_type]}."
                )
            specs.append(spec)
        return specs

    def _labels_pair(self, course_id: str, to_type: str, to_id: str) -> dict[str, Any]:
        record = next(
            (
                r
                for r in self.store.associations_of(course_id, to_type)
                if r.to_id == to_id
            ),
            None,
        )
        labels = [t.label for t in record.types if t.label] if record else []
        return {
            "fromObjectTypeId": COURSES_OBJECT_TYPE_ID,
            "fromObjectId": int(course_id) if course_id.isdigit() else course_id,
            "toObjectTypeId": OBJECT_TYPE_IDS[to_type],
            "toObjectId": int(to_id) if to_id.isdigit() else to_id,
            "labels": labels,
        }

    def _require_course(self, course_id: str) -> None:
        course = self.store.courses.get(course_id)
        if course is None or course.archived:
            raise not_found(f"Course {course_id} does not exist.")

    def batch_create(self, req: Request) -> Response:
        """``POST .../associations/.../courses/{to}/batch/create`` (labelled).

        Args:
            req: The request.

        Returns:
            201 ``BatchResponseLabelsBetweenObjectPair`` (207 when some courses
            do not exist).
        """
        to_type = self._pair(req)
        started = format_instant(self.store.now())
        inputs = req.json_object().get("inputs")
        if not isinstance(inputs, list):
            raise bad_request("inputs must be an array.")
        if len(inputs) > ASSOC_BATCH_CREATE_MAX:
            raise bad_request(
                f"Too many inputs: {len(inputs)}. Association batch create accepts "
                f"at most {ASSOC_BATCH_CREATE_MAX}."
            )
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        with self.store.lock:
            parsed = []
            for item in inputs:
                course_id = str(((item or {}).get("from") or {}).get("id", ""))
                to_id = str(((item or {}).get("to") or {}).get("id", ""))
                if not course_id or not to_id:
                    raise bad_request("Each input needs from.id and to.id.")
                parsed.append(
                    (course_id, to_id, self._specs(to_type, item.get("types")))
                )
            for course_id, to_id, specs in parsed:
                course = self.store.courses.get(course_id)
                if course is None or course.archived:
                    missing.append(course_id)
                    continue
                for spec in specs:
                    self.store.associate(
                        course_id,
                        to_type,
                        to_id,
                        spec.type_id,
                        spec.category,
                        spec.label,
                    )
                results.append(self._labels_pair(course_id, to_type, to_id))
        return self._batch_answer(started, results, missing, 201)

    def _batch_answer(
        self, started: str, results: list[dict[str, Any]], missing: list[str], ok: int
    ) -> Response:
        errors = []
        if missing:
            message = "Could not find courses: " + ", ".join(missing)
            errors.append(not_found_entry(message, {"ids": missing}))
        return batch_response(
            results,
            errors,
            started=started,
            completed=format_instant(self.store.now()),
            ok=ok,
        )

    def batch_associate_default(self, req: Request) -> Response:
        """``POST .../associations/.../courses/{to}/batch/associate/default``.

        Args:
            req: The request.

        Returns:
            200 ``BatchResponsePublicDefaultAssociation``.
        """
        to_type = self._pair(req)
        started = format_instant(self.store.now())
        inputs = req.json_object().get("inputs")
        if not isinstance(inputs, list):
            raise bad_request("inputs must be an array.")
        if len(inputs) > ASSOC_BATCH_CREATE_MAX:
            raise bad_request(f"Too many inputs: {len(inputs)}.")
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        with self.store.lock:
            for item in inputs:
                course_id = str(((item or {}).get("from") or {}).get("id", ""))
                to_id = str(((item or {}).get("to") or {}).get("id", ""))
                course = self.store.courses.get(course_id)
                if course is None or course.archived or not to_id:
                    missing.append(course_id)
                    continue
                spec = self.store.associate(course_id, to_type, to_id)
                results.append(_default_result(course_id, to_id, spec))
        return self._batch_answer(started, results, missing, 200)

    def batch_archive(self, req: Request) -> Response:
        """``POST .../associations/.../courses/{to}/batch/archive``.

        Args:
            req: The request.

        Returns:
            204.
        """
        to_type = self._pair(req)
        inputs = req.json_object().get("inputs")
        if not isinstance(inputs, list):
            raise bad_request("inputs must be an array.")
        with self.store.lock:
            for item in inputs:
                course_id = str(((item or {}).get("from") or {}).get("id", ""))
                for target in (item or {}).get("to") or []:
                    to_id = str((target or {}).get("id", ""))
                    self.store.disassociate(course_id, to_type, to_id)
        return Response(204)

    # -- record-level associations -------------------------------------------

    def record_get(self, req: Request) -> Response:
        """``GET /crm/{v4/objects|objects/2026-03}/courses/{id}/associations/{to}``.

        Args:
            req: The request.

        Returns:
            ``CollectionResponseMultiAssociatedObjectWithLabelForwardPaging``.

        Raises:
            ApiError: 400 for a bad limit or cursor.
        """
        to_type = self._pair(req)
        raw_limit = req.param("limit") or str(ASSOC_PAGE_MAX)
        try:
            limit = int(raw_limit)
        except ValueError as exc:
            raise bad_request("limit must be an integer.") from exc
        limit = max(1, min(limit, ASSOC_PAGE_MAX))
        start = _page_start(req.param("after"))
        with self.store.lock:
            page, cursor = self._records_page(req.match["id"], to_type, start, limit)
        body: dict[str, Any] = {"results": [_to_object(r) for r in page]}
        if cursor is not None:
            body["paging"] = next_page(cursor, limit)
        return Response(200, body)

    def record_put_default(self, req: Request) -> Response:
        """``PUT .../courses/{id}/associations/default/{to}/{toId}``.

        Args:
            req: The request.

        Returns:
            200 ``BatchResponsePublicDefaultAssociation``.
        """
        to_type = self._pair(req)
        started = format_instant(self.store.now())
        course_id, to_id = req.match["id"], req.match["to_id"]
        with self.store.lock:
            self._require_course(course_id)
            spec = self.store.associate(course_id, to_type, to_id)
        return batch_response(
            [_default_result(course_id, to_id, spec)],
            [],
            started=started,
            completed=format_instant(self.store.now()),
        )

    def record_put(self, req: Request) -> Response:
        """``PUT .../courses/{id}/associations/{to}/{toId}`` with label specs.

        The given set replaces the types between the two records.

        Args:
            req: The request.

        Returns:
            201 ``LabelsBetweenObjectPair``.
        """
        to_type = self._pair(req)
        course_id, to_id = req.match["id"], req.match["to_id"]
        specs_raw = req.json()
        with self.store.lock:
            self._require_course(course_id)
            specs = self._specs(to_type, specs_raw)
            self.store.disassociate(course_id, to_type, to_id)
            for spec in specs:
                self.store.associate(
                    course_id, to_type, to_id, spec.type_id, spec.category, spec.label
                )
            body = self._labels_pair(course_id, to_type, to_id)
        return Response(201, body)

    def record_delete(self, req: Request) -> Response:
        """``DELETE .../courses/{id}/associations/{to}/{toId}``.

        Args:
            req: The request.

        Returns:
            204.
        """
        to_type = self._pair(req)
        with self.store.lock:
            self.store.disassociate(req.match["id"], to_type, req.match["to_id"])
        return Response(204)


def _default_result(
    course_id: str, to_id: str, spec: AssociationType
) -> dict[str, Any]:
    return {
        "from": {"id": course_id},
        "to": {"id": to_id},
        "associationSpec": {
            "associationCategory": spec.category,
            "associationTypeId": spec.type_id,
        },
    }
