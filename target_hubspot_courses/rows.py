"""Turn input records into course writes, validated against the definitions.

Two record shapes are understood, whatever the stream is called:

* flat rows whose columns are course property names (``hs_course_name``,
  ``external_course_id``, ...), as a database tap emits them;
* the tap's own shape: ``id`` plus a ``properties`` object (and
  ``archived``, ``createdAt``, ... which describe the source record).

Nothing here talks to HubSpot: every value is converted with
:func:`hubspot_courses.properties.format_value`, and every problem becomes a
:class:`Problem` naming the property and the fix.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from hubspot_courses.errors import ValueRejected
from hubspot_courses.properties import format_value

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from hubspot_courses.properties import PropertyDef

__all__ = [
    "DEFAULT_ASSOCIATION_TYPES",
    "AssociationLink",
    "AssociationRow",
    "CourseRow",
    "Problem",
    "RowBuilder",
    "deduplicate",
]

DEFAULT_ASSOCIATION_TYPES = {
    "contacts": 860,
    "companies": 938,
    "deals": 862,
    "tickets": 940,
    "calls": 866,
    "emails": 870,
    "meetings": 872,
    "notes": 874,
    "tasks": 876,
}
"""HubSpot-defined (unlabelled) course-to-object association type ids."""

_TYPE_ALIASES = {
    "contact": "contacts",
    "0-1": "contacts",
    "company": "companies",
    "0-2": "companies",
    "deal": "deals",
    "0-3": "deals",
    "ticket": "tickets",
    "0-5": "tickets",
}
_RECORD_ID = re.compile(r"^[1-9]\d{0,19}$")
_RECORD_ID_COLUMNS = ("id", "hs_object_id")
_METADATA_PREFIX = "_sdc_"


@dataclasses.dataclass(frozen=True)
class Problem:
    """Why a record cannot be written, and what to change."""

    code: str
    reason: str
    fix: str
    property_name: str | None = None


@dataclasses.dataclass(frozen=True)
class AssociationLink:
    """One association to create from a course."""

    to_type: str
    to_id: str
    type_id: int
    category: str = "HUBSPOT_DEFINED"


@dataclasses.dataclass
class CourseRow:
    """One course write (or archive) prepared from one input record.

    Attributes:
        seq: position of the record in its sink's input, for last-wins order.
        stream: the stream the record came from.
        record: the record as received, for the rejects file.
        delete: archive the course instead of writing it.
        record_id: HubSpot record id given by the input, if any.
        key: the ``id_property`` value, if any.
        properties: HubSpot strings to send, by property name.
        associations: associations to create once the course exists.
        target_id: the course's HubSpot id, once known.
    """

    seq: int
    stream: str
    record: Mapping[str, t.Any]
    delete: bool = False
    record_id: str | None = None
    key: str | None = None
    properties: dict[str, str] = dataclasses.field(default_factory=dict)
    associations: list[AssociationLink] = dataclasses.field(default_factory=list)
    target_id: str | None = None

    @property
    def trace_id(self) -> str:
        """The ``objectWriteTraceId`` of this row in a batch call."""
        return f"row-{self.seq}"


@dataclasses.dataclass
class AssociationRow:
    """One row of the tap's ``course_associations`` shape."""

    seq: int
    stream: str
    record: Mapping[str, t.Any]
    link: AssociationLink
    course_id: str | None = None
    key: str | None = None


