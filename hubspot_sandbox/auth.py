"""Bearer-token checks and the OAuth refresh-token grant of the sandbox."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hubspot_sandbox.config import SandboxConfig
from hubspot_sandbox.errors import AUTH_DOCS_URL, ApiError, error_body
from hubspot_sandbox.values import format_instant


@dataclass
class TokenInfo:
    """What the sandbox knows about one bearer token.

    Attributes:
        token: The token itself (never logged).
        scopes: Granted scopes.
        kind: ``"private"`` for private-app tokens, ``"oauth"`` for access tokens.
        expires_at: Epoch seconds after which an OAuth token is expired.
        uses: Requests served with this token (for ``expire_tokens_after``).
        client_id: The OAuth client that obtained the token.
    """

    token: str
    scopes: frozenset[str]
    kind: str
    expires_at: float | None = None
    uses: int = 0
    client_id: str | None = None


class AuthRegistry:
    """Private-app tokens, OAuth access tokens and their expiry.

    Args:
        config: The sandbox configuration (tokens and OAuth clients are read
            from it live, so tests may add some while the sandbox runs).
        clock: Returns epoch seconds; replaceable in tests.
    """

    def __init__(
        self, config: SandboxConfig, clock: Callable[[], float] = time.time
    ) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._oauth: dict[str, TokenInfo] = {}

    def authenticate(
        self, header: str | None, expire_after_uses: int | None = None
    ) -> TokenInfo:
        """Resolve an ``Authorization`` header to a token.

        Args:
            header: The header value, e.g. ``Bearer abc``.
            expire_after_uses: When set, OAuth tokens expire once they have
                served this many requests (fault injection).

        Returns:
            The token's info.

        Raises:
            ApiError: 401 ``INVALID_AUTHENTICATION`` or ``EXPIRED_AUTHENTICATION``.
        """
        token = ""
        if header and header[:7].lower() == "bearer ":
            token = header[7:].strip()
        if not token:
            raise _invalid_authentication()
        scopes = self._config.tokens.get(token)
        if scopes is not None:
            return TokenInfo(token, frozenset(scopes), "private")
        with self._lock:
            info = self._oauth.get(token)
            if info is None:
                raise _invalid_authentication()
            now = self._clock()
            if (
                expire_after_uses is not None
                and info.uses >= expire_after_uses
                and (info.expires_at is None or info.expires_at > now)
            ):
                info.expires_at = now
            if info.expires_at is not None and info.expires_at <= now:
                raise _expired(info.expires_at, now)
            info.uses += 1
            return info

    def expire(self, token: str, seconds_ago: float = 0.0) -> None:
        """Make an OAuth access token expired (test helper).

        Args:
            token: The access token.
            seconds_ago: How long ago it expired.
        """
        with self._lock:
            self._oauth[token].expires_at = self._clock() - seconds_ago

    def oauth_token(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer ``POST /oauth/{v1,v3,2026-03}/token``.

        Only ``grant_type=refresh_token`` is supported.

        Args:
            form: The decoded form fields.

        Returns:
            The status and JSON body (``AccessTokenResponse`` or an OAuth error).
        """
        grant = form.get("grant_type", "")
        if grant != "refresh_token":
            return 400, _oauth_error(
                "unsupported_grant_type",
                "grant_type must be refresh_token in this sandbox",
                "BAD_GRANT_TYPE",
            )
        client_id = form.get("client_id", "")
        client = self._config.oauth_clients.get(client_id)
        if client is None:
            return 400, _oauth_error(
                "invalid_client", "missing or unknown client id", "BAD_CLIENT_ID"
            )
        if not secrets.compare_digest(form.get("client_secret", ""), client.secret):
            return 400, _oauth_error(
                "invalid_client",
                "missing or invalid client secret",
                "BAD_CLIENT_SECRET",
            )
        refresh = form.get("refresh_token", "")
        if refresh not in client.refresh_tokens:
            return 400, _oauth_error(
                "invalid_grant",
                "refresh token is invalid, expired or revoked",
                "BAD_REFRESH_TOKEN",
            )
        ttl = self._config.oauth_access_ttl_seconds
        access = "sandbox-oauth-" + secrets.token_urlsafe(24)
        with self._lock:
            self._oauth[access] = TokenInfo(
                access,
                frozenset(client.scopes),
                "oauth",
                self._clock() + ttl,
                0,
                client_id,
            )
        return 200, {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": ttl,
            "token_use": "access_token",
            "hub_id": self._config.portal_id,
            "scopes": sorted({"oauth", *client.scopes}),
        }


def _invalid_authentication() -> ApiError:
    message = (
        "Authentication credentials not found. This API supports OAuth 2.0 "
        f"authentication and you can find more details at {AUTH_DOCS_URL}"
    )
    return ApiError(401, error_body(message, "INVALID_AUTHENTICATION"))


def _expired(expired_at: float, now: float) -> ApiError:
    seconds = max(0, math.floor(now - expired_at))
    message = f"The OAuth token used to make this call expired {seconds} second(s) ago."
    moment = datetime.fromtimestamp(expired_at, UTC)
    return ApiError(
        401,
        error_body(
            message,
            "EXPIRED_AUTHENTICATION",
            context={"expire time": [format_instant(moment)]},
        ),
    )


def _oauth_error(error: str, description: str, status: str) -> dict[str, Any]:
    return {
        "error": error,
        "error_description": description,
        "status": status,
        "message": description,
        "correlationId": secrets.token_hex(16),
    }
