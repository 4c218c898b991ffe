"""The committed catalog is what discovery gives for the sandbox's default portal."""

from __future__ import annotations

import json
import subprocess

from pipeline_helpers import REPO_ROOT

CATALOG = REPO_ROOT / "catalogs" / "tap-hubspot-courses.catalog.json"


def test_committed_catalog_equals_fresh_discovery_of_the_default_portal():
    result = subprocess.run(
        ["bash", "scripts/regenerate-catalog", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]


def test_committed_catalog_lists_the_three_streams_with_their_keys():
    catalog = json.loads(CATALOG.read_text(encoding="utf-8"))

    keys = {
        stream["tap_stream_id"]: stream.get("key_properties")
        for stream in catalog["streams"]
    }

    assert keys == {
        "courses": ["id"],
        "course_property_history": ["history_id"],
        "course_associations": [
            "course_id",
            "to_object_type",
            "to_object_id",
            "association_type_id",
        ],
    }
