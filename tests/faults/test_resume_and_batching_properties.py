"""Property-based tests: tap resume from any STATE, target batching and splitting.

* Tap: resuming from the STATE written after any page, the records emitted
  before that STATE plus those of the resumed run are every course, in a full
  and in an incremental (search) sync.
* Target: any mix of good rows, bad rows and repeated keys, in any
  ``batch_size_rows``, lands each good key once with its last values, rejects
  each bad row once, and never sends a batch call of more than 100 inputs.
"""

from __future__ import annotations

import pathlib
import typing as t
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubspot_courses.client import HubSpotClient
from tests.tap.tap_helpers import run_tap, tap_config
from tests.target.conftest import read_rejects, record, schema, state

if t.TYPE_CHECKING:
    from hubspot_sandbox import Sandbox

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _course_ids_before_each_state(
    messages: list[dict[str, t.Any]],
) -> list[tuple[dict[str, t.Any], set[str]]]:
    seen: set[str] = set()
    found = []
    for message in messages:
        if message["type"] == "RECORD" and message["stream"] == "courses":
            seen.add(message["record"]["id"])
        elif message["type"] == "STATE":
            found.append((message["value"], set(seen)))
    return found


@pytest.fixture
def tap_portal(make_sandbox: t.Callable[..., Sandbox], sandbox_token: str) -> dict:
    sandbox = make_sandbox(
        courses=520, seed_options={"heavy_association_courses": 0}, search_per_second=50
    )
    config = tap_config(
        sandbox.url,
        token=sandbox_token,
        associations=[],
        rate_limit_requests=900,
    )
    runs = {}
    for mode, extra in (
        ("full", {}),
        ("search", {"start_date": "2020-01-01T00:00:00Z"}),
    ):
        run = run_tap({**config, **extra})
        runs[mode] = (extra, _course_ids_before_each_state(run.messages))
    every = {c.id for c in sandbox.store.active_courses()}
    return {"config": config, "runs": runs, "every": every}


@SETTINGS
@given(mode=st.sampled_from(["full", "search"]), pick=st.floats(0, 1))
def test_tap_resumed_from_any_state_emits_every_course(
    tap_portal: dict, mode: str, pick: float
) -> None:
    extra, states = tap_portal["runs"][mode]
    value, before = states[min(len(states) - 1, int(pick * len(states)))]

    resumed = run_tap({**tap_portal["config"], **extra}, state=value)

    after = {r["id"] for r in resumed.records("courses")}
    assert before | after == tap_portal["every"]
    assert len(states) >= 5  # several pages: the property is not vacuous


@pytest.fixture
def upsert_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    original = HubSpotClient.post

    def post(self: HubSpotClient, path: str, body: t.Any, **kwargs: t.Any) -> t.Any:
        if isinstance(body, dict) and isinstance(body.get("inputs"), list):
            sizes.append(len(body["inputs"]))
        return original(self, path, body, **kwargs)

    monkeypatch.setattr(HubSpotClient, "post", post)
    return sizes


ROW = st.one_of(
    st.tuples(st.just("good"), st.integers(0, 120), st.integers(0, 10**6)),
    st.tuples(
        st.sampled_from(["no-key", "bad-number", "bad-option"]),
        st.integers(0, 120),
        st.just(0),
    ),
)


@SETTINGS
@given(
    plan=st.lists(ROW, min_size=1, max_size=260),
    batch_rows=st.sampled_from([1, 7, 99, 100, 101, 250]),
)
def test_target_batches_land_good_rows_once_and_reject_bad_rows_once(
    make_sandbox: t.Callable[..., Sandbox],
    target_config: t.Callable[..., dict[str, t.Any]],
    run_target: t.Callable[..., t.Any],
    upsert_sizes: list[int],
    tmp_path: pathlib.Path,
    plan: list[tuple[str, int, int]],
    batch_rows: int,
) -> None:
    portal = make_sandbox(courses=0)
    prefix = uuid.uuid4().hex[:8]
    rejects_path = tmp_path / f"{prefix}.jsonl"
    rows: list[dict[str, t.Any]] = []
    last: dict[str, int] = {}
    bad = 0
    for kind, slot, value in plan:
        key = f"{prefix}-{slot}"
        row: dict[str, t.Any] = {"external_course_id": key, "hs_course_name": "n"}
        if kind == "good":
            row["hs_enrollment_capacity"] = value
            last[key] = value
        elif kind == "no-key":
            row.pop("external_course_id")
            bad += 1
        elif kind == "bad-number":
            row["hs_enrollment_capacity"] = "many"
            bad += 1
        else:
            row["delivery_format"] = "by carrier pigeon"
            bad += 1
        rows.append(row)
    columns = {"external_course_id": {}, "hs_course_name": {}}
    columns.update(hs_enrollment_capacity={}, delivery_format={})
    messages = [
        schema(columns=columns),
        *(record(row) for row in rows),
        state({"done": True}),
    ]
    config = target_config(
        portal,
        rejects_path=str(rejects_path),
        max_rejects=10_000,
        batch_size_rows=batch_rows,
    )
    upsert_sizes.clear()

    run = run_target(config, messages)

    landed: dict[str, list[str]] = {}
    for course in portal.store.active_courses():
        props = course.properties
        landed.setdefault(props["external_course_id"], []).append(
            props.get("hs_enrollment_capacity")
        )
    assert run.states[-1] == {"done": True}
    assert landed == {key: [str(value)] for key, value in last.items()}
    assert len(read_rejects(rejects_path)) == bad
    assert all(0 < size <= 100 for size in upsert_sizes)
