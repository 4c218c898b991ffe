"""The tap's streams: courses, their property history and their associations.

Streams stay thin: :mod:`.reader` knows the endpoints, the shared client
sends the requests, and :class:`ResumableStream` owns the window, the
checkpoints and the bookmark that the two top-level streams share.

State of a top-level stream (``bookmarks.<stream>``)::

    {
      "replication_key": "updatedAt",
      "replication_key_value": "2026-12-04T10:00:00.000Z",  # committed bookmark
      # only while a run is unfinished, rewritten after every completed page:
      "phase": "list" | "search" | "archived",
      "window_start": "...",   # incremental lower bound (absent in a full sync)
      "window_end": "...",     # becomes the bookmark when the run completes
      "after": "...",          # list cursor of the next page ("list", "archived")
      "last_id": "..."         # highest course id done ("search")
    }

The bookmark only moves when a run completes, to the end of the window it
read; a killed run resumes from its last completed page.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import sys
import typing as t

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel

from hubspot_courses.properties import parse_properties
from tap_hubspot_courses.reader import (
    ASSOCIATION_BATCH_LIMIT,
    BATCH_READ_LIMIT,
    LIST_LIMIT,
    SEARCH_LIMIT,
    CourseReader,
    Page,
    read_ahead,
)

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from singer_sdk.helpers import types

    from hubspot_courses.properties import PropertyDef
    from tap_hubspot_courses.tap import TapHubSpotCourses

__all__ = [
    "CourseAssociationsStream",
    "CoursePropertyHistoryStream",
    "CoursesStream",
]

_PROGRESS_KEYS = ("phase", "window_start", "window_end", "after", "last_id")
_DATETIME = {"type": ["string", "null"], "format": "date-time"}
_ID_ONLY = ("hs_object_id",)
_LOG_EVERY_PAGES = 10
_DONE = "done"


def _iso(instant: dt.datetime) -> str:
    utc = instant.astimezone(dt.UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _instant(text: str) -> dt.datetime:
    instant = dt.datetime.fromisoformat(text)
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


class ResumableStream(Stream):
    """A stream read in phases of pages, checkpointed after each page.

    A full sync (no bookmark, no ``start_date``) reads everything through the
    list endpoint; an incremental sync searches for courses modified in the
    window ``[bookmark, sync start - search_lag_seconds)``. The bookmark is
    set to the window's end once every phase is done, so it never passes a
    course that was not emitted. Subclasses read the pages of each phase.
    """

    replication_key = "updatedAt"
    is_sorted = False
    """Records come in id order; the bookmark is managed per window instead."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    """Records are built already typed and JSON-ready; skip the SDK's walk."""

    @property
    def hubspot(self) -> TapHubSpotCourses:
        """The tap, holding the shared client and property definitions."""
        return t.cast("TapHubSpotCourses", self._tap)

    @property
    def reader(self) -> CourseReader:
        """The reader over the tap's one shared client."""
        return CourseReader(self.hubspot.client, self.logger)

    # ---------------------------------------------------------------- hooks

    def full_phases(self) -> list[str]:
        """Phases of a full sync, in order."""
        return ["list"]

    def incremental_phases(self) -> list[str]:
        """Phases of an incremental sync, in order."""
        return ["search"]

    def read_phase(self, phase: str, progress: Mapping[str, t.Any]) -> Iterator[Page]:
        """Pages of ``phase``, starting where ``progress`` says."""
        raise NotImplementedError

    def records_of(self, page: Page) -> Iterable[types.Record]:
        """The stream's records from one page of course objects."""
        raise NotImplementedError

    def checkpoint_ready(self, next_page_size: int) -> bool:
        """Whether everything emitted so far is complete, children included.

        Args:
            next_page_size: the most records the next page can bring.
        """
        return True

    def finish(self) -> None:
        """Complete the work of the run after its last page."""

    # ---------------------------------------------------------------- engine

    @override
    def get_records(self, context: types.Context | None) -> Iterable[types.Record]:
        progress = self._begin(context)
        phases = self._phases(progress)
        pages = 0
        emitted = 0
        for index, phase in enumerate(phases):
            following = phases[index + 1] if index + 1 < len(phases) else _DONE
            if progress.get("phase") != phase:
                progress.update(phase=phase, after=None, last_id=None)
            size = SEARCH_LIMIT if phase == "search" else LIST_LIMIT
            for page in read_ahead(self.read_phase(phase, progress)):
                for record in self.records_of(page):
                    emitted += 1
                    yield record
                if phase != "search" and page.after is None:
                    progress.update(phase=following, after=None, last_id=None)
                else:
                    progress.update(after=page.after, last_id=page.last_id)
                pages += 1
                if self.checkpoint_ready(size):
                    self._save_progress(progress)
                if pages % _LOG_EVERY_PAGES == 0:
                    self.logger.info(
                        "'%s': %d records from %d pages so far (phase '%s').",
                        self.name,
                        emitted,
                        pages,
                        phase,
                    )
            if progress.get("phase") == phase:
                progress.update(phase=following, after=None, last_id=None)
                if self.checkpoint_ready(size):
                    self._save_progress(progress)
        self.finish()
        self._commit(progress)
        self.logger.info(
            "'%s': %d records from %d pages; bookmark now '%s'.",
            self.name,
            emitted,
            pages,
            progress["window_end"],
        )

    def _begin(self, context: types.Context | None) -> dict[str, t.Any]:
        state = self.stream_state
        if state.get("phase"):
            progress = {key: state.get(key) for key in _PROGRESS_KEYS}
            self.logger.info(
                "Resuming '%s' in phase '%s' of the window ['%s', '%s').",
                self.name,
                progress["phase"],
                progress.get("window_start") or "the beginning",
                progress["window_end"],
            )
            return progress

        now = dt.datetime.now(dt.UTC)
        start = self.get_starting_timestamp(context)
        if start is None:
            self.logger.info("Starting a full sync of '%s'.", self.name)
            return {"phase": None, "window_start": None, "window_end": _iso(now)}

        lag = dt.timedelta(seconds=float(self.config.get("search_lag_seconds", 30)))
        end = max(start, now - lag)
        self.logger.info(
            "Starting an incremental sync of '%s' for changes in ['%s', '%s').",
            self.name,
            _iso(start),
            _iso(end),
        )
        return {"phase": None, "window_start": _iso(start), "window_end": _iso(end)}

    def _phases(self, progress: Mapping[str, t.Any]) -> list[str]:
        if progress.get("window_start") is None:
            phases = self.full_phases()
        else:
            phases = self.incremental_phases()
            start = _instant(progress["window_start"])
            if start >= _instant(progress["window_end"]) and "search" in phases:
                phases.remove("search")
        current = progress.get("phase")
        if current == _DONE:
            return []
        return phases[phases.index(current) :] if current in phases else phases

    def window(self, progress: Mapping[str, t.Any]) -> tuple[dt.datetime, dt.datetime]:
        """The incremental window of ``progress`` as datetimes."""
        return (
            _instant(progress["window_start"]),
            _instant(progress["window_end"]),
        )

    def _save_progress(self, progress: Mapping[str, t.Any]) -> None:
        state = self.stream_state
        for key in _PROGRESS_KEYS:
            if progress.get(key) is None:
                state.pop(key, None)
            else:
                state[key] = progress[key]
        self._emit_state()

    def _commit(self, progress: Mapping[str, t.Any]) -> None:
        state = self.stream_state
        for key in _PROGRESS_KEYS:
            state.pop(key, None)
        state.pop("progress_markers", None)
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = progress["window_end"]
        self._emit_state()

    def _emit_state(self) -> None:
        self.state_manager.is_flushed = False
        self._write_state_message()

    @override
    def _increment_stream_state(
        self,
        latest_record: types.Record,
        *,
        context: types.Context | None = None,
    ) -> None:
        """Leave the bookmark alone per record; it moves per window instead."""


