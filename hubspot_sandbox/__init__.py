"""A faithful local HubSpot sandbox for the courses object (objectTypeId 0-410).

It speaks HubSpot's wire format over HTTP on 127.0.0.1 for tests, demos and
benchmarks of the tap and target::

    from hubspot_sandbox import Sandbox, SandboxConfig, seed_portal

    config = SandboxConfig(tokens={token: ALL_COURSE_SCOPES})
    with Sandbox(config) as sb:
        seed_portal(sb.store, courses=500)
        ...  # point a client at sb.url
"""

from hubspot_sandbox.config import ALL_COURSE_SCOPES, OAuthClient, SandboxConfig
from hubspot_sandbox.faults import Faults
from hubspot_sandbox.seed import SeedSummary, seed_portal
from hubspot_sandbox.server import Sandbox
from hubspot_sandbox.stats import Stats
from hubspot_sandbox.store import (
    AssociatedRecord,
    AssociationType,
    Course,
    HistoryEntry,
    Store,
)

__all__ = [
    "ALL_COURSE_SCOPES",
    "AssociatedRecord",
    "AssociationType",
    "Course",
    "Faults",
    "HistoryEntry",
    "OAuthClient",
    "Sandbox",
    "SandboxConfig",
    "SeedSummary",
    "Stats",
    "Store",
    "seed_portal",
]
