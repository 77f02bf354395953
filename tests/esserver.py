"""Start a throwaway Elasticsearch (the official integ-test distribution) on a free loopback port.

The distribution comes from Maven Central through ``mvn dependency:copy`` and is cached in
``build/es/`` under the repository root, so only the first run downloads it (~97 MB). It ships
no JDK: the machine's Java 17+ runs it (``ES_JAVA_HOME``, else ``JAVA_HOME``, else ``java`` on
the PATH). Elasticsearch refuses to run as root; as root the server runs as the system user
``newswatch-es`` (created when missing). Each session gets its own config, data, logs and temp
folders, removed by :meth:`EsServer.stop`.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from core.settings import Settings, load_settings

ES_VERSION = "8.19.7"
ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "es"
ES_USER = "newswatch-es"
START_TIMEOUT = 120.0
HEAP = "-Xms512m -Xmx512m -XX:-UsePerfData"  # no /tmp/hsperfdata_* left behind


class Unavailable(Exception):
    """Elasticsearch cannot be had or started here; the message says why."""


@dataclass
class EsServer:
    url: str
    process: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    seconds_to_start: float = 0.0
    run_as: str = field(default_factory=lambda: pwd.getpwuid(os.geteuid()).pw_name)
    log: Path | None = field(default=None, repr=False)
    relaunch: Callable[[], EsServer] | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the server we started (its process group) and remove its folders."""
        self.halt()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        with contextlib.suppress(OSError):  # left by the JVM's version check; only if empty
            os.rmdir(f"/tmp/hsperfdata_{self.run_as}")

    def restart(self) -> None:
        """Stop the server (if it runs) and start it again on the same port and data folder:
        what was indexed before is still there."""
        if self.relaunch is None:
            raise Unavailable("this server was not started here; it cannot be restarted")
        self.halt()
        again = self.relaunch()
        self.process, self.seconds_to_start = again.process, again.seconds_to_start

    def halt(self) -> None:
        """Stop the server's process group (SIGTERM: a clean shutdown), keeping its data."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def settings_for(es_url: str, home: Path) -> Settings:
    """Settings for the elasticsearch backend with an index prefix of its own."""
    return load_settings(
        env={
            "NEWSWATCH_HOME": str(home),
            "NEWSWATCH_INDEX": "elasticsearch",
            "NEWSWATCH_ES_URL": es_url,
            "NEWSWATCH_ES_INDEX_PREFIX": f"nwtest-{uuid.uuid4().hex[:10]}",
        }
    )


def drop_indices(settings: Settings) -> None:
    """Delete the indices and templates of ``settings``' prefix."""
    from search.elastic import ElasticIndex

    with ElasticIndex(settings, ensure_schema=False) as index:
        index.drop()


def healthy(url: str, wait: str = "1s") -> bool:
    """Whether the cluster at ``url`` answers and is at least yellow."""
    try:
        r = httpx.get(
            f"{url}/_cluster/health",
            params={"wait_for_status": "yellow", "timeout": wait},
            timeout=10,
        )
    except httpx.HTTPError:
        return False
    return r.status_code == 200 and r.json().get("status") in {"yellow", "green"}


def start() -> EsServer:
    """Fetch (once), unpack (once) and start a single-node server; raises Unavailable."""
    java_home = _java_home()
    home = _distribution()
    run_as = _unprivileged_user() if os.geteuid() == 0 else None
    work = Path(tempfile.mkdtemp(prefix="newswatch-es-"))
    try:
        return _launch(home, java_home, work, run_as)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _launch(
    home: Path, java_home: Path, work: Path, run_as: str | None,
    ports: tuple[int, int] | None = None,
) -> EsServer:
    """Start the server in ``work``; with ``ports`` (http, transport), again in a ``work``
    it ran in before: same config, data and ports."""
    config, data, logs, tmp = (work / n for n in ("config", "data", "logs", "tmp"))
    if ports is None:
        shutil.copytree(home / "config", config)  # the server writes its keystore here
        for folder in (data, logs, tmp):
            folder.mkdir()
    if run_as and ports is None:
        pw = pwd.getpwnam(run_as)
        for path in [work, *work.rglob("*")]:
            os.chown(path, pw.pw_uid, pw.pw_gid)
        if not _readable_by(run_as, home):  # e.g. a repository under a private home folder
            shutil.copytree(home, work / "dist", ignore=shutil.ignore_patterns("config"))
            home = work / "dist"
            for path in [home, *home.rglob("*")]:
                os.chown(path, pw.pw_uid, pw.pw_gid)
    if ports is None:
        http_port = _free_port()
        transport_port = _free_port()
        while transport_port == http_port:
            transport_port = _free_port()
    else:
        http_port, transport_port = ports
    dist = home
    settings = {
        "discovery.type": "single-node",
        "xpack.security.enabled": "false",
        "network.host": "127.0.0.1",
        "http.port": str(http_port),
        "transport.port": str(transport_port),
        "path.data": str(data),
        "path.logs": str(logs),
        "cluster.routing.allocation.disk.threshold_enabled": "false",
        "cluster.name": f"newswatch-test-{http_port}",
    }
    cmd = [str(home / "bin" / "elasticsearch")]
    for key, value in settings.items():
        cmd += ["-E", f"{key}={value}"]
    if run_as:
        cmd = ["runuser", "-u", run_as, "--", *cmd]
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "ES_JAVA_OPTS", "CLI_JAVA_OPTS"}
    }
    env.update(
        ES_JAVA_HOME=str(java_home),
        ES_PATH_CONF=str(config),
        ES_TMPDIR=str(tmp),
        ES_JAVA_OPTS=HEAP,
        CLI_JAVA_OPTS="-XX:-UsePerfData",  # the launcher's own JVM
    )
    env.pop("JAVA_HOME", None)  # ES warns that it ignores it
    out = work / "console.log"
    began = time.monotonic()
    with out.open("ab") as console:  # appended to when the server is restarted
        process = subprocess.Popen(
            cmd, stdout=console, stderr=subprocess.STDOUT, env=env, cwd=work,
            start_new_session=True,  # its own process group: stop() ends exactly this tree
        )
    url = f"http://127.0.0.1:{http_port}"
    server = EsServer(url, process, work, log=out)
    server.relaunch = functools.partial(
        _launch, dist, java_home, work, run_as, (http_port, transport_port)
    )
    if run_as:
        server.run_as = run_as
    deadline = began + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = _tail(out, logs)
            server.stop()
            raise Unavailable(f"Elasticsearch exited with status {process.returncode}: {tail}")
        if healthy(url):
            server.seconds_to_start = time.monotonic() - began
            return server
        time.sleep(0.5)
    tail = _tail(out, logs)
    server.stop()
    raise Unavailable(f"Elasticsearch did not become healthy within {START_TIMEOUT:.0f} s: {tail}")


