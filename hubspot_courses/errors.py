"""Errors raised by the HubSpot client, grouped by what the caller can do.

``HubSpotAPIError`` and its subclasses are fatal: repeating the request
unchanged fails again, so the message says what to change. ``RetriesExhausted``
means HubSpot kept answering with transient failures past the retry budget;
``ConnectionFailed`` is its kind for failures below HTTP (nothing answered).
``HostNotFound`` means a configured host name does not resolve at all.
"""

from __future__ import annotations

import typing as t

from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

__all__ = [
    "AuthenticationError",
    "ConfigValidationError",
    "ConnectionFailed",
    "DailyLimitError",
    "HostNotFound",
    "HubSpotAPIError",
    "MissingScopesError",
    "NotFoundError",
    "ObjectNotActivatedError",
    "RetriesExhausted",
    "ValueRejected",
]


class HubSpotAPIError(FatalAPIError):
    """HubSpot refused a request; sending it again unchanged would fail again.

    Attributes:
        status: HTTP status code.
        method: HTTP method of the request.
        path: request path, without its query string.
        category: HubSpot's error ``category`` (``VALIDATION_ERROR``, ...).
        correlation_id: HubSpot's ``correlationId``, to quote to HubSpot support.
        hubspot_message: HubSpot's own ``message``.
        body: the parsed error body (a dict), or ``None``.
    """

    fix: str = ""

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        body: t.Any = None,
        fix: str | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.body = body if isinstance(body, dict) else None
        info = self.body or {}
        self.category = str(info.get("category") or info.get("errorType") or "")
        self.correlation_id = str(info.get("correlationId") or "")
        self.hubspot_message = str(info.get("message") or "")
        if fix is not None:
            self.fix = fix
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = [f"HubSpot answered {self.status}"]
        if self.category:
            parts.append(f" {self.category}")
        parts.append(f" to {self.method} {self.path}")
        if self.correlation_id:
            parts.append(f" (correlationId {self.correlation_id})")
        if self.hubspot_message:
            parts.append(f": {self.hubspot_message.rstrip('. ')}")
        if self.fix:
            parts.append(f". {self.fix}")
        return "".join(parts)


class AuthenticationError(HubSpotAPIError):
    """The token was refused (401) or could not be obtained."""

    fix = (
        "Check 'access_token' (a private app token) or the OAuth settings "
        "'client_id', 'client_secret' and 'refresh_token'."
    )


class MissingScopesError(HubSpotAPIError):
    """The token lacks a scope the request needs (403 ``MISSING_SCOPES``)."""

    @property
    def required_scopes(self) -> list[str]:
        """Scopes HubSpot named as acceptable for this request."""
        scopes: list[str] = []
        for error in (self.body or {}).get("errors") or []:
            context = error.get("context") or {}
            scopes.extend(context.get("requiredGranularScopes") or [])
        return scopes

    def _compose(self) -> str:
        scopes = self.required_scopes
        if len(scopes) > 1:
            wanted = "one of " + ", ".join(f"'{s}'" for s in scopes)
        else:
            wanted = "".join(f"'{s}'" for s in scopes) or "the courses scopes"
        self.fix = (
            f"Grant the private app or OAuth app {wanted} in HubSpot, "
            "then use the new token"
        )
        return super()._compose()


class ObjectNotActivatedError(HubSpotAPIError):
    """The courses object is not activated in the HubSpot account."""

    fix = (
        "Activate the courses object in HubSpot (Settings > Objects > "
        "Object library) before syncing."
    )

    def _compose(self) -> str:
        if self.status < 300:  # the enablement check answered "false"
            return (
                f"HubSpot reports the courses object is not activated in this "
                f"account ({self.method} {self.path}). {self.fix}"
            )
        return super()._compose()


class NotFoundError(HubSpotAPIError):
    """The path or record does not exist (404)."""


class DailyLimitError(HubSpotAPIError):
    """The account's daily request allowance is used up (429 ``DAILY``)."""

    fix = (
        "The allowance is shared by every app in the account and resets at "
        "midnight in the account's time zone; rerun after that."
    )


class RetriesExhausted(HubSpotAPIError):
    """HubSpot kept failing transiently past the retry budget.

    Attributes:
        attempts: requests sent, the first one included.
        reason: the last transient failure (``HTTP 503``, ``429 ...``).
    """

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        body: t.Any = None,
        attempts: int,
        reason: str,
        fix: str | None = None,
    ) -> None:
        self.attempts = attempts
        self.reason = reason
        super().__init__(
            status=status,
            method=method,
            path=path,
            body=body,
            fix=fix
            or (
                f"Gave up after {attempts} attempts ({reason}); rerun later, "
                "or raise 'max_retries' / 'max_retry_seconds'. The last "
                "emitted STATE resumes the work"
            ),
        )


class ConnectionFailed(RetriesExhausted):
    """No HTTP answer at all: refused, broken or timed-out connections.

    ``status`` is 0; ``reason`` says what happened, e.g. ``could not connect
    to api.hubapi.com (ConnectionRefusedError)``.
    """

    def _compose(self) -> str:
        what = self.reason[:1].upper() + self.reason[1:]
        return f"{what} on {self.method} {self.path}. {self.fix}"


class HostNotFound(HubSpotAPIError):
    """A configured host name does not resolve (DNS); retrying will not help."""

    def __init__(
        self, *, method: str, path: str, host: str, setting: str, cause: str
    ) -> None:
        self.host = host
        self.setting = setting
        self.cause = cause
        super().__init__(
            status=0,
            method=method,
            path=path,
            fix=(
                f"Check '{setting}': its host '{host}' does not exist in DNS, "
                "which is almost always a typo in the setting (HubSpot's API "
                "is 'https://api.hubapi.com'), or else a network without DNS"
            ),
        )

    def _compose(self) -> str:
        return (
            f"Could not resolve host '{self.host}' ({self.cause}) for "
            f"{self.method} {self.path}. {self.fix}"
        )


class ValueRejected(ValueError):
    """A value cannot be written to a HubSpot property.

    Attributes:
        property_name: the property the value was meant for.
        reason: what is wrong with the value.
        fix: what to change in the source.
        code: HubSpot's error code for the same problem, when there is one.
    """

    def __init__(
        self, property_name: str, reason: str, fix: str, code: str = "INVALID_VALUE"
    ) -> None:
        self.property_name = property_name
        self.reason = reason
        self.fix = fix
        self.code = code
        super().__init__(f"property '{property_name}': {reason}; {fix}")
