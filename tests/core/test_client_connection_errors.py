"""Failures below HTTP are reported as what happened, and retried only when useful.

A refused port, a dropped connection or a timeout is retried under
``max_retries``; a host name that does not resolve is a wrong ``api_url`` and
fails after at most one quick retry. No message claims that HubSpot answered
when nothing did. The unresolvable host ends in ``.invalid``, a name that
never resolves (RFC 6761), so no real host is ever contacted.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import time
import typing as t

import pytest

from hubspot_courses.client import HubSpotClient
from hubspot_courses.errors import HubSpotAPIError

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from hubspot_sandbox import Sandbox

UNRESOLVABLE = "hubspot-courses-test.invalid"
FAST = {"retry_initial_delay": 0.01, "retry_max_delay": 0.05}


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def _client(
    config: dict[str, t.Any], sleep: t.Callable[[float], None] = time.sleep
) -> HubSpotClient:
    logger = logging.getLogger("tests.core.connection_errors")
    return HubSpotClient(config, logger, user_agent="tests", sleep=sleep)


def test_refused_port_is_retried_then_reported_as_no_connection_naming_api_url(
    closed_port: int,
) -> None:
    token = "pat-refused-port-" + "5" * 20
    config = {
        "api_url": f"http://127.0.0.1:{closed_port}",
        "access_token": token,
        "max_retries": 3,
        **FAST,
    }
    waits: list[float] = []
    client = _client(config, sleep=waits.append)

    with pytest.raises(HubSpotAPIError) as caught:
        client.get(client.paths.objects(), {"limit": 1})

    message = str(caught.value)
    assert message.startswith(
        f"Could not connect to 127.0.0.1:{closed_port} (ConnectionRefusedError)"
    )
    assert "'api_url'" in message
    assert "answered" not in message
    assert "GET /crm/objects/" in message
    assert len(waits) == 3  # refused connections keep being retried
    assert token not in message


def test_refused_token_url_names_token_url_not_the_credentials(
    closed_port: int,
) -> None:
    secret = "cs-refused-token-url-" + "6" * 20
    refresh = "rt-refused-token-url-" + "7" * 20
    config = {
        "api_url": f"http://127.0.0.1:{closed_port}",
        "token_url": f"http://127.0.0.1:{closed_port}/oauth/v1/token",
        "client_id": "app",
        "client_secret": secret,
        "refresh_token": refresh,
        "max_retries": 2,
        **FAST,
    }
    waits: list[float] = []
    client = _client(config, sleep=waits.append)

    with pytest.raises(HubSpotAPIError) as caught:
        client.get(client.paths.objects(), {"limit": 1})

    message = str(caught.value)
    assert message.startswith(
        f"Could not connect to 127.0.0.1:{closed_port} (ConnectionRefusedError)"
    )
    assert "POST /oauth/v1/token" in message
    assert "'token_url'" in message
    assert "'client_secret'" not in message
    assert len(waits) == 2
    assert secret not in message
    assert refresh not in message


def test_dropped_connections_are_retried_then_reported_without_a_status(
    make_sandbox: t.Callable[..., Sandbox], sandbox_token: str
) -> None:
    sandbox = make_sandbox(courses=3)
    sandbox.faults.drop_rate = 1.0
    config = {
        "api_url": sandbox.url,
        "access_token": sandbox_token,
        "max_retries": 2,
        **FAST,
    }
    client = _client(config)

    with pytest.raises(HubSpotAPIError) as caught:
        client.get(client.paths.objects(), {"limit": 1})

    message = str(caught.value)
    host = sandbox.url.removeprefix("http://")
    assert message.startswith(f"The connection to {host} broke")
    assert "answered" not in message
    assert "after 3 attempts" in message
    assert sandbox.stats.snapshot()["faults"]["drop"] == 3


@contextlib.contextmanager
def _count_lookups(host: str) -> Iterator[list[str]]:
    """Count resolver calls for ``host``; the real resolver still answers."""
    calls: list[str] = []
    original = socket.getaddrinfo

    def spy(name: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if str(name).rstrip(".").lower() == host:
            calls.append(str(name))
        return original(name, *args, **kwargs)

    socket.getaddrinfo = spy  # type: ignore[assignment]
    try:
        yield calls
    finally:
        socket.getaddrinfo = original


@pytest.mark.parametrize(
    ("setting", "overrides"),
    [
        ("api_url", {"api_url": f"https://{UNRESOLVABLE}"}),
        (
            "api_url",
            {
                "api_url": f"https://api.{UNRESOLVABLE}:8443/",
                "client_id": "app",
                "client_secret": "cs-dns-" + "8" * 20,
                "refresh_token": "rt-dns-" + "9" * 20,
            },
        ),
        (
            "token_url",
            {
                "api_url": f"https://{UNRESOLVABLE}",
                "token_url": f"https://oauth.{UNRESOLVABLE}/oauth/v1/token",
                "client_id": "app",
                "client_secret": "cs-dns-" + "8" * 20,
                "refresh_token": "rt-dns-" + "9" * 20,
            },
        ),
    ],
    ids=["private-app", "oauth-token-endpoint", "oauth-token-url"],
)
def test_unresolvable_host_fails_after_at_most_one_quick_retry_naming_the_setting(
    setting: str, overrides: dict[str, t.Any], caplog: pytest.LogCaptureFixture
) -> None:
    config = {"access_token": "pat-dns-" + "4" * 20, **overrides}
    if "client_id" in config:
        config.pop("access_token")
    host = re.sub(r"^https://([^/:]+).*$", r"\1", config.get("token_url", ""))
    host = host or re.sub(r"^https://([^/:]+).*$", r"\1", config["api_url"])
    waits: list[float] = []
    client = _client(config, sleep=waits.append)  # default retry settings

    with (
        _count_lookups(host) as lookups,
        caplog.at_level(logging.DEBUG),
        pytest.raises(HubSpotAPIError) as caught,
    ):
        client.get(client.paths.objects(), {"limit": 1})

    message = str(caught.value)
    assert message.startswith(f"Could not resolve host '{host}'")
    assert f"'{setting}'" in message
    assert "rerun later" not in message
    assert "max_retries" not in message
    assert 1 <= len(lookups) <= 2
    assert sum(waits) <= 1.0
    for value in ("4" * 20, "8" * 20, "9" * 20):
        assert value not in message + caplog.text


def test_429_retry_log_counts_429s_apart_from_max_retries(
    make_sandbox: t.Callable[..., Sandbox],
    sandbox_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sandbox = make_sandbox(courses=3)
    sandbox.faults.burst_429 = 4
    sandbox.faults.fail_next(1, 503)
    config = {
        "api_url": sandbox.url,
        "access_token": sandbox_token,
        "max_retries": 1,
        **FAST,
    }
    client = _client(config)

    with caplog.at_level(logging.WARNING):
        body = client.get(client.paths.objects(), {"limit": 1})

    retries = [r.getMessage() for r in caplog.records if "Retrying" in r.message]
    assert len(body["results"]) == 1
    assert len(retries) == 5
    assert "HTTP 503; retry 1 of 1 allowed by 'max_retries'" in retries[0]
    for number, line in enumerate(retries[1:], 1):
        assert f"429 number {number} of this request" in line
        assert "429s do not count toward 'max_retries'" in line
    for line in retries:
        counted = re.search(r"attempt (\d+) of (\d+)", line)
        assert counted is None or int(counted[1]) <= int(counted[2]), line


def test_create_call_to_a_refused_port_is_retried_since_nothing_was_sent(
    closed_port: int,
) -> None:
    config = {
        "api_url": f"http://127.0.0.1:{closed_port}",
        "access_token": "pat-create-refused-" + "3" * 20,
        "max_retries": 2,
        **FAST,
    }
    waits: list[float] = []
    client = _client(config, sleep=waits.append)
    path = client.paths.objects("/batch/create")

    with pytest.raises(HubSpotAPIError) as caught:
        client.post(path, {"inputs": []}, idempotent=False)

    assert str(caught.value).startswith("Could not connect to 127.0.0.1:")
    assert len(waits) == 2


def test_create_call_without_an_answer_in_time_is_not_repeated(
    make_sandbox: t.Callable[..., Sandbox], sandbox_token: str
) -> None:
    sandbox = make_sandbox(courses=0)
    sandbox.faults.hang_rate = 1.0
    sandbox.faults.hang_seconds = 2.0
    config = {
        "api_url": sandbox.url,
        "access_token": sandbox_token,
        "request_timeout": 0.3,
        **FAST,
    }
    client = _client(config)
    path = client.paths.objects("/batch/create")

    with pytest.raises(HubSpotAPIError) as caught:
        client.post(path, {"inputs": []}, idempotent=False)

    message = str(caught.value)
    host = sandbox.url.removeprefix("http://")
    assert message.startswith(f"No answer from {host} within 0.3 s on POST ")
    assert "not repeated because the request creates records" in message
    assert client.stats.retries == 0
