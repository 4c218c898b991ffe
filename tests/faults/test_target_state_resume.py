"""A killed append-only run resumes from its last STATE: nothing twice, nothing lost.

``append-only`` creates a new course for every row it is given, so the
STATE a killed run leaves behind is the only thing between a rerun and
duplicate courses. The target must emit STATE while it runs, not only at
the end of its input.
"""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import threading
import time
import typing as t

import pytest
from fault_helpers import FAST_RETRIES, plugin_env, target_command, write_json

if t.TYPE_CHECKING:
    import pathlib
    from collections.abc import Callable

    from hubspot_sandbox import Sandbox

ROWS = 3_000
STATE_EVERY = 100
BATCH_ROWS = 500
FED_BEFORE_KILL = 1_700
"""Rows the first run is given before it is killed: three drains, and 200
rows left buffered, unwritten."""
WAIT_SECONDS = 30


def _input(start: int, stop: int) -> str:
    """Singer lines for rows ``[start, stop)``, a STATE after every 100th row."""
    lines: list[dict[str, t.Any]] = [
        {
            "type": "SCHEMA",
            "stream": "courses",
            "schema": {
                "type": "object",
                "properties": {"hs_course_name": {"type": ["string", "null"]}},
            },
            "key_properties": [],
        }
    ]
    for position in range(start, stop):
        row = {"hs_course_name": f"Course {position:05d}"}
        lines.append({"type": "RECORD", "stream": "courses", "record": row})
        if (position + 1) % STATE_EVERY == 0:
            value = {"bookmarks": {"source": {"position": position + 1}}}
            lines.append({"type": "STATE", "value": value})
    return "".join(json.dumps(line) + "\n" for line in lines)


def _position(line: str) -> int:
    return int(json.loads(line)["bookmarks"]["source"]["position"])


def _pump(stream: t.IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def test_append_only_run_killed_after_drains_resumes_from_state_without_duplicates(
    make_sandbox: Callable[..., Sandbox],
    sandbox_token: str,
    tmp_path: pathlib.Path,
) -> None:
    portal = make_sandbox(courses=0)
    config = {
        "access_token": sandbox_token,
        "api_url": portal.url,
        "load_method": "append-only",
        "batch_size_rows": BATCH_ROWS,
        "rejects_path": str(tmp_path / "rejects.jsonl"),
        "rate_limit_requests": 900,
        **FAST_RETRIES,
    }
    command = target_command(write_json(tmp_path / "config.json", config))
    last_buffered_drain = FED_BEFORE_KILL // BATCH_ROWS * BATCH_ROWS

    # Run 1: fed 1,700 rows and left waiting for more (stdin stays open),
    # then SIGKILLed once it has emitted the STATE of its last drain.
    with (tmp_path / "run-1.err").open("w") as stderr:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=plugin_env(),
        )
        assert process.stdin is not None
        assert process.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(
            target=_pump, args=(process.stdout, lines), daemon=True
        )
        reader.start()
        states: list[str] = []
        try:
            process.stdin.write(_input(0, FED_BEFORE_KILL))
            process.stdin.flush()
            deadline = time.monotonic() + WAIT_SECONDS
            while not states or _position(states[-1]) < last_buffered_drain:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                with contextlib.suppress(queue.Empty):
                    states.append(lines.get(timeout=left))
            landed_at_kill = len(portal.store.active_courses())
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            reader.join(timeout=10)
            with contextlib.suppress(OSError):
                process.stdin.close()
    if not states:
        pytest.fail(
            f"no STATE within {WAIT_SECONDS} s after three drains of {BATCH_ROWS} "
            f"rows ({landed_at_kill} courses written)"
        )
    resume_at = _position(states[-1])

    # Run 2: from the position of the last STATE run 1 emitted.
    rerun = subprocess.run(
        command,
        input=_input(resume_at, ROWS),
        capture_output=True,
        text=True,
        env=plugin_env(),
        timeout=120,
        check=False,
    )

    names = sorted(
        c.properties["hs_course_name"] for c in portal.store.active_courses()
    )
    assert process.returncode == -signal.SIGKILL
    assert [_position(line) for line in states] == [400, 500, 900, 1000, 1400, 1500]
    assert landed_at_kill == resume_at == last_buffered_drain
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _position(rerun.stdout.splitlines()[-1]) == ROWS
    assert names == [f"Course {n:05d}" for n in range(ROWS)]
    assert portal.stats.route("batch_create") == ROWS // 100  # no row sent twice
