"""The in-memory portal: courses, their history, associations and properties."""

from __future__ import annotations

import bisect
import copy
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hubspot_sandbox.definitions import hubspot_defined_properties
from hubspot_sandbox.values import format_instant

FIRST_COURSE_ID = 48_210_001
"""Record id given to the first course of an empty portal."""

COMPUTED_PROPERTIES = frozenset(
    {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}
)
"""Properties derived from a course's id and timestamps."""

OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "courses": "0-410"}
_TO_TYPE_ALIASES = {
    "contacts": "contacts",
    "contact": "contacts",
    "0-1": "contacts",
    "companies": "companies",
    "company": "companies",
    "0-2": "companies",
}
DEFAULT_TYPE_IDS = {"contacts": 860, "companies": 938}
"""HubSpot-defined course-to-object association type ids."""


def canonical_to_type(name: str) -> str | None:
    """Map ``contacts``/``0-1``/``contact`` (and companies) to the plural name.

    Args:
        name: An object type name or id as found in a path or query.

    Returns:
        ``"contacts"``, ``"companies"`` or None when not associable with courses.
    """
    return _TO_TYPE_ALIASES.get(name.lower())


@dataclass(slots=True, frozen=True)
class HistoryEntry:
    """One past value of a property.

    Attributes:
        value: The value set ("" when cleared).
        timestamp: When it was set.
        source_type: HubSpot source type, e.g. ``API``, ``CRM_UI``, ``IMPORT``.
        source_id: Optional source id, e.g. ``userId:123``.
        source_label: Optional source label.
        updated_by_user_id: Optional HubSpot user id.
    """

    value: str
    timestamp: datetime
    source_type: str = "API"
    source_id: str | None = None
    source_label: str | None = None
    updated_by_user_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Render as HubSpot's ``ValueWithTimestamp``.

        Returns:
            The JSON-ready mapping.
        """
        body: dict[str, Any] = {
            "value": self.value,
            "timestamp": format_instant(self.timestamp),
            "sourceType": self.source_type,
        }
        if self.source_id is not None:
            body["sourceId"] = self.source_id
        if self.source_label is not None:
            body["sourceLabel"] = self.source_label
        if self.updated_by_user_id is not None:
            body["updatedByUserId"] = self.updated_by_user_id
        return body


@dataclass(slots=True, eq=False)
class Course:
    """One course record.

    ``hs_object_id``, ``hs_createdate`` and ``hs_lastmodifieddate`` always reflect
    ``id``, ``created_at`` and ``updated_at``; read them with :meth:`value`.

    Attributes:
        id: Record id (numeric string).
        properties: Stored values; cleared properties are absent.
        history: Past values per property, newest first.
        created_at: Creation instant (UTC).
        updated_at: Last modification instant (UTC).
        archived: Whether the record is in the recycle bin.
        archived_at: When it was archived.
    """

    id: str
    properties: dict[str, str]
    history: dict[str, list[HistoryEntry]]
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    archived_at: datetime | None = None

    def value(self, name: str) -> str | None:
        """Return a property's current value, computed ones included.

        Args:
            name: Property name.

        Returns:
            The value, or None when empty.
        """
        if name == "hs_object_id":
            return self.id
        if name == "hs_createdate":
            return format_instant(self.created_at)
        if name == "hs_lastmodifieddate":
            return format_instant(self.updated_at)
        value = self.properties.get(name)
        return value if value else None

    def history_of(self, name: str) -> list[HistoryEntry]:
        """Return a property's history, newest first, computed ones included.

        Args:
            name: Property name.

        Returns:
            The entries (possibly empty).
        """
        if name == "hs_object_id":
            return [HistoryEntry(self.id, self.created_at)]
        if name == "hs_createdate":
            return [HistoryEntry(format_instant(self.created_at), self.created_at)]
        if name == "hs_lastmodifieddate":
            return [HistoryEntry(format_instant(self.updated_at), self.updated_at)]
        return self.history.get(name, [])


@dataclass(slots=True, frozen=True)
class AssociationType:
    """One association type between a course and another record.

    Attributes:
        category: ``HUBSPOT_DEFINED``, ``USER_DEFINED``, ``INTEGRATOR_DEFINED``.
        type_id: The association type id (860 course to contact ...).
        label: The label of a labelled type, None for the default type.
    """

    category: str
    type_id: int
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Render as HubSpot's ``AssociationSpecWithLabel``.

        Returns:
            The JSON-ready mapping.
        """
        return {"category": self.category, "typeId": self.type_id, "label": self.label}


