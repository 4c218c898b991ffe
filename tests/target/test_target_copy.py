"""Copying courses between portals: the tap's records into the target."""

from __future__ import annotations

import contextlib
import decimal
import io

import simplejson

from tap_hubspot_courses.tap import TapHubSpotCourses
from tests.target.conftest import by_key, course, flat_messages

WRITABLE = (
    "hs_course_name",
    "hs_course_description",
    "hs_enrollment_capacity",
    "course_start_date",
    "enrollment_opens_at",
    "is_certified",
    "price",
    "delivery_format",
    "topics",
    "instructor_email",
)

NUMBERS = ("price", "hs_enrollment_capacity")


def _tap_output(source, token: str) -> list[dict]:
    config = {
        "access_token": token,
        "api_url": source.url,
        "retry_initial_delay": 0.01,
        "associations": ["contacts", "companies"],
    }
    out = io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8")
    with contextlib.redirect_stdout(stdout):
        TapHubSpotCourses(config=config).sync_all()
        stdout.flush()
    return [
        simplejson.loads(line, use_decimal=True)
        for line in out.getvalue().decode().splitlines()
        if line.strip()
    ]


def test_tap_records_copy_courses_and_associations_into_an_empty_portal(
    make_sandbox, sandbox_token, target_config, run_target
):
    source = make_sandbox(courses=60, seed_options={"heavy_association_courses": 0})
    copy = make_sandbox(courses=0)
    messages = [m for m in _tap_output(source, sandbox_token) if m["type"] != "STATE"]

    run = run_target(target_config(copy), messages)

    originals = by_key(source)
    copies = by_key(copy)
    assert set(copies) == set(originals)
    for key, original in originals.items():
        for name in WRITABLE:
            got = copies[key].properties.get(name)
            want = original.properties.get(name)
            if name in NUMBERS and want is not None:
                got, want = decimal.Decimal(got), decimal.Decimal(want)
            assert got == want, (key, name)
        for kind in ("contacts", "companies"):
            want = {
                (a.to_id, t.type_id)
                for a in source.store.associations_of(original.id, kind)
                for t in a.types
            }
            got = {
                (a.to_id, t.type_id)
                for a in copy.store.associations_of(copies[key].id, kind)
                for t in a.types
            }
            assert got == want, (key, kind)
    assert run.counts["rejected"] == 0
    assert run.counts["created"] == len(originals)


def test_record_id_of_another_portal_never_overwrites_an_unrelated_course(
    make_sandbox, target_config, run_target
):
    portal = make_sandbox(courses=0)
    unrelated = portal.store.create_course(
        {"hs_course_name": "Unrelated", "external_course_id": "MINE"}
    )

    run_target(
        target_config(portal), flat_messages([course(1, hs_object_id=unrelated.id)])
    )

    assert unrelated.properties["hs_course_name"] == "Unrelated"
    assert by_key(portal)["EXT-1"].properties["hs_course_name"] == "Course 1"
