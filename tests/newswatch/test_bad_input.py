"""Careless input to the real CLI: files that are not what a setting says, bad arguments,
out-of-range values. Each gives exactly one `error:` line and a non-zero exit, never a
traceback, "internal error" or a whole usage block."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).parent / "newswatch")

Case = Callable[[Path], tuple[list[str], dict[str, str]]]


def _config_not_utf8(tmp: Path) -> tuple[list[str], dict[str, str]]:
    (tmp / "home").mkdir()
    (tmp / "home" / "config.toml").write_bytes(b'index = "embedded"\nmail_from = "\xff\xfe"\n')
    return ["feeds", "list"], {}


def _config_is_a_directory(tmp: Path) -> tuple[list[str], dict[str, str]]:
    (tmp / "conf.d").mkdir()
    return ["feeds", "list"], {"NEWSWATCH_CONFIG": str(tmp / "conf.d")}


def _config_invalid_toml(tmp: Path) -> tuple[list[str], dict[str, str]]:
    (tmp / "bad.toml").write_text("index = \n[[[")
    return ["feeds", "list"], {"NEWSWATCH_CONFIG": str(tmp / "bad.toml")}


def _index_path_is_a_directory(tmp: Path) -> tuple[list[str], dict[str, str]]:
    (tmp / "idx").mkdir()
    return ["init"], {"NEWSWATCH_INDEX_PATH": str(tmp / "idx")}


def _home_is_a_file(tmp: Path) -> tuple[list[str], dict[str, str]]:
    (tmp / "home").write_text("not a directory")
    return ["feeds", "list"], {}


def _binary_taxonomy(tmp: Path) -> tuple[list[str], dict[str, str]]:
    (tmp / "tax.yaml").write_bytes(bytes(range(256)) * 4)
    return (["watch", "add", "w", "--topic", "sanctions", "--email", "a@example.org"],
            {"NEWSWATCH_TAXONOMY_PATH": str(tmp / "tax.yaml")})


def _port_out_of_range(tmp: Path) -> tuple[list[str], dict[str, str]]:
    return ["serve"], {"NEWSWATCH_API_PORT": "70000"}


def _malformed_number(tmp: Path) -> tuple[list[str], dict[str, str]]:
    return ["feeds", "list"], {"NEWSWATCH_MAX_REDIRECTS": "five"}


def _unknown_option(tmp: Path) -> tuple[list[str], dict[str, str]]:
    return ["feeds", "list", "--bogus"], {}


def _missing_argument(tmp: Path) -> tuple[list[str], dict[str, str]]:
    return ["show"], {}


def _bad_option_value(tmp: Path) -> tuple[list[str], dict[str, str]]:
    return ["search", "x", "--limit", "many"], {}


def _unknown_command(tmp: Path) -> tuple[list[str], dict[str, str]]:
    return ["frobnicate"], {}


CASES: dict[str, Case] = {f.__name__.lstrip("_"): f for f in (
    _config_not_utf8, _config_is_a_directory, _config_invalid_toml, _index_path_is_a_directory,
    _home_is_a_file, _binary_taxonomy, _port_out_of_range, _malformed_number, _unknown_option,
    _missing_argument, _bad_option_value, _unknown_command,
)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_error_line(tmp_path: Path, case: str) -> None:
    args, extra = CASES[case](tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update({"NEWSWATCH_HOME": str(tmp_path / "home"), **extra})
    if case == "binary_taxonomy":  # a store to add the watch to
        subprocess.run([EXE, "init"], env=env, capture_output=True, check=True, timeout=120)
    done = subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), done.stderr
    for bad in ("Traceback", "internal error", "Usage:"):
        assert bad not in done.stderr + done.stdout, done.stderr
    assert "Serving" not in done.stdout
