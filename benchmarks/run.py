"""Benchmark the tap and the target against a local sandbox; print one table.

The sandbox runs in a thread of this process on 127.0.0.1; the plugins run as
subprocesses the way Meltano runs them (tap stdout to a file, the target
reading a Singer file on stdin). Each plugin's CPU time and peak memory come
from the rusage of that process alone (see ``benchmarks/measure.py``). API
calls are counted by the sandbox per route. Every run is bounded by a
wall-clock timeout.

Usage: ``bash scripts/benchmark [--quick] [--courses N] [--target-rows N] ...``
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import pathlib
import platform
import secrets
import subprocess
import sys
import tempfile
import time
import typing as t

from hubspot_sandbox import (
    ALL_COURSE_SCOPES,
    Faults,
    Sandbox,
    SandboxConfig,
    seed_portal,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
FAST_RATE = 1_000_000
"""Rate limit of the 'fast' sandbox used for call counts, memory and baselines."""

SETUP_ROUTES = frozenset(
    {"enablement", "properties_list", "properties_get", "assoc_labels"}
)
HISTORY_PROPERTIES = ["hs_course_name", "price", "hs_pipeline_stage", "topics"]
ASSOCIATION_TYPES = ["contacts", "companies"]
RUN_TIMEOUT = 1800.0
"""Seconds after which one plugin run is killed (a bound, not a goal)."""


@dataclasses.dataclass
class Result:
    """One measured run of a plugin or a baseline."""

    name: str
    kind: str
    sandbox: str
    records: int = 0
    courses: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    maxrss_mb: float = 0.0
    exit_code: int = 0
    calls: dict[str, int] = dataclasses.field(default_factory=dict)
    rate_limited: int = 0
    bound_per_s: float | None = None
    bound_note: str = ""
    calls_per_1000: float | None = None
    calls_note: str = ""
    baseline_cpu_us: float | None = None
    notes: str = ""

    @property
    def per_s(self) -> float:
        """Records (courses for the tap) per second of wall time."""
        return self.courses / self.wall_s if self.wall_s else 0.0

    @property
    def ratio(self) -> float | None:
        """Throughput over the rate-limit bound."""
        return self.per_s / self.bound_per_s if self.bound_per_s else None

    @property
    def cpu_us(self) -> float:
        """CPU microseconds (user + sys) per record."""
        return self.cpu_s / self.records * 1e6 if self.records else 0.0

    def to_json(self) -> dict[str, t.Any]:
        """Everything, derived figures included."""
        data = dataclasses.asdict(self)
        data.update(
            per_s=round(self.per_s, 1),
            ratio=None if self.ratio is None else round(self.ratio, 3),
            cpu_us_per_record=round(self.cpu_us, 1),
        )
        return data


# ---------------------------------------------------------------- processes


def run_process(
    cmd: list[str],
    *,
    stdin: pathlib.Path | None,
    stdout: pathlib.Path,
    stderr: pathlib.Path,
    env: dict[str, str] | None = None,
) -> tuple[int, float, float, float]:
    """Run ``cmd``; return exit code, wall s, CPU s and maxrss MB of it alone.

    The command runs under :mod:`benchmarks.measure`, which reports the
    rusage of the command itself (see there why not ``os.wait4`` here).
    """
    usage_path = stderr.with_suffix(".rusage.json")
    wrapped = [sys.executable, "-m", "benchmarks.measure", str(usage_path), "--"]
    with (
        open(stdin or os.devnull, "rb") as source,
        open(stdout, "wb") as sink,
        open(stderr, "wb") as errors,
    ):
        started = time.monotonic()
        process = subprocess.Popen(  # noqa: S603 - our own plugins
            [*wrapped, *cmd],
            stdin=source,
            stdout=sink,
            stderr=errors,
            env=env,
            cwd=ROOT,
        )
        try:
            code = process.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        wall = time.monotonic() - started
    try:
        usage = json.loads(usage_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return code or 1, wall, 0.0, 0.0
    cpu = usage["user_s"] + usage["sys_s"]
    return code, wall, cpu, usage["maxrss_kb"] / 1024


class Bench:
    """Holds the sandbox, the work directory and the results."""

    def __init__(self, args: argparse.Namespace, work: pathlib.Path) -> None:
        self.args = args
        self.work = work
        self.token = secrets.token_urlsafe(24)
        self.sandbox = Sandbox(
            SandboxConfig(
                tokens={self.token: ALL_COURSE_SCOPES},
                rate_limit_max=args.rate_limit,
                rate_limit_interval_ms=10_000,
                search_per_second=5,
                host="127.0.0.1",
                port=0,
            ),
            faults=Faults(),
        )
        self.results: list[Result] = []
        self.env = dict(os.environ)
        self.env["BENCH_TOKEN"] = self.token

    def configure(self, *, latency_ms: int, rate_limit: int) -> str:
        """Set the sandbox's latency and limit; zero its counters and windows."""
        self.sandbox.faults.latency_ms = latency_ms
        self.sandbox.config.rate_limit_max = rate_limit
        self.sandbox.reset_limits()
        self.sandbox.stats.reset()
        if rate_limit >= FAST_RATE:
            return "fast (0 ms, no limit)"
        return f"{latency_ms} ms, {rate_limit}/10 s"

    def plugin(
        self,
        name: str,
        kind: str,
        cmd: list[str],
        *,
        sandbox: str,
        stdin: pathlib.Path | None = None,
    ) -> tuple[Result, pathlib.Path]:
        """Run one plugin or baseline and book its counters."""
        out = self.work / f"{name}.out"
        err = self.work / f"{name}.err"
        print(f"  running {name} ...", file=sys.stderr, flush=True)
        code, wall, cpu, rss = run_process(
            cmd, stdin=stdin, stdout=out, stderr=err, env=self.env
        )
        stats = self.sandbox.stats.snapshot()
        result = Result(
            name=name,
            kind=kind,
            sandbox=sandbox,
            wall_s=round(wall, 3),
            cpu_s=round(cpu, 3),
            maxrss_mb=round(rss, 1),
            exit_code=code,
            calls=dict(stats["by_route"]),
            rate_limited=int(stats["rate_limited"]),
        )
        if code != 0:
            tail = err.read_text(encoding="utf-8", errors="replace")[-2000:]
            print(f"{name} failed ({code}):\n{tail}", file=sys.stderr)
            result.notes = f"exit code {code}"
        self.results.append(result)
        return result, out

    def write_json(self, path: pathlib.Path, data: t.Any) -> pathlib.Path:
        """Write ``data`` as JSON into the work directory."""
        path.write_text(json.dumps(data), encoding="utf-8")
        return path


