"""Fault campaign for the tap: every fault and kill point ends with the same rows.

The tap runs as a process against one sandbox portal. Each scenario switches
on one kind of fault, kills the process with SIGKILL at seeded points, reruns
it from the last STATE it emitted until a run completes, loads every run
into DuckDB and merges on the primary key. The merged rows must equal those
of a fault-free run: same course ids, same property values, same
associations.
"""

from __future__ import annotations

import pathlib
import secrets
import typing as t

import pytest
from fault_helpers import (
    FAST_RETRIES,
    LARGE,
    Figures,
    Scenario,
    configure_faults,
    fault_scenarios,
    run_tap_until_done,
    secrets_in,
    warehouse_of,
    write_json,
)
from fault_helpers import kill_points as seeded_kill_points

from hubspot_sandbox import (
    ALL_COURSE_SCOPES,
    OAuthClient,
    Sandbox,
    SandboxConfig,
    seed_portal,
)

pytestmark = pytest.mark.slow

COURSES = 1200 if LARGE else 260
KILLS_PER_SCENARIO = 4 if LARGE else 1
SEEDS = (11, 23, 37) if LARGE else (11,)


class Portal(t.NamedTuple):
    sandbox: Sandbox
    token: str
    client_id: str
    client_secret: str
    refresh_token: str
    workdir: pathlib.Path


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Portal]:
    """One read-only portal shared by every tap scenario."""
    token = "pat-campaign-" + secrets.token_urlsafe(18)
    client_id = "campaign-client-" + secrets.token_hex(4)
    client_secret = "cs-" + secrets.token_urlsafe(18)
    refresh = "rt-" + secrets.token_urlsafe(18)
    config = SandboxConfig(
        tokens={token: ALL_COURSE_SCOPES},
        oauth_clients={client_id: OAuthClient(client_secret, {refresh})},
        rate_limit_max=1000,
        search_per_second=50,
    )
    sandbox = Sandbox(config)
    seed_portal(sandbox.store, courses=COURSES, seed=5, heavy_association_courses=0)
    sandbox.start()
    try:
        yield Portal(
            sandbox,
            token,
            client_id,
            client_secret,
            refresh,
            tmp_path_factory.mktemp("tap-campaign"),
        )
    finally:
        sandbox.stop()


def _config(portal: Portal, *, oauth: bool = False, **overrides: t.Any) -> dict:
    config: dict[str, t.Any] = {
        "api_url": portal.sandbox.url,
        "search_lag_seconds": 0,
        "associations": ["contacts", "companies"],
        "rate_limit_requests": 900,
        **FAST_RETRIES,
    }
    if oauth:
        config.update(
            client_id=portal.client_id,
            client_secret=portal.client_secret,
            refresh_token=portal.refresh_token,
        )
    else:
        config["access_token"] = portal.token
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def baseline(portal: Portal) -> dict[str, t.Any]:
    """Rows and output size of a fault-free, uninterrupted run."""
    workdir = portal.workdir / "baseline"
    workdir.mkdir()
    config_path = write_json(workdir / "config.json", _config(portal))
    pipeline = run_tap_until_done(config_path, workdir)
    warehouse = warehouse_of(pipeline.runs, workdir / "warehouse.duckdb")
    try:
        courses = warehouse.courses()
        associations = warehouse.associations()
    finally:
        warehouse.close()
    portal.sandbox.stats.reset()
    return {
        "courses": courses,
        "associations": associations,
        "lines": len(pipeline.runs[0].stdout.splitlines()),
    }


SCENARIOS: dict[str, Scenario] = {
    **fault_scenarios(burst_429=40),
    "incremental-search-5xx": (
        {"error_5xx_rate": 0.15},
        {"start_date": "2020-01-01T00:00:00Z"},
        "error_5xx",
    ),
}


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"seed-{seed}")
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_tap_under_faults_and_sigkill_resumes_to_the_fault_free_rows(
    portal: Portal, baseline: dict[str, t.Any], scenario: str, seed: int
) -> None:
    faults, overrides, kind = SCENARIOS[scenario]
    overrides = dict(overrides)
    oauth = bool(overrides.pop("oauth", False))
    workdir = portal.workdir / f"{scenario}-{seed}"
    workdir.mkdir()
    config_path = write_json(
        workdir / "config.json", _config(portal, oauth=oauth, **overrides)
    )
    kills = KILLS_PER_SCENARIO * (2 if scenario == "kills-only" else 1)
    points = seeded_kill_points(seed, kills, baseline["lines"] // kills)
    portal.sandbox.stats.reset()
    configure_faults(portal.sandbox.faults, seed=seed, **faults)
    portal.sandbox.faults.reseed(seed)

    try:
        pipeline = run_tap_until_done(config_path, workdir, points)
    finally:
        configure_faults(portal.sandbox.faults)
    figures = Figures("tap", f"{scenario} (seed {seed})")
    figures.add_faults(portal.sandbox)
    warehouse = warehouse_of(pipeline.runs, workdir / "warehouse.duckdb")
    try:
        courses = warehouse.courses()
        associations = warehouse.associations()
    finally:
        warehouse.close()

    expected: dict[str, str] = baseline["courses"]
    figures.kill_points = pipeline.kills
    figures.runs = len(pipeline.runs)
    figures.records_expected = len(expected)
    figures.records_lost = len(set(expected) - set(courses))
    figures.duplicates = len(set(courses) - set(expected))
    figures.wrong_values = sum(
        1 for key, body in courses.items() if key in expected and expected[key] != body
    )
    figures.secrets_found = secrets_in(
        workdir,
        [portal.token, portal.client_secret, portal.refresh_token],
    )
    figures.record()
    assert figures.secrets_found == 0
    # A resumed run can finish before its kill point: at least one kill.
    assert 1 <= pipeline.kills <= len(points)
    if kind is not None:
        assert figures.faults.get(kind, 0) > 0, figures.faults
    assert courses == expected
    assert associations == baseline["associations"]
