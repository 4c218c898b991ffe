"""Helpers to run the target in-process against a local sandbox."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import pathlib
import typing as t

import pytest
import simplejson

from target_hubspot_courses.target import TargetHubSpotCourses

if t.TYPE_CHECKING:
    from hubspot_sandbox import Sandbox

COURSE_COLUMNS: dict[str, dict[str, t.Any]] = {
    "hs_object_id": {"type": ["string", "null"]},
    "external_course_id": {"type": ["string", "null"]},
    "hs_course_name": {"type": ["string", "null"]},
    "hs_course_description": {"type": ["string", "null"]},
    "hs_enrollment_capacity": {"type": ["number", "null"]},
    "course_start_date": {"type": ["string", "null"], "format": "date"},
    "enrollment_opens_at": {"type": ["string", "null"], "format": "date-time"},
    "is_certified": {"type": ["boolean", "null"]},
    "price": {"type": ["number", "null"]},
    "delivery_format": {"type": ["string", "null"]},
    "topics": {"type": ["array", "null"], "items": {"type": "string"}},
    "instructor_email": {"type": ["string", "null"]},
    "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
}


@dataclasses.dataclass
class TargetRun:
    """What one target run wrote and logged."""

    target: TargetHubSpotCourses
    stdout: str
    logs: str
    error: BaseException | None = None

    @property
    def states(self) -> list[dict[str, t.Any]]:
        """STATE values written, in order."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def counts(self) -> dict[str, int]:
        """The run's summary counters."""
        return self.target.ledger.counts

    @property
    def requests(self) -> int:
        """HTTP requests sent (retries included)."""
        return self.target.client.stats.requests


def schema(stream: str = "courses", columns: dict | None = None) -> dict[str, t.Any]:
    """A SCHEMA message for flat course rows."""
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": columns or COURSE_COLUMNS},
        "key_properties": [],
    }


def record(row: dict[str, t.Any], stream: str = "courses") -> dict[str, t.Any]:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": row}


def state(value: dict[str, t.Any]) -> dict[str, t.Any]:
    """A STATE message."""
    return {"type": "STATE", "value": value}


def course(n: int, **values: t.Any) -> dict[str, t.Any]:
    """A flat course row keyed ``EXT-<n>``."""
    row: dict[str, t.Any] = {
        "external_course_id": f"EXT-{n}",
        "hs_course_name": f"Course {n}",
    }
    row.update(values)
    return row


def flat_messages(rows: t.Iterable[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """SCHEMA plus one RECORD per row, on stream 'courses'."""
    return [schema(), *(record(row) for row in rows)]


def read_rejects(path: pathlib.Path) -> list[dict[str, t.Any]]:
    """Entries of a rejects file (empty when it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def by_key(sandbox: Sandbox, key: str = "external_course_id") -> dict[str, t.Any]:
    """Active courses of the sandbox by their ``key`` value."""
    return {
        c.properties[key]: c
        for c in sandbox.store.active_courses()
        if c.properties.get(key)
    }


@pytest.fixture
def target_config(
    make_sandbox: t.Callable[..., Sandbox], sandbox_token: str, tmp_path: pathlib.Path
) -> t.Callable[..., dict[str, t.Any]]:
    """Factory of target settings pointing at a given sandbox."""

    def factory(sandbox: Sandbox, **overrides: t.Any) -> dict[str, t.Any]:
        config: dict[str, t.Any] = {
            "access_token": sandbox_token,
            "api_url": sandbox.url,
            "id_property": "external_course_id",
            "rejects_path": str(tmp_path / "rejects.jsonl"),
            "retry_initial_delay": 0.01,
            "max_retry_seconds": 30,
            "rate_limit_requests": 190,
        }
        config.update(overrides)
        return config

    return factory


@pytest.fixture
def run_target(caplog: pytest.LogCaptureFixture) -> t.Callable[..., TargetRun]:
    """Run the target in-process on a list of messages."""

    def run(
        config: dict[str, t.Any],
        messages: list[dict[str, t.Any]],
        *,
        expect_error: bool = False,
    ) -> TargetRun:
        caplog.clear()
        caplog.set_level(logging.INFO)
        target = TargetHubSpotCourses(config=config)
        text = "".join(
            simplejson.dumps(m, use_decimal=True, default=str) + "\n" for m in messages
        )
        stdout = io.StringIO()
        error: BaseException | None = None
        with contextlib.redirect_stdout(stdout):
            try:
                target.listen(io.StringIO(text))
            except Exception as exc:
                if not expect_error:
                    raise
                error = exc
        if expect_error and error is None:
            pytest.fail("the target run was expected to fail")
        return TargetRun(target, stdout.getvalue(), caplog.text, error)

    return run
