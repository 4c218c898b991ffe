"""``overwrite``: archive the courses the input no longer contains.

After the run's writes, every active course is listed with its
``id_property`` value. A course is archived when its value is set and no
input row carried it (nor its record id). Courses without a value were not
created by this sync and are left alone.

Guards, both fatal and checked before anything is archived: an input without
course rows (an empty or failed extract would otherwise empty the portal),
and an archive share above ``mirror_max_archive_fraction`` of the active
courses.
"""

from __future__ import annotations

import typing as t

from singer_sdk.exceptions import FatalSyncError

from target_hubspot_courses.writer import BATCH_LIMIT, chunks

if t.TYPE_CHECKING:
    import logging

    from hubspot_courses.client import HubSpotClient
    from target_hubspot_courses.ledger import Ledger

__all__ = ["MirrorRefused", "mirror"]

LIST_LIMIT = 100


class MirrorRefused(FatalSyncError):
    """``overwrite`` would archive too much; nothing was archived."""


def mirror(
    client: HubSpotClient,
    ledger: Ledger,
    logger: logging.Logger,
    *,
    id_property: str,
    max_fraction: float,
    dry_run: bool,
) -> int:
    """Archive the active courses the input did not contain.

    Returns:
        How many courses were (or, in a dry run, would be) archived.

    Raises:
        MirrorRefused: for an empty input or too large an archive share.
    """
    if ledger.course_rows == 0:
        raise MirrorRefused(
            "load_method 'overwrite' refused: the input held no course rows, "
            "and mirroring it would archive every course. Check the extract; "
            "nothing was archived."
        )
    active = 0
    stale: list[str] = []
    for course in _list_courses(client, id_property):
        active += 1
        value = (course.get("properties") or {}).get(id_property)
        course_id = str(course.get("id"))
        if value and value not in ledger.seen_keys and course_id not in ledger.seen_ids:
            stale.append(course_id)
    share = len(stale) / active if active else 0.0
    if share > max_fraction:
        raise MirrorRefused(
            f"load_method 'overwrite' refused: {len(stale):,} of {active:,} active "
            f"courses ({share:.0%}) are missing from the input, above "
            f"'mirror_max_archive_fraction' {max_fraction:g}. Nothing was "
            "archived; check the input, or raise the setting if this is intended."
        )
    logger.info(
        "Mirror: %d of %d active courses are missing from the input%s.",
        len(stale),
        active,
        " (dry run: not archived)" if dry_run else "; archiving them",
    )
    if not dry_run:
        for chunk in chunks(stale, BATCH_LIMIT):
            client.post(
                client.paths.objects("/batch/archive"),
                {"inputs": [{"id": course_id} for course_id in chunk]},
            )
    ledger.add("archived", len(stale))
    return len(stale)


def _list_courses(client: HubSpotClient, id_property: str) -> t.Iterator[dict]:
    after: str | None = None
    while True:
        params: dict[str, t.Any] = {"limit": LIST_LIMIT, "properties": [id_property]}
        if after:
            params["after"] = after
        body = client.get(client.paths.objects(), params) or {}
        yield from body.get("results") or []
        after = ((body.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return
