"""Bad configuration is refused before any write or long read, in one clear line.

Both plugins run as processes, as users start them. Each case must end with
exit code 1, exactly one ERROR line naming what to change, no traceback, no
token in the output, and no course read or written in the sandbox.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap
import typing as t

import pytest
from fault_helpers import plugin_env, source_messages, source_rows, write_json

from hubspot_sandbox import ALL_COURSE_SCOPES

if t.TYPE_CHECKING:
    from hubspot_sandbox import Sandbox

READ_ROUTES = ("list", "search", "batch_read", "get", "assoc_batch_read")
WRITE_ROUTES = (
    "create",
    "update",
    "archive",
    "batch_create",
    "batch_update",
    "batch_upsert",
    "batch_archive",
    "assoc_batch_create",
)
READ_SCOPES = frozenset(
    {"crm.objects.courses.read", "crm.schemas.courses.read"},
)
PROPERTIES_ONLY = frozenset({"crm.schemas.courses.read"})

GUARD = textwrap.dedent(
    """
    import socket, sys

    def refuse(*args, **kwargs):
        sys.stderr.write("NETWORK-ATTEMPT %r\\n" % (args[:1],))
        raise OSError("network access refused by the test")

    socket.getaddrinfo = refuse
    socket.create_connection = refuse
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    sys.argv = [sys.argv[0], *sys.argv[2:]]
    from {module} import {cls}
    {cls}.cli()
    """
)
"""Runs a plugin's CLI with every socket connection and DNS lookup refused."""


def _run(
    plugin: str,
    config: dict[str, t.Any],
    tmp_path: pathlib.Path,
    *,
    guarded: bool = False,
) -> subprocess.CompletedProcess[str]:
    config_path = write_json(tmp_path / f"{plugin}-config.json", config)
    module, cls = {
        "tap": ("tap_hubspot_courses.tap", "TapHubSpotCourses"),
        "target": ("target_hubspot_courses.target", "TargetHubSpotCourses"),
    }[plugin]
    if guarded:
        code = GUARD.format(module=module, cls=cls)
        command = [sys.executable, "-c", code, plugin, "--config", str(config_path)]
    else:
        command = [sys.executable, "-m", module, "--config", str(config_path)]
    stdin = ""
    if plugin == "target":
        stdin = source_messages(source_rows(300, seed=1))
    return subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        env=plugin_env(),
        timeout=60,
        check=False,
    )


def _assert_one_clear_error(
    result: subprocess.CompletedProcess[str], expected: list[str], secret: str
) -> None:
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if "| ERROR" in line]
    assert result.returncode == 1, output[-2000:]
    assert len(errors) == 1, errors
    for text in expected:
        assert text in errors[0]
    assert "Traceback" not in output
    assert secret not in output
    assert '"type":"STATE"' not in result.stdout.replace(" ", "")
    assert '"type":"RECORD"' not in result.stdout.replace(" ", "")


def _assert_no_course_touched(sandbox: Sandbox) -> None:
    """At most the one-course access probe was read; nothing was written."""
    routes = sandbox.stats.snapshot()["by_route"]
    assert sum(routes.get(name, 0) for name in READ_ROUTES) <= 1, routes
    assert not {name: routes[name] for name in WRITE_ROUTES if routes.get(name)}


PLUGINS = ("tap", "target")


@pytest.mark.parametrize("plugin", PLUGINS)
def test_missing_credentials_exit_1_naming_the_settings_before_any_request(
    plugin: str, tmp_path: pathlib.Path
) -> None:
    config = {"api_url": "http://127.0.0.1:9", "id_property": "external_course_id"}
    if plugin == "tap":
        config.pop("id_property")

    result = _run(plugin, config, tmp_path, guarded=True)

    _assert_one_clear_error(result, ["'access_token'", "'refresh_token'"], "x" * 20)
    assert "NETWORK-ATTEMPT" not in result.stderr
    assert "completed processing" not in result.stderr  # refused before reading


