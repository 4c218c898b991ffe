"""tap-hubspot-courses: the plugin class, its settings and its streams."""

from __future__ import annotations

import functools
import sys
import typing as t

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import SingerMessageType

from hubspot_courses.cli import HubSpotPlugin
from hubspot_courses.client import HubSpotClient
from hubspot_courses.errors import ConfigValidationError, HubSpotAPIError
from hubspot_courses.properties import fetch_properties
from hubspot_courses.settings import CONNECTION_SETTINGS
from tap_hubspot_courses.streams import (
    CourseAssociationsStream,
    CoursePropertyHistoryStream,
    CoursesStream,
)

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    import click
    from singer_sdk import Stream
    from singer_sdk.singerlib import Message

    from hubspot_courses.properties import PropertyDef

__all__ = ["TapHubSpotCourses"]

ALL_PROPERTIES = "*"

BASE_PROPERTIES = ("hs_object_id", "hs_createdate", "hs_lastmodifieddate")
"""Properties HubSpot returns on every course, whatever is requested."""

TAP_SETTINGS = th.PropertiesList(
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start date",
        description=(
            "Read only courses modified at or after this instant in the first "
            "run (through the search API); later runs continue from the "
            "bookmark. Without it, the first run reads every course."
        ),
    ),
    th.Property(
        "properties",
        th.ArrayType(th.StringType),
        title="Course properties",
        description=(
            "Names of the course properties to sync. Default: every property "
            "the properties API defines for courses."
        ),
    ),
    th.Property(
        "properties_with_history",
        th.ArrayType(th.StringType),
        default=[],
        title="Properties with history",
        description=(
            "Names of the course properties whose change history the "
            "'course_property_history' stream emits; [\"*\"] for all. "
            "Default: none, and that stream emits no rows."
        ),
    ),
    th.Property(
        "associations",
        th.ArrayType(th.StringType),
        default=["contacts", "companies"],
        title="Associated object types",
        description=(
            "Object types whose associations with courses the "
            "'course_associations' stream emits ('contacts', 'companies', "
            "'deals', ...). Each needs its read scope."
        ),
    ),
    th.Property(
        "include_archived",
        th.BooleanType,
        default=False,
        title="Include archived courses",
        description=(
            "Also emit archived (deleted) courses, with 'archived' true and "
            "'archivedAt', in full and incremental runs."
        ),
    ),
    th.Property(
        "dates_as_datetimes",
        th.BooleanType,
        default=False,
        title="Dates as date-times",
        description=(
            "Emit HubSpot 'date' properties as date-times at midnight UTC "
            "(JSON Schema 'date-time'), for loaders without a date column type "
            "such as target-duckdb 0.8.0, which would store them as text."
        ),
    ),
    th.Property(
        "search_lag_seconds",
        th.NumberType(minimum=0),
        default=30,
        title="Search index lag",
        description=(
            "An incremental run reads changes up to this many seconds before "
            "it starts, because HubSpot's search index trails writes; the "
            "next run reads the rest."
        ),
    ),
)


class _MessageWriter(MsgSpecWriter):
    """Writes messages with msgspec; flushes at every message but a record.

    Records wait in stdout's buffer until the message after them that is not
    a record (SCHEMA, STATE, ...) or until the buffer fills, instead of one
    write call each. A STATE therefore never reaches the target before the
    records it covers, and a killed run loses only records whose STATE was
    never written, which the next run reads again.
    """

    @override
    def write_message(self, message: Message) -> None:
        sys.stdout.buffer.write(self.format_message(message))
        if message.type is not SingerMessageType.RECORD:
            sys.stdout.flush()


