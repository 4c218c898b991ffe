"""Shared fixtures: a local HubSpot sandbox on 127.0.0.1 for any test folder."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from hubspot_sandbox import (
    ALL_COURSE_SCOPES,
    Faults,
    Sandbox,
    SandboxConfig,
    seed_portal,
)
from hubspot_sandbox.store import Store

MakeSandbox = Callable[..., Sandbox]


@pytest.fixture
def sandbox_token() -> str:
    """A fresh random private-app token, granted every courses scope.

    The ``make_sandbox`` and ``sandbox`` fixtures accept it. It is random per
    test so that a test proving "the token never appears in output" cannot
    pass by accident.
    """
    return secrets.token_urlsafe(24)


@pytest.fixture
def make_sandbox(sandbox_token: str) -> Iterator[MakeSandbox]:
    """Factory starting sandboxes on 127.0.0.1 (port 0), stopped at teardown.

    Call ``make_sandbox(**overrides)``. Keyword arguments that are fields of
    :class:`hubspot_sandbox.SandboxConfig` override the configuration; by
    default ``tokens`` is ``{sandbox_token: ALL_COURSE_SCOPES}``. These extra
    keywords are understood too:

    * ``courses`` (default 40): courses seeded with ``seed_portal``; 0 for an
      empty portal (the seeded custom properties are still added).
    * ``seed`` (default 7) and ``seed_options`` (dict): passed to
      ``seed_portal``; e.g. ``seed_options={"heavy_association_courses": 0}``.
    * ``faults``: a :class:`hubspot_sandbox.Faults` to start with.
    * ``store``: serve an existing store (e.g. to restart on the same data);
      no seeding happens then.

    The seed summary is available as ``sb.seed_summary``.
    """
    started: list[Sandbox] = []

    def factory(**overrides: Any) -> Sandbox:
        courses = overrides.pop("courses", 40)
        seed = overrides.pop("seed", 7)
        seed_options = overrides.pop("seed_options", {})
        faults = overrides.pop("faults", None) or Faults()
        store: Store | None = overrides.pop("store", None)
        overrides.setdefault("tokens", {sandbox_token: ALL_COURSE_SCOPES})
        overrides.setdefault("host", "127.0.0.1")
        overrides.setdefault("port", 0)
        config = SandboxConfig(**overrides)
        sb = Sandbox(config, store=store, faults=faults)
        summary = None
        if store is None:
            summary = seed_portal(sb.store, courses=courses, seed=seed, **seed_options)
        sb.seed_summary = summary
        started.append(sb)
        return sb.start()

    yield factory
    for sb in started:
        sb.stop()


@pytest.fixture
def sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    """A running sandbox with the default config and 120 seeded courses (seed 7).

    Authenticate with ``Authorization: Bearer <sandbox_token>``; its base URL
    is ``sandbox.url``.
    """
    return make_sandbox(courses=120)


@pytest.fixture
def sandbox_session(sandbox_token: str) -> Iterator[requests.Session]:
    """A ``requests.Session`` sending ``sandbox_token`` as a bearer token."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sandbox_token}"
    yield session
    session.close()
