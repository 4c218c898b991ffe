"""singer-sdk's standard target tests against a module-wide local sandbox.

The SDK's streams are arbitrary (users, locations, camelCase columns): none
carries course properties, so every record must end in the rejects file and
nothing may crash or land in HubSpot. The SDK builds the test class at import,
so the sandbox starts at import and stops at teardown.
"""

from __future__ import annotations

import json
import pathlib
import tempfile
import typing as t

import pytest
from singer_sdk.testing import get_target_test_class

from hubspot_sandbox import ALL_COURSE_SCOPES, Sandbox, SandboxConfig, seed_portal
from target_hubspot_courses.target import TargetHubSpotCourses

TOKEN = "pat-na1-target-sdk-tests-0123456789"
_SANDBOX = Sandbox(SandboxConfig(tokens={TOKEN: ALL_COURSE_SCOPES}))
seed_portal(_SANDBOX.store, courses=20, heavy_association_courses=0)
_SANDBOX.start()
_BEFORE = {c.id: dict(c.properties) for c in _SANDBOX.store.courses.values()}
_REJECTS = pathlib.Path(tempfile.mkdtemp()) / "rejects.jsonl"


@pytest.fixture(scope="module", autouse=True)
def _stop_sandbox() -> t.Iterator[None]:
    yield
    _SANDBOX.stop()


TestTargetHubSpotCourses = get_target_test_class(
    TargetHubSpotCourses,
    config={
        "access_token": TOKEN,
        "api_url": _SANDBOX.url,
        "id_property": "external_course_id",
        "rejects_path": str(_REJECTS),
        "max_rejects": 1_000_000,
        "retry_initial_delay": 0.01,
    },
)


def test_zz_standard_streams_left_the_portal_unchanged_and_were_all_rejected():
    after = {c.id: dict(c.properties) for c in _SANDBOX.store.courses.values()}
    entries = [json.loads(line) for line in _REJECTS.read_text().splitlines()]

    assert after == _BEFORE
    assert entries, "the standard streams produced no rejects"
    assert {e["code"] for e in entries} <= {
        "MISSING_KEY",
        "PROPERTY_DOESNT_EXIST",
        "INVALID_RECORD_ID",
        "OBJECT_NOT_FOUND",
        "SCHEMA_MISMATCH",
        "INVALID_TYPE",
    }
    assert all(e["fix"] for e in entries)
    assert TOKEN not in _REJECTS.read_text()