class RowBuilder:
    """Validates records and converts their values for HubSpot.

    Semantics, applied the same way to every record:

    * ``None`` leaves the HubSpot value unchanged (``null_values='ignore'``)
      or clears it (``'clear'``); ``""`` always clears.
    * Unknown columns reject the record (``PROPERTY_DOESNT_EXIST``).
    * Read-only properties (``readOnlyValue`` or calculated) are dropped
      silently when HubSpot defines them (``hs_object_id``, ``hs_createdate``,
      ...) or when the record has the tap's shape (the source portal computed
      them). A non-empty value for an account-defined read-only property in a
      flat row rejects the record (``READ_ONLY_VALUE``): the column maps to
      something HubSpot will not store.
    * ``id`` / ``hs_object_id`` are HubSpot record ids (positive integers),
      unless ``ignore_record_ids`` is set.
    """

    def __init__(
        self,
        definitions: Mapping[str, PropertyDef],
        *,
        id_property: str | None,
        null_values: str = "ignore",
        ignore_record_ids: bool = False,
        creates_only: bool = False,
        on_ignored: Callable[[str], None] | None = None,
    ) -> None:
        """Prepare a builder for one run's definitions and settings."""
        self.definitions = definitions
        self.id_property = id_property
        self.clear_nulls = null_values == "clear"
        self.ignore_record_ids = ignore_record_ids
        self.creates_only = creates_only
        self._on_ignored = on_ignored or (lambda _name: None)

    # ------------------------------------------------------------ courses

    def course(
        self, stream: str, record: Mapping[str, t.Any], seq: int
    ) -> CourseRow | list[Problem]:
        """Build the write for one course record, or the problems it has."""
        nested = record.get("properties")
        tap_shape = isinstance(nested, dict)
        if tap_shape:
            source = dict(t.cast("dict[str, t.Any]", nested))
            unparsed = record.get("unparsed_properties") or {}
            if isinstance(unparsed, dict):
                for name, raw in unparsed.items():
                    if source.get(name) is None:
                        source[name] = raw
            delete = bool(record.get("archived"))
        else:
            source = {
                name: value
                for name, value in record.items()
                if name not in _RECORD_ID_COLUMNS and name != "associations"
            }
            delete = False
        delete = delete or record.get("_sdc_deleted_at") is not None

        problems: list[Problem] = []
        row = CourseRow(seq=seq, stream=stream, record=record, delete=delete)
        row.record_id = self._record_id(record, source, problems)
        row.key = self._key(source, problems)
        if not delete:
            row.properties = self._properties(source, tap_shape, problems)
            row.associations = self._inline_associations(
                record.get("associations"), problems
            )
        problems.extend(self._key_problems(row))
        return problems or row

    def _record_id(
        self,
        record: Mapping[str, t.Any],
        source: Mapping[str, t.Any],
        problems: list[Problem],
    ) -> str | None:
        if self.ignore_record_ids:
            return None
        raw = record.get("id")
        column = "id"
        if raw is None or raw == "":
            raw = record.get("hs_object_id", source.get("hs_object_id"))
            column = "hs_object_id"
        if raw is None or raw == "":
            return None
        text = _plain(raw)
        if not _RECORD_ID.match(text):
            problems.append(
                Problem(
                    "INVALID_RECORD_ID",
                    f"'{column}' is '{_clip(text)}', not a HubSpot record id",
                    "send HubSpot's numeric record id in 'id', or set "
                    "'ignore_record_ids' to match on 'id_property' only",
                    column,
                )
            )
            return None
        return text

    def _key(self, source: Mapping[str, t.Any], problems: list[Problem]) -> str | None:
        if not self.id_property:
            return None
        raw = source.get(self.id_property)
        if raw is None or raw == "":
            return None
        prop = self.definitions.get(self.id_property)
        try:
            return format_value(prop, raw) if prop else _plain(raw)
        except ValueRejected as exc:
            problems.append(
                Problem(exc.code, exc.reason, exc.fix, self.id_property),
            )
            return None

    def _properties(
        self, source: Mapping[str, t.Any], tap_shape: bool, problems: list[Problem]
    ) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, value in source.items():
            if name.startswith(_METADATA_PREFIX):
                continue
            prop = self.definitions.get(name)
            if prop is None:
                problems.append(
                    Problem(
                        "PROPERTY_DOESNT_EXIST",
                        f"courses have no property '{_clip(name)}'",
                        "create the property in HubSpot, or drop or rename the "
                        "column (a stream map can do that)",
                        name,
                    )
                )
                continue
            if not prop.writable:
                if tap_shape or prop.hubspot_defined:
                    self._on_ignored(name)
                elif value is not None and value != "":
                    problems.append(
                        Problem(
                            "READ_ONLY_VALUE",
                            f"'{name}' is read-only in HubSpot (calculated or "
                            "set by HubSpot)",
                            "drop the column, or map it to a writable property",
                            name,
                        )
                    )
                continue
            if value is None:
                if self.clear_nulls:
                    values[name] = ""
                continue
            try:
                values[name] = format_value(prop, value)
            except ValueRejected as exc:
                problems.append(Problem(exc.code, exc.reason, exc.fix, name))
        return values

    def _key_problems(self, row: CourseRow) -> list[Problem]:
        if self.creates_only and not row.delete:
            if not row.properties.get("hs_course_name"):
                return [
                    Problem(
                        "REQUIRED_PROPERTY",
                        "'hs_course_name' is required to create a course",
                        "give every new course a non-empty 'hs_course_name'",
                        "hs_course_name",
                    )
                ]
            return []
        if row.record_id or row.key:
            return []
        wanted = f"'{self.id_property}'" if self.id_property else "'id_property'"
        return [
            Problem(
                "MISSING_KEY",
                f"the record has neither a HubSpot record id ('id' or "
                f"'hs_object_id') nor a value for {wanted}",
                f"give each record its {wanted} value"
                + ("" if self.id_property else " and set 'id_property'"),
                self.id_property,
            )
        ]

    def _inline_associations(
        self, raw: t.Any, problems: list[Problem]
    ) -> list[AssociationLink]:
        if raw is None:
            return []
        items: list[tuple[str, t.Any, t.Any, t.Any]] = []
        if isinstance(raw, dict):
            # HubSpot's inline shape: {"contacts": {"results": [{"id": ...}]}}
            for to_type, collection in raw.items():
                entries = (
                    collection.get("results")
                    if isinstance(collection, dict)
                    else collection
                )
                for entry in entries or []:
                    to_id = entry.get("id") if isinstance(entry, dict) else entry
                    items.append((to_type, to_id, None, None))
        elif isinstance(raw, list):
            for entry in raw:
                if not isinstance(entry, dict):
                    items.append(("", None, None, None))
                    continue
                items.append(
                    (
                        entry.get("to_object_type") or entry.get("to_type") or "",
                        entry.get("to_object_id") or entry.get("to_id"),
                        entry.get("association_type_id"),
                        entry.get("category"),
                    )
                )
        else:
            items.append(("", None, None, None))
        links: list[AssociationLink] = []
        for to_type, to_id, type_id, category in items:
            link = self.link(str(to_type), to_id, type_id, category, problems)
            if link is not None:
                links.append(link)
        return links

    # ------------------------------------------------------------ associations

    def link(
        self,
        to_type: str,
        to_id: t.Any,
        type_id: t.Any,
        category: t.Any,
        problems: list[Problem],
    ) -> AssociationLink | None:
        """Build one association link, or record why it cannot be built."""
        kind = _TYPE_ALIASES.get(to_type.strip().lower(), to_type.strip().lower())
        if not kind or to_id is None or _plain(to_id) == "":
            problems.append(
                Problem(
                    "INVALID_ASSOCIATION",
                    "an association without an object type and id",
                    "give 'to_object_type' (contacts, companies, ...) and "
                    "'to_object_id'",
                    "associations",
                )
            )
            return None
        if type_id is None:
            type_id = DEFAULT_ASSOCIATION_TYPES.get(kind)
            category = "HUBSPOT_DEFINED"
        try:
            number = int(type_id) if type_id is not None else None
        except (TypeError, ValueError):
            number = None
        if number is None:
            problems.append(
                Problem(
                    "INVALID_ASSOCIATION",
                    f"no association type id for '{_clip(kind)}'",
                    "give 'association_type_id' (see HubSpot's association type table)",
                    "association_type_id",
                )
            )
            return None
        return AssociationLink(
            kind, _plain(to_id), number, str(category or "HUBSPOT_DEFINED")
        )

    def association(
        self, stream: str, record: Mapping[str, t.Any], seq: int
    ) -> AssociationRow | list[Problem]:
        """Build one row of the ``course_associations`` shape."""
        problems: list[Problem] = []
        course_id = record.get("course_id")
        key = record.get(self.id_property) if self.id_property else None
        link = self.link(
            str(record.get("to_object_type") or ""),
            record.get("to_object_id"),
            record.get("association_type_id"),
            record.get("category"),
            problems,
        )
        if (course_id is None or course_id == "") and (key is None or key == ""):
            problems.append(
                Problem(
                    "MISSING_KEY",
                    "the association names no course",
                    "give 'course_id' (a HubSpot record id) or the course's "
                    f"'{self.id_property or 'id_property'}' value",
                    "course_id",
                )
            )
        if problems or link is None:
            return problems
        return AssociationRow(
            seq=seq,
            stream=stream,
            record=record,
            link=link,
            course_id=_plain(course_id) if course_id not in (None, "") else None,
            key=_plain(key) if key not in (None, "") else None,
        )


def deduplicate(rows: list[CourseRow]) -> tuple[list[CourseRow], int]:
    """Keep the last row for each course; rows sharing a record id or key match.

    Returns:
        The surviving rows in input order, and how many were dropped.
    """
    seen_ids: set[str] = set()
    seen_keys: set[str] = set()
    kept: list[CourseRow] = []
    for row in reversed(rows):
        if (row.record_id and row.record_id in seen_ids) or (
            row.key and row.key in seen_keys
        ):
            continue
        if row.record_id:
            seen_ids.add(row.record_id)
        if row.key:
            seen_keys.add(row.key)
        kept.append(row)
    kept.reverse()
    return kept, len(rows) - len(kept)


def _plain(value: t.Any) -> str:
    """A key or id as text: integral numbers without a decimal point."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if text.endswith(".0") and text[:-2].isdigit():
        return text[:-2]
    return text.strip()


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
