"""The tap as users run it: a subprocess with a config file and STATE."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import typing as t

import pytest
from tap_helpers import TOKEN, parse_messages, tap_config

from hubspot_sandbox import ALL_COURSE_SCOPES

if t.TYPE_CHECKING:
    from hubspot_sandbox import Sandbox

ROOT = pathlib.Path(__file__).resolve().parents[2]
READ_ONLY = frozenset({"crm.objects.contacts.read"})


def _command(config: dict[str, t.Any], tmp_path: pathlib.Path, *args: str) -> list[str]:
    path = tmp_path / f"config-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps({k: v for k, v in config.items() if v is not None}))
    return [sys.executable, "-m", "tap_hubspot_courses", "--config", str(path), *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, env=_env(), timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("overrides", "token", "expected"),
    [
        pytest.param(
            {"tokens": {TOKEN: READ_ONLY}},
            TOKEN,
            ["MISSING_SCOPES", "crm.objects.courses.read", "Grant"],
            id="missing-scope",
        ),
        pytest.param(
            {"tokens": {TOKEN: ALL_COURSE_SCOPES}, "courses_enabled": False},
            TOKEN,
            ["Activate the courses object"],
            id="courses-not-activated",
        ),
        pytest.param(
            {"tokens": {TOKEN: ALL_COURSE_SCOPES}},
            "pat-na1-wrong-token-987654321",
            ["401", "Check 'access_token'"],
            id="bad-token",
        ),
    ],
)
def test_cli_refused_access_exits_with_cause_and_fix_and_never_the_token(
    make_sandbox: t.Callable[..., Sandbox],
    tmp_path: pathlib.Path,
    overrides: dict[str, t.Any],
    token: str,
    expected: list[str],
) -> None:
    sb = make_sandbox(courses=5, **overrides)

    result = _run(_command(tap_config(sb.url, token=token), tmp_path))

    output = result.stdout + result.stderr
    assert result.returncode == 1
    for text in expected:
        assert text in output
    assert token not in output
    assert "Traceback" not in output


def test_cli_discover_with_refused_token_exits_with_cause_and_never_the_token(
    make_sandbox: t.Callable[..., Sandbox], tmp_path: pathlib.Path
) -> None:
    sb = make_sandbox(courses=5, tokens={TOKEN: ALL_COURSE_SCOPES})
    token = "pat-na1-another-wrong-token-55555"

    result = _run(_command(tap_config(sb.url, token=token), tmp_path, "--discover"))

    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Check 'access_token'" in output
    assert token not in output


def test_cli_sync_killed_with_sigkill_resumes_from_last_state_without_loss(
    make_sandbox: t.Callable[..., Sandbox], tmp_path: pathlib.Path
) -> None:
    sb = make_sandbox(
        courses=2600,
        tokens={TOKEN: ALL_COURSE_SCOPES},
        seed_options={"heavy_association_courses": 0, "archived_fraction": 0.0},
    )
    sb.faults.latency_ms = 15
    config = tap_config(sb.url, associations=["companies"])
    lines: list[str] = []
    with subprocess.Popen(
        _command(config, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    ) as process:
        assert process.stdout is not None
        courses_seen = 0
        for line in process.stdout:
            lines.append(line)
            if '"type":"RECORD"' in line and '"stream":"courses"' in line:
                courses_seen += 1
                if courses_seen == 1500:
                    process.send_signal(signal.SIGKILL)
                    break
        process.wait(timeout=30)
    first = parse_messages("".join(lines))
    states = [m["value"] for m in first if m["type"] == "STATE"]
    state = states[-1]
    assert state["bookmarks"]["courses"]["phase"] == "list"
    assert state["bookmarks"]["courses"]["after"]
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(state))
    sb.faults.latency_ms = 0

    result = _run(_command(config, tmp_path, "--state", str(state_path)))

    second = parse_messages(result.stdout)
    assert result.returncode == 0

    def ids(messages: list[dict[str, t.Any]], stream: str, key: str) -> set[str]:
        return {
            m["record"][key]
            for m in messages
            if m["type"] == "RECORD" and m["stream"] == stream
        }

    every = {c.id for c in sb.store.courses.values() if not c.archived}
    assert ids(first, "courses", "id") | ids(second, "courses", "id") == every
    with_company = {
        course_id
        for course_id in every
        if sb.store.associations_of(course_id, "companies")
    }
    emitted = ids(first, "course_associations", "course_id") | ids(
        second, "course_associations", "course_id"
    )
    assert emitted == with_company
    assert len(ids(second, "courses", "id")) <= 2600 - 1000


def test_cli_version_names_the_distribution_version() -> None:
    result = _run([sys.executable, "-m", "tap_hubspot_courses", "--version"])

    assert result.returncode == 0
    assert "tap-hubspot-courses v" in result.stdout + result.stderr
