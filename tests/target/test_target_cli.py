"""The target as a process: version, fatal errors, and a crash mid-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.target.conftest import by_key, course, flat_messages, state

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _command(config_path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "target_hubspot_courses",
        "--config",
        str(config_path),
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": ROOT}


def test_version_prints_the_plugin_version():
    done = subprocess.run(
        [sys.executable, "-m", "target_hubspot_courses", "--version"],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )

    assert "target-hubspot-courses v0.1.0" in done.stdout


def test_non_unique_id_property_exits_1_with_one_clear_line(
    make_sandbox, target_config, tmp_path, sandbox_token
):
    portal = make_sandbox(courses=0)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(target_config(portal, id_property="hs_course_id")))

    done = subprocess.run(
        _command(config), input="", capture_output=True, text=True, env=_env()
    )

    assert done.returncode == 1
    assert "id_property 'hs_course_id' is not unique" in done.stderr
    assert "Traceback" not in done.stderr
    assert sandbox_token not in done.stderr + done.stdout


@pytest.mark.slow
def test_killed_run_emits_no_state_and_a_rerun_neither_loses_nor_duplicates(
    make_sandbox, target_config, tmp_path
):
    portal = make_sandbox(courses=0)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(target_config(portal, batch_size_rows=100)))
    messages = flat_messages([course(n) for n in range(600)])
    messages.append(state({"bookmarks": {"courses": {"n": 600}}}))
    text = "".join(json.dumps(m) + "\n" for m in messages)
    portal.faults.latency_ms = 150

    feed = tmp_path / "input.jsonl"
    feed.write_text(text)
    with feed.open() as stdin:
        process = subprocess.Popen(
            _command(config),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_env(),
            text=True,
        )
        deadline = time.monotonic() + 30
        while len(by_key(portal)) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.kill()
        stdout, _ = process.communicate(timeout=10)
    landed_before_kill = len(by_key(portal))

    portal.faults.latency_ms = 0
    rerun = subprocess.run(
        _command(config), input=text, capture_output=True, text=True, env=_env()
    )

    assert stdout.strip() == ""  # no STATE for unfinished work
    assert 0 < landed_before_kill < 600
    assert rerun.returncode == 0
    assert json.loads(rerun.stdout.strip().splitlines()[-1]) == {
        "bookmarks": {"courses": {"n": 600}}
    }
    assert len(portal.store.active_courses()) == 600
    assert set(by_key(portal)) == {f"EXT-{n}" for n in range(600)}
