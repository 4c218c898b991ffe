"""HubSpot-shaped error bodies and the exception the request handlers raise."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SCOPES_URL = "https://developers.hubspot.com/scopes"
AUTH_DOCS_URL = "https://developers.hubspot.com/docs/methods/auth/oauth-overview"


def error_body(
    message: str,
    category: str,
    *,
    sub_category: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    context: Mapping[str, Sequence[str]] | None = None,
    links: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build HubSpot's ``Error`` body with a fresh correlation id.

    Args:
        message: Human-readable message.
        category: HubSpot error category, e.g. ``VALIDATION_ERROR``.
        sub_category: Optional finer category.
        errors: Optional list of ``ErrorDetail`` objects.
        context: Optional map of name to list of strings.
        links: Optional map of name to URL.

    Returns:
        The JSON-ready body.
    """
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }
    if sub_category is not None:
        body["subCategory"] = sub_category
    if errors is not None:
        body["errors"] = [dict(e) for e in errors]
    if context is not None:
        body["context"] = {k: list(v) for k, v in context.items()}
    if links is not None:
        body["links"] = dict(links)
    return body


@dataclass
class ApiError(Exception):
    """A non-2xx answer, raised by handlers and rendered by the server.

    Attributes:
        status: HTTP status code.
        body: The JSON body (an ``Error`` or rate-limit body).
        headers: Extra response headers.
    """

    status: int
    body: dict[str, Any]
    headers: dict[str, str] | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.body.get('message', '')}"


def bad_request(message: str, **kwargs: Any) -> ApiError:
    """Build a 400 ``VALIDATION_ERROR``.

    Args:
        message: The message.
        **kwargs: Extra fields for :func:`error_body`.

    Returns:
        The error to raise.
    """
    return ApiError(400, error_body(message, "VALIDATION_ERROR", **kwargs))


def not_found(message: str = "resource not found", **kwargs: Any) -> ApiError:
    """Build a 404 ``OBJECT_NOT_FOUND``.

    Args:
        message: The message.
        **kwargs: Extra fields for :func:`error_body`.

    Returns:
        The error to raise.
    """
    return ApiError(404, error_body(message, "OBJECT_NOT_FOUND", **kwargs))


def rate_limit_body(policy: str) -> dict[str, Any]:
    """Build the 429 body HubSpot sends for a rate-limit policy.

    Args:
        policy: ``TEN_SECONDLY_ROLLING``, ``DAILY`` or ``SECONDLY``.

    Returns:
        The JSON-ready body.
    """
    return {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "requestId": str(uuid.uuid4()),
    }


@dataclass(frozen=True)
class PropertyProblem:
    """One invalid property value found while validating a write.

    Attributes:
        name: The property name.
        code: HubSpot's error code, e.g. ``INVALID_OPTION``.
        message: The explanation.
    """

    name: str
    code: str
    message: str


def property_validation_error(
    problems: Iterable[PropertyProblem], portal_id: int
) -> dict[str, Any]:
    """Build the ``Property values were not valid`` error body.

    Args:
        problems: The invalid values.
        portal_id: Portal id echoed in each item, as HubSpot does.

    Returns:
        The JSON-ready error body (category ``VALIDATION_ERROR``).
    """
    problems = list(problems)
    items = [
        {
            "isValid": False,
            "message": p.message,
            "error": p.code,
            "name": p.name,
            "localizedErrorMessage": p.message,
            "portalId": portal_id,
        }
        for p in problems
    ]
    message = "Property values were not valid: {}".format(
        json.dumps(items, separators=(",", ":"), ensure_ascii=False)
    )
    details = [
        {"message": p.message, "code": p.code, "context": {"propertyName": [p.name]}}
        for p in problems
    ]
    return error_body(message, "VALIDATION_ERROR", errors=details)
