"""Configuration of a local HubSpot sandbox: tokens, OAuth clients and limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

COURSES_OBJECT_TYPE_ID = "0-410"
"""HubSpot's objectTypeId for courses."""

READ_SCOPE = "crm.objects.courses.read"
WRITE_SCOPE = "crm.objects.courses.write"
SCHEMA_READ_SCOPE = "crm.schemas.courses.read"
SCHEMA_WRITE_SCOPE = "crm.schemas.courses.write"

ALL_COURSE_SCOPES: frozenset[str] = frozenset(
    {READ_SCOPE, WRITE_SCOPE, SCHEMA_READ_SCOPE, SCHEMA_WRITE_SCOPE}
)
"""Every scope the sandbox checks for; what the CLI grants to its tokens."""


@dataclass
class OAuthClient:
    """An OAuth app registered in the sandbox.

    Attributes:
        secret: The client secret expected by the token endpoint.
        refresh_tokens: Refresh tokens this client may exchange for access tokens.
        scopes: Scopes granted to the access tokens issued for this client.
    """

    secret: str
    refresh_tokens: set[str] = field(default_factory=set)
    scopes: frozenset[str] = ALL_COURSE_SCOPES


@dataclass
class SandboxConfig:
    """Settings of one sandbox portal and its HTTP server.

    Attributes:
        tokens: Private-app tokens mapped to the scopes they were granted.
        oauth_clients: OAuth apps by client id.
        oauth_access_ttl_seconds: Lifetime of issued OAuth access tokens.
        rate_limit_max: Requests allowed per token in one rolling window.
        rate_limit_interval_ms: Length of the rolling window.
        daily_limit: Requests allowed per portal per UTC day, all tokens together.
        search_per_second: Search requests allowed per token per second.
        list_over_limit: ``"cap"`` silently caps a list/search ``limit`` above the
            maximum; ``"error"`` answers 400 instead.
        max_url_length: Longest request target accepted; longer ones get 414.
        courses_enabled: Whether the courses object is activated in the object
            library. When false the courses endpoints refuse requests.
        portal_id: The HubSpot portal (hub) id reported in errors and tokens.
        search_lag_seconds: Records created or modified within this many seconds
            are not yet visible to search, like HubSpot's indexing delay.
        host: Interface to bind; the sandbox is meant for 127.0.0.1 only.
        port: TCP port to bind; 0 picks a free one.
    """

    tokens: dict[str, frozenset[str]] = field(default_factory=dict)
    oauth_clients: dict[str, OAuthClient] = field(default_factory=dict)
    oauth_access_ttl_seconds: int = 1800
    rate_limit_max: int = 190
    rate_limit_interval_ms: int = 10_000
    daily_limit: int = 1_000_000
    search_per_second: int = 5
    list_over_limit: Literal["cap", "error"] = "cap"
    max_url_length: int = 8192
    courses_enabled: bool = True
    portal_id: int = 1234567
    search_lag_seconds: float = 0.0
    host: str = "127.0.0.1"
    port: int = 0
