"""target-hubspot-courses: the plugin class, its settings and its sinks."""

from __future__ import annotations

import collections
import concurrent.futures
import copy
import functools
import importlib.metadata
import sys
import threading
import typing as t

import msgspec
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader, decoder
from singer_sdk.exceptions import FatalSyncError
from singer_sdk.singerlib.json import deserialize_json

from hubspot_courses.cli import HubSpotPlugin
from hubspot_courses.client import HubSpotClient
from hubspot_courses.errors import ConfigValidationError
from hubspot_courses.properties import fetch_properties
from hubspot_courses.settings import CONNECTION_SETTINGS
from target_hubspot_courses import __version__
from target_hubspot_courses.ledger import Ledger
from target_hubspot_courses.mirror import MirrorRefused, mirror
from target_hubspot_courses.rows import RowBuilder
from target_hubspot_courses.settings import DEFAULT_REJECTS_PATH, TARGET_SETTINGS
from target_hubspot_courses.sinks import (
    AssociationsSink,
    CoursesSink,
    IgnoredSink,
    oldest_unwritten,
)
from target_hubspot_courses.writer import CourseWriter

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.sinks import Sink

    from hubspot_courses.properties import PropertyDef

__all__ = ["TargetHubSpotCourses", "TooManyRejects"]

ASSOCIATIONS_STREAM = "course_associations"
IGNORED_STREAMS = frozenset({"course_property_history"})


class TooManyRejects(FatalSyncError):
    """More records were rejected than ``max_rejects`` allows."""


class _InputReader(MsgSpecReader):
    """Parses input lines with msgspec, and with the SDK's parser when it fails.

    msgspec is several times faster, but refuses a few lines Python's JSON
    parser takes (a lone surrogate in a string, ``NaN``); those keep the
    SDK's behaviour instead of ending the run.
    """

    @override
    def deserialize_json(self, line: str) -> dict[str, t.Any]:
        try:
            return t.cast("dict[str, t.Any]", decoder.decode(line))
        except msgspec.DecodeError:
            return deserialize_json(line)


