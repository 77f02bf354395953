"""Start a throwaway PostgreSQL server (Debian's binaries) on a free loopback port."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class Unavailable(Exception):
    """PostgreSQL cannot be started here; the message says why."""


@dataclass
class PgServer:
    datadir: Path
    port: int
    user: str = "newswatch"
    _run_as: str | None = None

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        _run(self._cmd("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop"), self._run_as)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)

    def _cmd(self, name: str, *args: str) -> list[str]:
        return [str(_binary(name)), *args]


def _binary(name: str) -> Path:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return Path(found[-1])
    which = shutil.which(name)
    if which:
        return Path(which)
    raise Unavailable(f"PostgreSQL's {name} is not installed (run `make services`)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cmd: list[str], run_as: str | None) -> subprocess.CompletedProcess[str]:
    if run_as:
        cmd = ["runuser", "-u", run_as, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def start() -> PgServer:
    """initdb into a temporary folder and start the server; raises Unavailable."""
    initdb = _binary("initdb")
    run_as = None
    root = Path(tempfile.mkdtemp(prefix="newswatch-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise Unavailable("running as root and there is no 'postgres' user") from None
        run_as = "postgres"
        os.chown(root, pw.pw_uid, pw.pw_gid)
    datadir = root / "data"
    done = _run(
        [str(initdb), "-D", str(datadir), "-U", "newswatch", "-A", "trust", "-E", "UTF8",
         "--no-locale"],
        run_as,
    )
    if done.returncode != 0:
        raise Unavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
    port = _free_port()
    server = PgServer(datadir, port, _run_as=run_as)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    done = _run(
        server._cmd("pg_ctl", "-D", str(datadir), "-o", options, "-l", str(root / "log"), "-w", "start"),
        run_as,
    )
    if done.returncode != 0:
        log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
        raise Unavailable(f"pg_ctl start failed: {done.stderr.strip()[-300:]} {log[-500:]}")
    return server
