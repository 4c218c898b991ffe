"""Settings of target-hubspot-courses, beyond the shared connection settings."""

from __future__ import annotations

from singer_sdk import typing as th

__all__ = [
    "DEFAULT_REJECTS_PATH",
    "LOAD_METHODS",
    "NULL_VALUES",
    "TARGET_SETTINGS",
]

DEFAULT_REJECTS_PATH = "output/target-hubspot-courses-rejects.jsonl"
LOAD_METHODS = ("upsert", "append-only", "overwrite")
NULL_VALUES = ("ignore", "clear")

TARGET_SETTINGS = th.PropertiesList(
    th.Property(
        "id_property",
        th.StringType,
        title="Match property",
        description=(
            "Name of a course property with unique values (hasUniqueValue), "
            "such as 'external_course_id'. Rows without a HubSpot record id "
            "are upserted on it; deletes, associations and 'overwrite' resolve "
            "courses through it. The run refuses to start when the property "
            "is not unique."
        ),
    ),
    th.Property(
        "load_method",
        th.StringType,
        default="upsert",
        allowed_values=list(LOAD_METHODS),
        title="Load method",
        description=(
            "'upsert' (default): update courses matched by record id or "
            "'id_property', create the others. 'append-only': create every "
            "row as a new course (a rerun creates duplicates unless "
            "'id_property' values collide). 'overwrite': upsert, then archive "
            "every course whose 'id_property' value the input did not contain "
            "(mirror), within 'mirror_max_archive_fraction'."
        ),
    ),
    th.Property(
        "ignore_record_ids",
        th.BooleanType,
        default=False,
        title="Ignore record ids",
        description=(
            "Ignore 'id' and 'hs_object_id' in the input and match on "
            "'id_property' only. Use it when the input's ids come from another "
            "portal whose ids may exist here too, or are not HubSpot ids."
        ),
    ),
    th.Property(
        "null_values",
        th.StringType,
        default="ignore",
        allowed_values=list(NULL_VALUES),
        title="Null values",
        description=(
            "'ignore' (default): a null leaves the HubSpot value unchanged. "
            "'clear': a null clears it. An empty string always clears."
        ),
    ),
    th.Property(
        "rejects_path",
        th.StringType,
        default=DEFAULT_REJECTS_PATH,
        title="Rejects file",
        description=(
            "JSON Lines file that receives every rejected record with the "
            "reason, HubSpot's category and message, and the fix. Appended to; "
            "relative paths are below the working directory."
        ),
    ),
    th.Property(
        "max_rejects",
        th.IntegerType(minimum=0),
        default=100,
        title="Maximum rejects",
        description=(
            "The run fails once more than this many records were rejected "
            "(0: the first reject fails it), after the batch holding that "
            "reject has been written and its rejects recorded; no STATE is "
            "emitted for that batch."
        ),
    ),
    th.Property(
        "dry_run",
        th.BooleanType,
        default=False,
        title="Dry run",
        description=(
            "Validate and resolve every row (reads only) and report what would "
            "be created, updated, archived, associated and rejected, writing "
            "nothing to HubSpot. Rejects still go to 'rejects_path'; no STATE "
            "is emitted, so the source's bookmark does not move."
        ),
    ),
    th.Property(
        "mirror_max_archive_fraction",
        th.NumberType(minimum=0, maximum=1),
        default=0.2,
        title="Mirror archive limit",
        description=(
            "With 'overwrite', refuse to archive when more than this share of "
            "the portal's active courses would be archived. An empty input is "
            "always refused."
        ),
    ),
    th.Property(
        "max_concurrent_requests",
        th.IntegerType(minimum=1),
        default=8,
        title="Concurrent batch calls",
        description=(
            "Batch calls in flight at once. Every call still goes through the "
            "one rate limiter of the run."
        ),
    ),
).to_dict()
