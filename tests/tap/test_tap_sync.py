"""End-to-end behaviour of tap-hubspot-courses against a local sandbox."""

from __future__ import annotations

import datetime as dt
import decimal
import time
import typing as t

import pytest
from tap_helpers import TOKEN, run_tap, select_only, tap_config

from hubspot_courses.errors import HubSpotAPIError
from hubspot_sandbox import ALL_COURSE_SCOPES, Faults, OAuthClient
from hubspot_sandbox.definitions import make_property

if t.TYPE_CHECKING:
    from hubspot_sandbox import Sandbox
    from tap_hubspot_courses.tap import TapHubSpotCourses

COURSES = "courses"
HISTORY = "course_property_history"
ASSOCIATIONS = "course_associations"


@pytest.fixture
def portal(make_sandbox: t.Callable[..., Sandbox]) -> Sandbox:
    """A sandbox with 300 seeded courses, accepting the tap tests' token."""
    return make_sandbox(
        courses=300,
        tokens={TOKEN: ALL_COURSE_SCOPES},
        seed_options={"heavy_association_courses": 1},
    )


def _active_ids(sb: Sandbox) -> set[str]:
    return {c.id for c in sb.store.courses.values() if not c.archived}


def _wrap_requests(
    tap: TapHubSpotCourses, hook: t.Callable[[str, str, int], None]
) -> None:
    """Call ``hook(method, path, n)`` before the client's n-th request."""
    client = tap.client
    original = client.request
    count = {"n": 0}

    def request(method: str, path: str, **kwargs: t.Any) -> t.Any:
        count["n"] += 1
        hook(method, path, count["n"])
        return original(method, path, **kwargs)

    client.request = request  # type: ignore[method-assign]


# ------------------------------------------------------------------ full sync


def test_full_sync_emits_every_active_course_once_with_typed_values(
    portal: Sandbox,
) -> None:
    run = run_tap(tap_config(portal.url))

    courses = run.records(COURSES)
    ids = [course["id"] for course in courses]
    assert len(ids) == len(set(ids))
    assert set(ids) == _active_ids(portal)

    def values(name: str) -> list[t.Any]:
        return [
            c["properties"][name]
            for c in courses
            if c["properties"].get(name) is not None
        ]

    assert values("price")
    assert all(isinstance(v, (int, decimal.Decimal)) for v in values("price"))
    assert all(isinstance(v, bool) for v in values("is_certified"))
    assert all(isinstance(v, list) for v in values("topics"))
    assert all(dt.date.fromisoformat(v) for v in values("course_start_date"))
    assert all(v.endswith("Z") for v in values("enrollment_opens_at"))
    assert all(isinstance(v, (int, decimal.Decimal)) for v in values("rating"))
    assert all(c["unparsed_properties"] is None for c in courses)


def test_full_sync_price_keeps_exact_decimal_digits(portal: Sandbox) -> None:
    course = next(c for c in portal.store.courses.values() if not c.archived)
    portal.store.update_course(course.id, {"price": "1234567.8912345678"})

    run = run_tap(tap_config(portal.url, properties=["price"]))

    record = next(r for r in run.records(COURSES) if r["id"] == course.id)
    assert '"price":1234567.8912345678' in run.text
    assert record["properties"]["price"] == decimal.Decimal("1234567.8912345678")
    assert set(record["properties"]) == {
        "price",
        "hs_object_id",
        "hs_createdate",
        "hs_lastmodifieddate",
    }