class CoursesStream(ResumableStream):
    """Courses with their typed properties.

    Emits HubSpot's course objects ``{id, properties, createdAt, updatedAt,
    archived, archivedAt}`` with each property value typed after its
    definition, plus ``unparsed_properties`` holding the raw strings that did
    not fit their declared type.

    Endpoints: ``GET /crm/objects/2026-03/courses`` (full sync, 100 per page;
    ids plus ``POST .../courses/batch/read`` when the property list is too
    long for a URL), ``POST .../courses/search`` (incremental, 200 per page),
    and ``GET .../courses?archived=true`` with ``include_archived``.

    Key ``id``; replication key ``updatedAt``. Scope:
    ``crm.objects.courses.read``.
    """

    name = "courses"
    primary_keys = ("id",)

    def __init__(self, tap: TapHubSpotCourses) -> None:
        """Create the stream; its schema comes from the properties API."""
        super().__init__(tap)
        self._pending_ids: list[str] = []
        self._unparsed: collections.Counter[str] = collections.Counter()
        self.batches: dict[str, tuple[str, ...]] = {}
        """Course ids of each child context, by its ``course_batch`` label."""

    @property
    @override
    def schema(self) -> dict[str, t.Any]:
        if self._schema is None:
            properties = {
                name: self.hubspot.property_defs[name].json_schema()
                for name in self.hubspot.course_properties
            }
            self._schema = {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "properties": {
                        "type": ["object", "null"],
                        "properties": properties,
                    },
                    "createdAt": _DATETIME,
                    "updatedAt": _DATETIME,
                    "archived": {"type": ["boolean", "null"]},
                    "archivedAt": _DATETIME,
                    "unparsed_properties": {
                        "type": ["object", "null"],
                        "additionalProperties": {"type": "string"},
                        "description": (
                            "Raw values that did not fit their property's "
                            "declared type, by property name."
                        ),
                    },
                },
                "required": ["id"],
            }
        return self._schema

    @property
    def _definitions(self) -> Mapping[str, PropertyDef]:
        return self.hubspot.property_defs

    @property
    def _names(self) -> Sequence[str]:
        """Properties to request: none but the id when only children need us."""
        return self.hubspot.course_properties if self.selected else _ID_ONLY

    # ---------------------------------------------------------------- phases

    @override
    def full_phases(self) -> list[str]:
        return ["list", "archived"] if self._with_archived else ["list"]

    @override
    def incremental_phases(self) -> list[str]:
        return ["search", "archived"] if self._with_archived else ["search"]

    @property
    def _with_archived(self) -> bool:
        return bool(self.config.get("include_archived"))

    @override
    def read_phase(self, phase: str, progress: Mapping[str, t.Any]) -> Iterator[Page]:
        if phase == "search":
            return self._search(progress)
        archived_since = None
        if phase == "archived" and progress.get("window_start"):
            archived_since = _instant(progress["window_start"])
        return self._list(
            archived=phase == "archived",
            after=progress.get("after"),
            archived_since=archived_since,
        )

    def _list(
        self,
        *,
        archived: bool,
        after: str | None,
        archived_since: dt.datetime | None,
    ) -> Iterator[Page]:
        reader = self.reader
        names = self._names
        if reader.list_fits(names, archived=archived):
            for page in reader.list_pages(names, archived=archived, after=after):
                yield _archived_since(page, archived_since)
            return
        self.logger.info(
            "'%s': %d properties are too many for a URL; listing ids and "
            "reading properties by batch.",
            self.name,
            len(names),
        )
        for page in reader.list_pages(_ID_ONLY, archived=archived, after=after):
            ids = [str(r["id"]) for r in _archived_since(page, archived_since).results]
            results = reader.batch_read(ids, names, archived=archived) if ids else []
            yield Page(results, after=page.after)

    def _search(self, progress: Mapping[str, t.Any]) -> Iterator[Page]:
        reader = self.reader
        names = self._names
        start, end = self.window(progress)
        if reader.search_fits(names):
            yield from reader.search_pages(
                names,
                window_start=start,
                window_end=end,
                last_id=progress.get("last_id"),
            )
            return
        for page in reader.search_pages(
            _ID_ONLY,
            window_start=start,
            window_end=end,
            last_id=progress.get("last_id"),
        ):
            ids = [str(result["id"]) for result in page.results]
            results = reader.batch_read(ids, names) if ids else []
            yield Page(results, last_id=page.last_id)

    # ---------------------------------------------------------------- records

    @override
    def records_of(self, page: Page) -> Iterator[types.Record]:
        definitions = self._definitions
        for course in page.results:
            typed, unparsed = parse_properties(
                definitions, course.get("properties") or {}
            )
            if unparsed:
                self._unparsed.update(unparsed.keys())
            yield {
                "id": str(course["id"]),
                "properties": typed,
                "createdAt": course.get("createdAt"),
                "updatedAt": course.get("updatedAt"),
                "archived": bool(course.get("archived", False)),
                "archivedAt": course.get("archivedAt"),
                "unparsed_properties": unparsed or None,
            }

    # ---------------------------------------------------------------- children

    @property
    def _children_selected(self) -> bool:
        selected = any(
            child.selected or child.has_selected_descendents
            for child in self.child_streams
        )
        return selected and bool(self.hubspot.association_types)

    @override
    def get_records(self, context: types.Context | None) -> Iterable[types.Record]:
        if self._children_selected:
            self.logger.info(
                "'%s': associations with %s are read for every course emitted.",
                self.name,
                ", ".join(self.hubspot.association_types),
            )
        yield from super().get_records(context)

    @override
    def generate_child_contexts(
        self,
        record: types.Record,
        context: types.Context | None,
    ) -> Iterable[types.Context | None]:
        """Collect course ids; hand children a batch of 1,000 at a time."""
        if record.get("archived") or not self._children_selected:
            return
        self._pending_ids.append(record["id"])
        if len(self._pending_ids) >= ASSOCIATION_BATCH_LIMIT:
            yield self._take_batch()

    def _take_batch(self) -> dict[str, t.Any]:
        """A child context for the pending ids.

        The context names the batch; the ids stay here for the child to
        take, so that logs and metrics tagged with the context stay short.
        """
        ids = tuple(self._pending_ids)
        self._pending_ids = []
        label = f"{ids[0]}..{ids[-1]} ({len(ids)} courses)"
        self.batches[label] = ids
        return {"course_batch": label}

    def _flush_children(self) -> None:
        if not self._pending_ids:
            return
        batch = self._take_batch()
        for child in self.child_streams:
            if child.selected or child.has_selected_descendents:
                child.sync(context=batch)

    @override
    def checkpoint_ready(self, next_page_size: int) -> bool:
        """Flush children before a batch would overflow; ready once flushed.

        A checkpoint must not pass a course whose associations are still
        buffered, or a resumed run would never emit them.
        """
        if len(self._pending_ids) + next_page_size > ASSOCIATION_BATCH_LIMIT:
            self._flush_children()
        return not self._pending_ids

    @override
    def finish(self) -> None:
        self._flush_children()
        if self._unparsed:
            counts = ", ".join(
                f"'{name}' ({count})" for name, count in self._unparsed.most_common()
            )
            self.logger.warning(
                "'%s': %d values did not fit their property's declared type and "
                "are kept as strings in 'unparsed_properties': %s.",
                self.name,
                sum(self._unparsed.values()),
                counts,
            )
            self._unparsed.clear()


