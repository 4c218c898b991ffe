"""Helpers for end-to-end runs through Meltano and a private PostgreSQL server.

Meltano runs in a throwaway project directory holding a copy of the repository's
``meltano.yml``; its ``.meltano/extractors`` and ``.meltano/loaders`` link to the
plugin venvs that ``scripts/setup`` installed, so nothing is reinstalled, and
its system database, logs and run files stay in the temporary directory. The
developer's ``.meltano`` state is neither read nor changed.

PostgreSQL runs from the machine's ``initdb``/``pg_ctl`` on 127.0.0.1, on a free
port, with password authentication (tap-postgres refuses URLs without one).
PostgreSQL does not run as root, so as root the server runs as ``nobody``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

QUIET_MELTANO = {
    "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    "MELTANO_DISABLE_TRACKING": "true",
    "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
    "MELTANO_SNOWPLOW_COLLECTOR_ENDPOINTS": "[]",
    "DO_NOT_TRACK": "1",
}
"""Meltano sends no statistics, checks no versions and asks no hub."""

MELTANO_TIMEOUT = 240
"""Seconds one ``meltano`` command may take before the test fails."""


def _missing(what: str) -> None:
    """Skip on a developer machine, fail in CI, when a prerequisite is missing."""
    message = f"{what}; run 'bash scripts/setup' first"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclasses.dataclass
class MeltanoProject:
    """A temporary Meltano project sharing the repository's plugin venvs.

    Attributes:
        root: The project directory (holds ``meltano.yml`` and ``output/``).
        executable: The ``meltano`` command.
        env: Environment of every command: telemetry off, nothing inherited
            that would point a plugin elsewhere.
    """

    root: Path
    executable: str
    env: dict[str, str]

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``meltano ARGS`` in the project.

        Args:
            args: Meltano's arguments, e.g. ``"run", "tap-x", "target-y"``.
            env: Extra environment variables (plugin settings, tokens).
            check: Fail the test when the command exits non-zero.

        Returns:
            The finished process, with its output as text.
        """
        result = subprocess.run(
            [self.executable, *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=MELTANO_TIMEOUT,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"'meltano {' '.join(args)}' exited {result.returncode}:\n"
                f"{result.stdout[-5000:]}\n{result.stderr[-10000:]}"
            )
        return result


def _meltano_executable() -> str | None:
    local = REPO_ROOT / ".venv-meltano" / "bin" / "meltano"
    if local.exists():
        return str(local)
    return shutil.which("meltano")


def make_meltano_project(directory: Path) -> MeltanoProject:
    """Create a Meltano project in ``directory`` using the installed plugins.

    Args:
        directory: An empty or missing directory.

    Returns:
        The project.
    """
    executable = _meltano_executable()
    if executable is None:
        _missing("meltano is not installed")
    plugins = REPO_ROOT / ".meltano"
    if not (plugins / "extractors").is_dir() or not (plugins / "loaders").is_dir():
        _missing("the Meltano plugins are not installed")
    root = directory
    (root / ".meltano").mkdir(parents=True)
    (root / "output").mkdir()
    shutil.copy(REPO_ROOT / "meltano.yml", root / "meltano.yml")
    for kind in ("extractors", "loaders"):
        (root / ".meltano" / kind).symlink_to(plugins / kind, target_is_directory=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MELTANO_", "TAP_", "TARGET_"))
    }
    env.update(QUIET_MELTANO)
    env["MELTANO_DATABASE_URI"] = f"sqlite:///{root / '.meltano' / 'meltano.db'}"
    return MeltanoProject(root=root, executable=str(executable), env=env)


# ---------------------------------------------------------------- PostgreSQL


@dataclasses.dataclass
class Postgres:
    """A running private PostgreSQL server.

    Attributes:
        host: Always ``127.0.0.1``.
        port: The TCP port it listens on.
        user: The superuser's name.
        password: The superuser's random password.
        database: The database the tests use.
    """

    host: str
    port: int
    user: str
    password: str
    database: str

    @property
    def sqlalchemy_url(self) -> str:
        """The URL tap-postgres and target-postgres take."""
        return (
            f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}"
            f"/{self.database}"
        )

    def connect(self) -> Any:
        """Open a psycopg connection (autocommit) to the test database.

        Returns:
            The connection; use it as a context manager.
        """
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.database,
            autocommit=True,
            connect_timeout=10,
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}")):
        return str(candidate)
    pytest.skip(f"PostgreSQL's '{name}' is not installed")
    raise AssertionError  # unreachable: skip raises


def wait_until_ready(server: Postgres, deadline_seconds: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            with server.connect():
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
