"""Credentials: private-app tokens and OAuth refresh-token flows.

Tokens are only ever sent in the ``Authorization`` header. Nothing here logs
or formats a token, a refresh token or a client secret into a message.
"""

from __future__ import annotations

import threading
import time
import typing as t

from hubspot_courses.errors import (
    AuthenticationError,
    ConfigValidationError,
    HubSpotAPIError,
)

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

__all__ = [
    "Credentials",
    "OAuthCredentials",
    "PostForm",
    "PrivateAppCredentials",
    "from_config",
    "redact_oauth_error",
]

REFRESH_MARGIN_SECONDS = 300
"""Refresh an OAuth access token this long before HubSpot says it expires."""

PostForm = t.Callable[["Mapping[str, str]"], tuple[int, t.Any]]
"""POSTs a form to the token endpoint, retrying transient failures; returns
the final status and parsed JSON body."""


class Credentials(t.Protocol):
    """What the client needs from a credential."""

    def authorization(self) -> str:
        """The ``Authorization`` header value for the next request."""
        ...

    def expired(self, rejected: str) -> bool:
        """React to a 401 for ``rejected``; ``True`` when a retry may succeed."""
        ...


class PrivateAppCredentials:
    """A private app's static access token."""

    def __init__(self, token: str) -> None:
        """Hold ``token``; it never leaves this object but in a header."""
        self._token = token

    def __repr__(self) -> str:
        return "PrivateAppCredentials(token=<redacted>)"

    def authorization(self) -> str:
        """Bearer header for the private app token."""
        return f"Bearer {self._token}"

    def expired(self, rejected: str) -> bool:
        """A private app token does not expire by itself; a 401 is final."""
        return False


class OAuthCredentials:
    """An OAuth app's refresh token, exchanged for short-lived access tokens.

    The access token is refreshed ``REFRESH_MARGIN_SECONDS`` before it
    expires, and again whenever HubSpot answers 401 ``EXPIRED_AUTHENTICATION``
    for the token in use. One refresh serves every thread.

    The exchange itself goes through ``post_form``, the client's retrying
    POST to the token endpoint: transient failures never reach this class,
    so whatever answer it classifies is HubSpot's final word.
    """

    def __init__(
        self,
        *,
        token_path: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        post_form: PostForm,
        logger: logging.Logger,
    ) -> None:
        """Create credentials that refresh through ``post_form``."""
        self._token_path = token_path
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._post_form = post_form
        self._logger = logger
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"OAuthCredentials(client_id={self._client_id!r}, secrets=<redacted>)"

    def authorization(self) -> str:
        """Bearer header with a fresh access token."""
        with self._lock:
            if (
                self._access_token is None
                or time.monotonic() >= self._expires_at - REFRESH_MARGIN_SECONDS
            ):
                self._refresh()
            return f"Bearer {self._access_token}"

    def expired(self, rejected: str) -> bool:
        """Drop the rejected access token so the next request refreshes."""
        with self._lock:
            if rejected == f"Bearer {self._access_token}":
                self._access_token = None
        return True

    def _refresh(self) -> None:
        status, body = self._post_form(
            {
                "grant_type": "refresh_token",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "refresh_token": self._refresh_token,
            }
        )
        access_token = body.get("access_token") if isinstance(body, dict) else None
        if not 200 <= status < 300 or not isinstance(access_token, str):
            raise self._refused(status, body)

        self._access_token = access_token
        self._expires_at = time.monotonic() + float(body.get("expires_in", 1800))
        if body.get("refresh_token"):
            self._refresh_token = str(body["refresh_token"])
        self.refreshes += 1
        self._logger.info(
            "Refreshed the OAuth access token; it expires in %s s.",
            body.get("expires_in", 1800),
        )

    def _refused(self, status: int, body: t.Any) -> HubSpotAPIError:
        """The error for a final, non-transient answer of the token endpoint."""
        code = str(body.get("error") or "") if isinstance(body, dict) else ""
        kind: type[HubSpotAPIError] = AuthenticationError
        if code == "invalid_grant":
            fix = (
                "HubSpot refused the 'refresh_token' as invalid, expired or "
                "revoked: authorize the app again for a new 'refresh_token'"
            )
        elif code == "invalid_client":
            fix = "HubSpot refused the OAuth app: check 'client_id' and 'client_secret'"
        elif status in {400, 401, 403}:
            fix = (
                "HubSpot refused the refresh token: check 'client_id' and "
                "'client_secret', or authorize the app again for a new "
                "'refresh_token'"
            )
        else:
            kind = HubSpotAPIError
            fix = (
                "This is not an answer of HubSpot's OAuth token endpoint: "
                "check 'token_url' (or 'api_url', which it derives from)"
            )
        return kind(
            status=status,
            method="POST",
            path=self._token_path,
            body=redact_oauth_error(body),
            fix=fix,
        )


def redact_oauth_error(body: t.Any) -> dict[str, str] | None:
    """Keep only the describing fields of a token endpoint's error body.

    OAuth errors (``error``, ``error_description``) and HubSpot's own error
    bodies (``category``, ``message``, ``correlationId``) both map to the
    fields :class:`HubSpotAPIError` shows.
    """
    if not isinstance(body, dict):
        return None
    redacted = {
        "category": str(
            body.get("error") or body.get("category") or body.get("status") or ""
        ),
        "message": str(body.get("error_description") or body.get("message") or ""),
    }
    if body.get("correlationId"):
        redacted["correlationId"] = str(body["correlationId"])
    return redacted


def from_config(
    config: Mapping[str, t.Any],
    *,
    token_path: str,
    post_form: PostForm,
    logger: logging.Logger,
) -> Credentials:
    """Build the credentials a plugin's settings describe.

    Args:
        config: the plugin's settings.
        token_path: path of the token endpoint, for messages.
        post_form: the client's retrying POST to the token endpoint.
        logger: the plugin's logger.

    Raises:
        ConfigValidationError: when neither a private app token nor a complete
            set of OAuth settings is given.
    """
    if config.get("access_token"):
        return PrivateAppCredentials(str(config["access_token"]))
    oauth = ("client_id", "client_secret", "refresh_token")
    missing = [name for name in oauth if not config.get(name)]
    if len(missing) == len(oauth):
        raise ConfigValidationError(
            "No HubSpot credentials: set 'access_token' (a private app token) "
            "or 'client_id', 'client_secret' and 'refresh_token' (an OAuth app)."
        )
    if missing:
        raise ConfigValidationError(
            "Incomplete OAuth settings: also set "
            + ", ".join(f"'{name}'" for name in missing)
            + "."
        )
    return OAuthCredentials(
        token_path=token_path,
        client_id=str(config["client_id"]),
        client_secret=str(config["client_secret"]),
        refresh_token=str(config["refresh_token"]),
        post_form=post_form,
        logger=logger,
    )
