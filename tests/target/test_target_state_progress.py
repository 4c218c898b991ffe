"""STATE during the run: emitted once every record before it is in HubSpot.

Each test runs the target in-process and looks at the sandbox at the moment
each STATE line is written to stdout, so "in HubSpot" means what the portal
held then, not what it held at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import typing as t

import simplejson

from target_hubspot_courses.target import TargetHubSpotCourses
from tests.target.conftest import by_key, course, record, schema, state

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from hubspot_sandbox import Sandbox

ASSOC_SCHEMA = {
    "type": "SCHEMA",
    "stream": "course_associations",
    "schema": {
        "type": "object",
        "properties": {
            "external_course_id": {"type": ["string", "null"]},
            "to_object_type": {"type": "string"},
            "to_object_id": {"type": "string"},
        },
    },
    "key_properties": [],
}


class _StateWatch(io.StringIO):
    """Stdout that notes what ``look`` returns each time a STATE line is written."""

    def __init__(self, look: Callable[[], t.Any]) -> None:
        super().__init__()
        self.look = look
        self.seen: list[tuple[dict[str, t.Any], t.Any]] = []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.seen.append((json.loads(line), self.look()))
        return super().write(text)


def _run_watching(
    config: dict[str, t.Any],
    messages: list[dict[str, t.Any]],
    look: Callable[[], t.Any],
) -> list[tuple[dict[str, t.Any], t.Any]]:
    """Run the target; each STATE value with what ``look`` saw as it came out."""
    target = TargetHubSpotCourses(config=config)
    text = "".join(
        simplejson.dumps(m, use_decimal=True, default=str) + "\n" for m in messages
    )
    stdout = _StateWatch(look)
    with contextlib.redirect_stdout(stdout):
        target.listen(io.StringIO(text))
    return stdout.seen


def _link(n: int) -> dict[str, t.Any]:
    row = {
        "external_course_id": f"EXT-{n}",
        "to_object_type": "contacts",
        "to_object_id": str(5000 + n),
    }
    return record(row, "course_associations")


def _links_in(sandbox: Sandbox) -> set[tuple[str, str]]:
    return {
        (key, link.to_id)
        for key, found in by_key(sandbox).items()
        for link in sandbox.store.associations_of(found.id, "contacts")
    }


def test_state_every_100_rows_in_batches_of_500_is_emitted_after_each_drain(
    make_sandbox: Callable[..., Sandbox],
    target_config: Callable[..., dict[str, t.Any]],
) -> None:
    portal = make_sandbox(courses=0)
    messages = [schema()]
    for n in range(3_000):
        messages.append(record(course(n)))
        if (n + 1) % 100 == 0:
            messages.append(state({"bookmarks": {"courses": {"position": n + 1}}}))

    seen = _run_watching(
        target_config(portal, batch_size_rows=500),
        messages,
        lambda: set(by_key(portal)),
    )

    positions = [value["bookmarks"]["courses"]["position"] for value, _ in seen]
    # A drain of 500 rows releases the STATE read before its last row (the
    # STATE that follows it comes out as it is read: nothing is buffered).
    drains = range(500, 3_001, 500)
    assert positions == [p for end in drains for p in (end - 100, end)]
    assert [len(landed) for _, landed in seen] == [end for end in drains for _ in "ab"]
    for position, (_, landed) in zip(positions, seen, strict=True):
        assert {f"EXT-{n}" for n in range(position)} <= landed
    assert portal.stats.route("batch_upsert") == 30  # no call added for STATE


def test_state_waits_for_association_rows_read_before_it(
    make_sandbox: Callable[..., Sandbox],
    target_config: Callable[..., dict[str, t.Any]],
) -> None:
    portal = make_sandbox(courses=0)
    messages: list[dict[str, t.Any]] = [schema(), ASSOC_SCHEMA]
    before: dict[int, tuple[set[str], set[tuple[str, str]]]] = {}

    def note(n: int) -> None:
        rows = [m for m in messages if m["type"] == "RECORD"]
        keys = {m["record"]["external_course_id"] for m in rows}
        links = {
            (m["record"]["external_course_id"], m["record"]["to_object_id"])
            for m in rows
            if m["stream"] == "course_associations"
        }
        before[n] = (keys, links)
        messages.append(state({"n": n}))

    messages += [record(course(n)) for n in range(10)]
    messages += [_link(n) for n in range(10)]
    note(1)  # the association rows of EXT-0..9 are buffered
    messages += [record(course(n)) for n in range(10, 60)]  # courses drain at 50
    note(2)
    messages += [_link(n) for n in range(10, 50)]  # associations drain at 50
    note(3)  # nothing buffered
    messages += [record(course(n)) for n in range(60, 70)]
    note(4)

    seen = _run_watching(
        target_config(portal, batch_size_rows=50),
        messages,
        lambda: (set(by_key(portal)), _links_in(portal)),
    )

    # The courses drain at 50 rows also writes the buffered association rows,
    # which held n=1 back, so n=1 comes out during the run. n=2 and n=3 wait
    # behind partial batches that no drain empties before the end, where n=4
    # covers them. Each STATE comes after the courses and links read before it.
    assert [value["n"] for value, _ in seen] == [1, 4]
    for value, (keys, links) in seen:
        wanted_keys, wanted_links = before[value["n"]]
        assert wanted_keys <= keys
        assert wanted_links <= links
    assert len(seen[0][1][0]) < 70  # n=1 came out before the input ended


def test_state_waits_for_rows_of_a_sink_replaced_by_a_schema_change(
    make_sandbox: Callable[..., Sandbox],
    target_config: Callable[..., dict[str, t.Any]],
) -> None:
    portal = make_sandbox(courses=0)
    narrower = {
        "external_course_id": {"type": ["string", "null"]},
        "hs_course_name": {"type": ["string", "null"]},
    }
    messages = [schema(), *(record(course(n)) for n in range(10))]
    messages += [schema(columns=narrower), state({"n": 1})]
    messages += [record(course(n)) for n in range(10, 60)]  # new sink drains at 50
    messages.append(state({"n": 2}))

    seen = _run_watching(
        target_config(portal, batch_size_rows=50),
        messages,
        lambda: set(by_key(portal)),
    )

    # The new sink's first drain also writes the rows of the replaced one,
    # which held n=1 back; n=2 follows once its rows are written.
    assert [value for value, _ in seen] == [{"n": 1}, {"n": 2}]
    assert {f"EXT-{n}" for n in range(10)} <= seen[0][1]
    assert seen[1][1] == {f"EXT-{n}" for n in range(60)}


def test_sparse_association_rows_do_not_hold_states_to_the_end(
    make_sandbox: Callable[..., Sandbox],
    target_config: Callable[..., dict[str, t.Any]],
) -> None:
    portal = make_sandbox(courses=0)
    messages: list[dict[str, t.Any]] = [schema(), ASSOC_SCHEMA]
    for n in range(1_000):
        messages.append(record(course(n)))
        if n % 7 == 0:
            messages.append(_link(n))
        if (n + 1) % 100 == 0:
            messages.append(state({"n": n + 1}))

    seen = _run_watching(
        target_config(portal, batch_size_rows=250),
        messages,
        lambda: (set(by_key(portal)), _links_in(portal)),
    )

    positions = [value["n"] for value, _ in seen]
    assert len(positions) >= 4  # one or more per drain of 250 courses
    assert positions == sorted(positions)
    assert positions[-1] == 1_000
    for position, (_, (keys, links)) in zip(positions, seen, strict=True):
        assert {f"EXT-{n}" for n in range(position)} <= keys
        wanted = {(f"EXT-{n}", str(5000 + n)) for n in range(0, position, 7)}
        assert wanted <= links
