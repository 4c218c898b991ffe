"""Authentication, scopes, OAuth, activation, rate limits and URL length."""

from __future__ import annotations

import secrets
import time

import pytest
import requests

from hubspot_sandbox import OAuthClient, Sandbox
from hubspot_sandbox.config import READ_SCOPE
from tests.sandbox.conftest import V3


def test_request_without_token_answers_401_invalid_authentication(
    sandbox: Sandbox,
) -> None:
    response = requests.get(sandbox.url + V3, timeout=5)

    assert response.status_code == 401
    assert response.json()["category"] == "INVALID_AUTHENTICATION"


def test_unknown_token_answers_401(sandbox: Sandbox) -> None:
    response = requests.get(
        sandbox.url + V3, headers={"Authorization": "Bearer nope"}, timeout=5
    )

    assert response.status_code == 401


def test_token_in_query_string_is_not_accepted(
    sandbox: Sandbox, sandbox_token: str
) -> None:
    response = requests.get(
        sandbox.url + V3,
        params={"hapikey": sandbox_token, "access_token": sandbox_token},
        timeout=5,
    )

    assert response.status_code == 401


def test_missing_scope_answers_403_with_required_scopes(
    make_sandbox, sandbox_token: str, sandbox_session: requests.Session
) -> None:
    sb = make_sandbox(tokens={sandbox_token: frozenset({READ_SCOPE})})

    response = sandbox_session.post(
        sb.url + V3, json={"properties": {"hs_course_name": "x"}}
    )

    assert response.status_code == 403
    body = response.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == [
        "crm.objects.courses.write"
    ]
    assert body["links"]["scopes"]


def test_courses_not_activated_refuses_objects_and_enablement_says_false(
    make_sandbox, sandbox_session: requests.Session
) -> None:
    sb = make_sandbox(courses_enabled=False)

    refused = sandbox_session.get(sb.url + V3)
    single = sandbox_session.get(
        sb.url + "/crm/object-library/2026-03/enablement/0-410"
    ).json()
    overview = sandbox_session.get(
        sb.url + "/crm/object-library/2026-03/enablement"
    ).json()

    assert refused.status_code == 403
    assert refused.json()["category"] == "OBJECT_NOT_ACTIVATED"
    assert single == {"enablement": False}
    assert overview["enablementByObjectTypeId"]["0-410"] is False


