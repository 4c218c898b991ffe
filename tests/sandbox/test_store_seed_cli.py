"""Seed determinism and speed, store helpers, the CLI and throughput."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests

from hubspot_sandbox import Sandbox, SandboxConfig, Store, seed_portal
from hubspot_sandbox.seed import BULK_TOUCH_AT
from tests.sandbox.conftest import V3

ROOT = Path(__file__).resolve().parents[2]


def _fingerprint(store: Store) -> list[tuple]:
    return [
        (c.id, sorted(c.properties.items()), c.created_at, c.updated_at, c.archived)
        for c in sorted(store.courses.values(), key=lambda c: int(c.id))
    ]


def test_seed_same_arguments_give_identical_portals() -> None:
    first, second = Store(), Store()

    seed_portal(first, courses=200, seed=11)
    seed_portal(second, courses=200, seed=11)

    assert _fingerprint(first) == _fingerprint(second)


def test_seed_covers_every_property_type_and_edge_values() -> None:
    store = Store()

    summary = seed_portal(store, courses=300)

    types = {d["type"] for d in store.properties.values()}
    assert {"string", "number", "bool", "date", "datetime", "enumeration"} <= types
    names = [c.properties["hs_course_name"] for c in store.courses.values()]
    assert any(not n.isascii() for n in names)
    assert any(
        len(c.properties.get("hs_course_description", "")) >= 20_000
        for c in store.courses.values()
    )
    assert summary.archived_ids
    assert len(summary.heavy_ids) == 2
    assert any(len(h) >= 3 for c in store.courses.values() for h in c.history.values())


def test_seed_20000_courses_takes_a_few_seconds() -> None:
    store = Store()

    started = time.monotonic()
    seed_portal(store, courses=20_000)

    assert time.monotonic() - started < 6
    assert len(store.courses) == 20_000


def test_bulk_touch_gives_many_courses_one_last_modified_instant() -> None:
    store = Store()
    summary = seed_portal(store, courses=50, bulk_touch_count=20)

    touched = {store.courses[i].updated_at for i in summary.bulk_touched_ids}

    assert touched == {BULK_TOUCH_AT}


def test_store_update_records_history_newest_first() -> None:
    store = Store()
    course = store.create_course(
        {"hs_course_name": "A"}, at=datetime(2026, 1, 1, tzinfo=UTC)
    )

    store.update_course(
        course.id, {"hs_course_name": "B"}, at=datetime(2026, 1, 2, tzinfo=UTC)
    )

    assert [h.value for h in course.history["hs_course_name"]] == ["B", "A"]
    assert course.updated_at == datetime(2026, 1, 2, tzinfo=UTC)


def test_sandbox_context_manager_stops_listening() -> None:
    with Sandbox(SandboxConfig(tokens={"t": frozenset()})) as sb:
        url = sb.url
        assert requests.get(url + V3, timeout=5).status_code == 401

    try:
        requests.get(url + V3, timeout=1)
        raise AssertionError("still listening")
    except requests.ConnectionError:
        pass


def test_cli_writes_ready_file_prints_one_line_and_stops_on_sigterm(
    tmp_path: Path, sandbox_token: str
) -> None:
    ready = tmp_path / "ready"
    env = dict(os.environ, HUBSPOT_SANDBOX_TOKEN=sandbox_token, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hubspot_sandbox",
            "--seed-courses",
            "25",
            "--ready-file",
            str(ready),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        url = ready.read_text().strip()
        response = requests.get(
            url + V3, headers={"Authorization": f"Bearer {sandbox_token}"}, timeout=5
        )
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)

    assert process.returncode == 0
    assert out.strip() == f"HubSpot sandbox listening on {url} with 25 courses"
    assert sandbox_token not in out + err


def test_list_throughput_on_20000_courses_exceeds_100_per_second(
    make_sandbox, sandbox_token: str
) -> None:
    sb = make_sandbox(
        courses=20_000,
        rate_limit_max=10_000,
        seed_options={"heavy_association_courses": 0},
    )
    ids = [c.id for c in sb.store.active_courses()]
    cursors = [None] + [ids[i] for i in range(100, 19_000, 1000)]

    def fetch(k: int) -> int:
        params = {"limit": 100, "properties": "hs_course_name,price"}
        cursor = cursors[k % len(cursors)]
        if cursor:
            params["after"] = cursor
        session = sessions[k % len(sessions)]
        return session.get(sb.url + V3, params=params, timeout=10).status_code

    sessions = []
    for _ in range(4):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {sandbox_token}"
        sessions.append(session)
    rates = []
    for _ in range(3):  # best of three bursts: other work may share the CPUs
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(fetch, range(180)))
        rates.append(180 / (time.monotonic() - started))
        assert statuses == [200] * 180
        if rates[-1] > 100:
            break

    assert max(rates) > 100, f"{max(rates):.0f} requests/s"
