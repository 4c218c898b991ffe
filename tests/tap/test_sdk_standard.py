"""singer-sdk's standard tap tests, run against a module-wide local sandbox.

The SDK builds its test class when this module is imported, from a tap it
instantiates then, so the sandbox starts at import and stops at teardown.
"""

from __future__ import annotations

import typing as t

import pytest
from singer_sdk.testing import get_tap_test_class
from tap_helpers import TOKEN, tap_config

from hubspot_sandbox import ALL_COURSE_SCOPES, Sandbox, SandboxConfig, seed_portal
from tap_hubspot_courses.tap import TapHubSpotCourses

_SANDBOX = Sandbox(SandboxConfig(tokens={TOKEN: ALL_COURSE_SCOPES}))
seed_portal(_SANDBOX.store, courses=60, heavy_association_courses=0)
_SANDBOX.start()


@pytest.fixture(scope="module", autouse=True)
def _stop_sandbox() -> t.Iterator[None]:
    yield
    _SANDBOX.stop()


TestTapHubSpotCourses = get_tap_test_class(
    TapHubSpotCourses,
    config=tap_config(
        _SANDBOX.url, properties_with_history=["price"], include_archived=True
    ),
)
