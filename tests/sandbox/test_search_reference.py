"""Search against a brute-force evaluation, through writes that change its cache.

The search endpoint keeps typed keys per store version, cuts ``hs_object_id``
ranges by bisection and orders only the first ``after + limit`` results. Each
query here is also answered the plain way (every active course, values read
as strings, a full stable sort) and both answers must agree.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hubspot_sandbox.config import SandboxConfig
from hubspot_sandbox.messages import Request
from hubspot_sandbox.objects_api import ObjectsApi
from hubspot_sandbox.search_api import SEARCH_RESULT_CAP, SearchApi, _typed
from hubspot_sandbox.seed import seed_portal
from hubspot_sandbox.store import Course, Store
from hubspot_sandbox.values import to_epoch_ms

PROPERTIES = (
    "hs_object_id",
    "hs_createdate",
    "hs_lastmodifieddate",
    "price",
    "delivery_format",
    "topics",
)
OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
)


def _search(api: SearchApi, body: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    response = api.search(Request("POST", "/search", {}, {}, raw, {}, ""))
    assert response.status == 200, response.body
    return response.body


def _values(store: Store, course: Course, name: str) -> list[Any]:
    definition = store.properties[name]
    raw = course.value(name)
    if raw is None:
        return []
    parts = raw.split(";") if definition.get("fieldType") == "checkbox" else [raw]
    out = []
    for part in parts:
        try:
            out.append(_typed(definition["type"], part))
        except ValueError:
            continue
    return out


def _passes(store: Store, course: Course, spec: dict[str, Any]) -> bool:
    name, operator = spec["propertyName"], spec["operator"]
    kind = store.properties[name]["type"]
    values = _values(store, course, name)
    if operator == "HAS_PROPERTY":
        return course.value(name) is not None
    if operator == "NOT_HAS_PROPERTY":
        return course.value(name) is None
    if operator in {"IN", "NOT_IN"}:
        wanted = {_typed(kind, v) for v in spec["values"]}
        found = any(v in wanted for v in values)
        return found if operator == "IN" else not found
    low = _typed(kind, spec["value"])
    if operator == "BETWEEN":
        high = _typed(kind, spec["highValue"])
        return any(low <= v <= high for v in values)
    if operator == "NEQ":
        return all(v != low for v in values)
    checks = {
        "EQ": lambda v: v == low,
        "LT": lambda v: v < low,
        "LTE": lambda v: v <= low,
        "GT": lambda v: v > low,
        "GTE": lambda v: v >= low,
    }
    return any(checks[operator](v) for v in values)


def _reference(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Answer a search the straightforward way."""
    groups = [g["filters"] for g in body.get("filterGroups", []) if g["filters"]]
    matches = [
        c
        for c in store.active_courses()
        if not groups or any(all(_passes(store, c, f) for f in g) for g in groups)
    ]
    sorts = body.get("sorts")
    if sorts:
        name = sorts[0]["propertyName"]
        kind = store.properties[name]["type"]

        def key(course: Course) -> Any:
            raw = course.value(name)
            try:
                return None if raw is None else _typed(kind, raw)
            except ValueError:
                return None

        present = [c for c in matches if key(c) is not None]
        present.sort(key=key, reverse=sorts[0]["direction"] == "DESCENDING")
        matches = present + [c for c in matches if key(c) is None]
    else:
        matches.sort(key=lambda c: c.created_at)
    offset = int(body.get("after", 0))
    end = min(offset + body["limit"], SEARCH_RESULT_CAP, len(matches))
    answer: dict[str, Any] = {
        "total": len(matches),
        "ids": [c.id for c in matches[offset:end]],
    }
    if end < len(matches):
        answer["after"] = str(end)
    return answer


def _answer(api: SearchApi, body: dict[str, Any]) -> dict[str, Any]:
    found = _search(api, body)
    answer = {"total": found["total"], "ids": [r["id"] for r in found["results"]]}
    if "paging" in found:
        answer["after"] = found["paging"]["next"]["after"]
    return answer


def _random_filter(rng: random.Random, store: Store) -> dict[str, Any]:
    name = rng.choice(PROPERTIES)
    operator = rng.choice(OPERATORS)
    course = rng.choice(list(store.courses.values()))

    def value() -> str:
        if name == "hs_object_id":
            number = int(course.id) + rng.choice((-1, 0, 0, 1))
            return rng.choice((str(number), f"{number}.5"))
        if name in {"hs_createdate", "hs_lastmodifieddate"}:
            moment = course.updated_at if rng.random() < 0.7 else course.created_at
            ms = to_epoch_ms(moment) + rng.choice((-1, 0, 0, 1))
            return str(ms)
        if name == "price":
            return rng.choice((course.properties.get("price") or "0", "99", "250.5"))
        options = [o["value"] for o in store.properties[name].get("options", [])]
        return rng.choice(options)

    spec: dict[str, Any] = {"propertyName": name, "operator": operator}
    if operator in {"IN", "NOT_IN"}:
        spec["values"] = [value() for _ in range(rng.randrange(1, 4))]
    elif operator not in {"HAS_PROPERTY", "NOT_HAS_PROPERTY"}:
        spec["value"] = value()
        if operator == "BETWEEN":
            spec["highValue"] = value()
    return spec


