"""The target against a local sandbox: writes, matching, validation, rejects."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import pathlib

import pytest

from hubspot_courses.errors import ConfigValidationError
from hubspot_sandbox.definitions import make_property
from target_hubspot_courses.target import TargetHubSpotCourses, TooManyRejects
from tests.target.conftest import (
    by_key,
    course,
    flat_messages,
    read_rejects,
    record,
    schema,
)


@pytest.fixture
def empty(make_sandbox):
    """An empty portal with the seeded custom properties."""
    return make_sandbox(courses=0)


def test_upsert_run_twice_creates_then_updates_without_duplicates(
    empty, target_config, run_target
):
    config = target_config(empty)
    rows = [course(n, hs_enrollment_capacity=n) for n in range(150)]

    first = run_target(config, flat_messages(rows))
    changed = [course(n, hs_enrollment_capacity=n + 1) for n in range(150)]
    second = run_target(config, flat_messages(changed))

    held = by_key(empty)
    assert len(empty.store.active_courses()) == 150
    assert held["EXT-7"].properties["hs_enrollment_capacity"] == "8"
    assert (first.counts["created"], first.counts["updated"]) == (150, 0)
    assert (second.counts["created"], second.counts["updated"]) == (0, 150)


def test_row_with_record_id_is_updated_by_id(empty, target_config, run_target):
    existing = empty.store.create_course({"hs_course_name": "Old name"})

    run = run_target(
        target_config(empty),
        flat_messages([{"hs_object_id": existing.id, "hs_course_name": "New name"}]),
    )

    assert existing.properties["hs_course_name"] == "New name"
    assert run.counts["updated"] == 1
    assert empty.stats.route("batch_update") == 1
    assert empty.stats.route("batch_upsert") == 0


def test_unknown_record_id_with_key_falls_back_to_upsert(
    empty, target_config, run_target
):
    row = course(1, hs_object_id="99999999")

    run = run_target(target_config(empty), flat_messages([row]))

    assert list(by_key(empty)) == ["EXT-1"]
    assert run.counts["created"] == 1
    assert run.counts["rejected"] == 0


def test_unknown_record_id_without_key_is_rejected_with_hubspot_category(
    empty, target_config, run_target, tmp_path
):
    run = run_target(
        target_config(empty),
        flat_messages([{"hs_object_id": "99999999", "hs_course_name": "X"}]),
    )

    rejects = read_rejects(tmp_path / "rejects.jsonl")
    assert run.counts["rejected"] == 1
    assert rejects[0]["category"] == "OBJECT_NOT_FOUND"
    assert "id_property" in rejects[0]["fix"]
    assert empty.store.active_courses() == []


def test_ignore_record_ids_matches_on_key_even_when_the_id_exists(
    empty, target_config, run_target
):
    other = empty.store.create_course({"hs_course_name": "Unrelated"})

    run_target(
        target_config(empty, ignore_record_ids=True),
        flat_messages([course(1, hs_object_id=other.id)]),
    )

    assert other.properties["hs_course_name"] == "Unrelated"
    assert by_key(empty)["EXT-1"].properties["hs_course_name"] == "Course 1"


def test_non_unique_id_property_is_refused_at_start_up_naming_unique_ones(
    empty, target_config
):
    config = target_config(empty, id_property="hs_course_id")

    with pytest.raises(ConfigValidationError) as refused:
        TargetHubSpotCourses(config=config)

    assert "'hs_course_id' is not unique" in str(refused.value)
    assert "'external_course_id'" in str(refused.value)


def test_duplicate_keys_in_a_batch_keep_the_last_row_and_are_counted(
    empty, target_config, run_target
):
    rows = [
        course(1, hs_course_name="first"),
        course(2),
        course(1, hs_course_name="last"),
    ]

    run = run_target(target_config(empty), flat_messages(rows))

    assert by_key(empty)["EXT-1"].properties["hs_course_name"] == "last"
    assert len(empty.store.active_courses()) == 2
    assert run.counts["deduplicated"] == 1
    assert empty.stats.by_status.get(400, 0) == 0


def test_one_invalid_input_among_100_lands_99_and_rejects_one_with_hubspot_reason(
    empty, target_config, run_target, tmp_path
):
    empty.store.create_course(
        {"hs_course_name": "Holder", "hs_course_id": "x", "external_course_id": "T"}
    )
    rows = [course(n) for n in range(100)]
    # A value only HubSpot can refuse: required name missing on create.
    rows[42] = {"external_course_id": "EXT-42", "hs_course_description": "no name"}

    run = run_target(target_config(empty), flat_messages(rows))

    rejects = read_rejects(tmp_path / "rejects.jsonl")
    assert len(by_key(empty)) == 100  # 99 new plus the holder
    assert "EXT-42" not in by_key(empty)
    assert [r["record"]["external_course_id"] for r in rejects] == ["EXT-42"]
    assert rejects[0]["category"] == "VALIDATION_ERROR"
    assert rejects[0]["code"] == "REQUIRED_PROPERTY"
    assert "hs_course_name" in rejects[0]["reason"]
    assert run.counts["created"] == 99
    assert empty.stats.route("batch_upsert") == 1


def test_conflict_is_rejected_per_input_and_a_whole_batch_409_is_split(
    empty, target_config, run_target, tmp_path
):
    empty.store.add_property(
        make_property("lms_code", "LMS code", "string", "text", unique=True)
    )
    holder = empty.store.create_course(
        {"hs_course_name": "Holder", "external_course_id": "H", "lms_code": "TAKEN"}
    )
    columns = {"external_course_id": {}, "hs_course_name": {}, "lms_code": {}}
    rows = [course(n) for n in range(6)]
    rows.append(course(99, lms_code="TAKEN"))  # unique value held by another
    empty.faults.fail_next(1, 409, path_regex="batch/upsert")

    run = run_target(
        target_config(empty), [schema(columns=columns), *(record(r) for r in rows)]
    )

    rejects = read_rejects(tmp_path / "rejects.jsonl")
    assert [r["record"]["external_course_id"] for r in rejects] == ["EXT-99"]
    assert rejects[0]["category"] == "CONFLICT"
    assert holder.properties["lms_code"] == "TAKEN"
    assert {f"EXT-{n}" for n in range(6)} <= set(by_key(empty))
    assert "EXT-99" not in by_key(empty)
    assert empty.stats.route("batch_upsert") == 3  # refused whole, then halves
    assert run.counts["rejected"] == 1


def test_whole_batch_400_is_bisected_until_the_bad_input_stands_alone(
    empty, target_config, run_target, tmp_path, monkeypatch
):
    from target_hubspot_courses import writer

    # Drop trace ids so the sandbox fails the whole call, as HubSpot does.
    original = writer.CourseWriter._input

    def without_trace(self, op, row):
        item = original(self, op, row)
        item.pop("objectWriteTraceId")
        return item

    monkeypatch.setattr(writer.CourseWriter, "_input", without_trace)
    rows = [course(n) for n in range(16)]
    rows[9] = {"external_course_id": "EXT-9"}  # no name: refused on create

    run = run_target(target_config(empty), flat_messages(rows))

    rejects = read_rejects(tmp_path / "rejects.jsonl")
    assert len(by_key(empty)) == 15
    assert [r["record"]["external_course_id"] for r in rejects] == ["EXT-9"]
    assert rejects[0]["code"] == "REQUIRED_PROPERTY"
    # 1 + 2 + 2 + 2 + 2 calls: halves down to the single bad input.
    assert empty.stats.route("batch_upsert") == 9
    assert run.counts["created"] == 15


def test_select_label_is_sent_as_its_option_value(empty, target_config, run_target):
    rows = [course(1, delivery_format="In person", topics=["Safety", "data"])]

    run_target(target_config(empty), flat_messages(rows))

    held = by_key(empty)["EXT-1"].properties
    assert held["delivery_format"] == "in_person"
    assert held["topics"] == "safety;data"


def test_date_and_datetime_values_are_sent_in_hubspot_formats(
    empty, target_config, run_target, tmp_path
):
    rows = [
        course(
            1,
            course_start_date="2026-05-04",
            enrollment_opens_at="2026-04-01T09:30:00+02:00",
        )
    ]

    run = run_target(target_config(empty), flat_messages(rows))

    held = by_key(empty)["EXT-1"].properties
    assert held["course_start_date"] == "2026-05-04"
    assert held["enrollment_opens_at"] == "2026-04-01T07:30:00.000Z"
    assert run.counts["rejected"] == 0
    assert read_rejects(tmp_path / "rejects.jsonl") == []


def test_decimal_numbers_keep_their_precision(empty, target_config, run_target):
    run_target(
        target_config(empty),
        flat_messages([course(1, price=decimal.Decimal("1234567.125"))]),
    )

    assert by_key(empty)["EXT-1"].properties["price"] == "1234567.125"


def test_string_over_65536_characters_is_rejected_before_sending(
    empty, target_config, run_target, tmp_path
):
    rows = [course(1, hs_course_description="x" * 65_537), course(2)]

    run = run_target(target_config(empty), flat_messages(rows))

    rejects = read_rejects(tmp_path / "rejects.jsonl")
    assert list(by_key(empty)) == ["EXT-2"]
    assert rejects[0]["code"] == "VALUE_TOO_LONG"
    assert rejects[0]["category"] == "LOCAL_VALIDATION"
    assert run.counts["rejected"] == 1


def test_unknown_column_is_rejected_naming_the_property(
    empty, target_config, run_target, tmp_path
):
    columns = {"external_course_id": {}, "hs_course_name": {}, "colour": {}}
    messages = [
        schema(columns=columns),
        record({"external_course_id": "A", "hs_course_name": "A", "colour": "red"}),
    ]

    run = run_target(target_config(empty), messages)

    rejects = read_rejects(tmp_path / "rejects.jsonl")
    assert rejects[0]["code"] == "PROPERTY_DOESNT_EXIST"
    assert rejects[0]["property"] == "colour"
    assert empty.store.active_courses() == []
    assert run.counts["rejected"] == 1


def test_account_read_only_column_is_rejected_in_flat_rows(
    empty, target_config, run_target, tmp_path
):
    columns = {"external_course_id": {}, "hs_course_name": {}, "rating": {}}
    messages = [
        schema(columns=columns),
        record({"external_course_id": "A", "hs_course_name": "A", "rating": 4}),
    ]

    run_target(target_config(empty), messages)

    assert read_rejects(tmp_path / "rejects.jsonl")[0]["code"] == "READ_ONLY_VALUE"


def test_nested_value_for_a_scalar_property_is_rejected(
    empty, target_config, run_target, tmp_path
):
    columns = {"external_course_id": {}, "hs_course_name": {}}
    messages = [
        schema(columns=columns),
        record({"external_course_id": "A", "hs_course_name": {"en": "A"}}),
    ]

    run_target(target_config(empty), messages)

    assert read_rejects(tmp_path / "rejects.jsonl")[0]["code"] == "INVALID_TYPE"


def test_nulls_leave_values_unchanged_and_empty_strings_clear(
    empty, target_config, run_target
):
    empty.store.create_course(
        {
            "hs_course_name": "A",
            "external_course_id": "EXT-1",
            "hs_course_description": "keep",
            "instructor_email": "drop@example.com",
        }
    )

    run_target(
        target_config(empty),
        flat_messages([course(1, hs_course_description=None, instructor_email="")]),
    )

    held = by_key(empty)["EXT-1"].properties
    assert held["hs_course_description"] == "keep"
    assert "instructor_email" not in held


def test_null_values_clear_setting_clears_on_null(empty, target_config, run_target):
    empty.store.create_course(
        {"hs_course_name": "A", "external_course_id": "EXT-1", "price": "5"}
    )

    run_target(
        target_config(empty, null_values="clear"),
        flat_messages([course(1, price=None)]),
    )

    assert "price" not in by_key(empty)["EXT-1"].properties


def test_sdc_deleted_at_archives_the_course_without_add_record_metadata(
    empty, target_config, run_target
):
    keep = empty.store.create_course({"hs_course_name": "K", "external_course_id": "K"})
    gone = empty.store.create_course({"hs_course_name": "G", "external_course_id": "G"})
    deleted_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).isoformat()

    run = run_target(
        target_config(empty),
        flat_messages([{"external_course_id": "G", "_sdc_deleted_at": deleted_at}]),
    )

    assert gone.archived
    assert not keep.archived
    assert run.counts["archived"] == 1


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("enrollment_opens_at", "next tuesday"),
        ("enrollment_opens_at", "2026-02-30T10:00:00Z"),
        ("course_start_date", "2026-13-01"),
    ],
)
def test_unparsable_date_column_is_rejected_not_sent_as_null(
    empty, target_config, run_target, tmp_path, column, value
):
    empty.store.create_course(
        {
            "hs_course_name": "A",
            "external_course_id": "EXT-1",
            "enrollment_opens_at": "2026-01-01T00:00:00Z",
            "course_start_date": "2026-01-01",
        }
    )
    before = dict(by_key(empty)["EXT-1"].properties)

    run = run_target(
        target_config(empty),
        flat_messages([course(1, **{column: value}), course(2)]),
    )

    rejects = read_rejects(tmp_path / "rejects.jsonl")
    assert [r["record"]["external_course_id"] for r in rejects] == ["EXT-1"]
    assert rejects[0]["code"] == "SCHEMA_MISMATCH"
    assert value in rejects[0]["reason"]
    assert by_key(empty)["EXT-1"].properties[column] == before[column]
    assert "EXT-2" in by_key(empty)
    assert run.counts["rejected"] == 1


def test_unparsable_sdc_deleted_at_is_rejected_not_upserted(
    empty, target_config, run_target, tmp_path
):
    kept = empty.store.create_course({"hs_course_name": "G", "external_course_id": "G"})

    run = run_target(
        target_config(empty),
        flat_messages([{"external_course_id": "G", "_sdc_deleted_at": "yesterday"}]),
    )

    assert not kept.archived
    assert read_rejects(tmp_path / "rejects.jsonl")[0]["code"] == "SCHEMA_MISMATCH"
    assert run.counts["rejected"] == 1


def test_max_rejects_fails_the_run_after_the_good_records_landed(
    empty, target_config, run_target, tmp_path
):
    rows = [course(n) for n in range(10)]
    rows += [{"external_course_id": f"BAD-{n}", "colour": "red"} for n in range(3)]
    columns = {"external_course_id": {}, "hs_course_name": {}, "colour": {}}

    run = run_target(
        target_config(empty, max_rejects=2),
        [schema(columns=columns), *(record(r) for r in rows)],
        expect_error=True,
    )

    assert isinstance(run.error, TooManyRejects)
    assert str(tmp_path / "rejects.jsonl") in str(run.error)
    assert len(by_key(empty)) == 10
    assert len(read_rejects(tmp_path / "rejects.jsonl")) == 3
    assert run.states == []


def test_append_only_creates_every_row_and_requires_a_name(
    empty, target_config, run_target, tmp_path
):
    rows = [{"hs_course_name": "No key 1"}, {"hs_course_name": "No key 2"}, {}]

    run = run_target(
        target_config(empty, load_method="append-only"), flat_messages(rows)
    )

    names = sorted(c.properties["hs_course_name"] for c in empty.store.active_courses())
    assert names == ["No key 1", "No key 2"]
    assert read_rejects(tmp_path / "rejects.jsonl")[0]["code"] == "REQUIRED_PROPERTY"
    assert run.counts["created"] == 2


def test_rows_without_key_are_rejected_in_upsert_mode(
    empty, target_config, run_target, tmp_path
):
    run = run_target(target_config(empty), flat_messages([{"hs_course_name": "A"}]))

    assert read_rejects(tmp_path / "rejects.jsonl")[0]["code"] == "MISSING_KEY"
    assert run.counts["rejected"] == 1


def test_summary_line_reports_every_counter(empty, target_config, run_target):
    rows = [course(1), course(1), course(2), {"hs_course_name": "no key"}]

    run = run_target(target_config(empty), flat_messages(rows))

    line = next(x for x in run.logs.splitlines() if "created," in x)
    assert "2 created, 0 updated, 0 archived, 0 associated, 1 rejected" in line
    assert "1 deduplicated" in line
    assert f"{run.requests} API calls, 0 retries, 0 throttled (429)" in line


def test_token_never_appears_in_output_logs_or_rejects(
    empty, target_config, run_target, sandbox_token, tmp_path
):
    empty.faults.fail_next(2, 503)
    rows = [course(1), {"hs_course_name": "bad", "colour": "x"}]

    run = run_target(target_config(empty), flat_messages(rows))

    rejects_text = pathlib.Path(tmp_path / "rejects.jsonl").read_text()
    assert sandbox_token not in run.stdout
    assert sandbox_token not in run.logs
    assert sandbox_token not in rejects_text


def test_input_lines_msgspec_refuses_are_still_read(empty, target_config, tmp_path):
    config = target_config(empty)
    lines = [
        json.dumps(schema()),
        json.dumps(record(course(1, hs_course_description="plain"))),
        '{"type": "RECORD", "stream": "courses", "record": '
        '{"external_course_id": "EXT-2", "hs_course_name": "Course 2", '
        '"price": NaN}}',
    ]
    target = TargetHubSpotCourses(config=config)

    target.listen(io.StringIO("\n".join(lines) + "\n"))

    held = by_key(empty)
    assert held["EXT-1"].properties["hs_course_description"] == "plain"
    rejects = read_rejects(tmp_path / "rejects.jsonl")
    assert [(r["record"]["external_course_id"], r["code"]) for r in rejects] == [
        ("EXT-2", "INVALID_NUMBER")
    ]


def test_lone_surrogate_is_rejected_and_the_other_rows_land(
    empty, target_config, tmp_path
):
    lines = [
        json.dumps(schema()),
        json.dumps(record(course(1))),
        '{"type": "RECORD", "stream": "courses", "record": '
        '{"external_course_id": "EXT-2", "hs_course_name": "lone \\ud800 half"}}',
        json.dumps(record(course(3))),
    ]
    target = TargetHubSpotCourses(config=target_config(empty))

    target.listen(io.StringIO("\n".join(lines) + "\n"))

    assert set(by_key(empty)) == {"EXT-1", "EXT-3"}
    rejects = read_rejects(tmp_path / "rejects.jsonl")
    assert [(r["record"]["external_course_id"], r["code"]) for r in rejects] == [
        ("EXT-2", "INVALID_STRING")
    ]
    assert "U+D800" in rejects[0]["reason"]
