"""Search: operators, sorting, paging, the 10,000 cap and the search limiter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
import requests

from hubspot_sandbox import Course, Sandbox
from tests.sandbox.conftest import DATED, V3


def _search(sb: Sandbox, session: requests.Session, body: dict) -> requests.Response:
    sb.reset_limits()
    return session.post(sb.url + V3 + "/search", json=body)


def _all_ids(sb: Sandbox, session: requests.Session, filters: list[dict]) -> list[str]:
    ids: list[str] = []
    after = "0"
    while after is not None:
        body = _search(
            sb,
            session,
            {"filterGroups": [{"filters": filters}], "limit": 200, "after": after},
        ).json()
        ids.extend(r["id"] for r in body["results"])
        after = body.get("paging", {}).get("next", {}).get("after")
    return ids


def _price(course: Course) -> Decimal | None:
    value = course.value("price")
    return Decimal(value) if value else None


CASES: list[tuple[str, dict, Callable[[Course], bool]]] = [
    (
        "eq-enum",
        {"propertyName": "delivery_format", "operator": "EQ", "value": "online"},
        lambda c: c.value("delivery_format") == "online",
    ),
    (
        "neq-enum",
        {"propertyName": "delivery_format", "operator": "NEQ", "value": "online"},
        lambda c: c.value("delivery_format") != "online",
    ),
    (
        "gt-number-numeric",
        {"propertyName": "price", "operator": "GT", "value": "99"},
        lambda c: (_price(c) or -1) > 99,
    ),
    (
        "lte-number",
        {"propertyName": "price", "operator": "LTE", "value": "100.5"},
        lambda c: _price(c) is not None and _price(c) <= Decimal("100.5"),
    ),
    (
        "between-number",
        {
            "propertyName": "price",
            "operator": "BETWEEN",
            "value": "100",
            "highValue": "300",
        },
        lambda c: _price(c) is not None and 100 <= _price(c) <= 300,
    ),
    (
        "in-enum",
        {
            "propertyName": "hs_pipeline_stage",
            "operator": "IN",
            "values": ["1001", "1002"],
        },
        lambda c: c.value("hs_pipeline_stage") in {"1001", "1002"},
    ),
    (
        "not-in-enum",
        {
            "propertyName": "hs_pipeline_stage",
            "operator": "NOT_IN",
            "values": ["1001", "1002"],
        },
        lambda c: c.value("hs_pipeline_stage") not in {"1001", "1002"},
    ),
    (
        "has-property",
        {"propertyName": "price", "operator": "HAS_PROPERTY"},
        lambda c: c.value("price") is not None,
    ),
    (
        "not-has-property",
        {"propertyName": "price", "operator": "NOT_HAS_PROPERTY"},
        lambda c: c.value("price") is None,
    ),
    (
        "contains-token-wildcard",
        {
            "propertyName": "hs_course_name",
            "operator": "CONTAINS_TOKEN",
            "value": "safe*",
        },
        lambda c: "safety" in (c.value("hs_course_name") or "").lower(),
    ),
    (
        "not-contains-token",
        {
            "propertyName": "hs_course_name",
            "operator": "NOT_CONTAINS_TOKEN",
            "value": "python",
        },
        lambda c: "python" not in (c.value("hs_course_name") or "").lower(),
    ),
    (
        "gte-datetime-iso",
        {
            "propertyName": "hs_lastmodifieddate",
            "operator": "GTE",
            "value": "2025-03-20T00:00:00Z",
        },
        lambda c: c.updated_at >= dt.datetime(2025, 3, 20, tzinfo=dt.UTC),
    ),
    (
        "lt-datetime-epoch-ms",
        {"propertyName": "hs_createdate", "operator": "LT", "value": "1741100000000"},
        lambda c: c.created_at.timestamp() * 1000 < 1741100000000,
    ),
    (
        "eq-bool",
        {"propertyName": "is_certified", "operator": "EQ", "value": "true"},
        lambda c: c.value("is_certified") == "true",
    ),
    (
        "eq-string-case-insensitive",
        {
            "propertyName": "instructor_email",
            "operator": "EQ",
            "value": "TRAINER3@example.com",
        },
        lambda c: c.value("instructor_email") == "trainer3@example.com",
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_search_operator_matches_exactly_the_expected_courses(
    sandbox: Sandbox,
    sandbox_session: requests.Session,
    spec: dict,
    expected: Callable[[Course], bool],
) -> None:
    ids = _all_ids(sandbox, sandbox_session, [spec])

    wanted = [c for c in sandbox.store.active_courses() if expected(c)]
    assert sorted(ids) == sorted(c.id for c in wanted)
    assert ids


def test_search_filter_groups_are_ored_and_filters_anded(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    body = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "delivery_format",
                        "operator": "EQ",
                        "value": "online",
                    },
                    {"propertyName": "is_certified", "operator": "EQ", "value": "true"},
                ]
            },
            {
                "filters": [
                    {
                        "propertyName": "hs_pipeline_stage",
                        "operator": "EQ",
                        "value": "1005",
                    },
                ]
            },
        ],
        "limit": 200,
    }

    ids = {r["id"] for r in _search(sandbox, sandbox_session, body).json()["results"]}

    expected = {
        c.id
        for c in sandbox.store.active_courses()
        if (
            c.value("delivery_format") == "online" and c.value("is_certified") == "true"
        )
        or c.value("hs_pipeline_stage") == "1005"
    }
    assert ids == expected


def test_search_default_order_is_creation_oldest_first(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    body = _search(sandbox, sandbox_session, {"limit": 50}).json()

    created = [r["createdAt"] for r in body["results"]]
    assert created == sorted(created)
    assert body["total"] == len(sandbox.store.active_courses())


def test_search_sort_by_number_descending_is_numeric(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    body = _search(
        sandbox,
        sandbox_session,
        {
            "sorts": [{"propertyName": "price", "direction": "DESCENDING"}],
            "filterGroups": [
                {"filters": [{"propertyName": "price", "operator": "HAS_PROPERTY"}]}
            ],
            "properties": ["price"],
            "limit": 200,
        },
    ).json()

    prices = [Decimal(r["properties"]["price"]) for r in body["results"]]
    assert prices == sorted(prices, reverse=True)


def test_search_equal_sort_values_are_ordered_by_id(
    make_sandbox, sandbox_session: requests.Session
) -> None:
    sb = make_sandbox(courses=60, seed_options={"bulk_touch_count": 30})

    body = _search(
        sb,
        sandbox_session,
        {
            "sorts": [
                {"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}
            ],
            "limit": 200,
        },
    ).json()

    touched = [r["id"] for r in body["results"]][-30:]
    assert touched == sorted(touched, key=int)


def test_search_tolerates_a_bare_string_sort(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = _search(sandbox, sandbox_session, {"sorts": ["hs_createdate"]})

    assert response.status_code == 200


def test_search_paging_uses_integer_offsets(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    first = _search(sandbox, sandbox_session, {"limit": 10}).json()
    second = _search(sandbox, sandbox_session, {"limit": 10, "after": "10"}).json()

    assert first["paging"]["next"]["after"] == "10"
    assert not {r["id"] for r in first["results"]} & {
        r["id"] for r in second["results"]
    }


def test_search_results_always_carry_default_properties(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    body = _search(sandbox, sandbox_session, {"properties": ["hs_course_name"]}).json()

    assert set(body["results"][0]["properties"]) == {
        "hs_course_name",
        "hs_createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }


def test_search_excludes_archived_courses(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    archived = {c.id for c in sandbox.store.archived_courses()}

    ids = _all_ids(sandbox, sandbox_session, [])

    assert archived
    assert not archived & set(ids)


def test_search_past_10000_results_answers_400_and_total_is_real(
    make_sandbox, sandbox_session: requests.Session
) -> None:
    sb = make_sandbox(courses=0)
    sb.store.bulk_create({"hs_course_name": f"Bulk {i}"} for i in range(10_050))

    page = _search(sb, sandbox_session, {"limit": 200, "after": "9800"}).json()
    beyond = _search(sb, sandbox_session, {"limit": 200, "after": "10000"})

    assert page["total"] == 10_050
    assert len(page["results"]) == 200
    assert page["paging"]["next"]["after"] == "10000"
    assert beyond.status_code == 400
    assert beyond.json()["category"] == "VALIDATION_ERROR"


def test_search_page_never_goes_past_index_10000(
    make_sandbox, sandbox_session: requests.Session
) -> None:
    sb = make_sandbox(courses=0)
    sb.store.bulk_create({"hs_course_name": f"Bulk {i}"} for i in range(10_050))

    page = _search(sb, sandbox_session, {"limit": 200, "after": "9900"}).json()

    assert len(page["results"]) == 100


@pytest.mark.parametrize(
    "groups",
    [
        [{"filters": [{"propertyName": "price", "operator": "HAS_PROPERTY"}]}] * 6,
        [{"filters": [{"propertyName": "price", "operator": "HAS_PROPERTY"}] * 7}],
        [{"filters": [{"propertyName": "price", "operator": "HAS_PROPERTY"}] * 5}] * 4,
    ],
    ids=["six-groups", "seven-in-a-group", "twenty-filters"],
)
def test_search_too_many_filters_answers_400(
    sandbox: Sandbox, sandbox_session: requests.Session, groups: list
) -> None:
    response = _search(sandbox, sandbox_session, {"filterGroups": groups})

    assert response.status_code == 400


def test_search_body_over_3000_characters_answers_400(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = _search(sandbox, sandbox_session, {"query": "x" * 3_100})

    assert response.status_code == 400


def test_search_sixth_request_in_a_second_gets_429_without_rate_headers(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    sandbox.reset_limits()
    statuses = []
    responses = []
    for _ in range(6):
        response = sandbox_session.post(sandbox.url + DATED + "/search", json={})
        statuses.append(response.status_code)
        responses.append(response)

    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    assert responses[5].json()["errorType"] == "RATE_LIMIT"
    assert "Retry-After" not in responses[5].headers
    assert not any(
        name.lower().startswith("x-hubspot-ratelimit")
        for response in responses
        for name in response.headers
    )


def test_search_lag_hides_recently_modified_courses(
    make_sandbox, sandbox_session: requests.Session
) -> None:
    sb = make_sandbox(courses=10, search_lag_seconds=60)
    course = sb.store.active_courses()[0]
    sb.store.update_course(course.id, {"hs_course_name": "Fresh"})

    ids = _all_ids(sb, sandbox_session, [])

    assert course.id not in ids
    assert len(ids) == len(sb.store.active_courses()) - 1
