"""`scripts/demo`, the main job, end to end on a small sandbox."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from pipeline_helpers import QUIET_MELTANO, REPO_ROOT

pytestmark = pytest.mark.slow


def test_demo_script_loads_every_active_sandbox_course_into_duckdb(tmp_path: Path):
    database = tmp_path / "demo.duckdb"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MELTANO_", "TAP_", "TARGET_", "HUBSPOT_"))
    }
    env.update(QUIET_MELTANO)
    env.update(
        DEMO_COURSES="60",
        DEMO_DATABASE=str(database),
        MELTANO_DATABASE_URI=f"sqlite:///{tmp_path / 'meltano.db'}",
    )

    result = subprocess.run(
        ["bash", "scripts/demo"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert database.exists()
    landed = re.search(r"demo: OK: (\d+) courses landed", result.stdout)
    assert landed is not None, result.stdout[-3000:]
    assert 0 < int(landed.group(1)) <= 60
