"""Runs of the real CLI in a subprocess (``child.py``), with stage marks, for the fault tests:
the environment they share with the test, a run to completion, a run killed mid-way."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings, load_settings

CHILD = Path(__file__).with_name("child.py")
STAGES = ("start", "open", "poll", "fetch", "enrich", "stories", "index", "evaluate", "send",
          "exit")  # as child.py marks them, in order
PUBLIC = "https://news.example.test"
ORPHAN_GRACE = 5.0  # seconds the processes a killed run started get to notice and exit


def fault_env(
    home: Path, database_url: str = "", smtp_port: int = 0, **extra: str
) -> dict[str, str]:
    """The environment of a subprocess run: this one without any ``NEWSWATCH_*`` variable
    of the caller's, plus the test's settings (loopback allowed, no politeness delay; mail
    to the loopback SMTP server on ``smtp_port``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update({
        "NEWSWATCH_HOME": str(home),
        "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8,::1/128",
        "NEWSWATCH_PER_HOST_DELAY": "0",
        "NEWSWATCH_EXTRACT_PROCESSES": "1", "NEWSWATCH_ENRICH_PROCESSES": "1",
        "NEWSWATCH_PUBLIC_URL": PUBLIC,
        "NEWSWATCH_UNSUBSCRIBE_SECRET": "fault-secret",
        **{f"NEWSWATCH_{k.upper()}": v for k, v in extra.items()},
    })
    if database_url:
        env["NEWSWATCH_DATABASE_URL"] = database_url
    if smtp_port:
        env.update(NEWSWATCH_SMTP_HOST="127.0.0.1", NEWSWATCH_SMTP_PORT=str(smtp_port),
                   NEWSWATCH_SMTP_SECURITY="none")
    return env


def settings_of(env: dict[str, str]) -> Settings:
    """The settings a subprocess with ``env`` runs with (for the test's own runtime)."""
    return load_settings(env=env)


@dataclass
class Outcome:
    """How one subprocess run ended."""

    returncode: int
    stdout: str
    stderr: str
    marks: list[tuple[float, str]]
    killed_at: float | None = None  # time.time() of the SIGKILL
    seconds: float = 0.0
    orphans: int = 0  # processes of the run still alive after its main process died

    @property
    def killed_in(self) -> str:
        """The stage the kill landed in: the last one begun before it."""
        if self.killed_at is None:
            return ""
        begun = [stage for at, stage in self.marks if at <= self.killed_at]
        return begun[-1] if begun else "start"

    def stage_started(self, stage: str) -> float | None:
        return next((at for at, s in self.marks if s == stage), None)


def read_marks(path: Path) -> list[tuple[float, str]]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    marks = []
    for line in lines:
        at, _, stage = line.partition(" ")
        if stage:
            marks.append((float(at), stage))
    return marks


class Run:
    """``child.py ARGS`` started in a session of its own, with its marks file."""

    def __init__(
        self, env: dict[str, str], work: Path, *args: str, child_args: tuple[str, ...] = ()
    ) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.marks = work / f"marks-{time.monotonic_ns()}.log"
        self.out, self.err = work / "stdout.log", work / "stderr.log"
        self.began = time.monotonic()
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(CHILD), "--marks", str(self.marks), *child_args, "--", *args],
                env=env, stdout=out, stderr=err, start_new_session=True,
            )
        self.killed_at: float | None = None

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        """A test that failed half-way leaves no run behind."""
        if self.process.poll() is None:
            self.kill()
            self.finish()

    def wait_for(self, stage: str, timeout: float = 120.0) -> bool:
        """Wait until the run begins ``stage``; False when it ended first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(s == stage for _, s in read_marks(self.marks)):
                return True
            if self.process.poll() is not None:
                return any(s == stage for _, s in read_marks(self.marks))
            time.sleep(0.005)
        raise TimeoutError(f"the run did not reach {stage!r} within {timeout:.0f} s")

    def kill(self) -> bool:
        """SIGKILL the run's main process (only it, as the OOM killer or `kill -9` would);
        False when it had already ended."""
        if self.process.poll() is not None:
            return False
        self.killed_at = time.time()
        os.kill(self.process.pid, signal.SIGKILL)
        return True

    def finish(self, timeout: float = 240.0) -> Outcome:
        """Wait for the run to end and for the processes it started (extraction workers, in
        its own session) to follow it; end and count those still there after a grace time."""
        try:
            returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            returncode = self.process.wait(timeout=30)
        deadline = time.monotonic() + ORPHAN_GRACE
        orphans = _session_members(self.process.pid)
        while orphans and time.monotonic() < deadline:
            time.sleep(0.1)
            orphans = _session_members(self.process.pid)
        for pid in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return Outcome(
            returncode=returncode, stdout=self.out.read_text(), stderr=self.err.read_text(),
            marks=read_marks(self.marks), killed_at=self.killed_at,
            seconds=time.monotonic() - self.began, orphans=len(orphans),
        )


def _session_members(sid: int) -> list[int]:
    """Live processes whose session is ``sid`` (the run's own session)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state, ppid, pgrp, session
            members.append(int(entry.name))
    return members


def run_cli(env: dict[str, str], work: Path, *args: str, child_args: tuple[str, ...] = (),
            timeout: float = 240.0) -> Outcome:
    """Run the CLI to completion."""
    return Run(env, work, *args, child_args=child_args).finish(timeout)
