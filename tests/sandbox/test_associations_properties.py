"""Associations (v4 and 2026-03), properties API and object-library answers."""

from __future__ import annotations

import pytest
import requests

from hubspot_sandbox import Sandbox

ASSOC_BASES = [
    "/crm/v4/associations/courses/contacts",
    "/crm/associations/2026-03/0-410/0-1",
]


def _heavy(sb: Sandbox) -> str:
    assert sb.seed_summary is not None
    return sb.seed_summary.heavy_ids[0]


@pytest.mark.parametrize("base", ASSOC_BASES, ids=["v4", "2026-03"])
def test_assoc_batch_read_pages_heavy_course_500_at_a_time(
    sandbox: Sandbox, sandbox_session: requests.Session, base: str
) -> None:
    heavy = _heavy(sandbox)
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        item = {"id": heavy} if after is None else {"id": heavy, "after": after}
        body = sandbox_session.post(
            sandbox.url + base + "/batch/read", json={"inputs": [item]}
        ).json()
        result = body["results"][0]
        assert len(result["to"]) <= 500
        seen.extend(entry["toObjectId"] for entry in result["to"])
        pages += 1
        after = result.get("paging", {}).get("next", {}).get("after")
        if after is None:
            break

    expected = len(sandbox.store.associations_of(heavy, "contacts"))
    assert expected >= 1000
    assert len(seen) == len(set(seen)) == expected
    assert pages == -(-expected // 500)


def test_assoc_batch_read_course_without_contacts_is_207_no_associations(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    lonely = next(
        c.id
        for c in sandbox.store.active_courses()
        if not sandbox.store.associations_of(c.id, "contacts")
    )
    linked = next(
        c.id
        for c in sandbox.store.active_courses()
        if sandbox.store.associations_of(c.id, "contacts")
    )

    response = sandbox_session.post(
        sandbox.url + ASSOC_BASES[0] + "/batch/read",
        json={"inputs": [{"id": lonely}, {"id": linked}]},
    )

    assert response.status_code == 207
    body = response.json()
    assert [r["from"]["id"] for r in body["results"]] == [linked]
    error = body["errors"][0]
    assert error["category"] == "OBJECT_NOT_FOUND"
    assert error["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"


def test_assoc_batch_read_over_1000_inputs_answers_400(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = sandbox_session.post(
        sandbox.url + ASSOC_BASES[0] + "/batch/read",
        json={"inputs": [{"id": str(i)} for i in range(1001)]},
    )

    assert response.status_code == 400


def test_assoc_batch_create_labelled_returns_labels(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[0].id
    response = sandbox_session.post(
        sandbox.url + ASSOC_BASES[0] + "/batch/create",
        json={
            "inputs": [
                {
                    "from": {"id": course},
                    "to": {"id": "777"},
                    "types": [
                        {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": 860,
                        },
                        {
                            "associationCategory": "USER_DEFINED",
                            "associationTypeId": 350,
                        },
                    ],
                }
            ]
        },
    )

    assert response.status_code == 201
    result = response.json()["results"][0]
    assert result["labels"] == ["Instructor"]
    assert result["fromObjectTypeId"] == "0-410"
    assert result["toObjectTypeId"] == "0-1"


def test_assoc_batch_default_then_archive_round_trip(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[0].id
    base = sandbox.url + "/crm/v4/associations/0-410/companies"

    created = sandbox_session.post(
        base + "/batch/associate/default",
        json={"inputs": [{"from": {"id": course}, "to": {"id": "4242"}}]},
    )
    removed = sandbox_session.post(
        base + "/batch/archive",
        json={"inputs": [{"from": {"id": course}, "to": [{"id": "4242"}]}]},
    )

    assert created.status_code == 200
    assert created.json()["results"][0]["associationSpec"]["associationTypeId"] == 938
    assert removed.status_code == 204
    assert "4242" not in {
        r.to_id for r in sandbox.store.associations_of(course, "companies")
    }


def test_assoc_labels_lists_default_and_user_defined(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    body = sandbox_session.get(sandbox.url + ASSOC_BASES[0] + "/labels").json()

    assert {"category": "HUBSPOT_DEFINED", "typeId": 860, "label": None} in body[
        "results"
    ]
    assert any(r["label"] == "Instructor" for r in body["results"])


def test_record_associations_get_pages_with_limit(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    heavy = _heavy(sandbox)
    url = f"{sandbox.url}/crm/v4/objects/courses/{heavy}/associations/contacts"

    first = sandbox_session.get(url, params={"limit": 300}).json()
    second = sandbox_session.get(
        url, params={"limit": 300, "after": first["paging"]["next"]["after"]}
    ).json()

    assert len(first["results"]) == 300
    assert first["results"][-1]["toObjectId"] < second["results"][0]["toObjectId"]


def test_record_put_labelled_replaces_and_delete_removes(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    course = sandbox.store.active_courses()[0].id
    url = f"{sandbox.url}/crm/objects/2026-03/0-410/{course}/associations/contacts/888"
    default_url = (
        f"{sandbox.url}/crm/v4/objects/courses/{course}"
        "/associations/default/contacts/889"
    )

    put = sandbox_session.put(
        url, json=[{"associationCategory": "USER_DEFINED", "associationTypeId": 350}]
    )
    default = sandbox_session.put(default_url)
    deleted = sandbox_session.delete(url)

    assert put.status_code == 201
    assert put.json()["labels"] == ["Instructor"]
    assert default.status_code == 200
    assert deleted.status_code == 204
    remaining = {r.to_id for r in sandbox.store.associations_of(course, "contacts")}
    assert "888" not in remaining
    assert "889" in remaining


@pytest.mark.parametrize(
    "path", ["/crm/v3/properties/courses", "/crm/properties/2026-03/0-410"]
)
def test_properties_list_returns_full_definitions(
    sandbox: Sandbox, sandbox_session: requests.Session, path: str
) -> None:
    body = sandbox_session.get(sandbox.url + path).json()

    by_name = {p["name"]: p for p in body["results"]}
    assert by_name["external_course_id"]["hasUniqueValue"] is True
    assert by_name["rating"]["calculated"] is True
    assert by_name["hs_object_id"]["modificationMetadata"]["readOnlyValue"] is True
    assert {o["value"] for o in by_name["delivery_format"]["options"]} >= {"in_person"}
    required = {
        "name",
        "label",
        "type",
        "fieldType",
        "groupName",
        "description",
        "options",
        "modificationMetadata",
        "createdAt",
        "updatedAt",
    }
    assert all(required <= set(p) for p in body["results"])


def test_properties_get_one_and_unknown_answers_404(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    one = sandbox_session.get(sandbox.url + "/crm/v3/properties/courses/topics")
    missing = sandbox_session.get(sandbox.url + "/crm/v3/properties/courses/nope")

    assert one.json()["fieldType"] == "checkbox"
    assert missing.status_code == 404


def test_properties_batch_read_returns_requested(
    sandbox: Sandbox, sandbox_session: requests.Session
) -> None:
    response = sandbox_session.post(
        sandbox.url + "/crm/v3/properties/courses/batch/read",
        json={"archived": False, "inputs": [{"name": "price"}, {"name": "topics"}]},
    )

    assert response.status_code == 200
    assert [p["name"] for p in response.json()["results"]] == ["price", "topics"]
