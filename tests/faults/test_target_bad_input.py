"""Bad-input catalogue for the target: each bad record rejected once, precisely.

Hypothesis mixes good rows (unicode and emoji, option labels, nulls, long
but valid strings, repeated keys) with bad ones from a catalogue (wrong
types, unknown properties, missing or null keys, strings over HubSpot's
limit, impossible dates, unknown options, nested values). The run never
crashes; every bad record gets one reject naming its code and property;
every good record lands in the sandbox once, with its last values.
"""

from __future__ import annotations

import pathlib
import typing as t
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.target.conftest import read_rejects, record, schema, state

if t.TYPE_CHECKING:
    from hubspot_sandbox import Sandbox

PERMISSIVE: dict[str, dict[str, t.Any]] = {
    name: {}
    for name in (
        "external_course_id",
        "hs_course_name",
        "hs_course_description",
        "hs_enrollment_capacity",
        "is_certified",
        "course_start_date",
        "delivery_format",
        "price",
        "no_such_property",
    )
}
"""Columns without declared types, so the target's own checks do the work."""

BAD_KINDS: dict[str, tuple[dict[str, t.Any], str]] = {
    # kind: (values replacing the row's, reject code); the first value's
    # column is the property the reject must name
    "number-as-word": ({"hs_enrollment_capacity": "lots"}, "INVALID_NUMBER"),
    "bool-as-word": ({"is_certified": "maybe"}, "INVALID_BOOLEAN"),
    "unknown-property": ({"no_such_property": 1}, "PROPERTY_DOESNT_EXIST"),
    "missing-key": ({"external_course_id": ...}, "MISSING_KEY"),
    "null-key": ({"external_course_id": None}, "MISSING_KEY"),
    "string-over-limit": ({"hs_course_description": "x" * 70_000}, "VALUE_TOO_LONG"),
    "impossible-date": ({"course_start_date": "2026-02-30"}, "INVALID_DATE"),
    "unknown-option": ({"delivery_format": "carrier pigeon"}, "INVALID_OPTION"),
    "nested-object": ({"price": {"amount": 3}}, "INVALID_TYPE"),
    "nested-list": ({"hs_course_name": ["a", "b"]}, "INVALID_TYPE"),
}

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
    min_size=1,
    max_size=40,
).filter(lambda value: value.strip() == value and value != "")

UNICODE_NAMES = [
    "Café ☕",
    "日本語で学ぶ 🚀",
    "Ω≈ç√∫",
    "👩‍🏫",
]
"""Names with accents, CJK, symbols, emoji and a zero-width-joined emoji."""

GOOD = st.fixed_dictionaries(
    {
        "hs_course_name": st.one_of(
            TEXT,
            st.sampled_from(UNICODE_NAMES),
        ),
        "delivery_format": st.sampled_from(
            ["in_person", "Online (live)", "Self-paced", "hybrid", None]
        ),
        "hs_enrollment_capacity": st.one_of(st.none(), st.integers(0, 10_000)),
        "is_certified": st.one_of(st.none(), st.booleans()),
        "long_note": st.sampled_from([0, 1000, 65_000]),
    }
)

LABELS = {"Online (live)": "online", "Self-paced": "self_paced"}


def _bad_row(kind: str, key: str) -> dict[str, t.Any]:
    values, _code = BAD_KINDS[kind]
    row: dict[str, t.Any] = {"external_course_id": key, "hs_course_name": "Bad row"}
    for name, value in values.items():
        if value is ...:
            row.pop(name)
        else:
            row[name] = value
    return row