class TargetHubSpotCourses(HubSpotPlugin, Target):
    """Singer target writing courses and their associations to HubSpot.

    Any stream is read as course rows, except ``course_associations``
    (association rows) and ``course_property_history`` (ignored).

    A STATE message is emitted as soon as every record read before it is
    written to HubSpot or rejected, in every sink: after the drain of a full
    sink, not only at the end of the input.
    """

    name = "target-hubspot-courses"
    package_name = "hubspot-courses"
    FATAL_ERRORS = (TooManyRejects, MirrorRefused)
    default_sink_class = CoursesSink
    message_reader_class = _InputReader
    config_jsonschema = th.PropertiesList(
        *CONNECTION_SETTINGS.wrapped.values(),
    ).to_dict()
    config_jsonschema["properties"].update(TARGET_SETTINGS["properties"])

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Create the target and check HubSpot access and settings.

        Raises:
            ConfigValidationError: for settings that cannot work.
            HubSpotAPIError: when HubSpot refuses the token or its scopes.
        """
        super().__init__(*args, **kwargs)
        # Sinks drain one at a time; each one's batch calls run concurrently
        # on the run's thread pool, inside the one rate limiter.
        self.max_parallelism = 1
        self.records_read = 0
        """Records read from the input so far: each record's input position."""
        self.drains = 0
        """Sink drains completed so far."""
        self._held_states: collections.deque[tuple[int, dict[str, t.Any]]] = (
            collections.deque()
        )
        """STATE values not emitted yet, each with the records read before it."""
        self._drains_checked = 0
        self._written_state: dict[str, t.Any] | None = None
        self._ignored_properties: set[str] = set()
        self._ignored_lock = threading.Lock()
        if kwargs.get("validate_config", True):
            self._check_settings()
        if self.dry_run:
            self.logger.info("Dry run: nothing is written and no STATE is emitted.")

    @classmethod
    @override
    def get_plugin_version(cls) -> str:
        try:
            return importlib.metadata.version(cls.package_name or cls.name)
        except importlib.metadata.PackageNotFoundError:
            return __version__

    # ------------------------------------------------------------ settings

    @property
    def load_method(self) -> str:
        """``upsert`` (default), ``append-only`` or ``overwrite``."""
        return str(self.config.get("load_method") or "upsert")

    @property
    def id_property(self) -> str | None:
        """The unique property rows are matched on, if set."""
        return self.config.get("id_property") or None

    @property
    def dry_run(self) -> bool:
        """Whether the run only reads and reports."""
        return bool(self.config.get("dry_run"))

    def _check_settings(self) -> None:
        if self.load_method == "overwrite" and not self.id_property:
            msg = (
                "load_method 'overwrite' needs 'id_property': it is how the "
                "target tells which courses the input still contains."
            )
            raise ConfigValidationError(msg, errors=[msg])
        if int(self.config.get("max_concurrent_requests", 4)) < 1:
            msg = "'max_concurrent_requests' must be at least 1."
            raise ConfigValidationError(msg, errors=[msg])
        # Reading the definitions checks the URL, the credentials, the token,
        # its schema scope and the activation before any input is read.
        definitions = self.definitions
        name = self.id_property
        if name is None:
            return
        prop = definitions.get(name)
        if prop is None or not prop.has_unique_value:
            unique = sorted(
                d.name for d in self.definitions.values() if d.has_unique_value
            )
            what = "does not exist" if prop is None else "is not unique"
            msg = (
                f"id_property '{name}' {what} on courses: HubSpot can only match "
                "on a property with unique values (hasUniqueValue). Unique course "
                "properties in this portal: "
                + (", ".join(f"'{u}'" for u in unique) or "none")
                + ". Use one of them, or create one in HubSpot."
            )
            raise ConfigValidationError(msg, errors=[msg])

    # ------------------------------------------------------------ run state

    @functools.cached_property
    def client(self) -> HubSpotClient:
        """The one HubSpot client of this run, shared by every sink and thread."""
        return HubSpotClient(
            self.config,
            self.logger,
            user_agent=f"{self.name}/{self.plugin_version}",
        )

    @functools.cached_property
    def definitions(self) -> dict[str, PropertyDef]:
        """Course property definitions, read once per run after an access check."""
        self.client.check_access()
        definitions = fetch_properties(self.client)
        self.logger.info("Read %d course property definitions.", len(definitions))
        return definitions

    @functools.cached_property
    def ledger(self) -> Ledger:
        """Counts, rejects and learned ids of this run."""
        return Ledger(
            self.config.get("rejects_path") or DEFAULT_REJECTS_PATH,
            keep_seen=self.load_method == "overwrite",
        )

    @functools.cached_property
    def executor(self) -> concurrent.futures.ThreadPoolExecutor:
        """Threads for concurrent batch calls."""
        return concurrent.futures.ThreadPoolExecutor(
            max_workers=int(self.config.get("max_concurrent_requests", 4)),
            thread_name_prefix="hubspot-batch",
        )

    @functools.cached_property
    def builder(self) -> RowBuilder:
        """Validates and converts records."""
        return RowBuilder(
            self.definitions,
            id_property=self.id_property,
            null_values=str(self.config.get("null_values") or "ignore"),
            ignore_record_ids=bool(self.config.get("ignore_record_ids")),
            creates_only=self.load_method == "append-only",
            on_ignored=self._note_ignored,
        )

    @functools.cached_property
    def writer(self) -> CourseWriter:
        """Sends the batch calls."""
        return CourseWriter(
            self.client,
            self.executor,
            self.ledger,
            self.logger,
            id_property=self.id_property,
            dry_run=self.dry_run,
        )

    def _note_ignored(self, name: str) -> None:
        with self._ignored_lock:
            if name in self._ignored_properties:
                return
            self._ignored_properties.add(name)
        self.logger.info(
            "Not writing read-only property '%s' found in the input: HubSpot "
            "sets it itself.",
            name,
        )

    # ------------------------------------------------------------ sinks

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        if stream_name == ASSOCIATIONS_STREAM:
            return AssociationsSink
        if stream_name in IGNORED_STREAMS:
            return IgnoredSink
        return CoursesSink

    def drain_courses(self) -> None:
        """Write the course rows buffered so far (before association rows)."""
        for sink in [*self._sinks_to_clear, *self._sinks_active.values()]:
            if isinstance(sink, CoursesSink):
                self.drain_one(sink)

    def check_rejects(self) -> None:
        """Fail the run once rejects pass ``max_rejects``.

        Raises:
            TooManyRejects: when more records were rejected than allowed.
        """
        limit = int(self.config.get("max_rejects", 100))
        rejected = self.ledger.counts["rejected"]
        if rejected > limit:
            self.log_summary()
            msg = (
                f"{rejected} records were rejected, more than 'max_rejects' "
                f"({limit}). The good records of the batch were written; no "
                f"STATE was emitted for it. Reasons and fixes are in "
                f"'{self.ledger.rejects_path}'."
            )
            raise TooManyRejects(msg)

    # ------------------------------------------------------------ state

    @override
    def _process_record_message(self, message_dict: dict) -> None:
        self.records_read += 1
        super()._process_record_message(message_dict)
        if self.drains != self._drains_checked:
            self._drains_checked = self.drains
            if self._held_states:
                self._write_committed_state()
            if self._held_states:
                # A sink that fills slowly (association rows, or rows of a
                # sink a schema change replaced) holds the STATE back: write
                # everything now, courses first, as at the end of the input.
                self.drain_all()

    @override
    def _process_state_message(self, message_dict: dict) -> None:
        previous = self._latest_state
        super()._process_state_message(message_dict)
        state = self._latest_state
        if not state or state is previous:
            return
        held = self._held_states
        if held and held[-1][0] == self.records_read:
            held.pop()
        held.append((self.records_read, state))
        self._write_committed_state()

    def _write_committed_state(self) -> None:
        """Emit the latest STATE whose earlier records are all committed.

        A STATE read after ``n`` records is safe once no sink (a courses
        sink, the associations sink, or one replaced by a schema change)
        still holds a record at input position ``n`` or before.
        """
        sinks = [*self._sinks_to_clear, *self._sinks_active.values()]
        oldest = oldest_unwritten(sinks)
        held = self._held_states
        ready: dict[str, t.Any] | None = None
        while held and (oldest is None or held[0][0] < oldest):
            ready = held.popleft()[1]
        if ready is not None:
            self._write_state_message(copy.deepcopy(ready))

    @override
    def _write_state_message(self, state: dict) -> None:
        # drain_all writes the latest STATE again even when it is already out.
        if state == self._written_state:
            return
        self._written_state = state
        if state == self._latest_state:
            self._held_states.clear()  # nothing held is newer than the latest
        if self.dry_run:
            # A STATE tells Meltano the input up to it is loaded; after a dry
            # run the tap's bookmark would skip those records next time.
            return
        super()._write_state_message(state)

    @override
    def process_endofpipe(self) -> None:
        try:
            super().process_endofpipe()
            if self.load_method == "overwrite" and self.id_property:
                mirror(
                    self.client,
                    self.ledger,
                    self.logger,
                    id_property=self.id_property,
                    max_fraction=float(
                        self.config.get("mirror_max_archive_fraction", 0.2)
                    ),
                    dry_run=self.dry_run,
                )
            self.log_summary()
        finally:
            self.executor.shutdown(wait=True)

    def log_summary(self) -> None:
        """Log the one summary line of the run."""
        counts = self.ledger.counts
        stats = self.client.stats
        prefix = "Dry run, nothing written; would have" if self.dry_run else "Run"
        self.logger.info(
            "%s: %d created, %d updated, %d archived, %d associated, %d rejected, "
            "%d deduplicated; %d API calls, %d retries, %d throttled (429)%s.",
            prefix,
            counts["created"],
            counts["updated"],
            counts["archived"],
            counts["associated"],
            counts["rejected"],
            counts["deduplicated"],
            stats.requests,
            stats.retries,
            stats.throttled,
            f"; rejects in '{self.ledger.rejects_path}'" if counts["rejected"] else "",
        )


if __name__ == "__main__":
    TargetHubSpotCourses.cli()
