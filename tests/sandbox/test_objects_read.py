"""Reading courses: paths, list paging, get, history, batch read."""

from __future__ import annotations

import requests

from hubspot_sandbox import Sandbox
from tests.sandbox.conftest import V3, list_all


def test_list_each_path_family_and_spelling_answers_the_same_first_page(
    sandbox: Sandbox, sandbox_session: requests.Session, object_base: str
) -> None:
    response = sandbox_session.get(sandbox.url + object_base, params={"limit": 5})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    ids = [r["id"] for r in response.json()["results"]]
    assert ids == [c.id for c in sandbox.store.active_courses()[:5]]


def test_list_without_limit_returns_ten_records_in_ascending_id_order(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    body = sandbox_session.get(sandbox.url + V3).json()

    ids = [int(r["id"]) for r in body["results"]]
    assert len(ids) == 10
    assert ids == sorted(ids)
    assert body["paging"]["next"]["after"]


def test_list_following_cursors_returns_every_active_course_once(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    records = list_all(sandbox_session, sandbox, limit=7)

    expected = [c.id for c in sandbox.store.active_courses()]
    assert [r["id"] for r in records] == expected


def test_list_last_page_has_no_paging(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    body = sandbox_session.get(sandbox.url + V3, params={"limit": 100}).json()
    cursor = body["paging"]["next"]["after"]

    last = sandbox_session.get(
        sandbox.url + V3, params={"limit": 100, "after": cursor}
    ).json()

    assert "paging" not in last
    assert len(body["results"]) + len(last["results"]) == len(
        sandbox.store.active_courses()
    )


def test_list_limit_above_100_is_capped_by_default(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    body = sandbox_session.get(sandbox.url + V3, params={"limit": 500}).json()

    assert len(body["results"]) == 100


def test_list_limit_above_100_with_error_mode_answers_400(
    make_sandbox, sandbox_session: requests.Session
) -> None:
    sb = make_sandbox(list_over_limit="error")

    response = sandbox_session.get(sb.url + V3, params={"limit": 101})

    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_list_with_history_caps_page_at_50(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    body = sandbox_session.get(
        sandbox.url + V3, params={"limit": 100, "propertiesWithHistory": "price"}
    ).json()

    assert len(body["results"]) == 50


def test_list_cursor_stays_valid_after_restart_on_same_store(
    make_sandbox, sandbox_session: requests.Session
) -> None:
    first = make_sandbox(courses=30)
    body = sandbox_session.get(first.url + V3, params={"limit": 10}).json()
    cursor = body["paging"]["next"]["after"]
    first.stop()

    second = make_sandbox(store=first.store)
    resumed = sandbox_session.get(
        second.url + V3, params={"limit": 10, "after": cursor}
    ).json()

    expected = [c.id for c in first.store.active_courses()[10:20]]
    assert [r["id"] for r in resumed["results"]] == expected


def test_list_garbage_cursor_answers_400(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = sandbox_session.get(sandbox.url + V3, params={"after": "!!nope"})

    assert response.status_code == 400


def test_list_archived_true_returns_only_archived_courses(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    records = list_all(sandbox_session, sandbox, archived="true", limit=100)

    archived = [c.id for c in sandbox.store.archived_courses()]
    assert archived
    assert [r["id"] for r in records] == archived
    assert all(r["archived"] is True and r["archivedAt"] for r in records)


def test_list_repeated_and_comma_separated_properties_are_equivalent(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    comma = sandbox_session.get(
        sandbox.url + V3, params={"properties": "hs_course_name,price", "limit": 3}
    ).json()
    repeated = sandbox_session.get(
        sandbox.url + V3,
        params=[
            ("properties", "hs_course_name"),
            ("properties", "price"),
            ("limit", 3),
        ],
    ).json()

    assert comma["results"] == repeated["results"]
    assert {"hs_course_name", "price"} <= set(comma["results"][0]["properties"])


def test_get_without_properties_returns_the_three_default_properties(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[0]

    body = sandbox_session.get(f"{sandbox.url}{V3}/{course.id}").json()

    assert set(body["properties"]) == {
        "hs_createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }
    assert body["properties"]["hs_object_id"] == course.id
    assert body["createdAt"] == body["properties"]["hs_createdate"]
    assert body["updatedAt"] == body["properties"]["hs_lastmodifieddate"]
    assert body["archived"] is False


def test_get_requested_empty_property_is_null_and_unknown_is_ignored(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[0]
    sandbox.store.update_course(course.id, {"instructor_email": ""})

    body = sandbox_session.get(
        f"{sandbox.url}{V3}/{course.id}",
        params={"properties": "instructor_email,no_such_property"},
    ).json()

    assert body["properties"]["instructor_email"] is None
    assert "no_such_property" not in body["properties"]


def test_get_values_are_strings_on_the_wire(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = next(c for c in sandbox.store.active_courses() if "price" in c.properties)

    body = sandbox_session.get(
        f"{sandbox.url}{V3}/{course.id}",
        params={"properties": "price,is_certified,topics,hs_enrollment_capacity"},
    ).json()

    assert all(isinstance(v, str) for v in body["properties"].values() if v is not None)


def test_get_by_unique_id_property_finds_the_course(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[3]
    key = course.properties["external_course_id"]

    body = sandbox_session.get(
        f"{sandbox.url}{V3}/{key}", params={"idProperty": "external_course_id"}
    ).json()

    assert body["id"] == course.id


def test_get_unknown_id_answers_404_json_with_correlation_header(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = sandbox_session.get(sandbox.url + V3 + "/999")

    assert response.status_code == 404
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert response.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]


def test_get_archived_course_needs_archived_true(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.archived_courses()[0]
    url = f"{sandbox.url}{V3}/{course.id}"

    assert sandbox_session.get(url).status_code == 404
    assert sandbox_session.get(url, params={"archived": "true"}).json()["archived"]


def test_get_history_is_newest_first_with_source_fields(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = next(
        c for c in sandbox.store.active_courses() if len(c.history.get("price", [])) > 1
    )

    body = sandbox_session.get(
        f"{sandbox.url}{V3}/{course.id}",
        params={"propertiesWithHistory": "price"},
    ).json()

    history = body["propertiesWithHistory"]["price"]
    stamps = [entry["timestamp"] for entry in history]
    assert len(history) > 1
    assert stamps == sorted(stamps, reverse=True)
    assert history[0]["value"] == course.properties.get("price", "")
    assert {"value", "timestamp", "sourceType"} <= set(history[0])


def test_get_inline_associations_lists_contacts(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = next(
        c
        for c in sandbox.store.active_courses()
        if sandbox.store.associations_of(c.id, "contacts")
    )

    body = sandbox_session.get(
        f"{sandbox.url}{V3}/{course.id}", params={"associations": "contacts"}
    ).json()

    ids = {item["id"] for item in body["associations"]["contacts"]["results"]}
    expected = {r.to_id for r in sandbox.store.associations_of(course.id, "contacts")}
    assert ids == expected


def test_batch_read_with_missing_id_answers_207_with_object_not_found(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[0]

    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/read",
        json={
            "inputs": [{"id": course.id}, {"id": "123"}],
            "properties": ["hs_course_name"],
            "propertiesWithHistory": [],
        },
    )

    assert response.status_code == 207
    body = response.json()
    assert [r["id"] for r in body["results"]] == [course.id]
    assert body["numErrors"] == 1
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"]["ids"] == ["123"]
    assert body["status"] == "COMPLETE"


def test_batch_read_by_id_property_returns_history(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[1]

    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/read",
        json={
            "idProperty": "external_course_id",
            "inputs": [{"id": course.properties["external_course_id"]}],
            "properties": [],
            "propertiesWithHistory": ["hs_course_name"],
        },
    )

    assert response.status_code == 200
    result = response.json()["results"][0]
    assert result["id"] == course.id
    assert result["propertiesWithHistory"]["hs_course_name"]


def test_batch_read_over_100_inputs_answers_400(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/read",
        json={"inputs": [{"id": str(i)} for i in range(101)], "properties": []},
    )

    assert response.status_code == 400


def test_unknown_path_answers_404_json(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = sandbox_session.get(sandbox.url + "/crm/v9/nothing")

    assert response.status_code == 404
    assert response.json()["status"] == "error"


def test_unknown_object_type_answers_400_unable_to_infer(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = sandbox_session.get(sandbox.url + "/crm/v3/objects/widgets")

    assert response.status_code == 400
    assert "Unable to infer object type" in response.json()["message"]


def test_get_with_id_property_hs_object_id_uses_record_ids(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[0]

    response = sandbox_session.get(
        f"{sandbox.url}{V3}/{course.id}", params={"idProperty": "hs_object_id"}
    )

    assert response.json()["id"] == course.id
