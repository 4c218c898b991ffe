"""`meltano run tap-hubspot-courses target-duckdb` against a local sandbox."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from pipeline_helpers import make_meltano_project

from hubspot_sandbox import ALL_COURSE_SCOPES, Sandbox, SandboxConfig, seed_portal

duckdb = pytest.importorskip("duckdb")

pytestmark = pytest.mark.slow

SCHEMA = "hubspot"

TYPED_COLUMNS = {
    "properties__price": {"DOUBLE", "DECIMAL"},
    "properties__hs_enrollment_capacity": {"DOUBLE", "DECIMAL", "BIGINT"},
    "properties__is_certified": {"BOOLEAN"},
    "properties__enrollment_opens_at": {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE"},
    "properties__hs_createdate": {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE"},
    "createdat": {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE"},
    "updatedat": {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE"},
}
"""DuckDB column types a course property of each HubSpot type must land as."""


def _expected_history_rows(sandbox: Sandbox) -> int:
    store = sandbox.store
    return sum(
        len(course.history_of(name))
        for course in store.active_courses()
        for name in store.properties
    )


def _expected_association_rows(sandbox: Sandbox) -> int:
    store = sandbox.store
    return sum(
        len(record.types)
        for course in store.active_courses()
        for to_type in ("contacts", "companies")
        for record in store.associations_of(course.id, to_type)
    )


@dataclasses.dataclass
class DuckDBRun:
    sandbox: Sandbox
    connection: Any
    output: str
    token: str


@pytest.fixture(scope="module")
def duckdb_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DuckDBRun]:
    """One Meltano run from a 150-course sandbox into DuckDB, shared by the module.

    Yields:
        The sandbox (still running), a read-only connection to the database,
        Meltano's output and the token.
    """
    token = secrets.token_urlsafe(24)
    sandbox = Sandbox(
        SandboxConfig(tokens={token: ALL_COURSE_SCOPES}, host="127.0.0.1", port=0)
    )
    seed_portal(sandbox.store, courses=150, seed=7)
    project = make_meltano_project(tmp_path_factory.mktemp("duckdb") / "project")
    database = project.root / "output" / "courses.duckdb"
    with sandbox:
        result = project.run(
            "run",
            "tap-hubspot-courses",
            "target-duckdb",
            env={
                "TAP_HUBSPOT_COURSES_API_URL": sandbox.url,
                "TAP_HUBSPOT_COURSES_ACCESS_TOKEN": token,
                "TARGET_DUCKDB_FILEPATH": str(database),
            },
        )
        connection = duckdb.connect(str(database), read_only=True)
        try:
            yield DuckDBRun(sandbox, connection, result.stdout + result.stderr, token)
        finally:
            connection.close()


COUNT_ROWS = {
    "course_property_history": "SELECT count(*) FROM hubspot.course_property_history",
    "course_associations": "SELECT count(*) FROM hubspot.course_associations",
}


def _count(connection: Any, table: str) -> int:
    return int(connection.execute(COUNT_ROWS[table]).fetchone()[0])


def test_meltano_run_to_duckdb_lands_every_active_course_once(duckdb_run):
    sandbox, connection = duckdb_run.sandbox, duckdb_run.connection
    active_ids = {course.id for course in sandbox.store.active_courses()}
    assert active_ids, "the sandbox should hold active courses"

    ids = [
        row[0]
        for row in connection.execute("SELECT id FROM hubspot.courses").fetchall()
    ]

    assert len(ids) == len(active_ids)
    assert set(ids) == active_ids


def test_meltano_run_to_duckdb_gives_typed_columns_per_course_property(duckdb_run):
    connection = duckdb_run.connection
    types = dict(
        connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = 'courses'",
            [SCHEMA],
        ).fetchall()
    )

    wrong = {
        column: types.get(column)
        for column, allowed in TYPED_COLUMNS.items()
        if types.get(column) not in allowed
    }

    assert wrong == {}
    assert types["properties__hs_course_name"] == "VARCHAR"


def test_meltano_run_to_duckdb_lands_date_properties_as_midnight_timestamps(
    duckdb_run,
):
    sandbox, connection = duckdb_run.sandbox, duckdb_run.connection
    data_type = connection.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = ? "
        "AND table_name = 'courses' AND column_name = 'properties__course_start_date'",
        [SCHEMA],
    ).fetchone()[0]
    course = next(
        course
        for course in sandbox.store.active_courses()
        if course.value("course_start_date")
    )
    (landed,) = connection.execute(
        "SELECT properties__course_start_date FROM hubspot.courses WHERE id = ?",
        [course.id],
    ).fetchone()

    assert data_type == "TIMESTAMP"
    assert landed.isoformat() == f"{course.value('course_start_date')}T00:00:00"


def test_meltano_run_to_duckdb_keeps_values_of_typed_columns(duckdb_run):
    sandbox, connection = duckdb_run.sandbox, duckdb_run.connection
    course = next(
        course
        for course in sandbox.store.active_courses()
        if course.value("price") and course.value("is_certified")
    )

    price, certified = connection.execute(
        "SELECT properties__price, properties__is_certified FROM hubspot.courses "
        "WHERE id = ?",
        [course.id],
    ).fetchone()

    assert price == pytest.approx(float(course.value("price")))
    assert certified is (course.value("is_certified") == "true")


def test_meltano_run_to_duckdb_lands_all_history_and_association_rows(duckdb_run):
    sandbox, connection = duckdb_run.sandbox, duckdb_run.connection

    history = _count(connection, "course_property_history")
    associations = _count(connection, "course_associations")

    assert history == _expected_history_rows(sandbox)
    assert associations == _expected_association_rows(sandbox)
    assert associations > 0


def test_meltano_run_to_duckdb_never_prints_the_access_token(duckdb_run):
    assert duckdb_run.output
    assert duckdb_run.token not in duckdb_run.output
