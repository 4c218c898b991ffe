"""The record validator: its compiled check never accepts what jsonschema refuses."""

from __future__ import annotations

import decimal
import typing as t

from hypothesis import given, settings
from hypothesis import strategies as st

from target_hubspot_courses.validation import RecordValidator
from tests.target.conftest import COURSE_COLUMNS

SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "properties": {
        **COURSE_COLUMNS,
        "seats": {"type": ["integer", "null"], "minimum": 0},
        "code": {"type": "string", "maxLength": 8},
        "meta": {
            "type": ["object", "null"],
            "properties": {"at": {"type": "string", "format": "date-time"}},
            "additionalProperties": False,
        },
        "slot": {"anyOf": [{"type": "string", "format": "time"}, {"type": "null"}]},
    },
    "required": ["external_course_id"],
}

dates = st.dates().map(str)
datetimes = st.datetimes().map(lambda d: d.isoformat())
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**12),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    dates,
    datetimes,
    st.sampled_from(["2026-02-30", "2026-02-30T10:00:00Z", "24:61", "10:30", "now"]),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.sampled_from(["at", "x"]), scalars, max_size=2),
)
records = st.dictionaries(st.sampled_from(list(SCHEMA["properties"])), values)


def test_the_course_column_schema_gets_the_compiled_check() -> None:
    assert RecordValidator(SCHEMA).compiled


def test_schemas_with_keywords_read_differently_skip_the_compiled_check() -> None:
    assert not RecordValidator({"properties": {"n": {"enum": [1]}}}).compiled
    assert not RecordValidator({"properties": {"e": {"format": "email"}}}).compiled
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#"}
    assert not RecordValidator(draft4).compiled


COMPILED = RecordValidator(SCHEMA)
JUDGED_ONLY = RecordValidator({**SCHEMA, "$comment": "keeps the compiled check out"})


@settings(max_examples=1000, deadline=None)
@given(records)
def test_compiled_check_gives_the_verdict_of_jsonschema_alone(record) -> None:
    assert COMPILED.compiled
    assert not JUDGED_ONLY.compiled

    COMPILED.validate(record)
    JUDGED_ONLY.validate(record)

    assert COMPILED.last_error == JUDGED_ONLY.last_error, record


def test_unparsable_datetime_is_refused_with_the_value_named() -> None:
    validator = RecordValidator(SCHEMA)

    validator.validate({"external_course_id": "A", "enrollment_opens_at": "soon"})

    assert validator.last_error == "'enrollment_opens_at': 'soon' is not a 'date-time'"


def test_fitting_record_with_decimals_passes_the_compiled_check() -> None:
    validator = RecordValidator(SCHEMA)
    record = {
        "external_course_id": "A",
        "price": decimal.Decimal("10.25"),
        "enrollment_opens_at": "2026-04-01T09:30:00+02:00",
        "course_start_date": "2026-04-01",
        "topics": ["a"],
    }

    validator.validate(record)

    assert validator.last_error is None
