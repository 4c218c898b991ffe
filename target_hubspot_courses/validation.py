"""Checks each input record against its stream's schema, without raising.

A record that does not fit is rejected to the rejects file with the schema's
complaint, rather than ending the run as the SDK would by default.

Two rules matter beyond plain JSON Schema:

- Date-like formats are checked with the parser the SDK applies right after
  validation (``fromisoformat``). jsonschema skips ``date-time`` unless an
  optional package is installed, and the SDK turns a value it cannot parse
  into null, which would leave the course's value unchanged without a word.
- Most records fit, so each is first checked by a schema compiled with
  ``fastjsonschema``; only a record it refuses goes through ``jsonschema``,
  which is the judge and writes the message. The compiled check is used only
  for schemas made of keywords both libraries read alike, so it can never
  accept a record ``jsonschema`` would refuse.
"""

from __future__ import annotations

import datetime as dt
import sys
import typing as t

import fastjsonschema
import jsonschema
from singer_sdk.sinks.core import BaseJSONSchemaValidator

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["RecordValidator"]

_PARSERS: dict[str, Callable[[str], object]] = {
    "date-time": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
}

_PLAIN_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "items",
        "required",
        "additionalProperties",
        "anyOf",
        "maxLength",
        "minLength",
        "minimum",
        "maximum",
        "format",
        "title",
        "description",
    }
)
"""Keywords the compiled check may see; any other (``enum``, which tells
``true`` from ``1`` only in ``jsonschema``, or a ``$schema`` naming an older
draft) sends the schema to ``jsonschema`` alone."""

_MESSAGE_LIMIT = 200


def _parses(parse: Callable[[str], object]) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if not isinstance(value, str):
            return True
        try:
            parse(value)
        except ValueError:
            return False
        return True

    return check


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()
    for name, parse in _PARSERS.items():
        checker.checks(name)(_parses(parse))
    return checker


def _is_plain(schema: object) -> bool:
    """Whether ``schema`` uses only keywords read alike by both libraries."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    if not _PLAIN_KEYWORDS.issuperset(schema):
        return False
    if "format" in schema and schema["format"] not in _PARSERS:
        return False
    children: list[object] = list((schema.get("properties") or {}).values())
    children.extend(schema.get("anyOf") or [])
    for key in ("items", "additionalProperties"):
        if key in schema:
            children.append(schema[key])
    return all(_is_plain(child) for child in children)


def _compile(schema: dict[str, t.Any]) -> Callable[[object], object] | None:
    if not _is_plain(schema):
        return None
    formats = {name: _parses(parse) for name, parse in _PARSERS.items()}
    try:
        return t.cast(
            "Callable[[object], object]",
            fastjsonschema.compile(schema, formats=formats, use_default=False),
        )
    except fastjsonschema.JsonSchemaDefinitionException:
        return None


class RecordValidator(BaseJSONSchemaValidator):
    """Validates records, keeping the last complaint instead of raising.

    Attributes:
        last_error: why the last record validated does not fit, or ``None``.
    """

    def __init__(self, schema: dict[str, t.Any]) -> None:
        """Prepare both checks for ``schema``."""
        super().__init__(schema)
        validator_class = jsonschema.validators.validator_for(schema)
        self._judge = validator_class(schema, format_checker=_format_checker())
        self._fast = _compile(schema)
        self.last_error: str | None = None

    @property
    def compiled(self) -> bool:
        """Whether records get the compiled check first."""
        return self._fast is not None

    @override
    def validate(self, record: dict[str, t.Any]) -> None:
        if self._fast is not None:
            try:
                self._fast(record)
            except fastjsonschema.JsonSchemaValueException:
                pass
            else:
                self.last_error = None
                return
        error = jsonschema.exceptions.best_match(self._judge.iter_errors(record))
        self.last_error = None if error is None else _message(error)


def _message(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(part) for part in error.absolute_path) or "record"
    message = error.message
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 3] + "..."
    return f"'{where}': {message}"
