"""Fault injection: every fault is observable by a client and counted."""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
import requests

from hubspot_sandbox import Faults, Sandbox
from tests.sandbox.conftest import V3


def test_latency_delays_each_request(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.faults.latency_ms = 150

    started = time.monotonic()
    response = sandbox_session.get(sandbox.url + V3)

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.15
    assert sandbox.stats.faults["latency"] == 1


def test_error_5xx_rate_one_answers_configured_status(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.faults.error_5xx_rate = 1.0
    sandbox.faults.error_5xx_statuses = (503,)

    response = sandbox_session.get(sandbox.url + V3)

    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert sandbox.stats.faults["error_5xx"] == 1


def test_error_5xx_rate_is_deterministic_for_a_seed(
    make_sandbox, sandbox_session: requests.Session
) -> None:
    runs = []
    for _ in range(2):
        sb = make_sandbox(courses=5, faults=Faults(error_5xx_rate=0.5, seed=3))
        runs.append([sandbox_session.get(sb.url + V3).status_code for _ in range(12)])

    assert runs[0] == runs[1]
    assert 200 in runs[0]
    assert any(s >= 500 for s in runs[0])


def test_burst_429_refuses_next_n_requests_then_recovers(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.faults.burst_429 = 2

    statuses = [sandbox_session.get(sandbox.url + V3).status_code for _ in range(3)]

    assert statuses == [429, 429, 200]
    assert sandbox.stats.faults["burst_429"] == 2
    assert sandbox.stats.by_status[429] == 2


def test_burst_429_body_is_ten_secondly_rolling(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.faults.burst_429 = 1

    body = sandbox_session.get(sandbox.url + V3).json()

    assert body["policyName"] == "TEN_SECONDLY_ROLLING"


def test_fail_next_limited_by_path_regex_only_hits_matching_paths(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.faults.fail_next(1, 502, path_regex=r"/search$")

    listed = sandbox_session.get(sandbox.url + V3)
    searched = sandbox_session.post(sandbox.url + V3 + "/search", json={})
    again = sandbox_session.post(sandbox.url + V3 + "/search", json={})

    assert listed.status_code == 200
    assert searched.status_code == 502
    assert again.status_code == 200
    assert sandbox.stats.faults["fail_next"] == 1


def test_path_regexes_restrict_a_single_fault(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.faults.error_5xx_rate = 1.0
    sandbox.faults.path_regexes = {"error_5xx_rate": r"/batch/"}

    listed = sandbox_session.get(sandbox.url + V3)
    batch = sandbox_session.post(
        sandbox.url + V3 + "/batch/read", json={"inputs": [], "properties": []}
    )

    assert listed.status_code == 200
    assert batch.status_code >= 500


def test_drop_rate_closes_connection_without_response(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.faults.drop_rate = 1.0

    with pytest.raises(requests.ConnectionError):
        sandbox_session.get(sandbox.url + V3, timeout=5)

    assert sandbox.stats.faults["drop"] >= 1


def test_malformed_rate_sends_truncated_json_with_200(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.faults.malformed_rate = 1.0

    response = sandbox_session.get(sandbox.url + V3)

    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert sandbox.stats.faults["malformed"] == 1


def test_hang_exceeds_client_timeout(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.faults.hang_seconds = 2.0
    sandbox.faults.hang_rate = 1.0

    with pytest.raises(requests.Timeout):
        sandbox_session.get(sandbox.url + V3, timeout=0.3)

    assert sandbox.stats.faults["hang"] == 1


def test_expire_tokens_after_n_requests_expires_oauth_token(make_sandbox) -> None:
    from hubspot_sandbox import OAuthClient

    sb = make_sandbox(
        courses=5,
        oauth_clients={"cid": OAuthClient(secret="s", refresh_tokens={"r"})},
    )
    token = requests.post(
        sb.url + "/oauth/v1/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "cid",
            "client_secret": "s",
            "refresh_token": "r",
        },
        timeout=5,
    ).json()["access_token"]
    sb.faults.expire_tokens_after = 2
    headers = {"Authorization": f"Bearer {token}"}

    statuses = [
        requests.get(sb.url + V3, headers=headers, timeout=5).status_code
        for _ in range(3)
    ]

    assert statuses == [200, 200, 401]
    assert sb.stats.faults["token_expired"] == 1


def test_faults_reset_turns_everything_off(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.faults.error_5xx_rate = 1.0
    sandbox.faults.fail_next(3, 500)
    sandbox.faults.reset()

    assert sandbox_session.get(sandbox.url + V3).status_code == 200


def test_latency_does_not_serialize_concurrent_requests(
    sandbox: Sandbox, sandbox_token: str
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    sandbox.faults.latency_ms = 300

    def fetch(_: int) -> int:
        return requests.get(
            sandbox.url + V3,
            headers={"Authorization": f"Bearer {sandbox_token}"},
            timeout=5,
        ).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(fetch, range(8)))

    assert statuses == [200] * 8
    assert time.monotonic() - started < 1.5


def test_stats_count_requests_by_route_and_reset(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.stats.reset()
    sandbox_session.get(sandbox.url + V3)
    sandbox_session.post(sandbox.url + V3 + "/search", json={})
    sandbox_session.post(
        sandbox.url + V3 + "/batch/read", json={"inputs": [], "properties": []}
    )

    snapshot = sandbox.stats.snapshot()

    assert snapshot["total"] == 3
    assert snapshot["by_route"] == {"list": 1, "search": 1, "batch_read": 1}
    assert snapshot["by_status"] == {200: 3}
    sandbox.stats.reset()
    assert sandbox.stats.total == 0


def test_keep_alive_connection_serves_many_requests(
    sandbox: Sandbox, sandbox_token: str
) -> None:
    parts = urlsplit(sandbox.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        for _ in range(3):
            connection.request(
                "GET", V3, headers={"Authorization": f"Bearer {sandbox_token}"}
            )
            response = connection.getresponse()
            response.read()
            assert response.status == 200
    finally:
        connection.close()
