"""Run the plugins as processes under faults and SIGKILL, and compare outcomes.

The campaign's yardstick is what a user ends with after a bad night:

* tap: the rows a warehouse holds after loading every run's output and
  merging on the primary key (DuckDB, last run wins) must equal the rows of
  a fault-free run;
* target: the sandbox must hold exactly the source's courses, one per
  ``external_course_id``, with the source's values.

A killed run is rerun from the last STATE line it emitted (for the target:
the input resumes after the source position that STATE names), as an
orchestrator such as Meltano would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import decimal
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import threading
import time
import typing as t

import duckdb

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from hubspot_sandbox import Faults, Sandbox

ROOT = pathlib.Path(__file__).resolve().parents[2]

LARGE = os.environ.get("FAULT_CAMPAIGN_SCALE", "ci") == "large"
"""``FAULT_CAMPAIGN_SCALE=large`` (set by ``scripts/fault-campaign``) runs more
seeds, kill points and records than CI does."""

FIGURES_PATH = os.environ.get("FAULT_CAMPAIGN_FIGURES")
"""When set, every scenario appends its figures to this JSON Lines file."""

FAST_RETRIES: dict[str, t.Any] = {
    "retry_initial_delay": 0.01,
    "retry_max_delay": 0.05,
    "max_retries": 12,
    "max_retry_seconds": 60,
}
"""Client settings that keep retries fast without lowering their budget much."""


Scenario = tuple[dict[str, t.Any], dict[str, t.Any], str | None]
"""A campaign scenario: faults, config overrides, fault kind that must fire."""


def fault_scenarios(*, burst_429: int) -> dict[str, Scenario]:
    """The faults both plugins' campaigns run, by scenario name."""
    return {
        "429-storm": ({"burst_429": burst_429}, {}, "burst_429"),
        "5xx-bursts": ({"error_5xx_rate": 0.2}, {}, "error_5xx"),
        "hang-past-timeout": (
            {"hang_rate": 0.25, "hang_seconds": 1.5},
            {"request_timeout": 0.4},
            "hang",
        ),
        "dropped-connections": ({"drop_rate": 0.2}, {}, "drop"),
        "malformed-json": ({"malformed_rate": 0.2}, {}, "malformed"),
        "oauth-token-expiry": (
            {"expire_tokens_after": 4},
            {"oauth": True},
            "token_expired",
        ),
        "kills-only": ({}, {}, None),
    }


