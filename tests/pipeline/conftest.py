"""Fixtures for end-to-end runs: a temporary Meltano project and PostgreSQL.

See ``pipeline_helpers`` for how both are isolated from the developer's state.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import (
    MeltanoProject,
    Postgres,
    free_port,
    make_meltano_project,
    pg_binary,
    wait_until_ready,
)


@pytest.fixture
def meltano_project(tmp_path: Path) -> MeltanoProject:
    """A fresh Meltano project in ``tmp_path`` using the installed plugins."""
    return make_meltano_project(tmp_path / "project")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server on 127.0.0.1 with a random port and password.

    Data and socket live in a temporary directory removed at the end. As
    root, the server runs as ``nobody``.
    """
    pytest.importorskip("psycopg")
    initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
    run_as: dict[str, Any] = {}
    # As root, directly under /tmp (not pytest's root-only tmp_path, nor a
    # TMPDIR that may be private): the server's user must reach it.
    as_root = os.geteuid() == 0
    shared_tmp = "/tmp" if as_root else None  # noqa: S108 - mkdtemp: a private dir
    base = Path(tempfile.mkdtemp(prefix="hubspot-courses-pg-", dir=shared_tmp))
    if as_root:
        run_as = {"user": "nobody", "group": "nogroup"}
        base.chmod(0o755)
        shutil.chown(base, user="nobody", group="nogroup")
    password = secrets.token_urlsafe(18)
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n", encoding="utf-8")
    if run_as:
        shutil.chown(pwfile, user="nobody", group="nogroup")
    data, sockets, log = base / "data", base / "sockets", base / "server.log"
    sockets.mkdir()
    if run_as:
        shutil.chown(sockets, user="nobody", group="nogroup")
    port = free_port()

    def pg(*args: str, timeout: float = 120) -> None:
        subprocess.run(
            args,
            check=True,
            capture_output=True,
            timeout=timeout,
            cwd=base,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            **run_as,
        )

    try:
        pg(
            initdb,
            "--pgdata",
            str(data),
            "--username",
            "postgres",
            "--auth",
            "scram-sha-256",
            "--pwfile",
            str(pwfile),
            "--encoding",
            "UTF8",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} "
            f"-c unix_socket_directories={sockets} -c fsync=off"
        )
        pg(pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    except subprocess.CalledProcessError as exc:
        server_log = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {exc.stderr!r}\n{server_log[-3000:]}")
    server = Postgres("127.0.0.1", port, "postgres", password, "postgres")
    try:
        wait_until_ready(server)
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            pg(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop", timeout=60)
        shutil.rmtree(base, ignore_errors=True)
