"""The README's reverse-ETL example from a JSONL file runs as written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_reverse_etl_example_lands_good_rows_once_and_rejects_the_bad_one():
    result = subprocess.run(
        ["bash", "scripts/reverse-etl-example"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = result.stdout

    assert "Run: 4 created, 0 updated" in out
    assert "Run: 0 created, 4 updated" in out
    assert "the sandbox holds 4 courses:" in out
    for key in ("LMS-EX-001", "LMS-EX-002", "LMS-EX-003", "LMS-EX-004"):
        assert f"  {key}: " in out
    assert "LMS-EX-005: the record does not fit the stream's schema" in out
    assert "Traceback" not in result.stderr