def test_responses_carry_rate_limit_headers_for_private_app_tokens(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.reset_limits()

    first = sandbox_session.get(sandbox.url + V3)
    second = sandbox_session.get(sandbox.url + V3)

    assert first.headers["X-HubSpot-RateLimit-Max"] == "190"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert int(first.headers["X-HubSpot-RateLimit-Remaining"]) == 189
    assert int(second.headers["X-HubSpot-RateLimit-Remaining"]) == 188
    assert first.headers["X-HubSpot-RateLimit-Daily"] == "1000000"
    assert "X-HubSpot-RateLimit-Daily-Remaining" in first.headers


def test_rolling_window_exceeded_answers_429_body_without_retry_after(
    make_sandbox, sandbox_session: requests.Session
) -> None:
    sb = make_sandbox(rate_limit_max=3, rate_limit_interval_ms=60_000)

    statuses = [sandbox_session.get(sb.url + V3).status_code for _ in range(3)]
    refused = sandbox_session.get(sb.url + V3)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    body = refused.json()
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["correlationId"]
    assert body["requestId"]
    assert "Retry-After" not in refused.headers
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert sb.stats.rate_limited == 1


def test_rolling_window_admits_again_after_interval(
    make_sandbox, sandbox_session: requests.Session
) -> None:
    sb = make_sandbox(rate_limit_max=2, rate_limit_interval_ms=300)
    for _ in range(3):
        sandbox_session.get(sb.url + V3)

    time.sleep(0.35)

    assert sandbox_session.get(sb.url + V3).status_code == 200


def test_daily_limit_exhausted_answers_429_daily(
    make_sandbox, sandbox_session: requests.Session
) -> None:
    sb = make_sandbox(daily_limit=2)
    sandbox_session.get(sb.url + V3)
    sandbox_session.get(sb.url + V3)

    refused = sandbox_session.get(sb.url + V3)

    assert refused.status_code == 429
    assert refused.json()["policyName"] == "DAILY"
    assert refused.json()["message"] == "You have reached your daily limit."


def _oauth_sandbox(make_sandbox, **overrides) -> tuple[Sandbox, str, str, str]:
    client_id = f"client-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(16)
    refresh = secrets.token_urlsafe(16)
    sb = make_sandbox(
        oauth_clients={client_id: OAuthClient(secret=secret, refresh_tokens={refresh})},
        **overrides,
    )
    return sb, client_id, secret, refresh


def _refresh(
    sb: Sandbox, client_id: str, secret: str, refresh: str, version: str = "v1"
) -> requests.Response:
    return requests.post(
        sb.url + f"/oauth/{version}/token",
        data={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": secret,
            "refresh_token": refresh,
        },
        timeout=5,
    )


@pytest.mark.parametrize("version", ["v1", "v3", "2026-03"])
def test_oauth_refresh_returns_access_token_usable_without_daily_headers(
    make_sandbox, version: str
) -> None:
    sb, client_id, secret, refresh = _oauth_sandbox(make_sandbox)

    response = _refresh(sb, client_id, secret, refresh, version)

    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 1800
    assert token["refresh_token"] == refresh
    listed = requests.get(
        sb.url + V3,
        headers={"Authorization": "Bearer {}".format(token["access_token"])},
        timeout=5,
    )
    assert listed.status_code == 200
    assert "X-HubSpot-RateLimit-Max" in listed.headers
    assert "X-HubSpot-RateLimit-Daily" not in listed.headers


def test_oauth_bad_refresh_token_answers_400_invalid_grant(make_sandbox) -> None:
    sb, client_id, secret, _ = _oauth_sandbox(make_sandbox)

    response = _refresh(sb, client_id, secret, "wrong")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.json()["status"] == "BAD_REFRESH_TOKEN"


def test_oauth_expired_access_token_answers_401_expired_authentication(
    make_sandbox,
) -> None:
    sb, client_id, secret, refresh = _oauth_sandbox(make_sandbox)
    access = _refresh(sb, client_id, secret, refresh).json()["access_token"]
    sb.auth.expire(access, seconds_ago=42)

    response = requests.get(
        sb.url + V3, headers={"Authorization": f"Bearer {access}"}, timeout=5
    )

    assert response.status_code == 401
    body = response.json()
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert body["message"] == (
        "The OAuth token used to make this call expired 42 second(s) ago."
    )


def test_oauth_short_ttl_expires_and_refresh_recovers(make_sandbox) -> None:
    sb, client_id, secret, refresh = _oauth_sandbox(
        make_sandbox, oauth_access_ttl_seconds=0
    )
    access = _refresh(sb, client_id, secret, refresh).json()["access_token"]

    expired = requests.get(
        sb.url + V3, headers={"Authorization": f"Bearer {access}"}, timeout=5
    )
    sb.config.oauth_access_ttl_seconds = 1800
    fresh = _refresh(sb, client_id, secret, refresh).json()["access_token"]
    ok = requests.get(
        sb.url + V3, headers={"Authorization": f"Bearer {fresh}"}, timeout=5
    )

    assert expired.status_code == 401
    assert ok.status_code == 200


def test_request_target_over_max_url_length_answers_414(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    names = ",".join(f"property_{i:04d}" for i in range(800))

    response = sandbox_session.get(sandbox.url + V3, params={"properties": names})

    assert response.status_code == 414
    assert response.json()["status"] == "error"


def test_requests_refused_with_429_do_not_extend_the_window(
    make_sandbox, sandbox_session: requests.Session
) -> None:
    sb = make_sandbox(courses=5, rate_limit_max=2, rate_limit_interval_ms=400)
    admitted = [sandbox_session.get(sb.url + V3).status_code for _ in range(2)]
    time.sleep(0.2)
    refused = [sandbox_session.get(sb.url + V3).status_code for _ in range(5)]
    time.sleep(0.25)

    again = sandbox_session.get(sb.url + V3)

    assert admitted == [200, 200]
    assert refused == [429] * 5
    assert again.status_code == 200
