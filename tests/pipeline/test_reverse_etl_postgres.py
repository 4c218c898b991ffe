"""Reverse ETL: a PostgreSQL table of courses mirrored into HubSpot by Meltano.

What a user would run: `meltano run tap-postgres target-hubspot-courses` with
tap-postgres reading the table in full each time (its log-based replication
needs wal2json, which a plain server lacks) and the target in
``load_method: overwrite``. Each run upserts every row on the unique
``external_course_id`` and then archives the courses whose key is no longer in
the table, so deleted rows disappear from HubSpot too.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import MeltanoProject, Postgres

from hubspot_sandbox import Sandbox

pytestmark = pytest.mark.slow

TABLE_DDL = """
DROP TABLE IF EXISTS public.courses;
CREATE TABLE public.courses (
    external_course_id text PRIMARY KEY,
    hs_course_name text NOT NULL,
    hs_enrollment_capacity integer,
    price numeric(10, 2),
    is_certified boolean,
    course_start_date date,
    enrollment_opens_at timestamptz,
    delivery_format text,
    instructor_email text
)
"""

INSERT = """
INSERT INTO public.courses (
    external_course_id, hs_course_name, hs_enrollment_capacity, price,
    is_certified, course_start_date, enrollment_opens_at, delivery_format,
    instructor_email
) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""

SELECT_ALL = """
SELECT external_course_id, hs_course_name, hs_enrollment_capacity, price,
       is_certified, course_start_date
FROM public.courses
"""

FORMATS = ("in_person", "online", "self_paced", "hybrid")


def _course_row(number: int) -> tuple[Any, ...]:
    return (
        f"PG-{number:04d}",
        f"Course {number} from PostgreSQL",
        10 + number,
        decimal.Decimal(f"{100 + number}.50"),
        number % 2 == 0,
        dt.date(2026, 1, 1) + dt.timedelta(days=number),
        dt.datetime(2025, 12, 1, 9, 30, tzinfo=dt.UTC) + dt.timedelta(hours=number),
        FORMATS[number % len(FORMATS)],
        f"trainer{number}@example.com",
    )


def _table(postgres: Postgres) -> dict[str, dict[str, str]]:
    """Rows of the table as the HubSpot property values they should become."""
    with postgres.connect() as connection:
        rows = connection.execute(SELECT_ALL).fetchall()
    return {
        key: {
            "hs_course_name": name,
            "hs_enrollment_capacity": str(capacity),
            "price": f"{price.normalize():f}",
            "is_certified": "true" if certified else "false",
            "course_start_date": start.isoformat(),
        }
        for key, name, capacity, price, certified, start in rows
    }


def _portal(sandbox: Sandbox) -> dict[str, dict[str, str | None]]:
    """Active courses of the sandbox by ``external_course_id``."""
    portal: dict[str, dict[str, str | None]] = {}
    for course in sandbox.store.active_courses():
        key = course.value("external_course_id")
        assert key is not None, f"course '{course.id}' has no external_course_id"
        assert key not in portal, f"two active courses carry '{key}'"
        portal[key] = {
            name: course.value(name)
            for name in (
                "hs_course_name",
                "hs_enrollment_capacity",
                "price",
                "is_certified",
                "course_start_date",
            )
        }
    return portal


def _numeric(values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Compare numbers by value: HubSpot may write '110.5' for '110.50'."""
    numeric = ("hs_enrollment_capacity", "price")
    return {
        key: {
            name: decimal.Decimal(value) if name in numeric and value else value
            for name, value in row.items()
        }
        for key, row in values.items()
    }


@pytest.fixture
def reverse_etl(
    postgres: Postgres,
    make_sandbox: Any,
    sandbox_token: str,
    meltano_project: MeltanoProject,
    tmp_path: Path,
) -> tuple[Sandbox, Any]:
    """An empty portal, a fresh table, and a function running the pipeline."""
    sandbox = make_sandbox(courses=0)
    with postgres.connect() as connection:
        connection.execute(TABLE_DDL)
    env = {
        "TAP_POSTGRES_SQLALCHEMY_URL": postgres.sqlalchemy_url,
        "TARGET_HUBSPOT_COURSES_API_URL": sandbox.url,
        "TARGET_HUBSPOT_COURSES_ACCESS_TOKEN": sandbox_token,
        "TARGET_HUBSPOT_COURSES_LOAD_METHOD": "overwrite",
        "TARGET_HUBSPOT_COURSES_MAX_REJECTS": "0",
        "TARGET_HUBSPOT_COURSES_REJECTS_PATH": str(tmp_path / "rejects.jsonl"),
    }

    def run() -> str:
        result = meltano_project.run(
            "run", "tap-postgres", "target-hubspot-courses", env=env
        )
        output = result.stdout + result.stderr
        assert sandbox_token not in output
        assert postgres.password not in output
        return output

    return sandbox, run


def _insert(postgres: Postgres, numbers: Sequence[int]) -> None:
    with postgres.connect() as connection, connection.cursor() as cursor:
        cursor.executemany(INSERT, [_course_row(number) for number in numbers])


def test_reverse_etl_first_run_creates_exactly_the_tables_courses(
    postgres, reverse_etl
):
    sandbox, run = reverse_etl
    _insert(postgres, range(1, 31))

    run()

    assert _numeric(_portal(sandbox)) == _numeric(_table(postgres))
    assert len(sandbox.store.active_courses()) == 30


def test_reverse_etl_rerun_after_updates_and_deletes_mirrors_the_table(
    postgres, reverse_etl
):
    sandbox, run = reverse_etl
    _insert(postgres, range(1, 31))
    run()
    ids_before = {
        course.value("external_course_id"): course.id
        for course in sandbox.store.active_courses()
    }
    with postgres.connect() as connection:
        connection.execute(
            "UPDATE public.courses SET hs_course_name = hs_course_name || ' (v2)', "
            "price = price + 1 WHERE external_course_id IN ('PG-0002', 'PG-0003')"
        )
        connection.execute(
            "DELETE FROM public.courses "
            "WHERE external_course_id IN ('PG-0010', 'PG-0011', 'PG-0012')"
        )
    _insert(postgres, [31])

    run()

    portal = _portal(sandbox)
    assert _numeric(portal) == _numeric(_table(postgres))
    assert portal["PG-0002"]["hs_course_name"] == "Course 2 from PostgreSQL (v2)"
    archived = {
        course.value("external_course_id")
        for course in sandbox.store.archived_courses()
    }
    assert archived == {"PG-0010", "PG-0011", "PG-0012"}
    # Updates changed the existing courses rather than creating new ones.
    ids_after = {
        course.value("external_course_id"): course.id
        for course in sandbox.store.active_courses()
    }
    assert all(
        ids_after[key] == ids_before[key] for key in ids_after if key in ids_before
    )


def test_reverse_etl_rerun_without_changes_leaves_the_portal_unchanged(
    postgres, reverse_etl
):
    sandbox, run = reverse_etl
    _insert(postgres, range(1, 11))
    run()
    before = {course.id: course.updated_at for course in sandbox.store.active_courses()}

    run()

    after = {course.id: course.updated_at for course in sandbox.store.active_courses()}
    assert after == before
