"""HubSpot's official Python client reads and writes courses through the sandbox.

If the sandbox drifts from HubSpot's wire format, the generated models of
``hubspot-api-client`` fail to deserialize and these tests fail.
"""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.objects import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects.exceptions import ApiException

from hubspot_sandbox import Sandbox


@pytest.fixture
def client(sandbox: Sandbox, sandbox_token: str) -> HubSpot:
    return HubSpot(access_token=sandbox_token, host=sandbox.url)


@pytest.mark.parametrize("object_type", ["0-410", "courses"])
def test_official_client_basic_api_round_trip(
    client: HubSpot, sandbox: Sandbox, object_type: str
) -> None:
    api = client.crm.objects

    page = api.basic_api.get_page(
        object_type,
        limit=5,
        properties=["hs_course_name", "price"],
        properties_with_history=["price"],
        associations=["contacts"],
    )
    created = api.basic_api.create(
        object_type,
        SimplePublicObjectInputForCreate(
            properties={"hs_course_name": "Client course 🚀", "price": "10"},
            associations=[],
        ),
    )
    fetched = api.basic_api.get_by_id(
        object_type, created.id, properties=["hs_course_name"]
    )
    updated = api.basic_api.update(
        object_type, created.id, SimplePublicObjectInput(properties={"price": "11"})
    )
    api.basic_api.archive(object_type, created.id)

    assert len(page.results) == 5
    assert page.paging.next.after
    assert page.results[0].properties_with_history["price"][0].timestamp
    assert fetched.properties["hs_course_name"] == "Client course 🚀"
    assert updated.properties["price"] == "11"
    assert sandbox.store.courses[created.id].archived


def test_official_client_get_by_id_unknown_raises_404(client: HubSpot) -> None:
    with pytest.raises(ApiException) as caught:
        client.crm.objects.basic_api.get_by_id("0-410", "1")

    assert caught.value.status == 404


@pytest.mark.parametrize("object_type", ["0-410", "courses"])
def test_official_client_batch_api_create_read_upsert(
    client: HubSpot, object_type: str
) -> None:
    batch = client.crm.objects.batch_api

    created = batch.create(
        object_type,
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties={
                        "hs_course_name": f"Batch {i}",
                        "external_course_id": f"FID-{object_type}-{i}",
                    },
                    associations=[],
                )
                for i in range(3)
            ]
        ),
    )
    read = batch.read(
        object_type,
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=r.id) for r in created.results]
            + [SimplePublicObjectId(id="1")],
            properties=["hs_course_name"],
            properties_with_history=[],
        ),
    )
    upserted = batch.upsert(
        object_type,
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id=f"FID-{object_type}-0",
                    id_property="external_course_id",
                    properties={"price": "5"},
                ),
                SimplePublicObjectBatchInputUpsert(
                    id=f"FID-{object_type}-new",
                    id_property="external_course_id",
                    properties={"hs_course_name": "Upserted"},
                ),
            ]
        ),
    )

    assert created.status == "COMPLETE"
    assert len(read.results) == 3
    assert read.num_errors == 1
    assert sorted(r.new for r in upserted.results) == [False, True]


@pytest.mark.parametrize("object_type", ["0-410", "courses"])
def test_official_client_search_api_do_search(
    client: HubSpot, sandbox: Sandbox, object_type: str
) -> None:
    sandbox.reset_limits()
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(
                filters=[
                    Filter(
                        property_name="hs_lastmodifieddate",
                        operator="GTE",
                        value="2025-03-01T00:00:00.000Z",
                    )
                ]
            )
        ],
        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        properties=["hs_course_name"],
        limit=50,
        after="0",
    )

    found = client.crm.objects.search_api.do_search(
        object_type, public_object_search_request=request
    )

    assert found.total == len(sandbox.store.active_courses())
    assert len(found.results) == 50
    assert found.paging.next.after == "50"


def test_official_client_properties_core_api_get_all(client: HubSpot) -> None:
    properties = client.crm.properties.core_api.get_all("courses")

    names = {p.name for p in properties.results}
    assert {"hs_course_name", "external_course_id", "topics", "rating"} <= names
    assert all(p.modification_metadata is not None for p in properties.results)
