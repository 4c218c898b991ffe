"""Course property definitions and the conversion of their values.

HubSpot sends every property value as a string. This module is the one place
that knows how each HubSpot property type maps to JSON Schema, how its string
becomes a typed value for the warehouse (:func:`parse_value`), and how a typed
value from any source becomes the string HubSpot accepts (:func:`format_value`).

=============  ==================  ==========================================
HubSpot type   JSON Schema         wire format
=============  ==================  ==========================================
string         string              as is, at most 65,536 characters
number         number              decimal digits, one point (Decimal here)
bool           boolean             ``true`` / ``false``
date           string, date        ``YYYY-MM-DD`` (or epoch ms at midnight)
datetime       string, date-time   ISO-8601 UTC (or epoch ms)
enumeration    string              an option *value*
  checkbox     array of strings    option values joined by ``;``
=============  ==================  ==========================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import functools
import typing as t

from hubspot_courses.errors import ValueRejected

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from hubspot_courses.client import HubSpotClient

__all__ = [
    "MAX_STRING_LENGTH",
    "PropertyDef",
    "fetch_properties",
    "format_value",
    "parse_value",
]

MAX_STRING_LENGTH = 65_536
"""HubSpot's limit on a property value's length, in characters."""

_TRUE = frozenset({"true", "yes", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "0", "n", "f"})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_INT_DIGITS = 30


@dataclasses.dataclass(frozen=True)
class PropertyDef:
    """What the plugins need from one HubSpot property definition."""

    name: str
    label: str
    type: str
    field_type: str
    options: tuple[tuple[str, str], ...] = ()
    """``(value, label)`` pairs of an enumeration."""
    has_unique_value: bool = False
    read_only: bool = False
    calculated: bool = False
    hubspot_defined: bool = False

    @classmethod
    def from_api(cls, definition: Mapping[str, t.Any]) -> PropertyDef:
        """Build from one entry of the properties API's ``results``."""
        metadata = definition.get("modificationMetadata") or {}
        return cls(
            name=str(definition["name"]),
            label=str(definition.get("label") or definition["name"]),
            type=str(definition.get("type") or "string"),
            field_type=str(definition.get("fieldType") or "text"),
            options=tuple(
                (str(option.get("value", "")), str(option.get("label", "")))
                for option in definition.get("options") or []
            ),
            has_unique_value=bool(definition.get("hasUniqueValue")),
            read_only=bool(metadata.get("readOnlyValue")),
            calculated=bool(definition.get("calculated")),
            hubspot_defined=bool(definition.get("hubspotDefined")),
        )

    def as_midnight_datetime(self) -> PropertyDef:
        """This date property seen as a date-time at midnight UTC.

        HubSpot stores dates at midnight UTC, so nothing is lost; loaders
        without a date column type then still get a typed column.
        """
        return dataclasses.replace(self, type="datetime", field_type="date")

    @property
    def writable(self) -> bool:
        """Whether a write may set this property."""
        return not (self.read_only or self.calculated)

    @property
    def multi_valued(self) -> bool:
        """A multiple-checkbox enumeration, sent as ``a;b``."""
        return self.type == "enumeration" and self.field_type == "checkbox"

    @functools.cached_property
    def parser(self) -> t.Callable[[str], t.Any]:
        """Turns one non-empty HubSpot string of this property into its value.

        Raises:
            Unparsable: (when called) for a string that does not fit the type.
        """
        if self.multi_valued:
            return _parse_options
        return _PARSERS.get(self.type, _as_is)

    def json_schema(self) -> dict[str, t.Any]:
        """JSON Schema of this property's typed values (always nullable)."""
        schema: dict[str, t.Any]
        if self.type == "number":
            schema = {"type": ["number", "null"]}
        elif self.type == "bool":
            schema = {"type": ["boolean", "null"]}
        elif self.type == "date":
            schema = {"type": ["string", "null"], "format": "date"}
        elif self.type == "datetime":
            schema = {"type": ["string", "null"], "format": "date-time"}
        elif self.multi_valued:
            schema = {"type": ["array", "null"], "items": {"type": "string"}}
        else:
            schema = {"type": ["string", "null"]}
        if self.label and self.label != self.name:
            schema["description"] = self.label
        return schema


def fetch_properties(client: HubSpotClient) -> dict[str, PropertyDef]:
    """Read every live course property definition, keyed by name."""
    body = client.get(client.paths.properties(), {"archived": False})
    results = (body or {}).get("results") or []
    definitions = (PropertyDef.from_api(item) for item in results)
    return {item.name: item for item in sorted(definitions, key=lambda d: d.name)}


# ---------------------------------------------------------------- reading


class Unparsable(ValueError):
    """A HubSpot value that does not fit its property's declared type."""


