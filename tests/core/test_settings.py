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


@pytest.mark.parametrize("name", ["NEWSWATCH_API_READ_REQUIRES_KEY", "NEWSWATCH_ES_VERIFY_CERTS"])
@pytest.mark.parametrize("word", ["maybe", "enable", "2", "t"])
def test_an_unknown_yes_no_value_is_an_error_never_off(name: str, word: str) -> None:
    with pytest.raises(ConfigError, match=name.removeprefix("NEWSWATCH_").lower()):
        load_settings(env={name: word})


@pytest.mark.parametrize(("word", "expected"), [("1", True), ("YES", True), ("on", True),
                                                ("0", False), ("off", False), ("False", False),
                                                ("", True)])
def test_yes_no_words_and_empty_meaning_the_default(word: str, expected: bool) -> None:
    assert load_settings(env={"NEWSWATCH_ES_VERIFY_CERTS": word}).es_verify_certs is expected


def test_a_toml_boolean_is_taken_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("api_read_requires_key = true\n")
    assert load_settings(env={"NEWSWATCH_HOME": str(tmp_path)}).api_read_requires_key is True


@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("CONNECT_TIMEOUT", "-1", "above 0"),
    ("TOTAL_TIMEOUT", "0", "above 0"),
    ("READ_TIMEOUT", "nan", "finite"),
    ("SMTP_TIMEOUT", "inf", "finite"),
    ("FETCH_CONCURRENCY", "0", "from 1 to 1024"),
    ("PER_HOST_CONCURRENCY", "-3", "from 1 to 1024"),
    ("PER_HOST_DELAY", "-0.5", "from 0 to 3600"),
    ("API_PORT", "70000", "port from 1 to 65535"),
    ("MAX_RESPONSE_BYTES", "0", "above 0"),
    ("STORY_THRESHOLD", "1.5", "from 0 to 1"),
    ("UNHEALTHY_AFTER", "0", "1 or more"),
])
def test_numbers_out_of_range_name_the_setting_the_value_and_what_is_allowed(
    key: str, value: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={f"NEWSWATCH_{key}": value})
    message = str(caught.value)
    assert key.lower() in message and allowed in message
    assert value.lstrip("-") in message or value in ("nan", "inf")


@pytest.mark.parametrize("key", ["MAIL_FROM", "USER_AGENT", "CONTACT_URL"])
def test_line_breaks_in_text_settings_are_refused(key: str) -> None:
    with pytest.raises(ConfigError, match="control character"):
        load_settings(env={f"NEWSWATCH_{key}": "newswatch@example.org\r\nBcc: everyone@example.org"})


def test_feed_interval_bounds_must_be_in_order() -> None:
    with pytest.raises(ConfigError, match="minimum must not exceed"):
        load_settings(env={"NEWSWATCH_MIN_FEED_INTERVAL": "7200", "NEWSWATCH_MAX_FEED_INTERVAL": "60"})


def test_the_defaults_pass_every_check() -> None:
    load_settings(env={})


def test_the_data_directory_does_not_depend_on_the_current_folder(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    user = load_settings(env={"HOME": "/home/ana"}).home
    assert user == Path("/home/ana/.local/share/newswatch")
    xdg = load_settings(env={"HOME": "/home/ana", "XDG_DATA_HOME": "/data/ana"}).home
    assert xdg == Path("/data/ana/newswatch")
    relative = load_settings(env={"HOME": "/home/ana", "XDG_DATA_HOME": "rel"}).home
    assert relative == user  # the XDG rule: a relative XDG_DATA_HOME is ignored
    assert load_settings(env={"NEWSWATCH_HOME": str(tmp_path / "x")}).home == tmp_path / "x"
    assert load_settings(env={"NEWSWATCH_HOME": "", "HOME": "/home/ana"}).home == user
    assert load_settings(env={"NEWSWATCH_HOME": "~/news", "HOME": "/home/ana"}).home.name == "news"


def test_the_config_file_is_read_from_the_default_data_directory(tmp_path: Path) -> None:
    home = tmp_path / "share" / "newswatch"
    home.mkdir(parents=True)
    (home / "config.toml").write_text("max_redirects = 2\n")
    settings = load_settings(env={"XDG_DATA_HOME": str(tmp_path / "share")})
    assert settings.home == home and settings.max_redirects == 2


def test_an_old_data_directory_in_the_current_folder_is_pointed_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import legacy_home_notice

    monkeypatch.chdir(tmp_path)
    env = {"HOME": str(tmp_path / "user")}
    settings = load_settings(env=env)
    assert legacy_home_notice(settings, env) == ""
    (tmp_path / ".newswatch").mkdir()
    (tmp_path / ".newswatch" / "newswatch.sqlite").write_bytes(b"")
    notice = legacy_home_notice(settings, env)
    assert str(settings.home) in notice and f"NEWSWATCH_HOME={tmp_path / '.newswatch'}" in notice
    assert legacy_home_notice(settings, {**env, "NEWSWATCH_HOME": str(tmp_path)}) == ""
    settings.home.mkdir(parents=True)
    (settings.home / "newswatch.sqlite").write_bytes(b"")
    assert legacy_home_notice(settings, env) == ""  # both hold data: the user chose already
