"""Modes and run-level guarantees: dry run, mirror, associations, STATE, limits."""

from __future__ import annotations

import pytest

from target_hubspot_courses.mirror import MirrorRefused
from tests.target.conftest import (
    by_key,
    course,
    flat_messages,
    read_rejects,
    record,
    schema,
    state,
)

ASSOC_SCHEMA = {
    "type": "SCHEMA",
    "stream": "course_associations",
    "schema": {
        "type": "object",
        "properties": {
            "course_id": {"type": ["string", "null"]},
            "external_course_id": {"type": ["string", "null"]},
            "to_object_type": {"type": "string"},
            "to_object_id": {"type": "string"},
            "association_type_id": {"type": ["integer", "null"]},
            "category": {"type": ["string", "null"]},
            "label": {"type": ["string", "null"]},
        },
    },
    "key_properties": [],
}


@pytest.fixture
def empty(make_sandbox):
    return make_sandbox(courses=0)


def _seed(sandbox, count: int) -> None:
    for n in range(count):
        sandbox.store.create_course(
            {"hs_course_name": f"Course {n}", "external_course_id": f"EXT-{n}"}
        )


def test_dry_run_writes_nothing_and_reports_what_it_would_do(
    empty, target_config, run_target, tmp_path
):
    _seed(empty, 3)
    gone_at = "2026-01-01T00:00:00+00:00"
    rows = [
        course(0, hs_course_name="renamed"),
        course(10),
        {"external_course_id": "EXT-2", "_sdc_deleted_at": gone_at},
        {"hs_course_name": "no key"},
    ]

    messages = [*flat_messages(rows), state({"bookmarks": {"courses": {"n": 4}}})]

    run = run_target(target_config(empty, dry_run=True), messages)

    assert run.states == []  # a bookmark must not move past unwritten rows
    counts = run.counts
    assert (counts["created"], counts["updated"], counts["archived"]) == (1, 1, 1)
    assert counts["rejected"] == 1
    assert by_key(empty)["EXT-0"].properties["hs_course_name"] == "Course 0"
    assert len(empty.store.active_courses()) == 3
    writes = ("batch_upsert", "batch_update", "batch_create", "batch_archive")
    assert all(empty.stats.route(kind) == 0 for kind in writes)
    assert "Dry run, nothing written; would have: 1 created, 1 updated" in run.logs


def test_overwrite_archives_courses_missing_from_the_input(
    empty, target_config, run_target
):
    _seed(empty, 10)
    manual = empty.store.create_course({"hs_course_name": "Made by hand"})
    rows = [course(n) for n in range(9)]  # EXT-9 is gone

    run = run_target(target_config(empty, load_method="overwrite"), flat_messages(rows))

    assert "EXT-9" not in by_key(empty)
    assert len(by_key(empty)) == 9
    assert not manual.archived  # no key: not managed by this sync
    assert run.counts["archived"] == 1


def test_overwrite_refuses_an_empty_input(empty, target_config, run_target):
    _seed(empty, 5)

    run = run_target(
        target_config(empty, load_method="overwrite"),
        [schema()],
        expect_error=True,
    )

    assert isinstance(run.error, MirrorRefused)
    assert "no course rows" in str(run.error)
    assert len(empty.store.active_courses()) == 5


def test_overwrite_refuses_archiving_more_than_the_allowed_fraction(
    empty, target_config, run_target
):
    _seed(empty, 10)

    run = run_target(
        target_config(empty, load_method="overwrite"),
        flat_messages([course(n) for n in range(7)]),
        expect_error=True,
    )

    assert isinstance(run.error, MirrorRefused)
    assert "3 of 10 active courses (30%)" in str(run.error)
    assert len(empty.store.active_courses()) == 10


def test_association_rows_link_courses_of_the_same_run_by_key(
    empty, target_config, run_target
):
    messages = [
        ASSOC_SCHEMA,
        record(
            {
                "external_course_id": "EXT-1",
                "to_object_type": "contacts",
                "to_object_id": "501",
            },
            "course_associations",
        ),
        record(
            {
                "external_course_id": "EXT-1",
                "to_object_type": "companies",
                "to_object_id": "77",
            },
            "course_associations",
        ),
        schema(),
        record(course(1)),
    ]

    run = run_target(target_config(empty), messages)

    course_id = by_key(empty)["EXT-1"].id
    contacts = empty.store.associations_of(course_id, "contacts")
    companies = empty.store.associations_of(course_id, "companies")
    assert [(a.to_id, a.types[0].type_id) for a in contacts] == [("501", 860)]
    assert [(a.to_id, a.types[0].type_id) for a in companies] == [("77", 938)]
    assert run.counts["associated"] == 2