@pytest.mark.parametrize("plugin", PLUGINS)
def test_incomplete_oauth_settings_exit_1_naming_the_missing_one(
    plugin: str, tmp_path: pathlib.Path
) -> None:
    secret = "cs-incomplete-oauth-4242424242"
    config = {
        "api_url": "http://127.0.0.1:9",
        "client_id": "app",
        "client_secret": secret,
    }

    result = _run(plugin, config, tmp_path, guarded=True)

    _assert_one_clear_error(result, ["'refresh_token'"], secret)
    assert "NETWORK-ATTEMPT" not in result.stderr


@pytest.mark.parametrize("plugin", PLUGINS)
@pytest.mark.parametrize(
    "api_url",
    ["http://hubspot.invalid", "http://api.hubspot.invalid:8080/"],
    ids=["plain-http-host", "plain-http-host-port"],
)
def test_plain_http_to_a_non_loopback_host_is_refused_without_any_connection(
    plugin: str, api_url: str, tmp_path: pathlib.Path
) -> None:
    token = "pat-never-sent-" + "7" * 20
    config = {"api_url": api_url, "access_token": token}

    result = _run(plugin, config, tmp_path, guarded=True)

    _assert_one_clear_error(result, ["would send the token over plain HTTP"], token)
    assert "https://" in result.stderr
    assert "NETWORK-ATTEMPT" not in result.stderr


@pytest.mark.parametrize("plugin", PLUGINS)
def test_plain_http_token_url_to_a_non_loopback_host_is_refused_without_any_connection(
    plugin: str, tmp_path: pathlib.Path
) -> None:
    secret = "cs-token-url-5151515151515151"
    config = {
        "api_url": "http://127.0.0.1:9",
        "token_url": "http://oauth.hubspot.invalid/oauth/v1/token",
        "client_id": "app",
        "client_secret": secret,
        "refresh_token": "rt-token-url-6161616161616161",
    }

    result = _run(plugin, config, tmp_path, guarded=True)

    _assert_one_clear_error(result, ["plain HTTP"], secret)
    assert "NETWORK-ATTEMPT" not in result.stderr


CASES = {
    "wrong-token": ({}, "wrong", ["401", "Check 'access_token'"]),
    "missing-scopes": (
        {"scopes": PROPERTIES_ONLY},
        "right",
        ["MISSING_SCOPES", "crm.objects.courses.", "Grant"],
    ),
    "courses-not-activated": (
        {"courses_enabled": False},
        "right",
        ["Activate the courses object"],
    ),
}


SDK_STREAM_ERROR = "An unhandled error occurred while syncing"
"""The line singer-sdk logs at ERROR for any exception leaving a stream."""

TAP_SCOPE_XFAIL = pytest.mark.xfail(
    strict=True,
    reason=(
        "the tap meets a missing 'crm.objects.courses.read' inside the "
        "'courses' stream, where singer-sdk adds its own ERROR line"
    ),
)


@pytest.mark.parametrize(
    ("plugin", "case"),
    [
        pytest.param(
            plugin,
            case,
            id=f"{case}-{plugin}",
            marks=TAP_SCOPE_XFAIL
            if (plugin, case) == ("tap", "missing-scopes")
            else (),
        )
        for case in CASES
        for plugin in PLUGINS
    ],
)
def test_refused_access_exits_1_with_the_fix_before_reading_or_writing_courses(
    plugin: str,
    case: str,
    make_sandbox: t.Callable[..., Sandbox],
    sandbox_token: str,
    tmp_path: pathlib.Path,
) -> None:
    overrides, which, expected = CASES[case]
    overrides = dict(overrides)
    scopes = overrides.pop("scopes", ALL_COURSE_SCOPES)
    sandbox = make_sandbox(courses=250, tokens={sandbox_token: scopes}, **overrides)
    token = sandbox_token if which == "right" else "pat-wrong-" + "3" * 24
    config: dict[str, t.Any] = {"api_url": sandbox.url, "access_token": token}
    if plugin == "target":
        config["id_property"] = "external_course_id"

    before = len(sandbox.store.active_courses())

    result = _run(plugin, config, tmp_path)

    _assert_one_clear_error(result, expected, token)
    if plugin == "target" and case == "missing-scopes":
        # No API tells a private app's scopes without trying: the first write
        # call is refused as a whole and the run ends there.
        keys = {
            c.properties.get("external_course_id")
            for c in sandbox.store.courses.values()
        }
        assert len(sandbox.store.active_courses()) == before
        assert not {key for key in keys if key and key.startswith("SRC-")}
    else:
        _assert_no_course_touched(sandbox)