# ---------------------------------------------------------------- the tap


def count_records(path: pathlib.Path) -> dict[str, int]:
    """RECORD messages per stream of a Singer file."""
    counts: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if '"RECORD"' not in line:
                continue
            message = json.loads(line)
            if message.get("type") == "RECORD":
                counts[message["stream"]] = counts.get(message["stream"], 0) + 1
    return counts


def select(catalog: dict[str, t.Any], streams: set[str]) -> dict[str, t.Any]:
    """A copy of ``catalog`` with exactly ``streams`` selected."""
    chosen = json.loads(json.dumps(catalog))
    for entry in chosen["streams"]:
        for item in entry.get("metadata", []):
            if item.get("breadcrumb") == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return chosen


def bench_tap(bench: Bench) -> None:
    """Full sync, incremental sync, history and associations; plus a baseline."""
    args = bench.args
    sb = bench.sandbox
    summary = seed_portal(
        sb.store, courses=args.courses, seed=7, heavy_association_courses=0
    )
    active = len(summary.course_ids) - len(summary.archived_ids)
    tap = str(BIN / "tap-hubspot-courses")
    base_config = {"access_token": bench.token, "api_url": sb.url}
    config_path = bench.write_json(bench.work / "tap-config.json", base_config)

    bench.configure(latency_ms=0, rate_limit=FAST_RATE)
    discovered = bench.work / "catalog.json"
    code, *_ = run_process(
        [tap, "--config", str(config_path), "--discover"],
        stdin=None,
        stdout=discovered,
        stderr=bench.work / "discover.err",
        env=bench.env,
    )
    if code != 0:
        raise SystemExit("tap discovery failed; see " + str(bench.work))
    catalog = json.loads(discovered.read_text(encoding="utf-8"))

    rate = args.rate_limit
    list_bound = rate / 10 * 100
    history_bound = rate / 10 * 50
    search_bound = 5 * 200
    sequential = 1000 / args.tap_latency_ms if args.tap_latency_ms else None
    scenarios = [
        ("tap: courses full", "courses", {}, "courses", list_bound, "list 100/page"),
        (
            "tap: courses incremental",
            "courses",
            {"start_date": "2000-01-01T00:00:00Z"},
            "courses",
            search_bound,
            "search 200/page at 5/s",
        ),
        (
            "tap: property history",
            "course_property_history",
            {"properties_with_history": HISTORY_PROPERTIES},
            "course_property_history",
            history_bound,
            "list 50/page (with history)",
        ),
        (
            "tap: associations",
            "course_associations",
            {"associations": ASSOCIATION_TYPES},
            "course_associations",
            list_bound,
            "list 100/page (ids) + 1 batch read per 1,000 per type",
        ),
    ]
    for label, stream, extra, counted, bound, note in scenarios:
        sandbox = bench.configure(latency_ms=args.tap_latency_ms, rate_limit=rate)
        config = bench.write_json(
            bench.work / f"tap-config-{stream}.json", {**base_config, **extra}
        )
        cat = bench.write_json(
            bench.work / f"catalog-{stream}.json", select(catalog, {stream})
        )
        result, out = bench.plugin(
            label.replace(": ", "-").replace(" ", "-"),
            "tap",
            [tap, "--config", str(config), "--catalog", str(cat)],
            sandbox=sandbox,
        )
        result.name = label
        result.records = count_records(out).get(counted, 0)
        calls = result.calls
        paging = sum(n for route, n in calls.items() if route not in SETUP_ROUTES)
        if counted == "courses":
            result.courses = result.records
        else:
            result.courses = active
        result.bound_per_s = bound
        result.bound_note = note
        if sequential:
            pages = 50 if "history" in label else 100
            if "incremental" in label:
                pages = 200
            result.notes = (
                f"one sequential cursor at {args.tap_latency_ms} ms: "
                f"<= {sequential * pages:,.0f}/s"
            )
        per = 1000 / result.courses if result.courses else 0.0
        if "associations" in label:
            assoc = calls.get("assoc_batch_read", 0)
            result.calls_per_1000 = round(assoc / len(ASSOCIATION_TYPES) * per, 2)
            result.calls_note = (
                f"per type; plus {calls.get('list', 0) * per:.1f} parent list calls"
            )
        else:
            result.calls_per_1000 = round(paging * per, 2)
        setup = sum(n for route, n in calls.items() if route in SETUP_ROUTES)
        result.calls_note = (result.calls_note + f"; +{setup} setup calls").lstrip("; ")

    sandbox = bench.configure(latency_ms=0, rate_limit=FAST_RATE)
    result, _ = bench.plugin(
        "baseline-tap",
        "baseline",
        [sys.executable, "-m", "benchmarks.baseline", "tap", "--url", sb.url],
        sandbox=sandbox,
    )
    result.name = "baseline: plain list + json"
    result.records = result.courses = active
    full = bench.results[-len(scenarios) - 1]
    full.baseline_cpu_us = result.cpu_us


