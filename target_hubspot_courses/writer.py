"""Batch writes of courses and associations, with per-input outcomes.

Every input of a batch call carries an ``objectWriteTraceId``, so HubSpot
answers 207 with one error per bad input instead of failing the call; each
error is mapped back to its record through that id. When HubSpot still
refuses a whole call (400, 409), the batch is split in halves until the bad
inputs stand alone and are rejected, and the good ones land.

Calls per drain:

* updates by record id (``batch/update``), upserts on ``id_property``
  (``batch/upsert``) or creates (``batch/create``), 100 inputs per call, sent
  concurrently on the run's thread pool;
* updates whose record id does not exist (207 ``OBJECT_NOT_FOUND``) are
  retried as upserts on ``id_property`` when the row has a value for it;
* archives: ids resolved from ``id_property`` values by ``batch/read``, then
  ``batch/archive``;
* associations: v4 ``batch/create``, 2,000 inputs per call.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

from hubspot_courses.errors import HubSpotAPIError
from target_hubspot_courses.ledger import Reject

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterable, Sequence
    from concurrent.futures import Executor

    from hubspot_courses.client import HubSpotClient
    from target_hubspot_courses.ledger import Ledger
    from target_hubspot_courses.rows import AssociationLink, CourseRow

__all__ = ["CourseWriter", "PendingLink", "chunks"]

BATCH_LIMIT = 100
ASSOCIATION_BATCH_LIMIT = 2_000
_SPLITTABLE = frozenset({400, 409, 422})
"""Statuses of a whole-call refusal that may be caused by one bad input."""

_FIXES = {
    "PROPERTY_DOESNT_EXIST": "create the property in HubSpot, or drop the column",
    "READ_ONLY_VALUE": "drop the column: HubSpot sets this property itself",
    "INVALID_OPTION": "send one of the property's option values or labels",
    "REQUIRED_PROPERTY": "give new courses a non-empty 'hs_course_name'",
    "INVALID_DATE": "send the date as YYYY-MM-DD",
    "INVALID_INTEGER": "send a number",
    "INVALID_LONG": "send an ISO-8601 date-time",
    "INVALID_BOOLEAN": "send true or false",
    "INVALID_LENGTH": "shorten the value to 65,536 characters",
    "CONFLICT": (
        "another course already holds this unique value: match on it with "
        "'id_property', or change the value"
    ),
    "OBJECT_NOT_FOUND": (
        "the record id does not exist in this portal: give the row its "
        "'id_property' value so it can be matched or created"
    ),
}


def chunks(items: Sequence[t.Any], size: int) -> Iterable[list[t.Any]]:
    """``items`` in consecutive lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclasses.dataclass
class PendingLink:
    """An association to write, and the record to reject if it fails."""

    course_id: str
    link: AssociationLink
    stream: str
    record: t.Any
    seq: int

    @property
    def trace(self) -> str:
        """Identifies this link in logs and rejects."""
        return f"{self.course_id}->{self.link.to_type}/{self.link.to_id}"


