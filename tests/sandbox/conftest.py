"""Helpers for the sandbox's own tests."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from hubspot_sandbox import Sandbox

V3 = "/crm/v3/objects/courses"
DATED = "/crm/objects/2026-03/0-410"

OBJECT_BASES = {
    "v3-courses": "/crm/v3/objects/courses",
    "v3-0-410": "/crm/v3/objects/0-410",
    "2026-03-courses": "/crm/objects/2026-03/courses",
    "2026-03-0-410": "/crm/objects/2026-03/0-410",
}


@pytest.fixture(params=sorted(OBJECT_BASES), ids=sorted(OBJECT_BASES))
def object_base(request: pytest.FixtureRequest) -> str:
    """Each objects path family with each objectType spelling."""
    return OBJECT_BASES[request.param]


def list_all(
    session: requests.Session, sb: Sandbox, base: str = V3, **params: Any
) -> list[dict[str, Any]]:
    """Follow list paging to the end and return every record."""
    records: list[dict[str, Any]] = []
    after = None
    for _ in range(10_000):
        query = dict(params)
        if after:
            query["after"] = after
        response = session.get(sb.url + base, params=query, timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        records.extend(body["results"])
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            return records
    raise AssertionError("paging never ended")
