"""Wire formats of HubSpot property values: parsing, validation, formatting."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from hubspot_sandbox.errors import PropertyProblem

MAX_STRING_LENGTH = 65_536
"""Longest string value HubSpot stores."""

_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidValueError(ValueError):
    """A value that does not fit its property's type.

    Attributes:
        code: HubSpot's error code.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def format_instant(moment: datetime) -> str:
    """Format an instant the way HubSpot does: ISO-8601, UTC, milliseconds, ``Z``.

    Args:
        moment: A timezone-aware datetime.

    Returns:
        For example ``2026-04-02T09:15:00.120Z``.
    """
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def to_epoch_ms(moment: datetime) -> int:
    """Convert an aware datetime to epoch milliseconds.

    Args:
        moment: A timezone-aware datetime.

    Returns:
        Milliseconds since the Unix epoch.
    """
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_epoch_ms(ms: int) -> datetime:
    """Convert epoch milliseconds to an aware UTC datetime.

    Args:
        ms: Milliseconds since the Unix epoch.

    Returns:
        The instant.
    """
    return _EPOCH + timedelta(milliseconds=ms)


def parse_instant(raw: str) -> datetime:
    """Parse an epoch-ms string, an ISO datetime or an ISO date as a UTC instant.

    Args:
        raw: The text.

    Returns:
        An aware datetime.

    Raises:
        ValueError: When the text is none of those forms.
    """
    text = raw.strip()
    if re.fullmatch(r"-?\d+", text):
        return from_epoch_ms(int(text))
    if _DATE_RE.fullmatch(text):
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _canonical_number(text: str) -> str:
    value = Decimal(text)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def to_wire(raw: object) -> str:
    """Coerce a JSON value sent by a client to the string HubSpot would store.

    Args:
        raw: A JSON scalar (HubSpot accepts bare numbers and booleans too).

    Returns:
        The string form; None becomes the empty string (clears the value).
    """
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _option_values(definition: Mapping[str, Any]) -> list[str]:
    return [str(option["value"]) for option in definition.get("options", [])]


def normalize_value(
    definition: Mapping[str, Any], raw: object, current: str | None = None
) -> str:
    """Validate one written value against its property definition.

    Args:
        definition: The property definition (HubSpot ``Property`` shape).
        raw: The value from the request.
        current: The stored value, for multi-checkbox appends (leading ``;``).

    Returns:
        The value as HubSpot stores it; ``""`` means cleared.

    Raises:
        InvalidValueError: When the value does not fit the property.
    """
    value = to_wire(raw)
    if value == "":
        return ""
    kind = definition.get("type", "string")
    field_type = definition.get("fieldType", "text")
    name = definition.get("name", "?")

    if kind == "number":
        if not _NUMBER_RE.fullmatch(value.strip()):
            raise InvalidValueError(
                "INVALID_INTEGER", f"{value} was not a valid number."
            )
        try:
            return _canonical_number(value.strip())
        except (InvalidOperation, ValueError, OverflowError) as exc:
            raise InvalidValueError(
                "INVALID_INTEGER", f"{value} was not a valid number."
            ) from exc

    if kind == "bool":
        lowered = value.strip().lower()
        if lowered not in {"true", "false"}:
            raise InvalidValueError(
                "INVALID_BOOLEAN", f"{value} was not a valid boolean."
            )
        return lowered

    if kind == "date":
        return _normalize_date(value)

    if kind == "datetime":
        try:
            return format_instant(parse_instant(value))
        except (ValueError, OverflowError) as exc:
            raise InvalidValueError(
                "INVALID_LONG", f"{value} was not a valid long."
            ) from exc

    if kind == "enumeration":
        allowed = _option_values(definition)
        if field_type == "checkbox":
            appending = value.startswith(";")
            parts = [p for p in value.split(";") if p != ""]
            for part in parts:
                if part not in allowed:
                    raise InvalidValueError(
                        "INVALID_OPTION",
                        "{} was not one of the allowed options: [{}]".format(
                            part, ", ".join(allowed)
                        ),
                    )
            if appending and current:
                merged = [p for p in current.split(";") if p]
                merged += [p for p in parts if p not in merged]
                parts = merged
            return ";".join(dict.fromkeys(parts))
        if value not in allowed:
            raise InvalidValueError(
                "INVALID_OPTION",
                "{} was not one of the allowed options: [{}]".format(
                    value, ", ".join(allowed)
                ),
            )
        return value

    if len(value) > MAX_STRING_LENGTH:
        raise InvalidValueError(
            "INVALID_LENGTH",
            f"Value of {name} is {len(value)} characters long; "
            f"the maximum is {MAX_STRING_LENGTH}.",
        )
    return value


def _normalize_date(value: str) -> str:
    text = value.strip()
    if _DATE_RE.fullmatch(text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError as exc:
            raise InvalidValueError(
                "INVALID_DATE", f"{value} is not a valid date."
            ) from exc
    try:
        moment = parse_instant(text)
    except (ValueError, OverflowError) as exc:
        raise InvalidValueError(
            "INVALID_DATE", f"{value} is not a valid date."
        ) from exc
    if moment.time() != time():
        raise InvalidValueError(
            "INVALID_DATE",
            f"{value} is at {moment.hour}:{moment.minute:02d}:{moment.second:02d}"
            f".{moment.microsecond // 100_000} UTC, not midnight!",
        )
    return moment.date().isoformat()


def is_read_only(definition: Mapping[str, Any]) -> bool:
    """Tell whether API clients may not write a property.

    Args:
        definition: The property definition.

    Returns:
        True for calculated properties and those whose value is read-only.
    """
    metadata = definition.get("modificationMetadata") or {}
    return bool(metadata.get("readOnlyValue") or definition.get("calculated"))


def validate_properties(
    definitions: Mapping[str, Mapping[str, Any]],
    values: Mapping[str, object],
    current: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[PropertyProblem]]:
    """Validate a write's ``properties`` map.

    Args:
        definitions: Property definitions by name.
        values: The properties sent by the client.
        current: The record's stored values (None when creating).

    Returns:
        The normalized values and the problems found (empty when all valid).
    """
    normalized: dict[str, str] = {}
    problems: list[PropertyProblem] = []
    for name, raw in values.items():
        definition = definitions.get(name)
        if definition is None:
            problems.append(
                PropertyProblem(
                    name,
                    "PROPERTY_DOESNT_EXIST",
                    f'Property "{name}" does not exist',
                )
            )
            continue
        if is_read_only(definition):
            problems.append(
                PropertyProblem(
                    name,
                    "READ_ONLY_VALUE",
                    f'"{name}" is a read only property; its value cannot be set.',
                )
            )
            continue
        try:
            normalized[name] = normalize_value(
                definition, raw, (current or {}).get(name)
            )
        except InvalidValueError as exc:
            problems.append(PropertyProblem(name, exc.code, str(exc)))
    return normalized, problems