def plugin_env() -> dict[str, str]:
    """Environment of a plugin process: this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(ROOT), env.get("PYTHONPATH", "")) if part
    )
    env["PYTHONUNBUFFERED"] = "0"
    return env


def write_json(path: pathlib.Path, value: t.Any) -> pathlib.Path:
    """Write ``value`` as JSON to ``path`` and return the path."""
    path.write_text(json.dumps(value))
    return path


@dataclasses.dataclass
class ProcessRun:
    """One plugin process: what it printed and how it ended."""

    stdout: str
    stderr: str
    returncode: int
    killed: bool

    def messages(self) -> list[dict[str, t.Any]]:
        """Singer messages on stdout (a line cut by a kill is dropped)."""
        found = []
        for line in self.stdout.splitlines():
            with contextlib.suppress(ValueError):
                found.append(json.loads(line, parse_float=decimal.Decimal))
        return found

    def states(self) -> list[dict[str, t.Any]]:
        """STATE values, in order."""
        return [m["value"] for m in self.messages() if m.get("type") == "STATE"]


def run_process(
    command: list[str],
    *,
    stdin_text: str | None = None,
    kill_after_lines: int | None = None,
    kill_when: Callable[[], bool] | None = None,
    timeout: float = 120,
) -> ProcessRun:
    """Run ``command``; SIGKILL it after reading N stdout lines or on a condition.

    Lines the process wrote after the kill point are discarded, as a pipe
    consumer that died with it would never have seen them.
    """
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=plugin_env(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    killed = threading.Event()
    lines: list[str] = []
    errors: list[str] = []

    def kill() -> None:
        if not killed.is_set():
            killed.set()
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)

    def feed() -> None:
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            process.stdin.write(stdin_text or "")
            process.stdin.close()

    def drain_stderr() -> None:
        assert process.stderr is not None
        errors.extend(process.stderr)

    def watch() -> None:
        while process.poll() is None and not killed.is_set():
            if kill_when is not None and kill_when():
                kill()
                return
            time.sleep(0.005)

    threads = [threading.Thread(target=drain_stderr, daemon=True)]
    if stdin_text is not None:
        threads.append(threading.Thread(target=feed, daemon=True))
    if kill_when is not None:
        threads.append(threading.Thread(target=watch, daemon=True))
    for thread in threads:
        thread.start()
    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        for line in process.stdout:
            if killed.is_set():
                break
            lines.append(line)
            if kill_after_lines is not None and len(lines) >= kill_after_lines:
                kill()
                break
        process.wait(timeout=timeout)
    finally:
        timer.cancel()
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()
        for thread in threads:
            thread.join(timeout=10)
    if process.returncode == -signal.SIGKILL and not killed.is_set():
        killed.set()
    return ProcessRun(
        "".join(lines), "".join(errors), process.returncode, killed.is_set()
    )


def tap_command(config_path: pathlib.Path, *args: str) -> list[str]:
    """Command line running the tap."""
    return [
        sys.executable,
        "-m",
        "tap_hubspot_courses",
        "--config",
        str(config_path),
        *args,
    ]


def target_command(config_path: pathlib.Path) -> list[str]:
    """Command line running the target."""
    return [
        sys.executable,
        "-m",
        "target_hubspot_courses",
        "--config",
        str(config_path),
    ]


# ---------------------------------------------------------------- figures


@dataclasses.dataclass
class Figures:
    """What one scenario injected and what it ended with."""

    plugin: str
    scenario: str
    faults: dict[str, int] = dataclasses.field(default_factory=dict)
    kill_points: int = 0
    runs: int = 0
    records_expected: int = 0
    records_lost: int = 0
    duplicates: int = 0
    wrong_values: int = 0
    secrets_found: int = 0

    def add_faults(self, sandbox: Sandbox) -> None:
        """Add the faults ``sandbox`` injected so far (then reset its counters)."""
        for kind, count in sandbox.stats.snapshot()["faults"].items():
            if kind == "latency":
                continue
            self.faults[kind] = self.faults.get(kind, 0) + count
        sandbox.stats.reset()

    def record(self) -> None:
        """Append these figures to ``FAULT_CAMPAIGN_FIGURES`` when it is set."""
        if FIGURES_PATH:
            with open(FIGURES_PATH, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(dataclasses.asdict(self)) + "\n")


def secrets_in(workdir: pathlib.Path, values: Iterable[str]) -> int:
    """How many (file, secret) pairs show a secret in the files under ``workdir``.

    Config files are skipped: they hold the secrets by design.
    """
    found = 0
    for path in workdir.rglob("*"):
        if not path.is_file() or path.name.startswith("config"):
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        found += sum(1 for value in values if value and value in text)
    return found


def kill_points(seed: int, count: int, upper: int) -> list[int]:
    """``count`` seeded kill points in ``[1, upper)``, in the order to use them."""
    rng = random.Random(seed)
    return [rng.randrange(1, max(2, upper)) for _ in range(count)]


# ---------------------------------------------------------------- tap side


@dataclasses.dataclass
class TapPipeline:
    """Every run of the tap until one completed, as a warehouse received them."""

    runs: list[ProcessRun]

    @property
    def kills(self) -> int:
        """Runs ended by SIGKILL."""
        return sum(run.killed for run in self.runs)


def run_tap_until_done(
    config_path: pathlib.Path,
    workdir: pathlib.Path,
    kills: Iterable[int] = (),
    *,
    max_runs: int = 12,
) -> TapPipeline:
    """Run the tap, SIGKILL it at each of ``kills`` lines, resume from STATE.

    Each run starts from the last STATE the previous runs emitted, like a
    scheduler that stores every STATE line it receives.
    """
    pending = list(kills)
    runs: list[ProcessRun] = []
    state: dict[str, t.Any] | None = None
    while len(runs) < max_runs:
        args: list[str] = []
        if state is not None:
            state_path = write_json(workdir / f"state-{len(runs)}.json", state)
            args = ["--state", str(state_path)]
        kill_at = pending.pop(0) if pending else None
        run = run_process(tap_command(config_path, *args), kill_after_lines=kill_at)
        runs.append(run)
        (workdir / f"tap-run-{len(runs)}.out").write_text(run.stdout)
        (workdir / f"tap-run-{len(runs)}.err").write_text(run.stderr)
        states = run.states()
        if states:
            state = states[-1]
        if not run.killed:
            if run.returncode != 0:
                tail = run.stderr.strip().splitlines()[-5:]
                msg = f"tap run {len(runs)} failed: " + " | ".join(tail)
                raise AssertionError(msg)
            return TapPipeline(runs)
    msg = f"the tap did not complete in {max_runs} runs"
    raise AssertionError(msg)


def _canonical(value: t.Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class Warehouse:
    """A DuckDB database loaded the way a target would: append, then merge.

    Every RECORD of every run is appended with its run and position; the
    merged view keeps the last version of each primary key.
    """

    def __init__(self, path: pathlib.Path) -> None:
        """Create the tables in a new database file at ``path``."""
        self.connection = duckdb.connect(str(path))
        self.connection.execute(
            "CREATE TABLE courses_raw (id VARCHAR, run INTEGER, seq INTEGER, "
            "body VARCHAR)"
        )
        self.connection.execute(
            "CREATE TABLE associations_raw (course_id VARCHAR, to_type VARCHAR, "
            "to_id VARCHAR, type_id VARCHAR, run INTEGER, seq INTEGER)"
        )

    def close(self) -> None:
        """Close the database."""
        self.connection.close()

    def load(self, runs: Iterable[ProcessRun]) -> None:
        """Append the records of ``runs``."""
        courses: list[tuple[t.Any, ...]] = []
        links: list[tuple[t.Any, ...]] = []
        for run_no, run in enumerate(runs):
            for seq, message in enumerate(run.messages()):
                if message.get("type") != "RECORD":
                    continue
                row = message["record"]
                if message["stream"] == "courses":
                    body = {
                        key: row.get(key)
                        for key in ("properties", "unparsed_properties", "archived")
                    }
                    courses.append((row["id"], run_no, seq, _canonical(body)))
                elif message["stream"] == "course_associations":
                    links.append(
                        (
                            str(row.get("course_id")),
                            str(row.get("to_object_type")),
                            str(row.get("to_object_id")),
                            str(row.get("association_type_id")),
                            run_no,
                            seq,
                        )
                    )
        if courses:
            self.connection.executemany(
                "INSERT INTO courses_raw VALUES (?, ?, ?, ?)", courses
            )
        if links:
            self.connection.executemany(
                "INSERT INTO associations_raw VALUES (?, ?, ?, ?, ?, ?)", links
            )

    def courses(self) -> dict[str, str]:
        """The merged course rows: the last version of each id."""
        rows = self.connection.execute(
            "SELECT id, body FROM courses_raw QUALIFY row_number() OVER "
            "(PARTITION BY id ORDER BY run DESC, seq DESC) = 1"
        ).fetchall()
        return dict(rows)

    def associations(self) -> set[tuple[str, ...]]:
        """The merged association rows (their whole row is the key)."""
        rows = self.connection.execute(
            "SELECT DISTINCT course_id, to_type, to_id, type_id FROM associations_raw"
        ).fetchall()
        return {tuple(row) for row in rows}

    def emitted_more_than_once(self) -> int:
        """Course ids emitted by more than one run or twice in one run."""
        (count,) = self.connection.execute(
            "SELECT count(*) FROM (SELECT id FROM courses_raw GROUP BY id "
            "HAVING count(*) > 1)"
        ).fetchone() or (0,)
        return int(count)


def warehouse_of(runs: Iterable[ProcessRun], path: pathlib.Path) -> Warehouse:
    """A warehouse at ``path`` loaded with ``runs``."""
    warehouse = Warehouse(path)
    warehouse.load(runs)
    return warehouse


# ---------------------------------------------------------------- target side

SOURCE_COLUMNS: dict[str, dict[str, t.Any]] = {
    "external_course_id": {"type": ["string", "null"]},
    "hs_course_name": {"type": ["string", "null"]},
    "hs_enrollment_capacity": {"type": ["number", "null"]},
    "is_certified": {"type": ["boolean", "null"]},
    "delivery_format": {"type": ["string", "null"]},
}


def source_rows(count: int, seed: int) -> list[dict[str, t.Any]]:
    """``count`` source course rows keyed ``SRC-<n>``, values drawn from ``seed``."""
    rng = random.Random(seed)
    return [
        {
            "external_course_id": f"SRC-{n:05d}",
            "hs_course_name": f"Course {n} · {rng.choice(['Ünï', '日本', 'ok'])}",
            "hs_enrollment_capacity": rng.randrange(1, 500),
            "is_certified": rng.random() < 0.5,
            "delivery_format": rng.choice(["online", "in_person"]),
        }
        for n in range(count)
    ]


def source_messages(
    rows: list[dict[str, t.Any]], *, start: int = 0, state_every: int = 25
) -> str:
    """Singer input from position ``start``: SCHEMA, RECORDs and STATE lines.

    A STATE ``{"bookmarks": {"source": {"position": p}}}`` follows every
    ``state_every`` records: rows before ``p`` are done once it is emitted.
    """
    lines = [
        {
            "type": "SCHEMA",
            "stream": "courses",
            "schema": {"type": "object", "properties": SOURCE_COLUMNS},
            "key_properties": ["external_course_id"],
        }
    ]
    for position in range(start, len(rows)):
        lines.append({"type": "RECORD", "stream": "courses", "record": rows[position]})
        done = position + 1
        if done % state_every == 0 or done == len(rows):
            lines.append(
                {
                    "type": "STATE",
                    "value": {"bookmarks": {"source": {"position": done}}},
                }
            )
    return "".join(json.dumps(line) + "\n" for line in lines)


@dataclasses.dataclass
class TargetPipeline:
    """Every run of the target until one completed."""

    runs: list[ProcessRun]

    @property
    def kills(self) -> int:
        """Runs ended by SIGKILL."""
        return sum(run.killed for run in self.runs)


def run_target_until_done(
    config_path: pathlib.Path,
    workdir: pathlib.Path,
    rows: list[dict[str, t.Any]],
    sandbox: Sandbox,
    kills: Iterable[int] = (),
    *,
    state_every: int = 25,
    max_runs: int = 12,
) -> TargetPipeline:
    """Run the target, SIGKILL it after N write calls, resume after its STATE.

    A kill point ``k`` kills the process once the sandbox has received ``k``
    more course write calls (``batch/upsert``) since that run started.
    """
    pending = list(kills)
    runs: list[ProcessRun] = []
    position = 0
    while len(runs) < max_runs:
        kill_at = pending.pop(0) if pending else None
        kill_when = None
        if kill_at is not None:
            base = sandbox.stats.route("batch_upsert")

            def kill_when(base: int = base, kill_at: int = kill_at) -> bool:
                return sandbox.stats.route("batch_upsert") - base >= kill_at

        run = run_process(
            target_command(config_path),
            stdin_text=source_messages(rows, start=position, state_every=state_every),
            kill_when=kill_when,
        )
        runs.append(run)
        (workdir / f"target-run-{len(runs)}.out").write_text(run.stdout)
        (workdir / f"target-run-{len(runs)}.err").write_text(run.stderr)
        states = run.states()
        if states:
            position = int(states[-1]["bookmarks"]["source"]["position"])
        if not run.killed:
            if run.returncode != 0:
                tail = run.stderr.strip().splitlines()[-5:]
                msg = f"target run {len(runs)} failed: " + " | ".join(tail)
                raise AssertionError(msg)
            return TargetPipeline(runs)
    msg = f"the target did not complete in {max_runs} runs"
    raise AssertionError(msg)


def portal_outcome(
    sandbox: Sandbox, rows: list[dict[str, t.Any]]
) -> tuple[int, int, int]:
    """Records lost, duplicate courses and courses with wrong values.

    Compares the sandbox's active courses with ``rows`` by
    ``external_course_id``.
    """
    by_key: dict[str, list[dict[str, t.Any]]] = {}
    for course in sandbox.store.active_courses():
        key = course.properties.get("external_course_id")
        if key:
            by_key.setdefault(key, []).append(course.properties)
    lost = sum(1 for row in rows if row["external_course_id"] not in by_key)
    duplicates = sum(len(found) - 1 for found in by_key.values() if len(found) > 1)
    wrong = 0
    for row in rows:
        found = by_key.get(row["external_course_id"])
        if not found:
            continue
        props = found[-1]
        expected = {
            "hs_course_name": row["hs_course_name"],
            "hs_enrollment_capacity": str(row["hs_enrollment_capacity"]),
            "is_certified": "true" if row["is_certified"] else "false",
            "delivery_format": row["delivery_format"],
        }
        if any(props.get(name) != value for name, value in expected.items()):
            wrong += 1
    return lost, duplicates, wrong


def configure_faults(faults: Faults, **values: t.Any) -> None:
    """Switch off every fault of ``faults``, then set ``values``."""
    faults.reset()
    for name, value in values.items():
        setattr(faults, name, value)