def parse_value(prop: PropertyDef, raw: str | None) -> t.Any:
    """Turn HubSpot's string for ``prop`` into its typed value.

    Empty strings and missing values become ``None``.

    Raises:
        Unparsable: when the string does not fit the property's type.
    """
    if raw is None or raw == "":
        return None
    return prop.parser(raw if isinstance(raw, str) else str(raw))


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    raise Unparsable(f"'{_clip(raw)}' is not true or false")


def _parse_date(raw: str) -> str:
    return _parse_instant(raw, as_date=True)


def _parse_datetime(raw: str) -> str:
    """HubSpot's usual ``2026-01-31T09:30:00.000Z`` is already the output."""
    if (
        len(raw) == _CANONICAL_LENGTH
        and raw[-1] == "Z"
        and all(raw[at] == char for at, char in _CANONICAL_MARKS)
    ):
        try:
            dt.datetime.fromisoformat(raw)
        except ValueError:
            pass
        else:
            return raw
    return _parse_instant(raw, as_date=False)


_CANONICAL_LENGTH = len("2026-01-31T09:30:00.000Z")
_CANONICAL_MARKS = tuple(zip((4, 7, 10, 13, 16, 19), "--T::.", strict=True))


def _parse_options(raw: str) -> list[str]:
    return [part for part in raw.split(";") if part]


def _as_is(raw: str) -> str:
    return raw


def _parse_number(raw: str) -> decimal.Decimal:
    try:
        number = decimal.Decimal(raw.strip())
    except decimal.InvalidOperation:
        raise Unparsable(f"'{_clip(raw)}' is not a number") from None
    if not number.is_finite():
        raise Unparsable(f"'{_clip(raw)}' is not a finite number")
    return number


def _read_instant(text: str) -> dt.date | dt.datetime:
    """An epoch-millisecond count, a ``YYYY-MM-DD`` date or an ISO-8601 time.

    Raises:
        ValueError: for text that is none of these.
        OverflowError: for an instant outside Python's years 1 to 9999.
    """
    digits = text.removeprefix("-")
    if digits.isascii() and digits.isdigit():
        return _EPOCH + dt.timedelta(milliseconds=int(text))
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text)


def _parse_instant(raw: str, *, as_date: bool) -> str:
    try:
        instant = _read_instant(raw.strip())
        if not isinstance(instant, dt.datetime):
            return instant.isoformat() if as_date else f"{instant}T00:00:00.000Z"
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=dt.UTC)
        instant = instant.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise Unparsable(f"'{_clip(raw)}' is not an ISO-8601 date") from None
    if as_date:
        return instant.date().isoformat()
    return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_PARSERS: dict[str, t.Callable[[str], t.Any]] = {
    "number": _parse_number,
    "bool": _parse_bool,
    "date": _parse_date,
    "datetime": _parse_datetime,
}


def parse_properties(
    definitions: Mapping[str, PropertyDef], raw: Mapping[str, str | None]
) -> tuple[dict[str, t.Any], dict[str, str]]:
    """Convert a record's ``properties`` map.

    Returns:
        The typed values, and the raw strings of values that did not fit their
        declared type (kept so that nothing is lost; their typed value is
        ``None``). Properties without a definition pass through as strings.
    """
    typed: dict[str, t.Any] = {}
    unparsed: dict[str, str] = {}
    for name, value in raw.items():
        prop = definitions.get(name)
        if prop is None:
            typed[name] = value
            continue
        if value is None or value == "":
            typed[name] = None
            continue
        try:
            typed[name] = prop.parser(value if isinstance(value, str) else str(value))
        except Unparsable:
            typed[name] = None
            unparsed[name] = str(value)
    return typed, unparsed


# ---------------------------------------------------------------- writing


def format_value(prop: PropertyDef, value: t.Any) -> str:
    """Turn a typed value from any source into HubSpot's string for ``prop``.

    ``None`` is not accepted here: callers decide what a null means. An empty
    string clears the property in HubSpot and is passed through.

    Raises:
        ValueRejected: when the value cannot be written to ``prop``, with the
            reason and the fix.
    """
    if value == "" and isinstance(value, str):
        return ""
    if isinstance(value, (dict, list, tuple, set)) and not prop.multi_valued:
        raise ValueRejected(
            prop.name,
            f"a nested {type(value).__name__} where a single value is expected",
            "send a scalar value for this column",
            code="INVALID_TYPE",
        )
    if prop.type == "number":
        text = _format_number(prop, value)
    elif prop.type == "bool":
        text = _format_bool(prop, value)
    elif prop.type == "date":
        text = _format_date(prop, value)
    elif prop.type == "datetime":
        text = _format_datetime(prop, value)
    elif prop.type == "enumeration":
        text = _format_enumeration(prop, value)
    else:
        text = _format_text(value)
    if len(text) > MAX_STRING_LENGTH:
        raise ValueRejected(
            prop.name,
            f"{len(text):,} characters, over HubSpot's limit of {MAX_STRING_LENGTH:,}",
            "shorten the value",
            code="VALUE_TOO_LONG",
        )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueRejected(
                prop.name,
                f"character {exc.start + 1} is a lone UTF-16 surrogate "
                f"(U+{ord(text[exc.start]):04X}), which is not text",
                "remove the character, or repair the encoding in the source",
                code="INVALID_STRING",
            ) from None
    return text