# ---------------------------------------------------------------- the target


def write_rows(
    path: pathlib.Path,
    count: int,
    *,
    prefix: str,
    ids: list[str] | None = None,
    delete: bool = False,
    keyless: bool = False,
) -> pathlib.Path:
    """Write a Singer file of flat course rows, as a database tap emits them."""
    properties: dict[str, t.Any] = {
        "external_course_id": {"type": ["string", "null"]},
        "hs_course_name": {"type": ["string", "null"]},
        "hs_enrollment_capacity": {"type": ["integer", "null"]},
        "price": {"type": ["number", "null"]},
        "hs_course_description": {"type": ["string", "null"]},
    }
    keys = [] if keyless else ["external_course_id"]
    if ids is not None:
        properties = {"id": {"type": "string"}, **properties}
        keys = ["id"]
    if delete:
        properties["_sdc_deleted_at"] = {
            "type": ["string", "null"],
            "format": "date-time",
        }
    stream = "courses_flat"
    schema = {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": keys,
    }
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(schema) + "\n")
        for n in range(count):
            record: dict[str, t.Any] = {
                "hs_course_name": f"Benchmark course {n}",
                "hs_enrollment_capacity": 10 + n % 90,
                "price": (n % 500) + 0.5,
                "hs_course_description": DESCRIPTION,
            }
            if ids is not None:
                record = {"id": ids[n], **record}
            elif not keyless:
                record["external_course_id"] = f"{prefix}-{n:07d}"
            if delete:
                record = {
                    "external_course_id": f"{prefix}-{n:07d}",
                    "_sdc_deleted_at": "2026-12-01T00:00:00Z",
                }
            line = {"type": "RECORD", "stream": stream, "record": record}
            handle.write(json.dumps(line) + "\n")
        state = {"type": "STATE", "value": {"benchmark": count}}
        handle.write(json.dumps(state) + "\n")
    return path


