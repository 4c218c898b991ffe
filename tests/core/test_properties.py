"""Value conversion between HubSpot's strings and typed values."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hubspot_courses import properties
from hubspot_courses.errors import ValueRejected
from hubspot_courses.properties import (
    MAX_STRING_LENGTH,
    PropertyDef,
    Unparsable,
    format_value,
    parse_properties,
    parse_value,
)

NUMBER = PropertyDef("price", "Price", "number", "number")
BOOL = PropertyDef("is_certified", "Certified", "bool", "booleancheckbox")
DATE = PropertyDef("course_start_date", "Start", "date", "date")
DATETIME = PropertyDef("enrollment_opens_at", "Opens", "datetime", "date")
TEXT = PropertyDef("hs_course_name", "Name", "string", "text")
SELECT = PropertyDef(
    "delivery_format",
    "Format",
    "enumeration",
    "select",
    options=(("in_person", "In person"), ("online", "Online")),
)
CHECKBOX = PropertyDef(
    "topics",
    "Topics",
    "enumeration",
    "checkbox",
    options=(("safety", "Safety"), ("first_aid", "First aid"), ("fire", "Fire")),
)


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        (NUMBER, {"type": ["number", "null"]}),
        (BOOL, {"type": ["boolean", "null"]}),
        (DATE, {"type": ["string", "null"], "format": "date"}),
        (DATETIME, {"type": ["string", "null"], "format": "date-time"}),
        (CHECKBOX, {"type": ["array", "null"], "items": {"type": "string"}}),
        (SELECT, {"type": ["string", "null"]}),
    ],
    ids=lambda value: getattr(value, "name", ""),
)
def test_json_schema_types_each_hubspot_type(prop, expected):
    schema = prop.json_schema()
    schema.pop("description", None)
    assert schema == expected


@pytest.mark.parametrize(
    ("prop", "raw", "expected"),
    [
        (NUMBER, "17", decimal.Decimal(17)),
        (NUMBER, "1.5e3", decimal.Decimal(1500)),
        (BOOL, "true", True),
        (BOOL, "FALSE", False),
        (DATE, "2026-04-02", "2026-04-02"),
        (DATE, "1430438400000", "2015-05-01"),
        (DATETIME, "2026-04-02T09:15:00.120Z", "2026-04-02T09:15:00.120Z"),
        (DATETIME, "1430438400000", "2015-05-01T00:00:00.000Z"),
        (DATETIME, "2026-04-02T11:15:00+02:00", "2026-04-02T09:15:00.000Z"),
        (CHECKBOX, "safety;fire", ["safety", "fire"]),
        (TEXT, "Sécurité 🔥", "Sécurité 🔥"),
        (TEXT, "", None),
        (NUMBER, None, None),
    ],
)
def test_parse_value_converts_hubspot_strings(prop, raw, expected):
    assert parse_value(prop, raw) == expected


@pytest.mark.parametrize(
    ("prop", "raw"),
    [(NUMBER, "twelve"), (NUMBER, "NaN"), (BOOL, "maybe"), (DATE, "02/04/2026")],
)
def test_parse_value_refuses_values_outside_their_type(prop, raw):
    with pytest.raises(Unparsable):
        parse_value(prop, raw)


def test_parse_properties_keeps_unparsable_values_raw():
    typed, unparsed = parse_properties(
        {"price": NUMBER, "hs_course_name": TEXT},
        {"price": "12 EUR", "hs_course_name": "Ladders", "extra": "x"},
    )
    assert typed == {"price": None, "hs_course_name": "Ladders", "extra": "x"}
    assert unparsed == {"price": "12 EUR"}


@given(
    st.one_of(
        st.text(max_size=40),
        st.integers().map(str),
        st.datetimes().map(lambda d: d.isoformat() + "-05:00"),
        st.datetimes().map(lambda d: d.isoformat() + "+14:00"),
    )
)
@example("99999999999999999999")
@example("0001-01-01T00:00:00+02:00")
@example("²")
def test_parse_value_never_raises_other_than_unparsable(raw):
    for prop in (NUMBER, BOOL, DATE, DATETIME, TEXT, SELECT, CHECKBOX):
        with contextlib.suppress(Unparsable):
            parse_value(prop, raw)


@given(
    st.one_of(
        st.text(max_size=40),
        st.integers(),
        st.decimals(),
        st.datetimes(
            timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-9))])
        ),
    )
)
@example("99999999999999999999")
@example(decimal.Decimal("Infinity"))
@example(dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))))
def test_format_value_rejects_any_bad_instant_with_a_reason(value):
    for prop in (DATE, DATETIME):
        with contextlib.suppress(ValueRejected):
            format_value(prop, value)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6))
def test_number_round_trips_through_hubspot_string(value):
    assert parse_value(NUMBER, format_value(NUMBER, value)) == value


@given(st.datetimes(timezones=st.just(dt.UTC)))
def test_datetime_round_trips_to_the_millisecond(value):
    text = format_value(DATETIME, value)
    back = dt.datetime.fromisoformat(parse_value(DATETIME, text))
    assert abs(back - value) < dt.timedelta(milliseconds=1)


@given(st.dates())
def test_date_round_trips(value):
    assert parse_value(DATE, format_value(DATE, value)) == value.isoformat()


def test_format_date_keeps_the_calendar_date_of_a_datetime():
    late = dt.datetime(2026, 4, 2, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert format_value(DATE, late) == "2026-04-02"


def test_format_enumeration_maps_labels_to_values():
    assert format_value(SELECT, "In person") == "in_person"
    assert format_value(CHECKBOX, ["Safety", "fire"]) == "safety;fire"


def test_format_enumeration_rejects_unknown_option_listing_allowed_values():
    with pytest.raises(ValueRejected, match="in_person, online") as caught:
        format_value(SELECT, "Zoom")
    assert caught.value.code == "INVALID_OPTION"


@pytest.mark.parametrize(
    ("prop", "value", "code"),
    [
        (NUMBER, "twelve", "INVALID_NUMBER"),
        (NUMBER, True, "INVALID_NUMBER"),
        (BOOL, "maybe", "INVALID_BOOLEAN"),
        (DATE, "next tuesday", "INVALID_DATE"),
        (TEXT, {"nested": 1}, "INVALID_TYPE"),
        (TEXT, "x" * (MAX_STRING_LENGTH + 1), "VALUE_TOO_LONG"),
    ],
    ids=["word-number", "bool-number", "bad-bool", "bad-date", "nested", "too-long"],
)
def test_format_value_rejects_with_code_and_fix(prop, value, code):
    with pytest.raises(ValueRejected) as caught:
        format_value(prop, value)
    assert caught.value.code == code
    assert caught.value.fix
    assert prop.name in str(caught.value)


def test_format_value_passes_empty_string_to_clear():
    assert format_value(NUMBER, "") == ""


def test_format_bool_accepts_booleans_and_words():
    assert format_value(BOOL, True) == "true"
    assert format_value(BOOL, "No") == "false"


def test_date_as_midnight_datetime_types_a_date_as_a_timestamp():
    prop = DATE.as_midnight_datetime()
    assert prop.json_schema()["format"] == "date-time"
    assert parse_value(prop, "2026-04-02") == "2026-04-02T00:00:00.000Z"
    assert format_value(DATE, parse_value(prop, "2026-04-02")) == "2026-04-02"


@given(
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.sampled_from(["", "Z", "+02:00", "-05:30"]),
    st.sampled_from(["milliseconds", "seconds", "microseconds"]),
)
def test_datetime_shortcut_gives_what_the_full_parse_gives(
    instant: dt.datetime, zone: str, timespec: str
) -> None:
    text = instant.isoformat(timespec=timespec) + zone
    assert properties._parse_datetime(text) == properties._parse_instant(
        text, as_date=False
    )


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30T10:00:00.000Z",
        "2026-01-31T25:00:00.000Z",
        "2026-01-31T09:30:00.00xZ",
    ],
)
def test_datetime_shortcut_refuses_what_looks_canonical_but_is_not(text: str) -> None:
    with pytest.raises(Unparsable):
        parse_value(DATETIME, text)