def _format_text(value: t.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return _plain_decimal(value)
    if isinstance(value, dt.datetime):
        return _iso_utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _format_number(prop: PropertyDef, value: t.Any) -> str:
    if isinstance(value, bool):
        raise ValueRejected(
            prop.name,
            f"the boolean {value} where a number is expected",
            "send a number",
            code="INVALID_NUMBER",
        )
    try:
        number = decimal.Decimal(
            value.strip() if isinstance(value, str) else str(value)
        )
    except (decimal.InvalidOperation, TypeError, ValueError):
        raise ValueRejected(
            prop.name,
            f"'{_clip(value)}' is not a number",
            "send digits with at most one decimal point",
            code="INVALID_NUMBER",
        ) from None
    if not number.is_finite():
        raise ValueRejected(
            prop.name,
            f"'{value}' is not a finite number",
            "send a finite number",
            code="INVALID_NUMBER",
        )
    return _plain_decimal(number)


def _plain_decimal(number: decimal.Decimal) -> str:
    if number == number.to_integral_value() and number.adjusted() < _MAX_INT_DIGITS:
        return str(number.quantize(decimal.Decimal(1)))
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _format_bool(prop: PropertyDef, value: t.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return "true"
    if lowered in _FALSE:
        return "false"
    raise ValueRejected(
        prop.name,
        f"'{_clip(value)}' is not a boolean",
        "send true or false",
        code="INVALID_BOOLEAN",
    )


def _coerce_instant(prop: PropertyDef, value: t.Any) -> dt.date | dt.datetime:
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    try:
        if isinstance(value, (int, decimal.Decimal)) and not isinstance(value, bool):
            return _EPOCH + dt.timedelta(milliseconds=int(value))
        return _read_instant(str(value).strip())
    except (ValueError, OverflowError):
        raise ValueRejected(
            prop.name,
            f"'{_clip(value)}' is not a date or an ISO-8601 date-time",
            "send YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ",
            code="INVALID_DATE",
        ) from None


def _format_date(prop: PropertyDef, value: t.Any) -> str:
    """Send the calendar date only, which HubSpot stores at midnight UTC.

    A date-time keeps the date it names in its own offset: 23:30 at -05:00
    on 2 April is 2 April, not 3 April, because that is the date the source
    wrote.
    """
    instant = _coerce_instant(prop, value)
    day = instant.date() if isinstance(instant, dt.datetime) else instant
    return day.isoformat()


def _format_datetime(prop: PropertyDef, value: t.Any) -> str:
    instant = _coerce_instant(prop, value)
    if not isinstance(instant, dt.datetime):
        instant = dt.datetime.combine(instant, dt.time(), dt.UTC)
    try:
        return _iso_utc(instant)
    except OverflowError:
        raise ValueRejected(
            prop.name,
            f"'{_clip(value)}' falls outside the years 1 to 9999 in UTC",
            "send a date-time within the years 1 to 9999",
            code="INVALID_DATE",
        ) from None


def _iso_utc(instant: dt.datetime) -> str:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    utc = instant.astimezone(dt.UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _format_enumeration(prop: PropertyDef, value: t.Any) -> str:
    if prop.multi_valued:
        items: Iterable[t.Any]
        if isinstance(value, (list, tuple, set)):
            items = value
        else:
            items = str(value).split(";")
        chosen = [_option_value(prop, item) for item in items if str(item) != ""]
        return ";".join(dict.fromkeys(chosen))
    return _option_value(prop, value)


def _option_value(prop: PropertyDef, value: t.Any) -> str:
    """The option value for ``value``, also when the source sent the label."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = _format_text(value)
    values = [option for option, _ in prop.options]
    if not values or text in values:
        return text
    folded = text.strip().casefold()
    for option, label in prop.options:
        if folded in {label.strip().casefold(), option.casefold()}:
            return option
    allowed = ", ".join(values[:12]) + (" ..." if len(values) > 12 else "")
    raise ValueRejected(
        prop.name,
        f"'{_clip(text)}' is not one of the allowed options",
        f"send one of: {allowed}",
        code="INVALID_OPTION",
    )


def _clip(value: t.Any, width: int = 60) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 3] + "..."