def bench_target(bench: Bench) -> None:
    """Upsert at the rate limit, every mode's calls, memory; plus a baseline.

    The target gets a fresh sandbox whose courses already hold the keys the
    upsert rows carry, so each upsert updates an existing course. (Looking up
    a unique value the portal does not hold makes the sandbox rescan every
    course, see ``Store.find_by_unique``; with 100,000 new keys the sandbox,
    not the target, would set the pace.) Creates carry no unique value for
    the same reason.
    """
    args = bench.args
    bench.sandbox.stop()
    bench.sandbox = sb = Sandbox(
        dataclasses.replace(bench.sandbox.config, port=0), faults=Faults()
    )
    seed_portal(sb.store, courses=0, seed=7)
    m = args.mode_rows
    sb.store.bulk_create(
        [_course(f"up-{n:07d}", n) for n in range(args.target_rows)]
        + [_course(f"mode-up-{n:07d}", n) for n in range(m)]
    )
    sb.start()
    target = str(BIN / "target-hubspot-courses")
    rate = args.rate_limit
    work = bench.work

    def config(name: str, **extra: t.Any) -> pathlib.Path:
        settings = {
            "access_token": bench.token,
            "api_url": sb.url,
            "id_property": "external_course_id",
            "rejects_path": str(work / f"rejects-{name}.jsonl"),
            **extra,
        }
        return bench.write_json(work / f"target-config-{name}.json", settings)

    def run(
        label: str, rows: pathlib.Path, count: int, sandbox: str, **extra: t.Any
    ) -> Result:
        name = label.replace(": ", "-").replace(" ", "-").replace(",", "")
        result, _ = bench.plugin(
            name,
            "target",
            [target, "--config", str(config(name, **extra))],
            sandbox=sandbox,
            stdin=rows,
        )
        result.name = label
        result.records = result.courses = count
        written = sum(
            n for route, n in result.calls.items() if route not in SETUP_ROUTES
        )
        result.calls_per_1000 = round(written / count * 1000, 2) if count else None
        setup = sum(n for route, n in result.calls.items() if route in SETUP_ROUTES)
        result.calls_note = f"+{setup} setup calls"
        return result

    rows = write_rows(work / "upsert.singer", args.target_rows, prefix="up")
    sandbox = bench.configure(latency_ms=args.target_latency_ms, rate_limit=rate)
    upsert = run("target: upsert", rows, args.target_rows, sandbox)
    upsert.bound_per_s = rate / 10 * 100
    upsert.bound_note = "batch/upsert 100/call"
    updated = sum(
        1
        for course in sb.store.courses.values()
        if course.value("hs_course_description") == DESCRIPTION
    )
    upsert.notes = f"{updated:,} existing courses updated in the sandbox"

    fast = bench.configure(latency_ms=0, rate_limit=FAST_RATE)
    baseline, _ = bench.plugin(
        "baseline-target",
        "baseline",
        [
            sys.executable,
            "-m",
            "benchmarks.baseline",
            "target",
            "--url",
            sb.url,
            "--input",
            str(rows),
        ],
        sandbox=fast,
    )
    baseline.name = "baseline: plain json + batch/upsert"
    baseline.records = baseline.courses = args.target_rows
    upsert.baseline_cpu_us = baseline.cpu_us

    fast = bench.configure(latency_ms=0, rate_limit=FAST_RATE)
    rows = write_rows(work / "modes-upsert.singer", m, prefix="mode-up")
    run("target: upsert (existing keys)", rows, m, fast)
    fast = bench.configure(latency_ms=0, rate_limit=FAST_RATE)
    rows = write_rows(work / "modes-create.singer", m, prefix="", keyless=True)
    run("target: create (append-only)", rows, m, fast, load_method="append-only")
    with sb.store.lock:
        ids = [
            course.id
            for course in sb.store.courses.values()
            if str(course.value("external_course_id") or "").startswith("mode-up-")
        ]
    fast = bench.configure(latency_ms=0, rate_limit=FAST_RATE)
    rows = write_rows(work / "modes-update.singer", len(ids), prefix="", ids=ids)
    run("target: update by record id", rows, len(ids), fast)
    fast = bench.configure(latency_ms=0, rate_limit=FAST_RATE)
    rows = write_rows(work / "modes-dry.singer", m, prefix="mode-up")
    run("target: dry run", rows, m, fast, dry_run=True)
    fast = bench.configure(latency_ms=0, rate_limit=FAST_RATE)
    rows = write_rows(work / "modes-archive.singer", m, prefix="mode-up", delete=True)
    run("target: archive", rows, m, fast)

    for count in args.memory_rows:
        fast = bench.configure(latency_ms=0, rate_limit=FAST_RATE)
        rows = write_rows(work / f"memory-{count}.singer", count, prefix=f"mem{count}")
        result = run(
            f"target: memory, {count:,} rows",
            rows,
            count,
            fast,
            dry_run=True,
            load_method="append-only",
        )
        result.notes = "dry run, append-only: no API call per row"
        rows.unlink()