def test_full_sync_reads_1000_courses_with_10_list_calls_and_1_association_call(
    make_sandbox: t.Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(
        courses=1000,
        tokens={TOKEN: ALL_COURSE_SCOPES},
        seed_options={"heavy_association_courses": 0, "archived_fraction": 0.0},
    )

    run = run_tap(tap_config(sb.url, associations=["contacts"]))

    assert len(run.records(COURSES)) == 1000
    routes = sb.stats.snapshot()["by_route"]
    assert routes["list"] == 10
    assert routes["assoc_batch_read"] == 1


# ------------------------------------------------------------------ state


def test_full_sync_writes_list_cursor_to_state_after_each_page(portal: Sandbox) -> None:
    config = tap_config(portal.url)
    catalog = select_only(config, COURSES)

    run = run_tap(config, catalog=catalog)

    cursors = [
        state["bookmarks"][COURSES]["after"]
        for state in run.states()
        if "after" in state.get("bookmarks", {}).get(COURSES, {})
    ]
    assert len(cursors) == 2  # 300 courses: pages 1 and 2 lead to a next page
    assert len(set(cursors)) == 2
    final = run.final_state["bookmarks"][COURSES]
    assert "after" not in final
    assert "phase" not in final
    assert final["replication_key"] == "updatedAt"


def test_sync_interrupted_after_two_pages_resumes_from_state_without_loss(
    portal: Sandbox,
) -> None:
    config = tap_config(portal.url)
    catalog = select_only(config, COURSES)

    def crash_on_third_list_page(method: str, path: str, n: int) -> None:
        if method == "GET" and path.endswith("/courses") and n > 4:
            raise KeyboardInterrupt

    def prepare(tap: TapHubSpotCourses) -> None:
        _wrap_requests(tap, crash_on_third_list_page)

    first = run_tap(config, catalog=catalog, prepare=prepare, expect=BaseException)
    state = first.final_state
    assert state["bookmarks"][COURSES]["phase"] == "list"

    second = run_tap(config, catalog=catalog, state=state)

    first_ids = {r["id"] for r in first.records(COURSES)}
    second_ids = {r["id"] for r in second.records(COURSES)}
    assert first_ids | second_ids == _active_ids(portal)
    assert len(first_ids) == 200
    assert len(second_ids) == len(_active_ids(portal)) - 200
    assert "phase" not in second.final_state["bookmarks"][COURSES]


# ------------------------------------------------------------------ incremental


def test_incremental_sync_emits_only_changed_courses_with_few_search_calls(
    make_sandbox: t.Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(
        courses=1500,
        tokens={TOKEN: ALL_COURSE_SCOPES},
        seed_options={"heavy_association_courses": 0},
    )
    config = tap_config(sb.url, associations=[])
    first = run_tap(config)
    changed = sorted(_active_ids(sb), key=int)[::1][:1000]
    for course_id in changed:
        sb.store.update_course(course_id, {"hs_course_description": "v2"})
    time.sleep(0.01)
    sb.stats.reset()

    second = run_tap(config, state=first.final_state)

    assert sorted(r["id"] for r in second.records(COURSES)) == sorted(changed)
    assert sb.stats.snapshot()["by_route"]["search"] <= 5
    bookmark = second.final_state["bookmarks"][COURSES]["replication_key_value"]
    assert bookmark > first.final_state["bookmarks"][COURSES]["replication_key_value"]


def test_search_past_10k_cap_with_equal_timestamps_emits_each_course_once(
    make_sandbox: t.Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(courses=0, tokens={TOKEN: ALL_COURSE_SCOPES})
    created = sb.store.bulk_create(
        {"hs_course_name": f"Bulk {n}"} for n in range(10_250)
    )
    touched_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    sb.store.bulk_touch([c.id for c in created], touched_at)
    start = (touched_at - dt.timedelta(minutes=1)).isoformat()
    config = tap_config(sb.url, start_date=start, associations=[])

    run = run_tap(config, catalog=select_only(config, COURSES))

    ids = [r["id"] for r in run.records(COURSES)]
    assert len(ids) == 10_250
    assert len(set(ids)) == 10_250
    assert sb.stats.snapshot()["by_route"]["search"] == 52


def test_incremental_bookmark_does_not_skip_course_modified_during_sync(
    portal: Sandbox,
) -> None:
    config = tap_config(portal.url, associations=[])
    first = run_tap(config)
    ordered = sorted(_active_ids(portal), key=int)
    for course_id in ordered[:250]:
        portal.store.update_course(course_id, {"hs_course_description": "v2"})
    time.sleep(0.01)
    late = ordered[-1]

    def touch_after_first_search(method: str, path: str, n: int) -> None:
        if path.endswith("/search") and "touched" not in portal.__dict__:
            portal.__dict__["touched"] = True
            # First search page is about to be read: change one course already
            # emitted soon and one the search has not reached.
            portal.store.update_course(ordered[0], {"hs_course_description": "v3"})
            portal.store.update_course(late, {"hs_course_description": "v3"})

    second = run_tap(
        config,
        state=first.final_state,
        prepare=lambda tap: _wrap_requests(tap, touch_after_first_search),
    )
    time.sleep(0.01)
    third = run_tap(config, state=second.final_state)

    emitted = {r["id"] for r in second.records(COURSES)} | {
        r["id"] for r in third.records(COURSES)
    }
    assert set(ordered[:250]) | {late} <= emitted
    third_values = {
        r["id"]: r["properties"]["hs_course_description"]
        for r in third.records(COURSES)
    }
    assert third_values[late] == "v3"
    assert third_values[ordered[0]] == "v3"


def test_incremental_sync_with_include_archived_emits_newly_archived_courses(
    portal: Sandbox,
) -> None:
    config = tap_config(portal.url, include_archived=True, associations=[])
    first = run_tap(config)
    already_archived = {c.id for c in portal.store.courses.values() if c.archived}
    assert {r["id"] for r in first.records(COURSES) if r["archived"]} == (
        already_archived
    )
    victim = sorted(_active_ids(portal), key=int)[5]
    portal.store.archive_course(victim)
    time.sleep(0.01)

    second = run_tap(config, state=first.final_state)

    records = second.records(COURSES)
    assert [r["id"] for r in records] == [victim]
    assert records[0]["archived"] is True
    assert records[0]["archivedAt"]


# ------------------------------------------------------------------ faults


def test_429_storm_longer_than_the_retry_budget_is_waited_out(
    make_sandbox: t.Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(
        courses=150,
        tokens={TOKEN: ALL_COURSE_SCOPES},
        rate_limit_interval_ms=200,
    )
    sb.faults.burst_429 = 15
    sb.faults.path_regex = r"/courses$"

    run = run_tap(tap_config(sb.url, associations=[], max_retries=3))

    assert {r["id"] for r in run.records(COURSES)} == _active_ids(sb)
    assert run.tap.client.stats.throttled == 15


def test_5xx_and_dropped_connections_are_retried_without_losing_courses(
    make_sandbox: t.Callable[..., Sandbox],
) -> None:
    faults = Faults(error_5xx_rate=0.15, drop_rate=0.1, seed=3)
    sb = make_sandbox(courses=300, tokens={TOKEN: ALL_COURSE_SCOPES}, faults=faults)

    run = run_tap(tap_config(sb.url, max_retries=12))

    assert {r["id"] for r in run.records(COURSES)} == _active_ids(sb)
    assert run.tap.client.stats.retries > 0


@pytest.mark.parametrize("status", [400, 404], ids=["bad-request", "not-found"])
def test_4xx_on_a_list_page_fails_at_once_without_retry(
    portal: Sandbox, status: int
) -> None:
    config = tap_config(portal.url, associations=[])
    catalog = select_only(config, COURSES)
    portal.faults.fail_next(1, status, path_regex=r"/courses$")

    run = run_tap(config, catalog=catalog, expect=HubSpotAPIError)

    assert run.tap.client.stats.retries == 0
    assert f"HubSpot answered {status}" in str(run.error)


def test_expired_oauth_access_token_is_refreshed_mid_sync(
    make_sandbox: t.Callable[..., Sandbox],
) -> None:
    client = OAuthClient(secret="s3cret-value", refresh_tokens={"refresh-abc-123"})
    sb = make_sandbox(
        courses=300,
        tokens={},
        oauth_clients={"client-1": client},
        faults=Faults(expire_tokens_after=3),
    )
    config = tap_config(
        sb.url,
        access_token=None,
        client_id="client-1",
        client_secret="s3cret-value",
        refresh_token="refresh-abc-123",
    )

    run = run_tap(config)

    assert {r["id"] for r in run.records(COURSES)} == _active_ids(sb)
    assert run.tap.client.credentials.refreshes >= 2  # type: ignore[attr-defined]
    for secret in ("s3cret-value", "refresh-abc-123"):
        assert secret not in run.text


# ------------------------------------------------------------------ associations


def test_course_with_1000_contacts_yields_1000_association_rows(
    portal: Sandbox,
) -> None:
    heavy = portal.seed_summary.heavy_ids[0]
    expected = {
        (record.to_id, kind.type_id)
        for record in portal.store.associations_of(heavy, "contacts")
        for kind in record.types
    }
    assert len({to_id for to_id, _ in expected}) >= 1000

    run = run_tap(tap_config(portal.url, associations=["contacts"]))

    rows = [r for r in run.records(ASSOCIATIONS) if r["course_id"] == heavy]
    assert len(rows) == len(expected)
    assert {(r["to_object_id"], r["association_type_id"]) for r in rows} == expected
    assert all(r["to_object_type"] == "contacts" for r in rows)


def test_associations_equal_the_sandbox_for_every_course(portal: Sandbox) -> None:
    run = run_tap(tap_config(portal.url))

    emitted = {
        (
            r["course_id"],
            r["to_object_type"],
            r["to_object_id"],
            r["association_type_id"],
        )
        for r in run.records(ASSOCIATIONS)
    }
    expected = {
        (course_id, to_type, record.to_id, kind.type_id)
        for course_id in _active_ids(portal)
        for to_type in ("contacts", "companies")
        for record in portal.store.associations_of(course_id, to_type)
        for kind in record.types
    }
    assert emitted == expected


# ------------------------------------------------------------------ properties


def test_property_set_too_long_for_a_url_reads_by_batch_without_414(
    make_sandbox: t.Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(courses=150, tokens={TOKEN: ALL_COURSE_SCOPES})
    names = [f"custom_training_attribute_number_{n:03d}" for n in range(400)]
    for name in names:
        sb.store.add_property(
            make_property(name, name, "string", "text", hubspot_defined=False)
        )
    target = sorted(_active_ids(sb), key=int)[3]
    sb.store.update_course(target, {name: f"value {name}" for name in names})

    run = run_tap(tap_config(sb.url, associations=[], properties_with_history=["*"]))

    assert sb.stats.snapshot()["by_status"].get(414, 0) == 0
    record = next(r for r in run.records(COURSES) if r["id"] == target)
    assert all(record["properties"][name] == f"value {name}" for name in names)
    history = [r for r in run.records(HISTORY) if r["course_id"] == target]
    assert {r["property"] for r in history} >= set(names)


def test_unparsable_value_is_kept_in_unparsed_properties_without_crash(
    portal: Sandbox,
) -> None:
    course = sorted(_active_ids(portal), key=int)[0]
    portal.store.courses[course].properties["price"] = "twelve euros"
    portal.store.courses[course].properties["is_certified"] = "maybe"

    run = run_tap(tap_config(portal.url, associations=[]))

    record = next(r for r in run.records(COURSES) if r["id"] == course)
    assert record["properties"]["price"] is None
    assert record["unparsed_properties"] == {
        "price": "twelve euros",
        "is_certified": "maybe",
    }


# ------------------------------------------------------------------ history


def test_history_rows_equal_the_sandbox_history(portal: Sandbox) -> None:
    names = ["price", "hs_pipeline_stage", "topics"]

    run = run_tap(
        tap_config(portal.url, associations=[], properties_with_history=names)
    )

    emitted = sorted(
        (r["course_id"], r["property"], r["timestamp"], r["value"], r["source_type"])
        for r in run.records(HISTORY)
    )
    expected = sorted(
        (course.id, name, entry["timestamp"], entry["value"], entry["sourceType"])
        for course in portal.store.courses.values()
        if not course.archived
        for name in names
        for entry in (e.to_json() for e in course.history_of(name))
    )
    assert emitted == expected
    keys = [r["history_id"] for r in run.records(HISTORY)]
    assert len(keys) == len(set(keys))


def test_history_incremental_emits_history_of_changed_courses_only(
    portal: Sandbox,
) -> None:
    config = tap_config(portal.url, associations=[], properties_with_history=["price"])
    first = run_tap(config)
    course = sorted(_active_ids(portal), key=int)[7]
    portal.store.update_course(course, {"price": "99.5"})
    time.sleep(0.01)

    second = run_tap(config, state=first.final_state)

    rows = second.records(HISTORY)
    assert {r["course_id"] for r in rows} == {course}
    assert rows[0]["value"] == "99.5"
    assert len(rows) == len(portal.store.courses[course].history_of("price"))


def test_history_stream_without_properties_with_history_makes_no_calls(
    portal: Sandbox,
) -> None:
    config = tap_config(portal.url, associations=[])

    run = run_tap(config, catalog=select_only(config, HISTORY))

    assert run.records(HISTORY) == []
    assert portal.stats.snapshot()["by_route"].get("list", 0) == 0
