"""Settings shared by the tap and the target: credentials, API, retries."""

from __future__ import annotations

import datetime as dt
import difflib
import typing as t

from singer_sdk import typing as th

from hubspot_courses.client import DEFAULT_API_URL, DEFAULT_API_VERSION
from hubspot_courses.errors import ConfigValidationError

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

__all__ = ["CONNECTION_SETTINGS", "check_settings"]


def check_settings(
    config: Mapping[str, t.Any],
    schema: Mapping[str, t.Any],
    logger: logging.Logger,
) -> None:
    """Checks the SDK's schema validation leaves out.

    Date-time settings must parse (the SDK does not check formats), and a
    setting name the plugin does not know, usually a typo, gets a warning
    naming the closest known one.

    Raises:
        ConfigValidationError: for a date-time setting that does not parse.
    """
    known = schema.get("properties") or {}
    for name, value in config.items():
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else "."
            logger.warning("Ignoring unknown setting '%s'%s", name, hint)
            continue
        if known[name].get("format") == "date-time" and value is not None:
            try:
                dt.datetime.fromisoformat(str(value))
            except ValueError:
                msg = (
                    f"'{name}' is not an ISO-8601 date or date-time: "
                    f"'{value}'. Write it as 2026-01-31 or "
                    "2026-01-31T09:30:00Z."
                )
                raise ConfigValidationError(msg, errors=[msg]) from None


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
        th.NumberType(exclusive_minimum=0),
        default=60,
        title="Request timeout",
        description="Seconds to wait for an answer before retrying a request.",
    ),
    th.Property(
        "max_retries",
        th.IntegerType(minimum=0),
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
        th.NumberType(minimum=0),
        default=900,
        title="Retry deadline",
        description="Seconds one request may spend in retries before the run fails.",
    ),
    th.Property(
        "retry_initial_delay",
        th.NumberType(minimum=0),
        default=1.0,
        title="First retry delay",
        description="Seconds before the first retry; doubled (with jitter) each time.",
    ),
    th.Property(
        "retry_max_delay",
        th.NumberType(minimum=0),
        default=60.0,
        title="Longest retry delay",
        description="Upper bound in seconds of one wait between retries.",
    ),
    th.Property(
        "rate_limit_requests",
        th.IntegerType(minimum=1),
        default=100,
        title="Requests per window",
        description=(
            "Requests per 10-second window to stay under until HubSpot's "
            "X-HubSpot-RateLimit-Max header reports the account's real limit."
        ),
    ),
)
