"""The signing key of unsubscribe and feed links: created atomically (a failed write leaves
nothing behind, racing processes agree on one key), a damaged one reported clearly."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from alerts.links import KEY_FILE, secret_for, unsubscribe_url
from core.errors import NewswatchError
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

# A real failed write: the file-size limit is 0 bytes, as on a full disk every write fails.
FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    sys.path[:0] = [{root!r}]
    from pathlib import Path
    from alerts.links import secret_for
    from core.errors import NewswatchError
    from core.settings import Settings
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    try:
        secret_for(Settings(home=Path({home!r})))
    except NewswatchError as exc:
        print(exc)
        sys.exit(3)
""")


def test_a_write_that_fails_leaves_no_key_and_the_next_run_makes_a_whole_one(
    tmp_path: Path,
) -> None:
    done = subprocess.run([sys.executable, "-c", FULL_DISK.format(root=str(ROOT), home=str(tmp_path))],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert "cannot create the signing key" in done.stdout
    assert not (tmp_path / KEY_FILE).exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file left either
    key = secret_for(Settings(home=tmp_path))
    assert len(key) >= 32
    assert (tmp_path / KEY_FILE).read_text() == key
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def _key_of(home: str) -> str:
    return secret_for(Settings(home=Path(home)))


def test_processes_creating_the_key_at_once_all_get_the_same_whole_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(8) as pool:
        keys = pool.map(_key_of, [str(tmp_path)] * 32)
    assert len(set(keys)) == 1 and len(keys[0]) >= 32
    assert (tmp_path / KEY_FILE).read_text() == keys[0]


@pytest.mark.parametrize("content", ["", "   \n", "short", "x" * 40 + "\x00"])
def test_an_empty_or_damaged_key_is_reported_not_used(tmp_path: Path, content: str) -> None:
    (tmp_path / KEY_FILE).write_text(content)
    with pytest.raises(NewswatchError, match="empty or damaged"):
        unsubscribe_url(Settings(home=tmp_path), "w1", "a@example.org")


def test_the_setting_wins_and_no_file_is_made(tmp_path: Path) -> None:
    assert secret_for(Settings(home=tmp_path, unsubscribe_secret="s3cret")) == "s3cret"
    assert not (tmp_path / KEY_FILE).exists()


def test_a_damaged_key_is_one_error_line_from_the_cli(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env["NEWSWATCH_HOME"] = str(tmp_path)
    exe = str(Path(sys.executable).parent / "newswatch")
    subprocess.run([exe, "init"], env=env, capture_output=True, check=True, timeout=120)
    done = subprocess.run([exe, "watch", "add", "w", "--query", "shells", "--email",
                           "a@example.org"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stderr.strip().startswith("error: the signing key"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