class CourseWriter:
    """Writes prepared course rows and association links to HubSpot."""

    def __init__(
        self,
        client: HubSpotClient,
        executor: Executor,
        ledger: Ledger,
        logger: logging.Logger,
        *,
        id_property: str | None,
        dry_run: bool = False,
    ) -> None:
        """Write through ``client``, ``executor`` threads and ``ledger``."""
        self.client = client
        self.executor = executor
        self.ledger = ledger
        self.logger = logger
        self.id_property = id_property
        self.dry_run = dry_run

    # ---------------------------------------------------------------- courses

    def write(self, rows: Sequence[CourseRow], *, create: bool = False) -> None:
        """Write, create or archive ``rows`` (already deduplicated).

        Args:
            rows: the rows of one drain.
            create: create every non-delete row (``append-only``).
        """
        writes = [row for row in rows if not row.delete]
        deletes = [row for row in rows if row.delete]
        if self.dry_run:
            self._plan(writes, deletes, create=create)
            return
        if create:
            self._run("create", writes)
        else:
            updates, upserts = self._route(writes)
            fallback = self._run_two("update", updates, "upsert", upserts)
            if fallback:
                self.logger.info(
                    "%d record ids do not exist in this portal; upserting those "
                    "rows on '%s' instead.",
                    len(fallback),
                    self.id_property,
                )
                self._run("upsert", fallback)
        if deletes:
            self._archive(deletes)

    def _route(
        self, writes: Sequence[CourseRow]
    ) -> tuple[list[CourseRow], list[CourseRow]]:
        """Split rows into updates by record id and upserts on ``id_property``.

        A row carrying both a record id and a key is updated by id only when
        that id holds the same key (or none yet) in this portal: ids copied
        from another portal may name an unrelated course here.
        """
        updates = [row for row in writes if row.record_id]
        upserts = [row for row in writes if not row.record_id]
        both = [row for row in updates if row.key]
        if not both:
            return updates, upserts
        held = self._keys_of_ids([row.record_id or "" for row in both])
        moved = {
            row.trace_id
            for row in both
            if row.record_id not in held
            or held[row.record_id or ""] not in ("", row.key)
        }
        updates = [row for row in updates if row.trace_id not in moved]
        upserts += [row for row in both if row.trace_id in moved]
        return updates, upserts

    def _keys_of_ids(self, ids: Sequence[str]) -> dict[str, str]:
        """``id_property`` value (``""`` when empty) of each existing id."""
        path = self.client.paths.objects("/batch/read")

        def read(chunk: list[str]) -> dict[str, str]:
            body = {
                "inputs": [{"id": value} for value in chunk],
                "properties": [self.id_property],
                "propertiesWithHistory": [],
            }
            answer = self.client.post(path, body).body or {}
            return {
                str(result.get("id")): str(
                    (result.get("properties") or {}).get(self.id_property) or ""
                )
                for result in answer.get("results") or []
            }

        merged: dict[str, str] = {}
        unique = list(dict.fromkeys(ids))
        for future in [
            self.executor.submit(read, chunk) for chunk in chunks(unique, BATCH_LIMIT)
        ]:
            merged.update(future.result())
        return merged

    def _run_two(
        self,
        first_op: str,
        first: Sequence[CourseRow],
        second_op: str,
        second: Sequence[CourseRow],
    ) -> list[CourseRow]:
        jobs = [(first_op, chunk) for chunk in chunks(first, BATCH_LIMIT)]
        jobs += [(second_op, chunk) for chunk in chunks(second, BATCH_LIMIT)]
        return self._gather(jobs)

    def _run(self, op: str, rows: Sequence[CourseRow]) -> list[CourseRow]:
        return self._gather([(op, chunk) for chunk in chunks(rows, BATCH_LIMIT)])

    def _gather(self, jobs: list[tuple[str, list[CourseRow]]]) -> list[CourseRow]:
        futures = [self.executor.submit(self._send, op, chunk) for op, chunk in jobs]
        leftovers: list[CourseRow] = []
        failure: BaseException | None = None
        for future in futures:
            try:
                leftovers.extend(future.result())
            except BaseException as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return leftovers

    def _send(self, op: str, rows: list[CourseRow]) -> list[CourseRow]:
        """Send one batch call; split it when HubSpot refuses it whole."""
        body = {"inputs": [self._input(op, row) for row in rows]}
        try:
            response = self.client.post(
                self.client.paths.objects(f"/batch/{op}"),
                body,
                idempotent=op != "create",
            )
        except HubSpotAPIError as exc:
            if exc.status not in _SPLITTABLE or type(exc) is not HubSpotAPIError:
                raise
            if len(rows) == 1:
                self._reject_for_error(rows[0], exc)
                return []
            middle = len(rows) // 2
            self.logger.info(
                "HubSpot refused a batch of %d %ss whole (%s %s); splitting it "
                "to isolate the bad inputs.",
                len(rows),
                op,
                exc.status,
                exc.category or "error",
            )
            return self._send(op, rows[:middle]) + self._send(op, rows[middle:])
        return self._outcomes(op, rows, response.body or {})

    def _input(self, op: str, row: CourseRow) -> dict[str, t.Any]:
        item: dict[str, t.Any] = {
            "objectWriteTraceId": row.trace_id,
            "properties": row.properties,
        }
        if op == "update":
            item["id"] = row.record_id
        elif op == "upsert":
            item["id"] = row.key
            item["idProperty"] = self.id_property
        else:
            item["associations"] = []
        return item

    def _outcomes(
        self, op: str, rows: list[CourseRow], body: dict[str, t.Any]
    ) -> list[CourseRow]:
        by_trace = {row.trace_id: row for row in rows}
        done: set[str] = set()
        fallback: list[CourseRow] = []
        for result in body.get("results") or []:
            row = by_trace.get(str(result.get("objectWriteTraceId") or ""))
            row = row or self._match_result(op, rows, result, done)
            if row is None or row.trace_id in done:
                continue
            done.add(row.trace_id)
            row.target_id = str(result.get("id"))
            created = op == "create" or (op == "upsert" and bool(result.get("new")))
            self.ledger.add("created" if created else "updated")
            self.ledger.learn(row.record_id, row.key, row.target_id)
        for error in body.get("errors") or []:
            for row in self._error_rows(op, rows, error, done):
                done.add(row.trace_id)
                category = str(error.get("category") or "")
                if op == "update" and category == "OBJECT_NOT_FOUND" and row.key:
                    fallback.append(row)
                    continue
                self._reject_for_entry(row, error)
        for row in rows:
            if row.trace_id not in done:
                self.ledger.reject(
                    Reject(
                        row.stream,
                        row.record,
                        reason=f"HubSpot's answer to the batch {op} named no "
                        "outcome for this record",
                        fix="check the course in HubSpot, then resend the record",
                        category="NO_OUTCOME",
                    )
                )
        return fallback

    def _match_result(
        self,
        op: str,
        rows: list[CourseRow],
        result: dict[str, t.Any],
        done: set[str],
    ) -> CourseRow | None:
        """Find the row of a result that did not echo its trace id."""
        result_id = str(result.get("id"))
        values = result.get("properties") or {}
        for row in rows:
            if row.trace_id in done:
                continue
            if op == "update" and row.record_id == result_id:
                return row
            if self.id_property and row.key and values.get(self.id_property) == row.key:
                return row
        return None

    def _error_rows(
        self,
        op: str,
        rows: list[CourseRow],
        error: dict[str, t.Any],
        done: set[str],
    ) -> list[CourseRow]:
        context = error.get("context") or {}
        traces = {str(trace) for trace in context.get("objectWriteTraceId") or []}
        matched = [row for row in rows if row.trace_id in traces]
        if matched:
            return [row for row in matched if row.trace_id not in done]
        ids = {str(value) for value in context.get("ids") or []}
        return [
            row
            for row in rows
            if row.trace_id not in done
            and ((op == "update" and row.record_id in ids) or row.key in ids)
        ]

    def _reject_for_entry(self, row: CourseRow, error: dict[str, t.Any]) -> None:
        category = str(error.get("category") or "")
        message = str(error.get("message") or "")
        code, names = _detail(error)
        self.ledger.reject(
            Reject(
                row.stream,
                row.record,
                reason=f"HubSpot refused the course: {_summary(message)}",
                fix=_FIXES.get(code) or _FIXES.get(category) or _default_fix(),
                category=category,
                code=code,
                message=message,
                correlation_id=str(error.get("correlationId") or ""),
                property_name=names[0] if names else None,
            )
        )

    def _reject_for_error(self, row: CourseRow, exc: HubSpotAPIError) -> None:
        self._reject_for_entry(
            row,
            {
                "category": exc.category,
                "message": exc.hubspot_message,
                "correlationId": exc.correlation_id,
                "errors": (exc.body or {}).get("errors") or [],
            },
        )

    # ---------------------------------------------------------------- archive

    def _archive(self, rows: Sequence[CourseRow]) -> None:
        ids = self._resolve_for_archive(rows)
        unique = list(dict.fromkeys(ids))
        futures = [
            self.executor.submit(
                self.client.post,
                self.client.paths.objects("/batch/archive"),
                {"inputs": [{"id": course_id} for course_id in chunk]},
            )
            for chunk in chunks(unique, BATCH_LIMIT)
        ]
        for future in futures:
            future.result()
        self.ledger.add("archived", len(unique))

    def _resolve_for_archive(self, rows: Sequence[CourseRow]) -> list[str]:
        ids = [row.record_id for row in rows if row.record_id]
        keys = [row.key for row in rows if not row.record_id and row.key]
        found = self.resolve_keys(keys)
        missing = [key for key in keys if key not in found]
        if missing:
            self.logger.info(
                "%d deleted records match no active course on '%s'; nothing to "
                "archive for them.",
                len(missing),
                self.id_property,
            )
        return [*(i for i in ids if i), *(found[key] for key in keys if key in found)]

    def resolve_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """HubSpot ids of the active courses holding ``keys`` in ``id_property``."""
        wanted = list(dict.fromkeys(k for k in keys if k))
        if not wanted or not self.id_property:
            return {}
        return self._read("idProperty", wanted)

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are active course record ids."""
        wanted = list(dict.fromkeys(i for i in ids if i))
        return set(self._read(None, wanted).values()) if wanted else set()

    def _read(self, mode: str | None, values: list[str]) -> dict[str, str]:
        """Batch-read courses by record id or ``id_property``; value -> id."""
        name = self.id_property if mode else "hs_object_id"
        path = self.client.paths.objects("/batch/read")

        def read(chunk: list[str]) -> dict[str, str]:
            body: dict[str, t.Any] = {
                "inputs": [{"id": value} for value in chunk],
                "properties": [name],
                "propertiesWithHistory": [],
            }
            if mode:
                body["idProperty"] = self.id_property
            answer = self.client.post(path, body).body or {}
            found: dict[str, str] = {}
            for result in answer.get("results") or []:
                value = (result.get("properties") or {}).get(name)
                value = value if mode else str(result.get("id"))
                if value is not None:
                    found[str(value)] = str(result.get("id"))
            return found

        merged: dict[str, str] = {}
        futures = [
            self.executor.submit(read, chunk) for chunk in chunks(values, BATCH_LIMIT)
        ]
        for future in futures:
            merged.update(future.result())
        return merged

    # ---------------------------------------------------------------- dry run

    def _plan(
        self,
        writes: Sequence[CourseRow],
        deletes: Sequence[CourseRow],
        *,
        create: bool,
    ) -> None:
        """Count what ``write`` would do, reading but never writing."""
        if create:
            self.ledger.add("created", len(writes))
        else:
            updates, _ = self._route(writes)
            existing = self.existing_ids([r.record_id or "" for r in updates])
            by_id = {r.trace_id for r in updates if r.record_id in existing}
            unresolved = [r for r in writes if r.trace_id not in by_id]
            by_key = self.resolve_keys([r.key for r in unresolved if r.key])
            self.ledger.add("updated", len(writes) - len(unresolved))
            for row in unresolved:
                if row.key and row.key in by_key:
                    self.ledger.add("updated")
                elif row.key and row.properties.get("hs_course_name"):
                    self.ledger.add("created")
                elif row.key:
                    self._reject_planned(
                        row,
                        "REQUIRED_PROPERTY",
                        "the course would be created but has no 'hs_course_name'",
                    )
                else:
                    self._reject_planned(
                        row, "OBJECT_NOT_FOUND", "the record id does not exist"
                    )
        if deletes:
            ids = self._resolve_for_archive(deletes)
            self.ledger.add("archived", len(set(ids) & self._active(ids)))
        self.ledger.add("associated", sum(len(row.associations) for row in writes))

    def _active(self, ids: Sequence[str]) -> set[str]:
        return self.existing_ids(ids)

    def _reject_planned(self, row: CourseRow, code: str, reason: str) -> None:
        self.ledger.reject(
            Reject(
                row.stream,
                row.record,
                reason=f"dry run: {reason}",
                fix=_FIXES.get(code, _default_fix()),
                category="DRY_RUN",
                code=code,
            )
        )

    # ---------------------------------------------------------------- links

    def associate(self, links: Sequence[PendingLink]) -> None:
        """Create ``links`` (course ids already resolved), by object type."""
        if self.dry_run:
            self.ledger.add("associated", len(links))
            return
        by_type: dict[str, list[PendingLink]] = {}
        for pending in links:
            by_type.setdefault(pending.link.to_type, []).append(pending)
        futures = [
            self.executor.submit(self._send_links, to_type, chunk)
            for to_type, group in by_type.items()
            for chunk in chunks(group, ASSOCIATION_BATCH_LIMIT)
        ]
        for future in futures:
            future.result()

    def _send_links(self, to_type: str, links: list[PendingLink]) -> None:
        body = {
            "inputs": [
                {
                    "from": {"id": pending.course_id},
                    "to": {"id": pending.link.to_id},
                    "types": [
                        {
                            "associationCategory": pending.link.category,
                            "associationTypeId": pending.link.type_id,
                        }
                    ],
                }
                for pending in links
            ]
        }
        path = self.client.paths.associations(to_type, "/batch/create")
        try:
            answer = self.client.post(path, body).body or {}
        except HubSpotAPIError as exc:
            if exc.status not in _SPLITTABLE or type(exc) is not HubSpotAPIError:
                raise
            if len(links) == 1:
                self._reject_link(
                    links[0],
                    {
                        "category": exc.category,
                        "message": exc.hubspot_message,
                        "correlationId": exc.correlation_id,
                    },
                )
                return
            middle = len(links) // 2
            self._send_links(to_type, links[:middle])
            self._send_links(to_type, links[middle:])
            return
        failed: set[int] = set()
        for error in answer.get("errors") or []:
            ids = {
                str(value) for value in (error.get("context") or {}).get("ids") or []
            }
            for position, pending in enumerate(links):
                if position not in failed and pending.course_id in ids:
                    failed.add(position)
                    self._reject_link(pending, error)
        self.ledger.add("associated", len(links) - len(failed))

    def _reject_link(self, pending: PendingLink, error: dict[str, t.Any]) -> None:
        category = str(error.get("category") or "")
        message = str(error.get("message") or "")
        self.ledger.reject(
            Reject(
                pending.stream,
                pending.record,
                reason=(
                    f"HubSpot refused the association {pending.trace}: "
                    f"{_summary(message)}"
                ),
                fix=(
                    "check that the course and the associated record exist and "
                    "that the association type id fits the object pair"
                ),
                category=category,
                message=message,
                correlation_id=str(error.get("correlationId") or ""),
            )
        )


def _detail(error: dict[str, t.Any]) -> tuple[str, list[str]]:
    """HubSpot's error code and the property names an error entry is about."""
    codes: list[str] = []
    names: list[str] = []
    for detail in error.get("errors") or []:
        if detail.get("code"):
            codes.append(str(detail["code"]))
        names.extend((detail.get("context") or {}).get("propertyName") or [])
    message = str(error.get("message") or "")
    start = message.find("[")
    if not codes and message.startswith("Property values were not valid") and start > 0:
        try:
            for item in json.loads(message[start:]):
                codes.append(str(item.get("error") or ""))
                names.append(str(item.get("name") or ""))
        except (ValueError, AttributeError):
            pass
    category = str(error.get("category") or "")
    return (codes[0] if codes else category), [name for name in names if name]


def _summary(message: str, width: int = 300) -> str:
    """HubSpot's message, its embedded JSON reduced to the readable parts."""
    start = message.find("[")
    if message.startswith("Property values were not valid") and start > 0:
        try:
            parts = [
                str(item.get("message") or item.get("localizedErrorMessage"))
                for item in json.loads(message[start:])
            ]
            message = "; ".join(parts)
        except (ValueError, AttributeError):
            pass
    return message if len(message) <= width else message[: width - 3] + "..."


def _default_fix() -> str:
    return "correct the record and send it again"