def _random_body(rng: random.Random, store: Store) -> dict[str, Any]:
    groups = [
        {"filters": [_random_filter(rng, store) for _ in range(rng.randrange(0, 4))]}
        for _ in range(rng.choice((0, 1, 1, 1, 2, 3)))
    ]
    body: dict[str, Any] = {
        "filterGroups": groups,
        "limit": rng.choice((1, 7, 50, 200)),
        "after": str(rng.choice((0, 0, 3, 40, 150))),
    }
    if rng.random() < 0.8:
        name = rng.choice(PROPERTIES)
        direction = rng.choice(("ASCENDING", "DESCENDING"))
        body["sorts"] = [{"propertyName": name, "direction": direction}]
    return body


def _write(rng: random.Random, store: Store, at: datetime) -> None:
    """Change the store the ways the API does, with sub-millisecond instants."""
    active = [c.id for c in store.active_courses()]
    choice = rng.randrange(4)
    if choice == 0:
        price = rng.choice(("", "10", "99", "250.5", "1000"))
        store.update_course(rng.choice(active), {"price": price}, at=at)
    elif choice == 1:
        store.archive_course(rng.choice(active), at=at)
    elif choice == 2:
        store.bulk_touch(rng.sample(active, 5), at)
    else:
        store.create_course({"hs_course_name": "New", "price": "99"}, at=at)


def test_random_searches_match_a_brute_force_evaluation() -> None:
    rng = random.Random(20240611)
    store = Store()
    seed_portal(store, courses=300, seed=3, heavy_association_courses=0)
    store.bulk_create([{"hs_course_name": f"Same instant {i}"} for i in range(20)])
    moment = datetime(2026, 5, 1, tzinfo=UTC)
    for i, course in enumerate(store.active_courses()[::3]):
        # several courses per millisecond, apart by microseconds
        at = moment + timedelta(microseconds=137 * i)
        store.update_course(course.id, {"hs_course_name": f"Edited {i}"}, at=at)
    config = SandboxConfig()
    api = SearchApi(store, config, ObjectsApi(store, config))

    for round_ in range(40):
        for _ in range(15):
            body = _random_body(rng, store)
            assert _answer(api, body) == _reference(store, body), body
        moment += timedelta(seconds=1, microseconds=rng.randrange(1_000_000))
        _write(rng, store, moment if round_ % 3 else moment.replace(microsecond=0))


def test_tap_shaped_paging_matches_a_brute_force_evaluation() -> None:
    store = Store()
    seed_portal(
        store, courses=700, seed=5, heavy_association_courses=0, bulk_touch_count=250
    )
    config = SandboxConfig()
    api = SearchApi(store, config, ObjectsApi(store, config))
    moments = sorted(to_epoch_ms(c.updated_at) for c in store.active_courses())
    start, end = str(moments[100]), str(moments[-1] + 1)

    def body(last_id: str | None) -> dict[str, Any]:
        filters = [
            {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": start},
            {"propertyName": "hs_lastmodifieddate", "operator": "LT", "value": end},
        ]
        if last_id is not None:
            filters.append(
                {"propertyName": "hs_object_id", "operator": "GT", "value": last_id}
            )
        return {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "limit": 200,
        }

    last_id = None
    seen: list[str] = []
    while True:
        answer = _answer(api, body(last_id))
        assert answer == _reference(store, body(last_id))
        seen += answer["ids"]
        if not answer["ids"] or "after" not in answer:
            break
        last_id = answer["ids"][-1]

    expected = [
        c.id
        for c in store.active_courses()
        if int(start) <= to_epoch_ms(c.updated_at) < int(end)
    ]
    assert seen == expected
    assert len(seen) > 400


def test_direct_edits_show_after_reindex() -> None:
    store = Store()
    seed_portal(store, courses=30, seed=1, heavy_association_courses=0)
    config = SandboxConfig()
    api = SearchApi(store, config, ObjectsApi(store, config))
    course = store.active_courses()[5]
    moment = datetime(2031, 1, 1, tzinfo=UTC)
    body = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "hs_lastmodifieddate",
                        "operator": "GTE",
                        "value": str(to_epoch_ms(moment)),
                    }
                ]
            }
        ],
        "limit": 10,
    }
    assert _answer(api, body)["ids"] == []

    course.updated_at = moment
    store.reindex()

    assert _answer(api, body)["ids"] == [course.id]
