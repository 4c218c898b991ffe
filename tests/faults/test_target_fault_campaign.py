"""Fault campaign for the target: every fault and kill point ends with the source.

The target runs as a process, upserting flat course rows on
``external_course_id`` into an empty sandbox portal. Each scenario switches
on one kind of fault and kills the process with SIGKILL after a seeded
number of write calls; the next run starts after the source position named
by the last STATE the target emitted. In the end the portal must hold
exactly the source's courses, each key once, with the source's values.
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
    portal_outcome,
    run_target_until_done,
    secrets_in,
    source_rows,
    write_json,
)
from fault_helpers import kill_points as seeded_kill_points

from hubspot_sandbox import ALL_COURSE_SCOPES, OAuthClient

if t.TYPE_CHECKING:
    from hubspot_sandbox import Sandbox

pytestmark = pytest.mark.slow

ROWS = 1000 if LARGE else 200
BATCH_ROWS = 25
KILLS_PER_SCENARIO = 4 if LARGE else 1
SEEDS = (11, 23, 37) if LARGE else (11,)

SCENARIOS: dict[str, Scenario] = fault_scenarios(burst_429=30)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"seed-{seed}")
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_target_under_faults_and_sigkill_ends_with_each_source_course_once(
    make_sandbox: t.Callable[..., Sandbox],
    sandbox_token: str,
    tmp_path: pathlib.Path,
    scenario: str,
    seed: int,
) -> None:
    faults, overrides, kind = SCENARIOS[scenario]
    overrides = dict(overrides)
    client_id = "campaign-client"
    client_secret = "cs-" + secrets.token_urlsafe(18)
    refresh = "rt-" + secrets.token_urlsafe(18)
    portal = make_sandbox(
        courses=0,
        rate_limit_max=1000,
        oauth_clients={client_id: OAuthClient(client_secret, {refresh})},
        tokens={sandbox_token: ALL_COURSE_SCOPES},
    )
    config: dict[str, t.Any] = {
        "api_url": portal.url,
        "id_property": "external_course_id",
        "rejects_path": str(tmp_path / "rejects.jsonl"),
        "batch_size_rows": BATCH_ROWS,
        "rate_limit_requests": 900,
        **FAST_RETRIES,
    }
    if overrides.pop("oauth", False):
        config.update(
            client_id=client_id, client_secret=client_secret, refresh_token=refresh
        )
    else:
        config["access_token"] = sandbox_token
    config.update(overrides)
    config_path = write_json(tmp_path / "config.json", config)
    rows = source_rows(ROWS, seed)
    calls = -(-ROWS // BATCH_ROWS)
    kills = KILLS_PER_SCENARIO * (2 if scenario == "kills-only" else 1)
    points = seeded_kill_points(seed, kills, calls // max(1, kills))
    configure_faults(portal.faults, **faults)
    portal.faults.reseed(seed)

    try:
        pipeline = run_target_until_done(
            config_path, tmp_path, rows, portal, points, state_every=BATCH_ROWS
        )
    finally:
        configure_faults(portal.faults)
    figures = Figures("target", f"{scenario} (seed {seed})")
    figures.add_faults(portal)
    lost, duplicates, wrong = portal_outcome(portal, rows)
    figures.kill_points = pipeline.kills
    figures.runs = len(pipeline.runs)
    figures.records_expected = len(rows)
    figures.records_lost = lost
    figures.duplicates = duplicates
    figures.wrong_values = wrong
    figures.secrets_found = secrets_in(
        tmp_path, [sandbox_token, client_secret, refresh]
    )
    figures.record()

    assert figures.secrets_found == 0
    # A resumed run can finish before its kill point: at least one kill.
    assert 1 <= pipeline.kills <= len(points)
    if kind is not None:
        assert figures.faults.get(kind, 0) > 0, figures.faults
    assert (lost, duplicates, wrong) == (0, 0, 0)
    assert len(portal.store.active_courses()) == len(rows)
    assert not (tmp_path / "rejects.jsonl").exists()