DESCRIPTION = "A course written by the benchmark."


def _course(key: str, n: int) -> dict[str, str]:
    return {
        "external_course_id": key,
        "hs_course_name": f"Seeded course {n}",
        "hs_enrollment_capacity": "5",
    }


# ---------------------------------------------------------------- report


def table(results: list[Result]) -> str:
    """The results as one Markdown table."""
    head = (
        "| Run | Sandbox | Records | Wall s | Records/s | Bound/s | Ratio "
        "| Calls/1,000 | 429s | CPU µs/rec | CPU vs plain | Peak RSS MB | Notes |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in results:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        bound = f"{r.bound_per_s:,.0f} ({r.bound_note})" if r.bound_per_s else ""
        calls = ""
        if r.calls_per_1000 is not None:
            calls = f"{r.calls_per_1000:g} ({r.calls_note})"
        versus = ""
        if r.baseline_cpu_us:
            versus = f"{r.cpu_us / r.baseline_cpu_us:.2f}x"
        records = f"{r.records:,}"
        if r.courses != r.records:
            records += f" ({r.courses:,} courses)"
        lines.append(
            f"| {r.name} | {r.sandbox} | {records} | {r.wall_s:.1f} "
            f"| {r.per_s:,.0f} | {bound} | {ratio} | {calls} | {r.rate_limited} "
            f"| {r.cpu_us:.0f} | {versus} | {r.maxrss_mb:.0f} | {r.notes} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Sizes and limits; ``--quick`` shrinks every size."""
    parser = argparse.ArgumentParser(prog="scripts/benchmark", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (<1 min)")
    parser.add_argument("--courses", type=int, help="seeded courses (20,000)")
    parser.add_argument("--target-rows", type=int, help="upsert rows (100,000)")
    parser.add_argument("--mode-rows", type=int, help="rows per target mode (5,000)")
    parser.add_argument(
        "--memory-rows",
        type=lambda text: [int(part) for part in text.split(",")],
        help="comma-separated dry-run sizes for peak memory (100000,1000000)",
    )
    parser.add_argument("--tap-latency-ms", type=int, default=150)
    parser.add_argument("--target-latency-ms", type=int, default=300)
    parser.add_argument("--rate-limit", type=int, default=190, help="per 10 s")
    parser.add_argument("--only", choices=("tap", "target"), help="one plugin")
    parser.add_argument(
        "--output",
        type=pathlib.Path,
        default=ROOT / "output" / "benchmarks",
        help="directory of the JSON results",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.courses = args.courses or (600 if quick else 20_000)
    args.target_rows = args.target_rows or (1_000 if quick else 100_000)
    args.mode_rows = args.mode_rows or (300 if quick else 5_000)
    args.memory_rows = args.memory_rows or (
        [2_000, 20_000] if quick else [100_000, 1_000_000]
    )
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark, print the table, write the JSON."""
    args = parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hubspot-bench-") as tmp:
        bench = Bench(args, pathlib.Path(tmp))
        bench.sandbox.start()
        try:
            if args.only in (None, "tap"):
                bench_tap(bench)
            if args.only in (None, "target"):
                bench_target(bench)
        finally:
            bench.sandbox.stop()
    elapsed = time.monotonic() - started
    report = table(bench.results)
    print(report)
    print(f"\nTotal {elapsed:.0f} s on {os.cpu_count()} CPUs.")
    args.output.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    data = {
        "started_at": stamp,
        "command": "bash scripts/benchmark "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "arguments": {
            key: str(value) if isinstance(value, pathlib.Path) else value
            for key, value in vars(args).items()
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "elapsed_s": round(elapsed, 1),
        "results": [result.to_json() for result in bench.results],
        "table": report,
    }
    name = "quick" if args.quick else "full"
    for path in (args.output / f"{name}-{stamp}.json", args.output / f"{name}.json"):
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"Results in {args.output / (name + '.json')}")
    failed = [r.name for r in bench.results if r.exit_code != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
