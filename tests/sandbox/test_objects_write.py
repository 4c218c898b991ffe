"""Writing courses: validation, unique values, batches, trace ids, upsert, archive."""

from __future__ import annotations

import json

import pytest
import requests

from hubspot_sandbox import Sandbox
from tests.sandbox.conftest import V3


def _create(sb: Sandbox, session: requests.Session, **props: str) -> requests.Response:
    body = {"properties": {"hs_course_name": "New course", **props}, "associations": []}
    return session.post(sb.url + V3, json=body)


def test_create_valid_course_answers_201_with_string_values(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = _create(
        sandbox,
        sandbox_session,
        price="12.50",
        is_certified="TRUE",
        course_start_date="1430438400000",
        enrollment_opens_at="2026-05-01T10:00:00+02:00",
        topics="safety;data",
        delivery_format="in_person",
    )

    assert response.status_code == 201
    props = response.json()["properties"]
    assert props["price"] == "12.5"
    assert props["is_certified"] == "true"
    assert props["course_start_date"] == "2015-05-01"
    assert props["enrollment_opens_at"] == "2026-05-01T08:00:00.000Z"
    assert props["hs_object_id"] == response.json()["id"]
    course = sandbox.store.courses[response.json()["id"]]
    assert course.history["hs_course_name"][0].source_type == "API"


@pytest.mark.parametrize(
    ("props", "code"),
    [
        ({"no_such_prop": "1"}, "PROPERTY_DOESNT_EXIST"),
        ({"hs_object_id": "5"}, "READ_ONLY_VALUE"),
        ({"rating": "5"}, "READ_ONLY_VALUE"),
        ({"hs_lastmodifieddate": "2026-01-01T00:00:00Z"}, "READ_ONLY_VALUE"),
        ({"price": "twelve"}, "INVALID_INTEGER"),
        ({"is_certified": "maybe"}, "INVALID_BOOLEAN"),
        ({"course_start_date": "1430440000000"}, "INVALID_DATE"),
        ({"course_start_date": "2026-02-30"}, "INVALID_DATE"),
        ({"enrollment_opens_at": "next tuesday"}, "INVALID_LONG"),
        ({"delivery_format": "In person"}, "INVALID_OPTION"),
        ({"topics": "safety;cooking"}, "INVALID_OPTION"),
        ({"hs_course_description": "x" * 65_537}, "INVALID_LENGTH"),
    ],
    ids=[
        "unknown",
        "read-only-id",
        "calculated",
        "read-only-date",
        "number",
        "bool",
        "date-not-midnight",
        "date-invalid",
        "datetime",
        "option-label-not-value",
        "checkbox-option",
        "string-too-long",
    ],
)
def test_create_invalid_value_answers_400_with_error_code(
    sandbox: Sandbox, sandbox_session: requests.Session, props: dict, code: str
) -> None:
    response = _create(sandbox, sandbox_session, **props)

    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    assert body["errors"][0]["code"] == code
    items = json.loads(body["message"].split(": ", 1)[1])
    assert items[0]["error"] == code
    assert items[0]["isValid"] is False


def test_create_date_not_midnight_message_names_the_time(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = _create(sandbox, sandbox_session, course_start_date="1430440000000")

    assert "is at 0:26:40.0 UTC, not midnight!" in response.json()["message"]


def test_create_without_course_name_answers_400(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = sandbox_session.post(
        sandbox.url + V3, json={"properties": {"price": "1"}, "associations": []}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["context"]["propertyName"] == ["hs_course_name"]


def test_create_duplicate_unique_value_answers_409_conflict(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    existing = sandbox.store.active_courses()[0].properties["external_course_id"]

    response = _create(sandbox, sandbox_session, external_course_id=existing)

    assert response.status_code == 409
    assert response.json()["category"] == "CONFLICT"


def test_create_with_association_links_the_contact(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = sandbox_session.post(
        sandbox.url + V3,
        json={
            "properties": {"hs_course_name": "Linked"},
            "associations": [
                {
                    "to": {"id": "901"},
                    "types": [
                        {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": 860,
                        }
                    ],
                }
            ],
        },
    )

    assert response.status_code == 201
    links = sandbox.store.associations_of(response.json()["id"], "contacts")
    assert [link.to_id for link in links] == ["901"]


def test_update_records_history_and_bumps_last_modified(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[0]
    before = course.updated_at

    response = sandbox_session.patch(
        f"{sandbox.url}{V3}/{course.id}",
        json={"properties": {"hs_course_name": "Renamed 🚀"}},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["properties"]["hs_course_name"] == "Renamed 🚀"
    assert body["updatedAt"] > body["createdAt"]
    assert course.updated_at > before
    assert course.history["hs_course_name"][0].value == "Renamed 🚀"


def test_update_empty_string_clears_value(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = next(c for c in sandbox.store.active_courses() if "price" in c.properties)
    url = f"{sandbox.url}{V3}/{course.id}"

    sandbox_session.patch(url, json={"properties": {"price": ""}})

    body = sandbox_session.get(url, params={"properties": "price"}).json()
    assert body["properties"]["price"] is None


def test_update_checkbox_leading_semicolon_appends(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[0]
    sandbox.store.update_course(course.id, {"topics": "safety"})
    url = f"{sandbox.url}{V3}/{course.id}"

    sandbox_session.patch(url, json={"properties": {"topics": ";sales"}})

    assert sandbox.store.courses[course.id].properties["topics"] == "safety;sales"


def test_update_by_unique_id_property_and_missing_id_answers_404(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[2]
    key = course.properties["external_course_id"]

    ok = sandbox_session.patch(
        f"{sandbox.url}{V3}/{key}",
        params={"idProperty": "external_course_id"},
        json={"properties": {"price": "3"}},
    )
    missing = sandbox_session.patch(
        sandbox.url + V3 + "/1", json={"properties": {"price": "3"}}
    )

    assert ok.status_code == 200
    assert ok.json()["id"] == course.id
    assert missing.status_code == 404


def test_archive_answers_204_and_keeps_last_modified(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[0]
    before = course.updated_at

    response = sandbox_session.delete(f"{sandbox.url}{V3}/{course.id}")

    assert response.status_code == 204
    assert course.archived
    assert course.updated_at == before
    archived = sandbox_session.get(
        f"{sandbox.url}{V3}/{course.id}", params={"archived": "true"}
    ).json()
    assert archived["archivedAt"]
    assert archived["updatedAt"] == archived["properties"]["hs_lastmodifieddate"]


def _inputs(n: int, trace: bool = False) -> list[dict]:
    items = []
    for i in range(n):
        item: dict = {
            "properties": {"hs_course_name": f"Batch {i}"},
            "associations": [],
        }
        if trace:
            item["objectWriteTraceId"] = f"t-{i}"
        items.append(item)
    return items


def test_batch_create_valid_inputs_answers_201(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/create", json={"inputs": _inputs(3)}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "COMPLETE"
    assert len(body["results"]) == 3
    assert body["startedAt"]
    assert body["completedAt"]


def test_batch_create_over_100_inputs_answers_400(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/create", json={"inputs": _inputs(101)}
    )

    assert response.status_code == 400


def test_batch_create_one_invalid_input_without_trace_ids_fails_whole_batch(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    inputs = _inputs(3)
    inputs[1]["properties"]["no_such_prop"] = "1"
    before = len(sandbox.store.courses)

    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/create", json={"inputs": inputs}
    )

    assert response.status_code == 400
    assert len(sandbox.store.courses) == before


def test_batch_create_invalid_input_with_trace_ids_answers_207_per_input(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    inputs = _inputs(3, trace=True)
    inputs[1]["properties"]["no_such_prop"] = "1"

    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/create", json={"inputs": inputs}
    )

    assert response.status_code == 207
    body = response.json()
    assert len(body["results"]) == 2
    assert body["numErrors"] == 1
    error = body["errors"][0]
    assert error["category"] == "VALIDATION_ERROR"
    assert error["context"]["objectWriteTraceId"] == ["t-1"]
    assert "PROPERTY_DOESNT_EXIST" in error["message"]


def test_batch_create_duplicate_unique_values_with_trace_ids_conflicts_second(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    inputs = _inputs(2, trace=True)
    for item in inputs:
        item["properties"]["external_course_id"] = "SAME-KEY"

    body = sandbox_session.post(
        sandbox.url + V3 + "/batch/create", json={"inputs": inputs}
    ).json()

    assert len(body["results"]) == 1
    assert body["errors"][0]["category"] == "CONFLICT"
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["t-1"]


def test_batch_update_duplicate_ids_rejects_whole_batch(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[0]
    inputs = [
        {"id": course.id, "properties": {"price": "1"}},
        {"id": course.id, "properties": {"price": "2"}},
    ]

    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/update", json={"inputs": inputs}
    )

    assert response.status_code == 400
    body = response.json()
    assert body["message"] == (
        f"Duplicate IDs found in batch input: [{course.id}]. IDs must be unique"
    )
    assert body["context"]["ids"] == [course.id]
    assert course.properties.get("price") != "2"


def test_batch_update_missing_record_answers_207_and_updates_the_rest(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[0]
    inputs = [
        {"id": course.id, "properties": {"price": "77"}},
        {"id": "404404", "properties": {"price": "1"}},
    ]

    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/update", json={"inputs": inputs}
    )

    assert response.status_code == 207
    assert response.json()["errors"][0]["context"]["ids"] == ["404404"]
    assert course.properties["price"] == "77"


def test_batch_upsert_creates_and_updates_with_new_flag(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    existing = sandbox.store.active_courses()[0]
    key = existing.properties["external_course_id"]
    inputs = [
        {
            "idProperty": "external_course_id",
            "id": key,
            "properties": {"hs_course_name": "Updated"},
        },
        {
            "idProperty": "external_course_id",
            "id": "BRAND-NEW",
            "properties": {"hs_course_name": "Created"},
        },
    ]

    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/upsert", json={"inputs": inputs}
    )

    assert response.status_code == 200
    flags = {
        r["properties"]["hs_course_name"]: r["new"] for r in response.json()["results"]
    }
    assert flags == {"Updated": False, "Created": True}
    created = sandbox.store.find_by_unique("external_course_id", "BRAND-NEW")
    assert created is not None


def test_batch_upsert_non_unique_id_property_answers_400(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    inputs = [{"idProperty": "hs_course_id", "id": "C-1", "properties": {}}]

    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/upsert", json={"inputs": inputs}
    )

    assert response.status_code == 400
    assert response.json()["message"] == (
        "Unable to perform update/upsert by non-unique 0-410 property hs_course_id "
        "in portal ID 1234567"
    )


def test_batch_upsert_duplicate_ids_answers_400(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    inputs = [
        {"idProperty": "external_course_id", "id": "K", "properties": {}},
        {"idProperty": "external_course_id", "id": "K", "properties": {}},
    ]

    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/upsert", json={"inputs": inputs}
    )

    assert response.status_code == 400
    assert "Duplicate IDs found in batch input" in response.json()["message"]


def test_batch_upsert_invalid_input_with_trace_ids_answers_207(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    inputs = [
        {
            "idProperty": "external_course_id",
            "id": "A",
            "objectWriteTraceId": "u-1",
            "properties": {"hs_course_name": "A"},
        },
        {
            "idProperty": "external_course_id",
            "id": "B",
            "objectWriteTraceId": "u-2",
            "properties": {"hs_course_name": "B", "price": "cheap"},
        },
    ]

    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/upsert", json={"inputs": inputs}
    )

    assert response.status_code == 207
    body = response.json()
    assert [r["new"] for r in body["results"]] == [True]
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["u-2"]


def test_batch_archive_answers_204_and_ignores_unknown_ids(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    ids = [c.id for c in sandbox.store.active_courses()[:2]]

    response = sandbox_session.post(
        sandbox.url + V3 + "/batch/archive",
        json={"inputs": [{"id": ids[0]}, {"id": ids[1]}, {"id": "1"}]},
    )

    assert response.status_code == 204
    assert all(sandbox.store.courses[i].archived for i in ids)


def test_merge_keeps_primary_and_redirects_merged_id(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    primary, other = (c.id for c in sandbox.store.active_courses()[:2])

    response = sandbox_session.post(
        sandbox.url + "/crm/objects/2026-03/courses/merge",
        json={"primaryObjectId": primary, "objectIdToMerge": other},
    )

    assert response.status_code == 200
    assert response.json()["id"] == primary
    redirected = sandbox_session.get(f"{sandbox.url}{V3}/{other}").json()
    assert redirected["id"] == primary


def test_stored_lone_surrogate_is_served_escaped_not_dropped(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = _create(sandbox, sandbox_session, hs_course_description="a\ud800b")

    assert response.status_code == 201
    course_id = response.json()["id"]
    read = sandbox_session.get(
        f"{sandbox.url}{V3}/{course_id}",
        params={"properties": "hs_course_description"},
    )
    assert read.status_code == 200
    assert b"a\\ud800b" in read.content
    assert read.json()["properties"]["hs_course_description"] == "a\ud800b"
