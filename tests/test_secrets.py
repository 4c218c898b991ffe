"""Secrets never leave: no token, refresh token or client secret in any output.

A representative set of tap and target runs (private app and OAuth, good and
refused credentials, a refused refresh, faults and a SIGKILL) runs as
processes with distinctive random secrets. Everything they wrote (stdout,
STATE, stderr logs, rejects files, catalogs, DuckDB and JSON Lines outputs)
is scanned, as are the repository's ``catalogs/``. The sandbox's view of
every request shows the secrets only in the Authorization header or the
token endpoint's form body, never in a URL. TLS verification is never off.
"""

from __future__ import annotations

import pathlib
import re
import secrets
import sys
import threading
import typing as t

import duckdb
import pytest

from hubspot_sandbox import ALL_COURSE_SCOPES, OAuthClient
from hubspot_sandbox import server as sandbox_server

sys.path.insert(0, str(pathlib.Path(__file__).parent / "faults"))

from fault_helpers import (
    ROOT,
    run_process,
    source_messages,
    source_rows,
    tap_command,
    target_command,
    write_json,
)

if t.TYPE_CHECKING:
    from hubspot_sandbox import Sandbox

PACKAGES = ("hubspot_courses", "tap_hubspot_courses", "target_hubspot_courses")


class RequestLog:
    """Every request target and header the sandbox received, in this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.targets: list[str] = []
        self.headers: list[dict[str, str]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = sandbox_server._Handler._dispatch
        log = self

        def dispatch(handler: t.Any, method: str) -> None:
            with log.lock:
                log.targets.append(f"{method} {handler.path}")
                log.headers.append(dict(handler.headers.items()))
            original(handler, method)

        monkeypatch.setattr(sandbox_server._Handler, "_dispatch", dispatch)


@pytest.fixture
def request_log(monkeypatch: pytest.MonkeyPatch) -> RequestLog:
    log = RequestLog()
    log.install(monkeypatch)
    return log


def _secret(prefix: str) -> str:
    return f"{prefix}-{secrets.token_urlsafe(24)}"


def _scan(texts: dict[str, str], secret_values: dict[str, str]) -> list[str]:
    """Places where a secret (or its first 12 characters) appears."""
    found = []
    for where, text in texts.items():
        for name, value in secret_values.items():
            for needle in {value, value[-16:]}:
                if needle in text:
                    found.append(f"{name} in {where}")
    return found


def _files_under(root: pathlib.Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".duckdb":
            connection = duckdb.connect(str(path), read_only=True)
            try:
                tables = connection.execute("SHOW TABLES").fetchall()
                dump = []
                for (name,) in tables:
                    query = f'SELECT * FROM "{name}"'  # noqa: S608 - our own tables
                    dump.append(repr(connection.execute(query).fetchall()))
            finally:
                connection.close()
            texts[str(path)] = "\n".join(dump)
        texts[f"{path} (bytes)"] = path.read_bytes().decode("utf-8", "replace")
    return texts


def test_no_secret_in_any_output_state_log_rejects_catalog_or_warehouse(
    make_sandbox: t.Callable[..., Sandbox],
    tmp_path: pathlib.Path,
    request_log: RequestLog,
) -> None:
    token = _secret("pat-na1")
    client_id = "secret-test-app"
    client_secret = _secret("client-secret")
    refresh = _secret("refresh")
    wrong_token = _secret("pat-wrong")
    wrong_secret = _secret("client-secret-wrong")
    revoked_refresh = _secret("refresh-revoked")
    secret_values = {
        "access token": token,
        "client secret": client_secret,
        "refresh token": refresh,
        "wrong token": wrong_token,
        "wrong client secret": wrong_secret,
        "revoked refresh token": revoked_refresh,
    }
    sandbox = make_sandbox(
        courses=150,
        tokens={token: ALL_COURSE_SCOPES},
        oauth_clients={client_id: OAuthClient(client_secret, {refresh})},
    )
    base = {
        "api_url": sandbox.url,
        "retry_initial_delay": 0.01,
        "retry_max_delay": 0.05,
        "search_lag_seconds": 0,
    }
    oauth = {
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh,
    }
    out = tmp_path / "out"
    out.mkdir()
    runs: dict[str, t.Any] = {}

    def tap(name: str, config: dict[str, t.Any], *args: str, **kw: t.Any) -> None:
        path = write_json(tmp_path / f"{name}.json", {**base, **config})
        runs[name] = run_process(tap_command(path, *args), **kw)

    def target(name: str, config: dict[str, t.Any], rows: list[dict]) -> None:
        settings = {
            **base,
            "id_property": "external_course_id",
            "rejects_path": str(out / f"{name}-rejects.jsonl"),
            **config,
        }
        path = write_json(tmp_path / f"{name}.json", settings)
        runs[name] = run_process(target_command(path), stdin_text=source_messages(rows))

    tap("tap-discover", {"access_token": token}, "--discover")
    (out / "catalog.json").write_text(runs["tap-discover"].stdout)
    tap("tap-private-app", {"access_token": token})
    sandbox.faults.expire_tokens_after = 3
    sandbox.faults.error_5xx_rate = 0.1
    tap("tap-oauth-faults", oauth)
    tap("tap-oauth-killed", oauth, kill_after_lines=40)
    sandbox.faults.reset()
    tap("tap-wrong-token", {"access_token": wrong_token})
    tap("tap-wrong-secret", {**oauth, "client_secret": wrong_secret})
    tap("tap-revoked-refresh", {**oauth, "refresh_token": revoked_refresh})
    tap("tap-test-connection", {"access_token": wrong_token}, "--test")

    rows = source_rows(60, seed=3)
    rows[5]["delivery_format"] = "not-an-option"
    rows[6]["hs_enrollment_capacity"] = "many"
    target("target-private-app", {"access_token": token}, rows)
    target("target-oauth", {**oauth, "max_rejects": 0}, rows)
    target("target-wrong-secret", {**oauth, "client_secret": wrong_secret}, rows)
    target("target-revoked-refresh", {**oauth, "refresh_token": revoked_refresh}, rows)
    target("target-wrong-token", {"access_token": wrong_token}, rows)

    warehouse = duckdb.connect(str(out / "warehouse.duckdb"))
    warehouse.execute("CREATE TABLE lines (run VARCHAR, line VARCHAR)")
    for name, run in runs.items():
        (out / f"{name}.stdout").write_text(run.stdout)
        (out / f"{name}.stderr").write_text(run.stderr)
        for line in run.stdout.splitlines():
            warehouse.execute("INSERT INTO lines VALUES (?, ?)", [name, line])
    warehouse.close()

    texts = _files_under(out)
    texts.update(_files_under(ROOT / "catalogs"))
    assert _scan(texts, secret_values) == []
    assert all(runs[name].returncode == 0 for name in ("tap-private-app",))
    assert runs["tap-oauth-faults"].returncode == 0
    assert runs["tap-oauth-killed"].killed
    for name in ("tap-wrong-token", "tap-wrong-secret", "tap-revoked-refresh"):
        assert runs[name].returncode == 1, name
        assert "Traceback" not in runs[name].stderr
    for name in ("target-wrong-secret", "target-revoked-refresh", "target-wrong-token"):
        assert runs[name].returncode == 1, name
    assert runs["target-private-app"].returncode == 0
    assert len((out / "target-private-app-rejects.jsonl").read_text().splitlines()) == 2
    assert sandbox.stats.snapshot()["faults"].get("token_expired", 0) > 0

    # Tokens travel only in the Authorization header, never in a URL.
    assert request_log.targets
    assert _scan(dict(enumerate(request_log.targets)), secret_values) == []
    bearer = [h.get("Authorization", "") for h in request_log.headers]
    assert f"Bearer {token}" in bearer


def test_rejects_file_never_holds_credentials_of_the_run(
    make_sandbox: t.Callable[..., Sandbox],
    sandbox_token: str,
    tmp_path: pathlib.Path,
) -> None:
    sandbox = make_sandbox(courses=0)
    rows = source_rows(10, seed=4)
    rows[2]["delivery_format"] = "no-such-option"
    rows[3]["unknown_column"] = "x"
    config = write_json(
        tmp_path / "config.json",
        {
            "api_url": sandbox.url,
            "access_token": sandbox_token,
            "id_property": "external_course_id",
            "rejects_path": str(tmp_path / "rejects.jsonl"),
        },
    )

    run = run_process(target_command(config), stdin_text=source_messages(rows))

    rejects = (tmp_path / "rejects.jsonl").read_text()
    assert run.returncode == 0
    assert len(rejects.splitlines()) == 2
    assert sandbox_token not in rejects + run.stdout + run.stderr


def test_tls_verification_is_never_disabled_in_the_plugins() -> None:
    pattern = re.compile(
        r"verify\s*=\s*False|\.verify\s*=\s*(False|None|0)|disable_warnings|"
        r"CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context|"
        r"(CURL|REQUESTS)_CA_BUNDLE"
    )
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]

    assert offenders == []


def test_client_session_verifies_tls_and_redacts_credentials_in_repr() -> None:
    import logging

    from hubspot_courses.client import HubSpotClient

    secret = _secret("client-secret")
    refresh = _secret("refresh")
    client = HubSpotClient(
        {
            "client_id": "app",
            "client_secret": secret,
            "refresh_token": refresh,
        },
        logging.getLogger("test"),
        user_agent="test",
    )

    assert client.session.verify is True
    assert client.api_url.startswith("https://")
    assert secret not in repr(client.credentials)
    assert refresh not in repr(client.credentials)
