"""The 'associations' setting is checked before the first course is emitted."""

from __future__ import annotations

from tap_helpers import TOKEN, run_tap, select_only, tap_config

from hubspot_courses.errors import ConfigValidationError
from hubspot_sandbox import ALL_COURSE_SCOPES


def test_unknown_association_type_stops_the_run_before_any_course(make_sandbox):
    sb = make_sandbox(courses=30, tokens={TOKEN: ALL_COURSE_SCOPES})
    config = tap_config(sb.url, associations=["contacts", "widgets"])

    run = run_tap(config, expect=ConfigValidationError)

    message = str(run.error)
    assert "'associations' names 'widgets'" in message
    assert "Remove it" in message
    assert run.records("courses") == []
    assert sb.stats.snapshot()["by_route"].get("list", 0) == 0


def test_association_types_are_not_checked_when_associations_are_not_selected(
    make_sandbox,
):
    sb = make_sandbox(courses=30, tokens={TOKEN: ALL_COURSE_SCOPES})
    config = tap_config(sb.url, associations=["widgets"])
    catalog = select_only(config, "courses")

    run = run_tap(config, catalog=catalog)

    assert len(run.records("courses")) == len(sb.store.active_courses())
    assert "assoc_labels" not in sb.stats.snapshot()["by_route"]