def test_tap_missing_read_scope_fails_before_the_first_page_with_the_fix(
    make_sandbox: t.Callable[..., Sandbox],
    sandbox_token: str,
    tmp_path: pathlib.Path,
) -> None:
    sandbox = make_sandbox(courses=250, tokens={sandbox_token: PROPERTIES_ONLY})
    config = {"api_url": sandbox.url, "access_token": sandbox_token}

    result = _run("tap", config, tmp_path)

    errors = [line for line in result.stderr.splitlines() if "| ERROR" in line]
    assert result.returncode == 1
    assert [SDK_STREAM_ERROR in line for line in errors] == [True, False]
    assert "'crm.objects.courses.read'" in errors[-1]
    assert "Traceback" not in result.stderr
    assert sandbox_token not in result.stdout + result.stderr
    assert sandbox.stats.route("list") == 0


def test_target_without_id_property_refuses_a_wrong_token_before_reading_input(
    make_sandbox: t.Callable[..., Sandbox], tmp_path: pathlib.Path
) -> None:
    sandbox = make_sandbox(courses=0)
    token = "pat-wrong-" + "4" * 24
    config = {"api_url": sandbox.url, "access_token": token}

    result = _run("target", config, tmp_path)

    _assert_one_clear_error(result, ["401", "Check 'access_token'"], token)
    _assert_no_course_touched(sandbox)
    assert "completed processing" not in result.stderr  # refused before reading


def test_target_with_read_only_scopes_fails_before_any_write_naming_the_scope(
    make_sandbox: t.Callable[..., Sandbox],
    sandbox_token: str,
    tmp_path: pathlib.Path,
) -> None:
    sandbox = make_sandbox(courses=0, tokens={sandbox_token: READ_SCOPES})
    config = {
        "api_url": sandbox.url,
        "access_token": sandbox_token,
        "id_property": "external_course_id",
    }

    result = _run("target", config, tmp_path)

    _assert_one_clear_error(result, ["crm.objects.courses.write"], sandbox_token)
    assert sandbox.store.active_courses() == []
    rejects = tmp_path / "output" / "target-hubspot-courses-rejects.jsonl"
    assert not rejects.exists()


@pytest.mark.parametrize(
    ("id_property", "expected"),
    [
        ("hs_course_id", "is not unique"),
        ("no_such_property", "does not exist"),
    ],
    ids=["not-unique", "unknown"],
)
def test_target_id_property_that_cannot_match_exits_1_listing_unique_ones(
    id_property: str,
    expected: str,
    make_sandbox: t.Callable[..., Sandbox],
    sandbox_token: str,
    tmp_path: pathlib.Path,
) -> None:
    sandbox = make_sandbox(courses=0)
    config = {
        "api_url": sandbox.url,
        "access_token": sandbox_token,
        "id_property": id_property,
    }

    result = _run("target", config, tmp_path)

    _assert_one_clear_error(
        result, [f"'{id_property}' {expected}", "'external_course_id'"], sandbox_token
    )
    _assert_no_course_touched(sandbox)


def test_tap_properties_naming_unknown_ones_exit_1_before_reading_courses(
    make_sandbox: t.Callable[..., Sandbox],
    sandbox_token: str,
    tmp_path: pathlib.Path,
) -> None:
    sandbox = make_sandbox(courses=250)
    config = {
        "api_url": sandbox.url,
        "access_token": sandbox_token,
        "properties": ["hs_course_name", "no_such_property"],
    }

    result = _run("tap", config, tmp_path)

    _assert_one_clear_error(result, ["'no_such_property'"], sandbox_token)
    _assert_no_course_touched(sandbox)


def test_bad_config_messages_are_json_free_single_lines(tmp_path: pathlib.Path) -> None:
    result = _run("tap", {"api_url": "ftp://127.0.0.1"}, tmp_path, guarded=True)

    _assert_one_clear_error(result, ["not an http(s) URL"], "unused-secret-value")
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stderr)
