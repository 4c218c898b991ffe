"""OAuth token refresh: transient failures are retried, only refusals blame credentials.

Each test runs the shared client in-process against a sandbox whose faults are
limited to the token endpoint (``^/oauth``). The secrets are random per test,
and neither the error nor any log line may show them.
"""

from __future__ import annotations

import logging
import secrets
import time
import typing as t

import pytest

from hubspot_courses.client import HubSpotClient
from hubspot_courses.errors import AuthenticationError, HubSpotAPIError
from hubspot_sandbox import OAuthClient

if t.TYPE_CHECKING:
    from hubspot_sandbox import Sandbox

CLIENT_ID = "token-refresh-test-app"
TOKEN_PATH = "^/oauth"
CREDENTIALS_BLAME = ("'client_id'", "'client_secret'", "refused the refresh token")


class OAuthPortal:
    """A sandbox with one OAuth app, and the client settings to reach it."""

    def __init__(self, sandbox: Sandbox, client_secret: str, refresh: str) -> None:
        self.sandbox = sandbox
        self.client_secret = client_secret
        self.refresh = refresh

    def config(self, **overrides: t.Any) -> dict[str, t.Any]:
        return {
            "api_url": self.sandbox.url,
            "client_id": CLIENT_ID,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh,
            "retry_initial_delay": 0.01,
            "retry_max_delay": 0.05,
            "max_retries": 4,
            **overrides,
        }

    def secrets(self) -> list[str]:
        return [self.client_secret, self.refresh]

    def token_posts(self) -> int:
        return self.sandbox.stats.route("oauth_token")


@pytest.fixture
def portal(make_sandbox: t.Callable[..., Sandbox]) -> OAuthPortal:
    client_secret = "cs-" + secrets.token_urlsafe(24)
    refresh = "rt-" + secrets.token_urlsafe(24)
    sandbox = make_sandbox(
        courses=3,
        tokens={},
        oauth_clients={CLIENT_ID: OAuthClient(client_secret, {refresh})},
    )
    return OAuthPortal(sandbox, client_secret, refresh)


def _client(
    config: dict[str, t.Any], sleep: t.Callable[[float], None] = time.sleep
) -> HubSpotClient:
    logger = logging.getLogger("tests.core.token_refresh")
    return HubSpotClient(config, logger, user_agent="tests", sleep=sleep)


def _issued_access_tokens(client: HubSpotClient) -> list[str]:
    header = client.credentials.authorization()
    return [header.removeprefix("Bearer ")]


def _assert_no_secret(portal: OAuthPortal, *texts: str) -> None:
    for text in texts:
        for secret in portal.secrets():
            assert secret not in text
            assert secret[-16:] not in text


TRANSIENT_FAULTS = {
    "503": {"error_5xx_rate": 1.0, "error_5xx_statuses": (503,)},
    "502": {"error_5xx_rate": 1.0, "error_5xx_statuses": (502,)},
    "429": {"burst_429": 1},
    "dropped-connection": {"drop_rate": 1.0},
    "timeout": {"hang_rate": 1.0, "hang_seconds": 2.0},
}


@pytest.mark.parametrize("fault", TRANSIENT_FAULTS.values(), ids=TRANSIENT_FAULTS)
def test_one_transient_token_endpoint_failure_is_retried_and_the_read_succeeds(
    portal: OAuthPortal, fault: dict[str, t.Any], caplog: pytest.LogCaptureFixture
) -> None:
    sandbox = portal.sandbox
    sandbox.faults.path_regex = TOKEN_PATH
    for name, value in fault.items():
        setattr(sandbox.faults, name, value)

    def sleep_then_heal(seconds: float) -> None:
        sandbox.faults.reset()  # the token endpoint recovers during the backoff
        time.sleep(seconds)

    client = _client(portal.config(request_timeout=0.5), sleep=sleep_then_heal)

    with caplog.at_level(logging.DEBUG):
        body = client.get(client.paths.objects(), {"limit": 1})

    assert len(body["results"]) == 1
    assert portal.token_posts() >= 1
    assert client.stats.retries == 1
    assert client.credentials.refreshes == 1  # type: ignore[attr-defined]
    _assert_no_secret(portal, caplog.text, *_issued_access_tokens(client))
    assert "Bearer" not in caplog.text


def test_token_endpoint_failing_past_the_retries_says_transient_not_credentials(
    portal: OAuthPortal, caplog: pytest.LogCaptureFixture
) -> None:
    portal.sandbox.faults.path_regex = TOKEN_PATH
    portal.sandbox.faults.error_5xx_rate = 1.0
    portal.sandbox.faults.error_5xx_statuses = (503,)
    client = _client(portal.config(max_retries=2))

    with caplog.at_level(logging.DEBUG), pytest.raises(HubSpotAPIError) as caught:
        client.get(client.paths.objects(), {"limit": 1})

    message = str(caught.value)
    assert not isinstance(caught.value, AuthenticationError)
    assert "token endpoint kept failing with HTTP 503" in message
    assert "rerun later" in message
    assert "'max_retries'" in message
    assert not any(blame in message for blame in CREDENTIALS_BLAME)
    assert portal.token_posts() == 3  # the first try and max_retries retries
    assert portal.sandbox.stats.route("list") == 0
    _assert_no_secret(portal, message, caplog.text)


def test_token_endpoint_429s_are_paced_by_the_shared_limiter(
    portal: OAuthPortal,
) -> None:
    portal.sandbox.faults.path_regexes = {"burst_429": TOKEN_PATH}
    portal.sandbox.faults.burst_429 = 2
    client = _client(portal.config(max_retries=0))
    blocks: list[float] = []
    block_for = client.limiter.block_for

    def spy(seconds: float) -> None:
        blocks.append(seconds)
        block_for(seconds)

    client.limiter.block_for = spy  # type: ignore[method-assign]

    body = client.get(client.paths.objects(), {"limit": 1})

    assert len(body["results"]) == 1
    assert portal.token_posts() == 3  # 429s do not count toward max_retries
    assert len(blocks) == 2
    assert client.stats.retries == 2


@pytest.mark.parametrize(
    ("which", "named"),
    [
        ("refresh_token", "'refresh_token'"),
        ("client_secret", "'client_secret'"),
    ],
    ids=["revoked-refresh-token", "wrong-client-secret"],
)
def test_refused_refresh_fails_at_once_naming_the_credential(
    portal: OAuthPortal,
    which: str,
    named: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = f"wrong-{which}-" + secrets.token_urlsafe(24)
    client = _client(portal.config(**{which: wrong}))

    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as caught:
        client.get(client.paths.objects(), {"limit": 1})

    message = str(caught.value)
    assert "HubSpot answered 400" in message
    assert named in message
    assert portal.token_posts() == 1
    assert client.stats.retries == 0
    _assert_no_secret(portal, message, caplog.text)
    assert wrong not in message + caplog.text