def test_association_to_a_missing_course_is_rejected(
    empty, target_config, run_target, tmp_path
):
    messages = [
        ASSOC_SCHEMA,
        record(
            {
                "course_id": "99999999",
                "to_object_type": "contacts",
                "to_object_id": "1",
            },
            "course_associations",
        ),
    ]

    run = run_target(target_config(empty), messages)

    rejects = read_rejects(tmp_path / "rejects.jsonl")
    assert rejects[0]["category"] == "OBJECT_NOT_FOUND"
    assert run.counts["associated"] == 0


def test_property_history_stream_is_ignored(empty, target_config, run_target):
    history = {
        "type": "SCHEMA",
        "stream": "course_property_history",
        "schema": {"type": "object", "properties": {"history_id": {}}},
        "key_properties": [],
    }
    messages = [history, record({"history_id": "h1"}, "course_property_history")]

    run = run_target(target_config(empty), messages)

    assert run.counts["rejected"] == 0
    assert empty.store.active_courses() == []
    assert "holds property history" in run.logs


def test_state_is_emitted_only_after_every_record_before_it_is_in_hubspot(
    empty, target_config, run_target, monkeypatch
):
    from singer_sdk import Target

    seen_at_state: list[set[str]] = []
    original = Target._write_state_message

    def snapshot(self, value):
        seen_at_state.append(set(by_key(empty)))
        original(self, value)

    monkeypatch.setattr(Target, "_write_state_message", snapshot)
    empty.faults.fail_next(3, 503, path_regex="batch/upsert")
    messages = [schema()]
    messages += [record(course(n)) for n in range(250)]
    messages.append(state({"bookmarks": {"courses": {"n": 250}}}))
    messages += [record(course(n)) for n in range(250, 300)]
    messages.append(state({"bookmarks": {"courses": {"n": 300}}}))

    run = run_target(target_config(empty, batch_size_rows=100), messages)

    # n=250 waits for the rows 201-250 of the third drain, which holds 300.
    assert run.states == [
        {"bookmarks": {"courses": {"n": 250}}},
        {"bookmarks": {"courses": {"n": 300}}},
    ]
    assert seen_at_state == [{f"EXT-{n}" for n in range(300)}] * 2
    assert run.target.client.stats.retries == 3


def test_429_storm_and_5xx_are_retried_until_every_course_lands(
    empty, target_config, run_target
):
    empty.faults.burst_429 = 6
    empty.faults.path_regexes = {"burst_429": "batch/upsert"}
    empty.faults.fail_next(2, 502, path_regex="batch/upsert")
    empty.faults.fail_next(1, 504, path_regex="batch/upsert")

    run = run_target(
        target_config(empty, retry_max_delay=0.05),
        flat_messages([course(n) for n in range(300)]),
    )

    assert len(by_key(empty)) == 300
    assert run.target.client.stats.throttled == 6
    assert run.target.client.stats.retries >= 9
    assert run.counts["rejected"] == 0


def test_concurrent_batches_stay_under_the_rate_limit(
    make_sandbox, target_config, run_target
):
    limited = make_sandbox(courses=0, rate_limit_max=10, rate_limit_interval_ms=2000)

    run = run_target(
        target_config(limited, rate_limit_requests=10, max_concurrent_requests=4),
        flat_messages([course(n) for n in range(2_000)]),
    )

    assert len(by_key(limited)) == 2_000
    assert limited.stats.rate_limited == 0
    assert run.target.client.stats.throttled == 0


@pytest.mark.parametrize(
    ("mode", "expected_route", "expected_calls"),
    [
        pytest.param("upsert", "batch_upsert", 10, id="upsert"),
        pytest.param("append-only", "batch_create", 10, id="append-only"),
    ],
)
def test_calls_per_1000_rows(
    empty, target_config, run_target, mode, expected_route, expected_calls
):
    run = run_target(
        target_config(empty, load_method=mode),
        flat_messages([course(n) for n in range(1_000)]),
    )

    assert empty.stats.route(expected_route) == expected_calls
    # Plus the access check and the property definitions.
    assert run.requests == expected_calls + 2
