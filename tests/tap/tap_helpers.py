"""Helpers to run the tap in-process against a local sandbox and read its output."""

from __future__ import annotations

import contextlib
import dataclasses
import decimal
import io
import json
import typing as t

import pytest

from tap_hubspot_courses.tap import TapHubSpotCourses

TOKEN = "pat-na1-tap-tests-0123456789"
"""Private app token the tap tests use; must never appear in output."""


@dataclasses.dataclass
class TapRun:
    """What one tap run wrote, and the tap that wrote it."""

    messages: list[dict[str, t.Any]]
    tap: TapHubSpotCourses
    text: str
    error: BaseException | None = None

    def records(self, stream: str) -> list[dict[str, t.Any]]:
        """Records of ``stream``, in output order."""
        return [
            message["record"]
            for message in self.messages
            if message["type"] == "RECORD" and message["stream"] == stream
        ]

    def states(self) -> list[dict[str, t.Any]]:
        """Every STATE value written, in order."""
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, t.Any]:
        """The last STATE value written."""
        return self.states()[-1]

    @property
    def requests(self) -> int:
        """HTTP requests the tap's client sent (retries included)."""
        return self.tap.client.stats.requests


def parse_messages(text: str) -> list[dict[str, t.Any]]:
    """Singer messages from the tap's stdout."""
    return [
        json.loads(line, parse_float=decimal.Decimal)
        for line in text.splitlines()
        if line.strip()
    ]


def run_tap(
    config: dict[str, t.Any],
    *,
    state: dict[str, t.Any] | None = None,
    catalog: dict[str, t.Any] | None = None,
    prepare: t.Callable[[TapHubSpotCourses], None] | None = None,
    expect: type[BaseException] | None = None,
) -> TapRun:
    """Run a full ``sync_all`` in-process, capturing stdout.

    With ``expect``, the run must fail with that exception; the output written
    until then is returned and the exception is in ``TapRun.error``.
    """
    out = io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8")
    error: BaseException | None = None
    with contextlib.redirect_stdout(stdout):
        tap = TapHubSpotCourses(config=config, state=state, catalog=catalog)
        if prepare is not None:
            prepare(tap)
        if expect is None:
            tap.sync_all()
        else:
            with pytest.raises(expect) as caught:
                tap.sync_all()
            error = caught.value
        stdout.flush()
    text = out.getvalue().decode()
    return TapRun(parse_messages(text), tap, text, error)


def tap_config(url: str, token: str = TOKEN, **overrides: t.Any) -> dict[str, t.Any]:
    """Tap settings for a sandbox at ``url``, with fast retries."""
    config: dict[str, t.Any] = {
        "access_token": token,
        "api_url": url,
        "retry_initial_delay": 0.01,
        "retry_max_delay": 0.2,
        "search_lag_seconds": 0,
        "associations": ["contacts", "companies"],
    }
    config.update(overrides)
    return config


def select_only(config: dict[str, t.Any], *streams: str) -> dict[str, t.Any]:
    """A catalog of the tap with only ``streams`` selected."""
    catalog = TapHubSpotCourses(config=config).catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog
