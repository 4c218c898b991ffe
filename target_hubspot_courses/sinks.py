"""Sinks: course rows, association rows, and streams the target ignores.

Sinks stay thin: :mod:`.rows` validates and converts records,
:mod:`.writer` sends the batch calls, and the target holds the one client,
thread pool and ledger of the run.
"""

from __future__ import annotations

import sys
import typing as t

from singer_sdk.sinks import BatchSink

from target_hubspot_courses.ledger import Reject
from target_hubspot_courses.rows import AssociationRow, CourseRow, deduplicate
from target_hubspot_courses.validation import RecordValidator
from target_hubspot_courses.writer import PendingLink

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from singer_sdk.helpers.conform import DatetimeErrorTreatmentEnum
    from singer_sdk.sinks import Sink

    from target_hubspot_courses.rows import Problem
    from target_hubspot_courses.target import TargetHubSpotCourses

__all__ = ["AssociationsSink", "CoursesSink", "IgnoredSink", "oldest_unwritten"]

DEFAULT_BATCH_ROWS = 5_000
"""Records per drain unless ``batch_size_rows`` says otherwise: fifty batch
calls of 100, sent concurrently."""


class _HubSpotSink(BatchSink):
    """What every sink of this target shares."""

    MAX_SIZE_DEFAULT = DEFAULT_BATCH_ROWS

    def __init__(
        self,
        target: TargetHubSpotCourses,
        stream_name: str,
        schema: dict[str, t.Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.hubspot = target
        self._seq = 0
        self.oldest_unwritten: int | None = None
        """Input position (``target.records_read``) of the oldest record this
        sink holds that is neither written nor rejected yet; ``None`` when it
        holds none. A STATE received after that record must wait for it."""

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        """Always keep ``_sdc_deleted_at``: it is how deletes arrive."""
        return True

    @property
    @override
    def datetime_error_treatment(self) -> DatetimeErrorTreatmentEnum:
        from singer_sdk.helpers.conform import (
            DatetimeErrorTreatmentEnum,
        )

        # Unparsable dates are already reported by the validator.
        return DatetimeErrorTreatmentEnum.NULL

    @override
    def get_validator(self) -> RecordValidator | None:
        return RecordValidator(self.schema) if self.validate_schema else None

    @override
    def process_record(self, record: dict[str, t.Any], context: dict) -> None:
        validator = self._validator
        error = getattr(validator, "last_error", None)
        if self.oldest_unwritten is None:
            self.oldest_unwritten = self.hubspot.records_read
        self._seq += 1
        context.setdefault("records", []).append((self._seq, record, error))

    @override
    def mark_drained(self) -> None:
        # Only reached when process_batch returned: every record of the
        # batch is written or in the rejects file, retries included.
        super().mark_drained()
        self.oldest_unwritten = None
        self.hubspot.drains += 1

    def reject_problems(
        self, record: Mapping[str, t.Any], problems: Sequence[Problem]
    ) -> None:
        """Book one reject for ``record`` naming every problem it has."""
        first = problems[0]
        self.hubspot.ledger.reject(
            Reject(
                self.stream_name,
                record,
                reason="; ".join(problem.reason for problem in problems),
                fix="; ".join(dict.fromkeys(problem.fix for problem in problems)),
                code=first.code,
                property_name=first.property_name,
            )
        )

    def reject_schema(self, record: Mapping[str, t.Any], error: str) -> None:
        """Book a record that does not fit its stream's schema."""
        self.hubspot.ledger.reject(
            Reject(
                self.stream_name,
                record,
                reason=f"the record does not fit the stream's schema: {error}",
                fix="correct the record in the source, or its schema",
                code="SCHEMA_MISMATCH",
            )
        )


class CoursesSink(_HubSpotSink):
    """Writes any stream's records as courses (flat rows or the tap's shape)."""

    @override
    def process_batch(self, context: dict) -> None:
        entries = context.get("records") or []
        target = self.hubspot
        rows: list[CourseRow] = []
        for seq, record, schema_error in entries:
            if schema_error is not None:
                target.ledger.see(None, _key_of(record, target.id_property))
                self.reject_schema(record, schema_error)
                continue
            built = target.builder.course(self.stream_name, record, seq)
            if isinstance(built, list):
                target.ledger.see(None, _key_of(record, target.id_property))
                self.reject_problems(record, built)
                continue
            target.ledger.see(built.record_id, built.key)
            rows.append(built)
        rows, dropped = deduplicate(rows)
        if dropped:
            target.ledger.add("deduplicated", dropped)
            self.tally_duplicate_merged(dropped)
        target.writer.write(rows, create=target.load_method == "append-only")
        links = [
            PendingLink(
                row.target_id or "", link, self.stream_name, row.record, row.seq
            )
            for row in rows
            if row.target_id or target.dry_run
            for link in row.associations
        ]
        if links:
            target.writer.associate(links)
        self.logger.info(
            "Wrote a batch of %d '%s' records (%d after deduplication).",
            len(entries),
            self.stream_name,
            len(rows),
        )
        target.check_rejects()


class AssociationsSink(_HubSpotSink):
    """Writes ``course_associations`` rows as v4 batch associations.

    Courses buffered in other sinks are written first, so rows naming a
    course of the same run find it.
    """

    @override
    def process_batch(self, context: dict) -> None:
        target = self.hubspot
        target.drain_courses()
        rows: list[AssociationRow] = []
        for seq, record, schema_error in context.get("records") or []:
            if schema_error is not None:
                self.reject_schema(record, schema_error)
                continue
            built = target.builder.association(self.stream_name, record, seq)
            if isinstance(built, list):
                self.reject_problems(record, built)
                continue
            rows.append(built)
        unique = list({_link_key(row): row for row in rows}.values())
        if len(unique) < len(rows):
            target.ledger.add("deduplicated", len(rows) - len(unique))
        target.writer.associate(self._resolve(unique))
        self.logger.info(
            "Wrote a batch of %d association rows.", len(context.get("records") or [])
        )
        target.check_rejects()

    def _resolve(self, rows: Sequence[AssociationRow]) -> list[PendingLink]:
        """Map each row's course to its HubSpot id in this portal."""
        target = self.hubspot
        ledger = target.ledger
        unknown = [
            row.key
            for row in rows
            if not row.course_id and row.key and row.key not in ledger.ids_by_key
        ]
        found = target.writer.resolve_keys([k for k in unknown if k])
        pending: list[PendingLink] = []
        for row in rows:
            course_id: str | None
            if row.course_id:
                course_id = ledger.ids_by_source_id.get(row.course_id, row.course_id)
            else:
                key = row.key or ""
                course_id = ledger.ids_by_key.get(key) or found.get(key)
            if not course_id:
                ledger.reject(
                    Reject(
                        self.stream_name,
                        row.record,
                        reason=(
                            f"no active course has {target.id_property} '{row.key}'"
                        ),
                        fix="write the course first, or correct the key",
                        code="OBJECT_NOT_FOUND",
                    )
                )
                continue
            pending.append(
                PendingLink(course_id, row.link, self.stream_name, row.record, row.seq)
            )
        return pending


class IgnoredSink(_HubSpotSink):
    """Reads and discards a stream the target does not write.

    ``course_property_history`` describes past values in another portal;
    HubSpot keeps its own history, so there is nothing to write, and its
    records never hold a STATE back.
    """

    @override
    def setup(self) -> None:
        super().setup()
        self.logger.info(
            "Stream '%s' holds property history, which HubSpot records itself; "
            "its records are read and not written.",
            self.stream_name,
        )

    @override
    def process_record(self, record: dict[str, t.Any], context: dict) -> None:
        context["ignored"] = context.get("ignored", 0) + 1

    @override
    def process_batch(self, context: dict) -> None:
        self.logger.debug(
            "Ignored %d '%s' records.", context.get("ignored", 0), self.stream_name
        )


def oldest_unwritten(sinks: Iterable[Sink]) -> int | None:
    """Input position of the oldest record any of ``sinks`` holds unwritten.

    Returns:
        ``None`` when every record read so far is written or rejected.
    """
    return min(
        (
            sink.oldest_unwritten
            for sink in sinks
            if isinstance(sink, _HubSpotSink) and sink.oldest_unwritten is not None
        ),
        default=None,
    )


def _link_key(row: AssociationRow) -> tuple[str, ...]:
    link = row.link
    return (
        row.course_id or "",
        row.key or "",
        link.to_type,
        link.to_id,
        str(link.type_id),
    )


def _key_of(record: Mapping[str, t.Any], id_property: str | None) -> str | None:
    if not id_property:
        return None
    nested = record.get("properties")
    source = nested if isinstance(nested, dict) else record
    value = source.get(id_property)
    return None if value is None or value == "" else str(value)
