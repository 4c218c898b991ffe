"""Request and response values passed between the server and the handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hubspot_sandbox.auth import TokenInfo
from hubspot_sandbox.errors import bad_request


@dataclass
class Request:
    """One parsed HTTP request.

    Attributes:
        method: HTTP method.
        path: Path without the query string.
        params: Query parameters; repeated names keep every value.
        match: Named groups captured from the route pattern.
        body: Raw request body.
        headers: Request headers (lower-cased names).
        base_url: ``http://host:port`` of the sandbox.
        token: The authenticated token, when the route needs one.
    """

    method: str
    path: str
    params: dict[str, list[str]]
    match: dict[str, str]
    body: bytes
    headers: dict[str, str]
    base_url: str
    token: TokenInfo | None = None

    def json(self) -> Any:
        """Decode the body as JSON.

        Returns:
            The decoded value.

        Raises:
            ApiError: 400 when the body is not valid JSON.
        """
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request(f"Invalid input JSON on line 1: {exc}") from exc

    def json_object(self) -> dict[str, Any]:
        """Decode the body as a JSON object.

        Returns:
            The object.

        Raises:
            ApiError: 400 when the body is not a JSON object.
        """
        value = self.json()
        if not isinstance(value, dict):
            raise bad_request("Invalid input JSON: expected an object.")
        return value

    def param(self, name: str) -> str | None:
        """Return the first value of a query parameter.

        Args:
            name: Parameter name.

        Returns:
            The value or None.
        """
        values = self.params.get(name)
        return values[0] if values else None

    def list_param(self, name: str) -> list[str]:
        """Return an array parameter given comma-separated, repeated or both.

        Args:
            name: Parameter name.

        Returns:
            The non-empty items in order, without duplicates.
        """
        items: list[str] = []
        for value in self.params.get(name, []):
            items.extend(part.strip() for part in value.split(","))
        return list(dict.fromkeys(item for item in items if item))

    def bool_param(self, name: str, default: bool = False) -> bool:
        """Return a boolean query parameter.

        Args:
            name: Parameter name.
            default: Value when absent.

        Returns:
            The value.
        """
        value = self.param(name)
        if value is None or value == "":
            return default
        return value.strip().lower() == "true"


@dataclass
class Response:
    """What a handler answers.

    Attributes:
        status: HTTP status.
        body: JSON-ready body, or None for an empty body.
        headers: Extra headers.
    """

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def batch_response(
    results: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    *,
    started: str,
    completed: str,
    ok: int = 200,
) -> Response:
    """HubSpot's batch answer: ``ok`` when no input failed, else 207 with errors."""
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": completed,
    }
    if not errors:
        return Response(ok, body)
    body["numErrors"] = len(errors)
    body["errors"] = errors
    return Response(207, body)


def not_found_entry(message: str, context: dict[str, list[str]]) -> dict[str, Any]:
    """The one batch error entry HubSpot gives for every input it cannot find."""
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }


def next_page(cursor: str, limit: int) -> dict[str, Any]:
    """The ``paging`` member of a list page followed by another."""
    return {"next": {"after": cursor, "link": f"?after={cursor}&limit={limit}"}}