@dataclass(slots=True, frozen=True)
class AssociatedRecord:
    """A record associated with a course and the types linking them.

    Attributes:
        to_id: The other record's id.
        types: The association types, in the order they were added.
    """

    to_id: str
    types: tuple[AssociationType, ...]


@dataclass
class _Indexes:
    active: list[int] = field(default_factory=list)
    archived: list[int] = field(default_factory=list)
    size: int = 0


class Store:
    """A thread-safe in-memory HubSpot portal holding courses.

    Tests may read and change it directly; take ``store.lock`` for compound
    changes, and call :meth:`reindex` after changing courses directly. The
    methods here do not validate values: the HTTP layer does that before
    calling them.

    Attributes:
        portal_id: The portal (hub) id.
        lock: Reentrant lock guarding everything in the store.
        courses: Every course (archived ones too) by id.
        properties: Property definitions by name (HubSpot ``Property`` shape).
        association_labels: Association types per target type (``contacts``,
            ``companies``), each a list of :class:`AssociationType`.
        merged_into: Ids of courses merged away, mapped to the surviving id.
        clock: Returns "now"; replace it to control write timestamps.
    """

    def __init__(
        self,
        portal_id: int = 1234567,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.portal_id = portal_id
        self.lock = threading.RLock()
        self.courses: dict[str, Course] = {}
        self.properties: dict[str, dict[str, Any]] = {}
        self.association_labels: dict[str, list[AssociationType]] = {
            to_type: [AssociationType("HUBSPOT_DEFINED", type_id)]
            for to_type, type_id in DEFAULT_TYPE_IDS.items()
        }
        self.merged_into: dict[str, str] = {}
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._assoc: dict[str, dict[str, dict[str, list[AssociationType]]]] = {}
        self._unique: dict[str, dict[str, str]] = {}
        self._index = _Indexes()
        self._version = 0
        self._next_id = FIRST_COURSE_ID
        for definition in hubspot_defined_properties():
            self.add_property(definition)

    # -- time and ids ---------------------------------------------------------

    def now(self) -> datetime:
        """Return the store's current instant.

        Returns:
            An aware UTC datetime.
        """
        return self.clock()

    def _allocate_id(self, gap: int = 1) -> str:
        self._next_id += max(gap, 1) - 1
        while str(self._next_id) in self.courses:
            self._next_id += 1
        course_id = self._next_id
        self._next_id += 1
        return str(course_id)

    # -- properties -----------------------------------------------------------

    def add_property(self, definition: Mapping[str, Any]) -> dict[str, Any]:
        """Add or replace a property definition.

        Args:
            definition: A definition in HubSpot's ``Property`` shape (see
                :func:`hubspot_sandbox.definitions.make_property`).

        Returns:
            The stored copy.
        """
        stored = copy.deepcopy(dict(definition))
        with self.lock:
            self.properties[stored["name"]] = stored
            if stored.get("hasUniqueValue"):
                self._rebuild_unique(stored["name"])
        return stored

    def unique_properties(self) -> list[str]:
        """List the properties whose values must be unique.

        Returns:
            Property names with ``hasUniqueValue``.
        """
        return [n for n, d in self.properties.items() if d.get("hasUniqueValue")]

    def _rebuild_unique(self, name: str) -> None:
        index: dict[str, str] = {}
        for course in self.courses.values():
            value = course.properties.get(name)
            if value and not course.archived:
                index[value] = course.id
        self._unique[name] = index

    def find_by_unique(self, name: str, value: str) -> Course | None:
        """Find the active course holding ``value`` in unique property ``name``.

        Args:
            name: A property name (unique or not: non-unique ones are scanned).
            value: The value to look up.

        Returns:
            The course or None.
        """
        with self.lock:
            if name not in self._unique:
                for course in self.courses.values():
                    if not course.archived and course.value(name) == value:
                        return course
                return None
            course_id = self._unique[name].get(value)
            found = self.courses.get(course_id) if course_id else None
            if found is None or found.archived or found.properties.get(name) != value:
                self._rebuild_unique(name)
                course_id = self._unique[name].get(value)
                found = self.courses.get(course_id) if course_id else None
            return found

    def _index_unique(self, course: Course, old: Mapping[str, str]) -> None:
        for name, index in self._unique.items():
            previous = old.get(name)
            if previous and index.get(previous) == course.id:
                del index[previous]
            current = course.properties.get(name)
            if current and not course.archived:
                index[current] = course.id

    # -- ordered id indexes ---------------------------------------------------

    def _indexes(self) -> _Indexes:
        """Return the sorted id lists, rebuilding them if tests edited courses."""
        index = self._index
        if index.size != len(self.courses) or len(index.active) + len(
            index.archived
        ) != len(self.courses):
            active = sorted(int(c.id) for c in self.courses.values() if not c.archived)
            archived = sorted(int(c.id) for c in self.courses.values() if c.archived)
            self._index = index = _Indexes(active, archived, len(self.courses))
            self._version += 1
            for name in self._unique:
                self._rebuild_unique(name)
        return index

    @property
    def version(self) -> int:
        """A number that changes whenever a course is written or reindexed.

        Caches derived from the courses (the search keys) compare it.
        """
        with self.lock:
            self._indexes()
            return self._version

    def reindex(self) -> None:
        """Rebuild the id and unique-value indexes after direct edits of courses."""
        with self.lock:
            self._index = _Indexes(size=-1)
            self._indexes()

    def page_ids(
        self, after_id: int, limit: int, archived: bool = False
    ) -> tuple[list[str], str | None]:
        """Return one page of course ids in ascending id order.

        Args:
            after_id: Smallest id to include.
            limit: Page size.
            archived: True for archived courses only, False for active only.

        Returns:
            The ids and the first id of the next page (None on the last page).
        """
        with self.lock:
            index = self._indexes()
            ids = index.archived if archived else index.active
            start = bisect.bisect_left(ids, after_id)
            page = ids[start : start + limit]
            following = start + limit
            next_id = str(ids[following]) if following < len(ids) else None
            return [str(i) for i in page], next_id

    def active_courses(self) -> list[Course]:
        """Return the active (not archived) courses in ascending id order.

        Returns:
            The courses.
        """
        with self.lock:
            return [self.courses[str(i)] for i in self._indexes().active]

    def archived_courses(self) -> list[Course]:
        """Return the archived courses in ascending id order.

        Returns:
            The courses.
        """
        with self.lock:
            return [self.courses[str(i)] for i in self._indexes().archived]

    # -- writes ---------------------------------------------------------------

    def create_course(
        self,
        props: Mapping[str, str],
        source_type: str = "API",
        at: datetime | None = None,
        *,
        id_gap: int = 1,
        source_id: str | None = None,
    ) -> Course:
        """Create a course without validating its values.

        Args:
            props: Property values (strings; empty ones are skipped).
            source_type: History source type and ``hs_object_source``.
            at: Creation instant; defaults to :meth:`now`.
            id_gap: Distance from the previously allocated id (seeding uses gaps).
            source_id: Optional history ``sourceId``.

        Returns:
            The new course.
        """
        with self.lock:
            moment = at or self.now()
            index = self._indexes()
            course_id = self._allocate_id(id_gap)
            values = {k: v for k, v in props.items() if v != ""}
            values.setdefault("hs_object_source", source_type)
            values.setdefault("hs_object_source_label", source_type)
            history = {
                name: [HistoryEntry(value, moment, source_type, source_id)]
                for name, value in values.items()
            }
            course = Course(course_id, values, history, moment, moment)
            self.courses[course_id] = course
            numeric = int(course_id)
            if index.active and numeric < index.active[-1]:
                bisect.insort(index.active, numeric)
            else:
                index.active.append(numeric)
            index.size += 1
            self._version += 1
            self._index_unique(course, {})
            return course

    def bulk_create(
        self,
        props_list: Iterable[Mapping[str, str]],
        at: datetime | None = None,
        source_type: str = "IMPORT",
    ) -> list[Course]:
        """Create many courses quickly, all at one instant.

        Args:
            props_list: Property values per course.
            at: Creation instant; defaults to :meth:`now`.
            source_type: History source type.

        Returns:
            The new courses in id order.
        """
        with self.lock:
            moment = at or self.now()
            return [self.create_course(p, source_type, moment) for p in props_list]

    def update_course(
        self,
        course_id: str,
        props: Mapping[str, str],
        at: datetime | None = None,
        source_type: str = "API",
        source_id: str | None = None,
    ) -> Course:
        """Set property values without validating them.

        ``""`` clears a value. History gets an entry for each changed value and
        ``updated_at`` moves to ``at`` when anything changed.

        Args:
            course_id: The course id.
            props: New values.
            at: Modification instant; defaults to :meth:`now`.
            source_type: History source type.
            source_id: Optional history ``sourceId``.

        Returns:
            The course.

        Raises:
            KeyError: When no course has that id.
        """
        with self.lock:
            course = self.courses[course_id]
            moment = at or self.now()
            old = dict(course.properties)
            changed = False
            for name, value in props.items():
                if name in COMPUTED_PROPERTIES:
                    continue
                if course.properties.get(name, "") == value:
                    continue
                changed = True
                if value == "":
                    course.properties.pop(name, None)
                else:
                    course.properties[name] = value
                entry = HistoryEntry(value, moment, source_type, source_id)
                course.history.setdefault(name, []).insert(0, entry)
            if changed:
                course.updated_at = max(moment, course.created_at)
                self._version += 1
                self._index_unique(course, old)
            return course

    def archive_course(self, course_id: str, at: datetime | None = None) -> Course:
        """Archive a course; ``updated_at`` stays as it was (as in HubSpot).

        Args:
            course_id: The course id.
            at: Archive instant; defaults to :meth:`now`.

        Returns:
            The course.

        Raises:
            KeyError: When no course has that id.
        """
        with self.lock:
            course = self.courses[course_id]
            if course.archived:
                return course
            index = self._indexes()
            course.archived = True
            course.archived_at = at or self.now()
            numeric = int(course_id)
            position = bisect.bisect_left(index.active, numeric)
            if position < len(index.active) and index.active[position] == numeric:
                del index.active[position]
            bisect.insort(index.archived, numeric)
            self._version += 1
            for name, values in self._unique.items():
                value = course.properties.get(name)
                if value and values.get(value) == course.id:
                    del values[value]
            return course

    def restore_course(self, course_id: str) -> Course:
        """Bring an archived course back, as HubSpot's recycle bin does.

        Args:
            course_id: The course id.

        Returns:
            The course.
        """
        with self.lock:
            course = self.courses[course_id]
            course.archived = False
            course.archived_at = None
            self.reindex()
            return course

    def delete_course(self, course_id: str) -> None:
        """Remove a course entirely (used by merge).

        Args:
            course_id: The course id.
        """
        with self.lock:
            self.courses.pop(course_id, None)
            self._assoc.pop(course_id, None)
            self.reindex()

    def bulk_touch(self, ids: Iterable[str], at: datetime) -> None:
        """Set ``updated_at``/``hs_lastmodifieddate`` of many courses to one instant.

        This is what a HubSpot bulk update (import, workflow) does, and what
        makes many records share one last-modified timestamp.

        Args:
            ids: Course ids.
            at: The instant.
        """
        with self.lock:
            for course_id in ids:
                course = self.courses[course_id]
                course.updated_at = at
            self._version += 1

    # -- associations ---------------------------------------------------------

    def associate(
        self,
        course_id: str,
        to_type: str,
        to_id: str,
        type_id: int | None = None,
        category: str = "HUBSPOT_DEFINED",
        label: str | None = None,
    ) -> AssociationType:
        """Associate a course with a contact or company.

        Args:
            course_id: The course id.
            to_type: ``contacts``/``0-1`` or ``companies``/``0-2``.
            to_id: The other record's id.
            type_id: Association type id; the default type (860/938) if None.
            category: Association category.
            label: Label for a labelled (USER_DEFINED) type; looked up from
                ``association_labels`` when None.

        Returns:
            The association type added.

        Raises:
            ValueError: When ``to_type`` cannot be associated with courses.
        """
        kind = canonical_to_type(to_type)
        if kind is None:
            raise ValueError(f"courses cannot be associated with {to_type!r}")
        with self.lock:
            if type_id is None:
                type_id = DEFAULT_TYPE_IDS[kind]
            if label is None:
                for known in self.association_labels[kind]:
                    if known.type_id == type_id:
                        label = known.label
            spec = AssociationType(category, type_id, label)
            types = (
                self._assoc.setdefault(course_id, {})
                .setdefault(kind, {})
                .setdefault(str(to_id), [])
            )
            if all(t.type_id != type_id for t in types):
                types.append(spec)
            return spec

    def disassociate(
        self, course_id: str, to_type: str, to_id: str, type_id: int | None = None
    ) -> bool:
        """Remove one association type (or all of them) between two records.

        Args:
            course_id: The course id.
            to_type: ``contacts``/``companies`` or their ids.
            to_id: The other record's id.
            type_id: The type to remove; None removes every type.

        Returns:
            True when something was removed.
        """
        kind = canonical_to_type(to_type)
        with self.lock:
            by_id = self._assoc.get(course_id, {}).get(kind or "", {})
            types = by_id.get(str(to_id))
            if not types:
                return False
            if type_id is None:
                del by_id[str(to_id)]
                return True
            remaining = [t for t in types if t.type_id != type_id]
            if remaining:
                by_id[str(to_id)] = remaining
            else:
                del by_id[str(to_id)]
            return len(remaining) != len(types)

    def associations_of(self, course_id: str, to_type: str) -> list[AssociatedRecord]:
        """List a course's associated records of one type, by ascending id.

        Args:
            course_id: The course id.
            to_type: ``contacts``/``0-1`` or ``companies``/``0-2``.

        Returns:
            The associated records (empty when none or unknown type).
        """
        kind = canonical_to_type(to_type)
        with self.lock:
            by_id = self._assoc.get(course_id, {}).get(kind or "", {})
            return [
                AssociatedRecord(to_id, tuple(by_id[to_id]))
                for to_id in sorted(by_id, key=_numeric_key)
            ]

    def associated_course_ids(self, to_type: str, to_id: str) -> set[str]:
        """Find the courses associated with one contact or company.

        Args:
            to_type: ``contacts``/``companies`` or their ids.
            to_id: The contact or company id.

        Returns:
            Course ids.
        """
        kind = canonical_to_type(to_type) or ""
        with self.lock:
            return {
                course_id
                for course_id, by_type in self._assoc.items()
                if str(to_id) in by_type.get(kind, {})
            }


def _numeric_key(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (0, value)