def _archived_since(page: Page, since: dt.datetime | None) -> Page:
    """Keep the archived courses of ``page`` archived at or after ``since``."""
    if since is None:
        return page
    kept = [
        course
        for course in page.results
        if not course.get("archivedAt") or _instant(course["archivedAt"]) >= since
    ]
    return Page(kept, after=page.after, last_id=page.last_id)


class CoursePropertyHistoryStream(ResumableStream):
    """Every recorded change of the course properties named in settings.

    Emits one row per course, property and change: ``course_id``,
    ``property``, ``value`` (HubSpot's raw string), ``timestamp``,
    ``source_type``, ``source_id``, ``source_label``, ``updated_by_user_id``
    and ``history_id``. Emits nothing unless ``properties_with_history`` names
    properties (``["*"]`` for all).

    Endpoints: ``GET /crm/objects/2026-03/courses?propertiesWithHistory=...``
    (full sync, 50 per page, HubSpot's cap with history; ids plus
    ``POST .../courses/batch/read`` when the names are too long for a URL),
    and ``POST .../courses/search`` for changed ids then ``batch/read`` with
    ``propertiesWithHistory`` (incremental; the whole history of each changed
    course is emitted again, the key makes that idempotent).

    Key ``history_id``: a hash of course id, property, timestamp, source type,
    source id and value, stable across runs. Replication key ``timestamp``
    (the bookmark is the end of the window of course modifications read).
    Scope: ``crm.objects.courses.read``.
    """

    name = "course_property_history"
    primary_keys = ("history_id",)
    replication_key = "timestamp"
    schema: t.ClassVar[dict[str, t.Any]] = {
        "type": "object",
        "properties": {
            "history_id": {"type": "string"},
            "course_id": {"type": "string"},
            "property": {"type": "string"},
            "value": {"type": ["string", "null"]},
            "timestamp": {"type": "string", "format": "date-time"},
            "source_type": {"type": ["string", "null"]},
            "source_id": {"type": ["string", "null"]},
            "source_label": {"type": ["string", "null"]},
            "updated_by_user_id": {"type": ["integer", "null"]},
        },
        "required": ["history_id", "course_id", "property", "timestamp"],
    }

    @override
    def get_records(self, context: types.Context | None) -> Iterable[types.Record]:
        if not self.hubspot.history_properties:
            self.logger.info(
                "'%s': no property named in 'properties_with_history'; nothing "
                "to read.",
                self.name,
            )
            return iter(())
        return super().get_records(context)

    @override
    def read_phase(self, phase: str, progress: Mapping[str, t.Any]) -> Iterator[Page]:
        reader = self.reader
        names = self.hubspot.history_properties
        if phase == "list":
            if reader.list_fits(_ID_ONLY, with_history=names):
                yield from reader.list_pages(
                    _ID_ONLY, with_history=names, after=progress.get("after")
                )
                return
            pages = reader.list_pages(_ID_ONLY, after=progress.get("after"))
        else:
            start, end = self.window(progress)
            pages = reader.search_pages(
                _ID_ONLY,
                window_start=start,
                window_end=end,
                last_id=progress.get("last_id"),
            )
        for page in pages:
            ids = [str(result["id"]) for result in page.results]
            results: list[dict[str, t.Any]] = []
            for start_at in range(0, len(ids), BATCH_READ_LIMIT):
                chunk = ids[start_at : start_at + BATCH_READ_LIMIT]
                results.extend(reader.batch_read(chunk, _ID_ONLY, with_history=names))
            yield Page(results, after=page.after, last_id=page.last_id)

    @override
    def records_of(self, page: Page) -> Iterator[types.Record]:
        for course in page.results:
            course_id = str(course["id"])
            history = course.get("propertiesWithHistory") or {}
            for name, changes in history.items():
                for change in changes or []:
                    yield _history_row(course_id, name, change)