@pytest.fixture
def portal(make_sandbox: t.Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox(courses=0)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    plan=st.lists(
        st.one_of(
            st.tuples(st.just("good"), GOOD, st.integers(0, 5)),
            st.tuples(st.sampled_from(sorted(BAD_KINDS)), st.none(), st.just(0)),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_mixed_good_and_bad_rows_land_once_or_are_rejected_once_with_a_reason(
    portal: Sandbox,
    target_config: t.Callable[..., dict[str, t.Any]],
    run_target: t.Callable[..., t.Any],
    tmp_path: pathlib.Path,
    plan: list[tuple[str, dict[str, t.Any] | None, int]],
) -> None:
    prefix = uuid.uuid4().hex[:8]
    rejects_path = tmp_path / f"rejects-{prefix}.jsonl"
    rows: list[dict[str, t.Any]] = []
    expected_good: dict[str, dict[str, t.Any]] = {}
    expected_bad: dict[str, str] = {}
    for index, (kind, values, slot) in enumerate(plan):
        marker = f"{prefix}-{index}"
        if kind == "good":
            assert values is not None
            key = f"{prefix}-good-{slot}"  # slots repeat: duplicate keys
            note = values["long_note"]
            row = {k: v for k, v in values.items() if k != "long_note"}
            row["external_course_id"] = key
            row["hs_course_description"] = marker + "·" * max(0, note - len(marker))
            rows.append(row)
            expected_good[key] = row
        else:
            row = _bad_row(kind, f"{prefix}-bad-{index}")
            row.setdefault("hs_course_description", marker)
            if kind == "string-over-limit":
                row["hs_course_description"] = marker + row["hs_course_description"]
            rows.append(row)
            expected_bad[marker] = kind
    messages = [
        schema(columns=PERMISSIVE),
        *(record(row) for row in rows),
        state({"bookmarks": {"source": {"done": len(rows)}}}),
    ]
    config = target_config(
        portal, rejects_path=str(rejects_path), max_rejects=1000, batch_size_rows=7
    )

    run = run_target(config, messages)

    rejects = read_rejects(rejects_path)
    assert run.states[-1] == {"bookmarks": {"source": {"done": len(rows)}}}
    assert len(rejects) == len(expected_bad)
    for marker, kind in expected_bad.items():
        values, code = BAD_KINDS[kind]
        found = [
            e
            for e in rejects
            if str(e["record"].get("hs_course_description", "")).startswith(marker)
            and str(e["record"].get("hs_course_description", ""))[len(marker) :][:1]
            in ("", "x")
        ]
        assert len(found) == 1, (kind, found)
        assert found[0]["code"] == code, (kind, found[0])
        assert found[0]["property"] == next(iter(values)), (kind, found[0])
        assert found[0]["reason"]
        assert found[0]["fix"]
    landed: dict[str, list[t.Any]] = {}
    for course in portal.store.active_courses():
        key = course.properties.get("external_course_id") or ""
        if key.startswith(prefix):
            landed.setdefault(key, []).append(course)
    assert set(landed) == set(expected_good)
    for key, row in expected_good.items():
        assert len(landed[key]) == 1
        props = landed[key][0].properties
        assert props["hs_course_name"] == row["hs_course_name"]
        assert props["hs_course_description"] == row["hs_course_description"]
        if row["delivery_format"] is not None:
            wanted = LABELS.get(row["delivery_format"], row["delivery_format"])
            assert props["delivery_format"] == wanted


def test_second_schema_for_a_stream_applies_its_columns_to_later_records(
    portal: Sandbox,
    target_config: t.Callable[..., dict[str, t.Any]],
    run_target: t.Callable[..., t.Any],
    tmp_path: pathlib.Path,
) -> None:
    first = {
        "external_course_id": {"type": ["string"]},
        "hs_course_name": {"type": ["string", "null"]},
    }
    second = {
        "external_course_id": {"type": ["string"]},
        "hs_course_name": {"type": ["string", "null"]},
        "price": {"type": ["number", "null"]},
    }
    messages = [
        schema(columns=first),
        record({"external_course_id": "SC-1", "hs_course_name": "Before"}),
        schema(columns=second),
        record({"external_course_id": "SC-2", "hs_course_name": "After", "price": 9.5}),
        record({"external_course_id": "SC-3", "hs_course_name": "Bad", "price": "x"}),
        record({"external_course_id": "SC-1", "hs_course_name": "Again", "price": 1}),
    ]
    rejects_path = tmp_path / "schema-change-rejects.jsonl"

    run_target(target_config(portal, rejects_path=str(rejects_path)), messages)

    courses = {
        c.properties["external_course_id"]: c.properties
        for c in portal.store.active_courses()
    }
    rejects = read_rejects(rejects_path)
    assert set(courses) == {"SC-1", "SC-2"}
    assert courses["SC-1"]["hs_course_name"] == "Again"
    assert courses["SC-1"]["price"] == "1"
    assert courses["SC-2"]["price"] == "9.5"
    assert [(r["code"], r["record"]["external_course_id"]) for r in rejects] == [
        ("SCHEMA_MISMATCH", "SC-3")
    ]
    assert "'price'" in rejects[0]["reason"]


def test_declared_type_mismatch_is_rejected_with_the_column_and_others_land(
    portal: Sandbox,
    target_config: t.Callable[..., dict[str, t.Any]],
    run_target: t.Callable[..., t.Any],
    tmp_path: pathlib.Path,
) -> None:
    columns = {
        "external_course_id": {"type": ["string"]},
        "hs_course_name": {"type": ["string", "null"]},
        "course_start_date": {"type": ["string", "null"], "format": "date"},
        "hs_enrollment_capacity": {"type": ["integer", "null"]},
    }
    messages = [
        schema(columns=columns),
        record({"external_course_id": "T-1", "hs_course_name": "ok"}),
        record({"external_course_id": "T-2", "course_start_date": "2026-02-30"}),
        record({"external_course_id": "T-3", "hs_enrollment_capacity": "ten"}),
        record({"external_course_id": "T-4", "hs_course_name": {"nested": True}}),
    ]
    rejects_path = tmp_path / "typed-rejects.jsonl"

    run_target(target_config(portal, rejects_path=str(rejects_path)), messages)

    rejects = read_rejects(rejects_path)
    keys = {c.properties["external_course_id"] for c in portal.store.active_courses()}
    assert keys == {"T-1"}
    by_key = {r["record"]["external_course_id"]: r for r in rejects}
    assert set(by_key) == {"T-2", "T-3", "T-4"}
    assert "'course_start_date'" in by_key["T-2"]["reason"]
    assert "'hs_enrollment_capacity'" in by_key["T-3"]["reason"]
    assert "'hs_course_name'" in by_key["T-4"]["reason"]
