"""Settings shared by the tap and the target: credentials, API, retries."""

from __future__ import annotations

from singer_sdk import typing as th

from hubspot_courses.client import DEFAULT_API_URL, DEFAULT_API_VERSION

__all__ = ["CONNECTION_SETTINGS"]

CONNECTION_SETTINGS = th.PropertiesList(
    th.Property(
        "access_token",
        th.StringType,
        secret=True,
        title="Private app access token",
        description=(
            "Access token of a HubSpot private app. Give this, or the three "
            "OAuth settings."
        ),
    ),
    th.Property(
        "client_id",
        th.StringType,
        title="OAuth client ID",
        description="Client ID of a HubSpot OAuth app (with 'client_secret' and "
        "'refresh_token').",
    ),
    th.Property(
        "client_secret",
        th.StringType,
        secret=True,
        title="OAuth client secret",
        description="Client secret of the HubSpot OAuth app.",
    ),
    th.Property(
        "refresh_token",
        th.StringType,
        secret=True,
        title="OAuth refresh token",
        description=(
            "Refresh token of an installation of the OAuth app; access tokens "
            "are refreshed from it before they expire."
        ),
    ),
    th.Property(
        "token_url",
        th.StringType,
        title="OAuth token URL",
        description=(
            "Token endpoint for OAuth refreshes. Default: the one matching "
            "'api_version' under 'api_url' ('/oauth/2026-03/token', or "
            "'/oauth/v1/token' for v3)."
        ),
    ),
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        title="API base URL",
        description=(
            "Base URL of the HubSpot API. Plain http is accepted only for "
            "loopback addresses, such as a local sandbox."
        ),
    ),
    th.Property(
        "api_version",
        th.StringType,
        default=DEFAULT_API_VERSION,
        title="API version",
        description="HubSpot date-based API version ('2026-03'), or 'v3'.",
    ),
    th.Property(
        "request_timeout",
        th.NumberType,
        default=60,
        title="Request timeout",
        description="Seconds to wait for an answer before retrying a request.",
    ),
    th.Property(
        "max_retries",
        th.IntegerType,
        default=8,
        title="Maximum retries",
        description=(
            "Retries of one request after 5xx, timeouts and dropped "
            "connections; other errors are never retried. 429 answers are "
            "waited out until 'max_retry_seconds' and do not count here."
        ),
    ),
    th.Property(
        "max_retry_seconds",
        th.NumberType,
        default=900,
        title="Retry deadline",
        description="Seconds one request may spend in retries before the run fails.",
    ),
    th.Property(
        "retry_initial_delay",
        th.NumberType,
        default=1.0,
        title="First retry delay",
        description="Seconds before the first retry; doubled (with jitter) each time.",
    ),
    th.Property(
        "retry_max_delay",
        th.NumberType,
        default=60.0,
        title="Longest retry delay",
        description="Upper bound in seconds of one wait between retries.",
    ),
    th.Property(
        "rate_limit_requests",
        th.IntegerType,
        default=100,
        title="Requests per window",
        description=(
            "Requests per 10-second window to stay under until HubSpot's "
            "X-HubSpot-RateLimit-Max header reports the account's real limit."
        ),
    ),
)