class TapHubSpotCourses(HubSpotPlugin, Tap):
    """Singer tap for HubSpot courses, their property history and associations."""

    name = "tap-hubspot-courses"
    package_name = "hubspot-courses"
    message_writer_class = _MessageWriter
    config_jsonschema = th.PropertiesList(
        *CONNECTION_SETTINGS.wrapped.values(),
        *TAP_SETTINGS.wrapped.values(),
    ).to_dict()

    @functools.cached_property
    def client(self) -> HubSpotClient:
        """The one HubSpot client of this run, shared by every stream."""
        return HubSpotClient(
            self.config,
            self.logger,
            user_agent=f"{self.name}/{self.plugin_version}",
        )

    @functools.cached_property
    def property_defs(self) -> dict[str, PropertyDef]:
        """Course property definitions, read once per run after an access check.

        Raises:
            HubSpotAPIError: when the token, its scopes or the account's setup
                do not allow reading courses.
        """
        self.client.check_access()
        definitions = fetch_properties(self.client)
        self.logger.info("Read %d course property definitions.", len(definitions))
        if self.config.get("dates_as_datetimes"):
            definitions = {
                name: prop.as_midnight_datetime() if prop.type == "date" else prop
                for name, prop in definitions.items()
            }
        return definitions

    @functools.cached_property
    def course_properties(self) -> Sequence[str]:
        """Names of the properties the ``courses`` stream requests.

        Raises:
            ConfigValidationError: when ``properties`` names unknown properties.
        """
        wanted = self.config.get("properties")
        if not wanted:
            return tuple(self.property_defs)
        base = [name for name in BASE_PROPERTIES if name in self.property_defs]
        return self._known("properties", [*base, *wanted])

    @functools.cached_property
    def history_properties(self) -> Sequence[str]:
        """Names of the properties whose history is read; empty for none.

        Raises:
            ConfigValidationError: when ``properties_with_history`` names
                unknown properties.
        """
        wanted = list(self.config.get("properties_with_history") or [])
        if ALL_PROPERTIES in wanted:
            return tuple(self.property_defs)
        return self._known("properties_with_history", wanted)

    @functools.cached_property
    def association_types(self) -> Sequence[str]:
        """Object types whose associations with courses are read.

        Each is checked once, by reading its association labels, so that a
        type HubSpot does not associate with courses, or a missing read
        scope, stops the run before the first course rather than after.

        Raises:
            ConfigValidationError: for a type HubSpot does not know here.
            HubSpotAPIError: when HubSpot refuses the read (scopes, token).
        """
        wanted = tuple(dict.fromkeys(self.config.get("associations") or ()))
        for to_type in wanted:
            try:
                self.client.get(self.client.paths.associations(to_type, "/labels"))
            except HubSpotAPIError as exc:
                if exc.status not in {400, 404}:
                    raise
                msg = (
                    f"'associations' names '{to_type}', which this HubSpot "
                    f"account does not associate with courses "
                    f"({exc.hubspot_message.rstrip('. ')}). Remove it, or name "
                    "an object type such as 'contacts' or 'companies'."
                )
                raise ConfigValidationError(msg, errors=[msg]) from None
        return wanted

    def _known(self, setting: str, wanted: Sequence[str]) -> tuple[str, ...]:
        unknown = [name for name in wanted if name not in self.property_defs]
        if unknown:
            names = ", ".join(f"'{name}'" for name in unknown)
            msg = (
                f"'{setting}' names properties that courses do not have: {names}. "
                "Remove them, or create them in HubSpot first."
            )
            raise ConfigValidationError(msg, errors=[msg])
        return tuple(dict.fromkeys(wanted))

    @override
    def discover_streams(self) -> list[Stream]:
        return [
            CoursesStream(self),
            CoursePropertyHistoryStream(self),
            CourseAssociationsStream(self),
        ]

    # ------------------------------------------------------------ entry points

    @classmethod
    @override
    def cb_discover(
        cls,
        ctx: click.Context,
        param: click.Option,
        value: bool,
    ) -> None:
        with cls._fatal_errors():
            super().cb_discover(ctx, param, value)

    @classmethod
    @override
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        with cls._fatal_errors():
            super().cb_test(ctx, param, value)


if __name__ == "__main__":
    TapHubSpotCourses.cli()