def _history_row(
    course_id: str, name: str, change: Mapping[str, t.Any]
) -> types.Record:
    value = change.get("value")
    timestamp = change.get("timestamp")
    source_type = change.get("sourceType")
    source_id = change.get("sourceId")
    user_id = change.get("updatedByUserId")
    digest = hashlib.blake2b(
        "\x1f".join(
            str(part)
            for part in (course_id, name, timestamp, source_type, source_id, value)
        ).encode(),
        digest_size=16,
    ).hexdigest()
    return {
        "history_id": digest,
        "course_id": course_id,
        "property": name,
        "value": value,
        "timestamp": timestamp,
        "source_type": source_type,
        "source_id": source_id,
        "source_label": change.get("sourceLabel"),
        "updated_by_user_id": None if user_id is None else int(user_id),
    }


class CourseAssociationsStream(Stream):
    """Associations of each emitted course with contacts, companies and more.

    Emits one row per course, associated record and association type:
    ``course_id``, ``to_object_type`` (as named in the ``associations``
    setting), ``to_object_id``, ``association_type_id``, ``category`` and
    ``label``.

    Endpoint: ``POST /crm/associations/2026-03/courses/{to_type}/batch/read``
    with the ids of 1,000 courses per call, following each course's own
    paging. A child of ``courses``: it covers the courses that stream emits in
    the same run (all of them in a full sync, the changed ones in an
    incremental sync).

    Key ``course_id``, ``to_object_type``, ``to_object_id``,
    ``association_type_id``; no replication key. Scopes:
    ``crm.objects.courses.read`` and the read scope of each associated object
    type (``crm.objects.contacts.read``, ``crm.objects.companies.read``).
    """

    name = "course_associations"
    parent_stream_type = CoursesStream
    primary_keys = (
        "course_id",
        "to_object_type",
        "to_object_id",
        "association_type_id",
    )
    state_partitioning_keys = ()
    """One unpartitioned state: contexts carry id batches, not partitions."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    schema: t.ClassVar[dict[str, t.Any]] = {
        "type": "object",
        "properties": {
            "course_id": {"type": "string"},
            "to_object_type": {"type": "string"},
            "to_object_id": {"type": "string"},
            "association_type_id": {"type": ["integer", "null"]},
            "category": {"type": ["string", "null"]},
            "label": {"type": ["string", "null"]},
        },
        "required": ["course_id", "to_object_type", "to_object_id"],
    }

    @property
    def hubspot(self) -> TapHubSpotCourses:
        """The tap, holding the shared client."""
        return t.cast("TapHubSpotCourses", self._tap)

    @override
    def get_records(self, context: types.Context | None) -> Iterable[types.Record]:
        label = str((context or {}).get("course_batch"))
        parent = self._tap.streams[CoursesStream.name]
        ids = t.cast("CoursesStream", parent).batches.pop(label, ())
        if not ids:
            return
        reader = CourseReader(self.hubspot.client, self.logger)
        for to_type in self.hubspot.association_types:
            for row in reader.associations(to_type, ids):
                yield {
                    "course_id": row.course_id,
                    "to_object_type": to_type,
                    "to_object_id": row.to_object_id,
                    "association_type_id": row.association_type_id,
                    "category": row.category,
                    "label": row.label,
                }