def _distribution() -> Path:
    """``build/es/elasticsearch-VERSION``, downloaded with Maven and unpacked when missing."""
    home = CACHE / f"elasticsearch-{ES_VERSION}"
    if (home / "bin" / "elasticsearch").is_file():
        return home
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:  # two sessions at once: one downloads
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (home / "bin" / "elasticsearch").is_file():
            return home
        archive = CACHE / f"elasticsearch-{ES_VERSION}.zip"
        if not archive.is_file():
            _download(archive)
        staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=CACHE))
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(staging)
                modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
            for name, mode in modes.items():  # zipfile drops the permission bits
                if mode:
                    (staging / name).chmod(mode & 0o7777)
            (staging / home.name).rename(home)
        except (OSError, zipfile.BadZipFile) as exc:
            raise Unavailable(f"cannot unpack {archive}: {exc}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return home


def _download(archive: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Unavailable(
            f"Maven (mvn) is not installed and {archive} is not cached; install Maven or set "
            "NEWSWATCH_ES_URL to a running Elasticsearch 8"
        )
    command = [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={ARTIFACT}",
               f"-DoutputDirectory={archive.parent}"]  # fmt: skip
    try:  # within pytest-timeout's 300 s, with the server's start after it
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=150, cwd=archive.parent
        )
    except subprocess.TimeoutExpired:
        raise Unavailable(
            f"downloading the distribution took over 150 s; fetch it once by hand: "
            f"{' '.join(command)}"
        ) from None
    if done.returncode != 0 or not archive.is_file():
        output = " ".join((done.stdout + done.stderr).split())[-500:]
        raise Unavailable(f"mvn dependency:copy of {ARTIFACT} failed: {output}")


def _java_home() -> Path:
    candidates = [os.environ.get("ES_JAVA_HOME"), os.environ.get("JAVA_HOME")]
    java = shutil.which("java")
    if java:
        candidates.append(str(Path(java).resolve().parent.parent))
    for candidate in candidates:
        if not candidate:
            continue
        binary = Path(candidate) / "bin" / "java"
        if not binary.is_file():
            continue
        done = subprocess.run(
            [str(binary), "-XX:-UsePerfData", "-version"], capture_output=True, text=True,
            timeout=60,
        )
        m = re.search(r'version "(\d+)', done.stderr + done.stdout)
        if m and int(m.group(1)) >= 17:
            return Path(candidate)
    raise Unavailable(
        "no Java 17 or newer found (the integ-test distribution bundles no JDK); "
        "install openjdk-17-jre-headless or set ES_JAVA_HOME"
    )


def _unprivileged_user() -> str:
    try:
        pwd.getpwnam(ES_USER)
    except KeyError:
        done = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
            capture_output=True, text=True, timeout=60,
        )
        if done.returncode != 0 and "already exists" not in done.stderr:
            raise Unavailable(
                f"running as root (Elasticsearch refuses root) and cannot create the user "
                f"{ES_USER}: {done.stderr.strip()}"
            ) from None
    if shutil.which("runuser") is None:
        raise Unavailable("running as root (Elasticsearch refuses root) and runuser is missing")
    return ES_USER


def _readable_by(user: str, home: Path) -> bool:
    check = home / "lib"
    done = subprocess.run(
        ["runuser", "-u", user, "--", "test", "-r", str(check), "-a", "-x", str(check)],
        capture_output=True, timeout=30,
    )
    return done.returncode == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(console: Path, logs: Path) -> str:
    texts = []
    for path in [console, *sorted(logs.glob("*.log"))]:
        with contextlib.suppress(OSError):
            texts.append(path.read_text(errors="replace")[-1500:])
    lines = [line for text in texts for line in text.splitlines() if line.strip()]
    important = [
        line for line in lines if re.search(r"ERROR|Exception|error:|FATAL", line)
    ] or lines
    return " | ".join(important[-5:])[-800:] or "(no log output)"
