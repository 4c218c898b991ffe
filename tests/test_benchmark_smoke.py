"""The benchmark command runs and its counts add up (no timing is asserted)."""

from __future__ import annotations

import json
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    output = tmp_path_factory.mktemp("benchmarks")
    completed = subprocess.run(
        [
            "bash",
            str(ROOT / "scripts" / "benchmark"),
            "--quick",
            "--courses",
            "300",
            "--target-rows",
            "400",
            "--mode-rows",
            "200",
            "--memory-rows",
            "500,1000",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "| Run |" in completed.stdout
    data = json.loads((output / "quick.json").read_text(encoding="utf-8"))
    return {result["name"]: result for result in data["results"]}


def test_quick_benchmark_every_run_succeeds_without_429s(quick_results: dict) -> None:
    assert len(quick_results) == 14
    for name, result in quick_results.items():
        assert result["exit_code"] == 0, name
        assert result["rate_limited"] == 0, name
        assert result["records"] > 0, name
        assert result["cpu_s"] > 0, name
        assert result["maxrss_mb"] > 0, name


def test_quick_benchmark_tap_emits_every_seeded_course(quick_results: dict) -> None:
    full = quick_results["tap: courses full"]
    incremental = quick_results["tap: courses incremental"]
    baseline = quick_results["baseline: plain list + json"]
    # 300 seeded courses, some archived: every active one is listed once.
    assert full["records"] == baseline["records"] == incremental["records"]
    assert 250 < full["records"] < 300
    assert full["baseline_cpu_us"] > 0


@pytest.mark.parametrize(
    ("name", "most"),
    [
        ("tap: courses full", 10),
        ("tap: courses incremental", 5),
        ("tap: property history", 20),
        ("tap: associations", 1),
        ("target: upsert", 10),
        ("target: create (append-only)", 10),
        ("target: update by record id", 10),
        ("target: archive", 20),
        ("target: dry run", 10),
    ],
    ids=lambda value: str(value).replace(" ", "-"),
)
def test_quick_benchmark_calls_per_1000_within_goal(
    quick_results: dict, name: str, most: int
) -> None:
    result = quick_results[name]
    courses = result["courses"]
    pages = -(-courses // 1000)  # a partial last page or batch costs one call
    allowance = most + pages * 1000 / courses
    assert 0 < result["calls_per_1000"] <= allowance


def test_quick_benchmark_target_writes_every_row(quick_results: dict) -> None:
    upsert = quick_results["target: upsert"]
    assert upsert["records"] == 400
    assert upsert["calls"]["batch_upsert"] == 4
    assert upsert["notes"].startswith("400 existing courses updated")
    assert quick_results["target: archive"]["calls"]["batch_archive"] == 2
    assert quick_results["target: update by record id"]["records"] == 200
    assert "batch_upsert" not in quick_results["target: dry run"]["calls"]
