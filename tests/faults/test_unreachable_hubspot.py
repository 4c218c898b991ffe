"""Unreachable hosts and a failing token endpoint end a run in one truthful line.

Both plugins run as processes, as users start them. A refused port, a host
name that does not resolve and an OAuth token endpoint that keeps answering
503 each end the run with exit code 1 and exactly one ERROR line that says
what happened: nothing claims HubSpot answered when nothing did, and a
transient token endpoint failure never blames the credentials. The
unresolvable host ends in ``.invalid`` (RFC 6761), so no real host is asked.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import typing as t

import pytest
from fault_helpers import (
    FAST_RETRIES,
    plugin_env,
    source_messages,
    source_rows,
    tap_command,
    target_command,
    write_json,
)

from hubspot_sandbox import OAuthClient

if t.TYPE_CHECKING:
    import pathlib
    from collections.abc import Iterator

    from hubspot_sandbox import Sandbox

PLUGINS = ("tap", "target")
UNRESOLVABLE = "hubspot-courses-test.invalid"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def _run(
    plugin: str, config: dict[str, t.Any], tmp_path: pathlib.Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    stdin = ""
    if plugin == "target":
        config = {"id_property": "external_course_id", **config}
        stdin = source_messages(source_rows(20, seed=2))
    path = write_json(tmp_path / f"{plugin}-config.json", config)
    command = tap_command(path) if plugin == "tap" else target_command(path)
    return subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        env=plugin_env(),
        timeout=timeout,
        check=False,
    )


def _the_error(
    result: subprocess.CompletedProcess[str], secret_values: t.Iterable[str]
) -> str:
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if "| ERROR" in line]
    assert result.returncode == 1, output[-2000:]
    assert len(errors) == 1, errors
    assert "Traceback" not in output
    assert "answered 0" not in output
    for value in secret_values:
        assert value not in output
    return errors[0]


@pytest.mark.parametrize("plugin", PLUGINS)
def test_refused_port_ends_the_run_saying_it_could_not_connect(
    plugin: str, closed_port: int, tmp_path: pathlib.Path
) -> None:
    token = "pat-closed-port-" + secrets.token_urlsafe(16)
    config = {
        "api_url": f"http://127.0.0.1:{closed_port}",
        "access_token": token,
        **FAST_RETRIES,
        "max_retries": 2,
    }

    result = _run(plugin, config, tmp_path, timeout=60)

    error = _the_error(result, [token])
    assert f"Could not connect to 127.0.0.1:{closed_port} (ConnectionRefusedError)" in (
        error
    )
    assert "Check 'api_url'" in error
    assert result.stderr.count("Retrying") == 2


@pytest.mark.parametrize("plugin", PLUGINS)
def test_unresolvable_api_url_ends_the_run_at_once_naming_api_url_and_host(
    plugin: str, tmp_path: pathlib.Path
) -> None:
    token = "pat-unresolvable-" + secrets.token_urlsafe(16)
    config = {"api_url": f"https://{UNRESOLVABLE}", "access_token": token}

    result = _run(plugin, config, tmp_path, timeout=90)  # default retries

    error = _the_error(result, [token])
    assert f"Could not resolve host '{UNRESOLVABLE}'" in error
    assert "Check 'api_url'" in error
    assert "rerun later" not in error
    assert result.stderr.count("Retrying") <= 1


@pytest.mark.parametrize("plugin", PLUGINS)
def test_token_endpoint_503s_past_the_retries_end_the_run_without_blaming_credentials(
    plugin: str, make_sandbox: t.Callable[..., Sandbox], tmp_path: pathlib.Path
) -> None:
    client_secret = "cs-" + secrets.token_urlsafe(24)
    refresh = "rt-" + secrets.token_urlsafe(24)
    sandbox = make_sandbox(
        courses=5,
        tokens={},
        oauth_clients={"app": OAuthClient(client_secret, {refresh})},
    )
    sandbox.faults.path_regexes = {"error_5xx_rate": "^/oauth"}
    sandbox.faults.error_5xx_rate = 1.0
    sandbox.faults.error_5xx_statuses = (503,)
    config = {
        "api_url": sandbox.url,
        "client_id": "app",
        "client_secret": client_secret,
        "refresh_token": refresh,
        **FAST_RETRIES,
        "max_retries": 3,
    }

    result = _run(plugin, config, tmp_path, timeout=60)

    error = _the_error(result, [client_secret, refresh, client_secret[-16:]])
    assert "token endpoint kept failing with HTTP 503" in error
    assert "not a refusal of the credentials" in error
    assert "rerun later" in error
    assert "'client_secret'" not in error
    assert sandbox.stats.route("oauth_token") == 4
