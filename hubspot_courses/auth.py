"""Credentials: private-app tokens and OAuth refresh-token flows.

Tokens are only ever sent in the ``Authorization`` header. Nothing here logs
or formats a token, a refresh token or a client secret into a message.
"""

from __future__ import annotations

import threading
import time
import typing as t
from urllib.parse import urlsplit

import requests

from hubspot_courses.errors import AuthenticationError, ConfigValidationError

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

__all__ = ["Credentials", "OAuthCredentials", "PrivateAppCredentials", "from_config"]

REFRESH_MARGIN_SECONDS = 300
"""Refresh an OAuth access token this long before HubSpot says it expires."""


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
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        session: requests.Session,
        timeout: float,
        logger: logging.Logger,
    ) -> None:
        """Create credentials that refresh through ``token_url``."""
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._session = session
        self._timeout = timeout
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
        path = urlsplit(self._token_url).path
        try:
            response = self._session.post(
                self._token_url,
                data={
                    "grant_type": "refresh_token",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                    "refresh_token": self._refresh_token,
                },
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise AuthenticationError(
                status=0,
                method="POST",
                path=path,
                fix=f"Could not reach the token endpoint ({type(exc).__name__})",
            ) from None
        body = _json_or_none(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise AuthenticationError(
                status=response.status_code,
                method="POST",
                path=path,
                body=_redact_oauth_error(body),
                fix=(
                    "HubSpot refused the refresh token: check 'client_id' and "
                    "'client_secret', or authorize the app again for a new "
                    "'refresh_token'"
                ),
            )
        self._access_token = str(body["access_token"])
        self._expires_at = time.monotonic() + float(body.get("expires_in", 1800))
        if body.get("refresh_token"):
            self._refresh_token = str(body["refresh_token"])
        self.refreshes += 1
        self._logger.info(
            "Refreshed the OAuth access token; it expires in %s s.",
            body.get("expires_in", 1800),
        )


def _json_or_none(response: requests.Response) -> t.Any:
    try:
        return response.json()
    except ValueError:
        return None


def _redact_oauth_error(body: t.Any) -> dict[str, str] | None:
    """Keep only the error's description fields from an OAuth error body."""
    if not isinstance(body, dict):
        return None
    return {
        "category": str(body.get("error") or body.get("status") or ""),
        "message": str(body.get("error_description") or body.get("message") or ""),
    }


def from_config(
    config: Mapping[str, t.Any],
    *,
    token_url: str,
    session: requests.Session,
    timeout: float,
    logger: logging.Logger,
) -> Credentials:
    """Build the credentials a plugin's settings describe.

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
        token_url=token_url,
        client_id=str(config["client_id"]),
        client_secret=str(config["client_secret"]),
        refresh_token=str(config["refresh_token"]),
        session=session,
        timeout=timeout,
        logger=logger,
    )
