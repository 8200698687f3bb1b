"""A throwaway PostgreSQL server for tests, started from the binaries installed on the machine.

`initdb` refuses to run as root, so under root the cluster and the server run as an unprivileged user
(`postgres` when it exists, else a system user created with `useradd`). The server listens on a free
port of 127.0.0.1 only, with trust authentication, and is stopped and removed at teardown.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

FALLBACK_USER = "woodpecker-pg"
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries were found on this machine."""


@dataclass(frozen=True)
class PostgresServer:
    """Connection facts of a running test server (superuser `postgres`, no password)."""

    host: str
    port: int
    user: str = "postgres"

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq URL for one database.

        The server trusts every local connection; the URL still carries a placeholder password because
        dlt's Postgres credentials insist on one.
        """
        return f"postgresql://{self.user}:trust@{self.host}:{self.port}/{dbname}"


def find_bindir() -> Path:
    """The folder holding `initdb` and `pg_ctl`, preferring PostgreSQL 15.

    Raises:
        PostgresUnavailable: When none is found.
    """
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: (not p.startswith("/usr/lib/postgresql/15/"), p)
    )
    candidates.extend(Path(p) for p in versions)
    candidates.append(Path("/usr/local/bin"))
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise PostgresUnavailable("no initdb/pg_ctl found (PATH, pg_config --bindir, /usr/lib/postgresql/*/bin)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unprivileged_user() -> str | None:
    """The user to run the server as, or None when the current user is not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
        check=True,
        capture_output=True,
    )
    return FALLBACK_USER


def _as_user(user: str | None, command: list[str]) -> list[str]:
    if user is None:
        return command
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", user, "--", *command]
    entry = pwd.getpwnam(user)
    return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups", *command]


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a fresh cluster, yield its address, stop and delete it afterwards.

    Raises:
        PostgresUnavailable: When no server binaries are installed.
        subprocess.CalledProcessError: When initdb or the server fails to start (its log is in the error).
    """
    bindir = find_bindir()
    user = _unprivileged_user()
    root = Path(tempfile.mkdtemp(prefix="woodpecker-pg-"))
    data, log = root / "data", root / "server.log"
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=30"
    )
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    try:
        subprocess.run(
            _as_user(user, [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                            "-E", "UTF8", "--locale=C", "--no-sync"]),
            check=True, capture_output=True, env=env, timeout=START_TIMEOUT_S,
        )  # fmt: skip
        started = subprocess.run(
            _as_user(user, [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                            "-w", "-t", str(START_TIMEOUT_S), "start"]),
            capture_output=True, env=env, timeout=START_TIMEOUT_S + 10, check=False,
        )  # fmt: skip
        if started.returncode != 0:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise subprocess.CalledProcessError(started.returncode, "pg_ctl start", started.stdout, text)
        yield PostgresServer("127.0.0.1", port)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_user(user, [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                capture_output=True, env=env, timeout=START_TIMEOUT_S, check=False,
            )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
