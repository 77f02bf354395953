from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import load_settings


def test_defaults_use_a_sqlite_file_in_the_data_directory(tmp_path: Path) -> None:
    s = load_settings(env={"NEWSWATCH_HOME": str(tmp_path)})
    assert s.home == tmp_path
    assert s.resolved_database_url == f"sqlite:///{(tmp_path / 'newswatch.sqlite').resolve()}"
    assert s.index == "embedded"
    assert s.allowed_private_networks == ()


def test_environment_overrides_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        'index = "embedded"\nmax_redirects = 3\nallowed_private_networks = ["10.0.0.0/8"]\n'
    )
    s = load_settings(env={"NEWSWATCH_HOME": str(tmp_path), "NEWSWATCH_MAX_REDIRECTS": "7"})
    assert s.max_redirects == 7
    assert s.allowed_private_networks == (ipaddress.ip_network("10.0.0.0/8"),)
    assert s.config_file == tmp_path / "config.toml"


def test_allowed_networks_from_environment() -> None:
    s = load_settings(env={"NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8, ::1/128"})
    assert [str(n) for n in s.allowed_private_networks] == ["127.0.0.0/8", "::1/128"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEWSWATCH_INDEX": "solr"}, "not one of"),
        ({"NEWSWATCH_MAX_REDIRECTS": "many"}, "max_redirects"),
        ({"NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "not-a-net"}, "CIDR"),
        ({"NEWSWATCH_CONFIG": "/nonexistent/newswatch.toml"}, "does not exist"),
    ],
)
def test_invalid_settings_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def test_unknown_keys_in_config_file_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("indx = 'embedded'\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(env={"NEWSWATCH_CONFIG": str(path)})


def test_settings_are_frozen() -> None:
    s = load_settings(env={})
    with pytest.raises(AttributeError):
        s.index = "elasticsearch"  # type: ignore[misc]
