"""The full stack in docker-compose.yml: images, ports, dependencies, health checks, volumes,
and the settings each service gets, checked against what newswatch really reads.

No container runs here: the file is parsed with PyYAML and every value is checked against
the code (core.settings, newswatch.cli), the Dockerfiles, deploy/postgres-init.sql and
docs/operations.md. `docker compose config -q` runs too when a Compose v2 CLI is installed.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml

from core.settings import Settings, load_settings
from newswatch.cli import cli

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
OPERATIONS_DOC = ROOT / "docs" / "operations.md"
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
AIRFLOW_COMPONENTS = {"api-server", "scheduler", "dag-processor", "triggerer"}

Service = dict[str, Any]


# --------------------------------------------------------------------------------------
# Reading the compose file as Compose does (without a .env file: the defaults apply)

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<plain>\w+))"
)


def interpolate(text: str) -> str:
    """``${X:-default}`` → default, ``${X}`` → empty, ``$$`` → ``$``; ``${X:?msg}`` fails."""

    def value(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        op, arg = match["op"], match["arg"]
        if op in (":-", "-"):
            return str(arg)
        if op in (":?", "?"):
            pytest.fail(f"${{{match['braced']}}} must be set to use the stack: {arg}")
        return ""

    return _VARIABLE.sub(value, text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Service]:
    return dict(compose["services"])


def env_names(service: Service) -> set[str]:
    """Every variable the service names, those without a value included."""
    raw = service.get("environment") or {}
    return {str(item).split("=", 1)[0] for item in raw}


def env_of(service: Service) -> dict[str, str]:
    """The variables the service's container gets. One named without a value comes from
    the shell when set there, and is left out otherwise (as here)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    return {str(k): interpolate(str(v)) for k, v in raw.items() if v is not None}


def depends_of(service: Service) -> dict[str, str]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def command_of(service: Service) -> list[str]:
    raw = service.get("command") or []
    return shlex.split(raw) if isinstance(raw, str) else [interpolate(str(a)) for a in raw]


def ports_of(service: Service) -> list[tuple[str, int, int]]:
    """(host address, host port, container port) of each published port."""
    published = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            published.append((str(port.get("host_ip", "")), int(port["published"]),
                              int(port["target"])))
            continue
        parts = str(port).split("/")[0].split(":")
        assert len(parts) == 3, f"{port!r}: give the host address, host port and container port"
        published.append((parts[0], int(parts[1]), int(parts[2])))
    return published


def settings_of(service: Service, home: Path) -> Settings:
    """The settings newswatch builds in this service (its NEWSWATCH_* variables only; the
    image's NEWSWATCH_HOME replaced by ``home``, so no config.toml of this machine is read)."""
    env = {k: v for k, v in env_of(service).items() if k.startswith("NEWSWATCH_")}
    return load_settings(env={**env, "NEWSWATCH_HOME": str(home)})


def is_one_shot(service: Service) -> bool:
    return service.get("restart") == "no"


def reaches(services: Mapping[str, Service], start: str, target: str, condition: str) -> bool:
    """Whether ``start`` waits for ``target`` (directly or through the services it waits
    for), the last step being ``condition``."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        for dep, cond in depends_of(services[name]).items():
            if dep == target and cond == condition:
                return True
            if dep not in seen and dep in services:
                seen.add(dep)
                todo.append(dep)
    return False


def by_image(services: Mapping[str, Service], word: str) -> str:
    """The one service whose (pulled) image name contains ``word``."""
    found = [n for n, s in services.items() if "build" not in s and word in s.get("image", "")]
    assert len(found) == 1, f"expected one service running {word}, found {found}"
    return found[0]


def airflow_services(services: Mapping[str, Service]) -> dict[str, Service]:
    return {n: s for n, s in services.items() if "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in env_of(s)}


def newswatch_services(services: Mapping[str, Service]) -> dict[str, Service]:
    return {n: s for n, s in services.items()
            if any(k.startswith("NEWSWATCH_") for k in env_of(s))}


def init_service(services: Mapping[str, Service], marker: str) -> str:
    found = [n for n, s in services.items() if is_one_shot(s) and marker in " ".join(command_of(s))]
    assert len(found) == 1, f"expected one one-shot service running {marker!r}, found {found}"
    return found[0]


# --------------------------------------------------------------------------------------
# The services and their images


def test_the_stack_has_every_component(services: dict[str, Service]) -> None:
    for word in ("elasticsearch", "kibana", "postgres", "mailpit"):
        by_image(services, word)
    airflow = {command_of(s)[0] for s in airflow_services(services).values()
               if not is_one_shot(s) and command_of(s)}
    assert airflow == AIRFLOW_COMPONENTS
    assert any(command_of(s)[:2] == ["newswatch", "serve"] for s in services.values())
    init_service(services, "newswatch init")
    init_service(services, "newswatch kibana setup")
    init_service(services, "airflow db migrate")


def test_every_image_is_pinned(services: dict[str, Service]) -> None:
    for name, service in services.items():
        image = service.get("image", "")
        assert image, f"{name}: no image name"
        repo, _, tag = image.rpartition(":")
        assert repo and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image}"
        if "build" not in service:  # pulled: a version, not a moving name
            assert re.search(r"\d+\.\d+", tag), f"{name}: {image} is not pinned to a version"


def test_elasticsearch_and_kibana_run_the_version_the_tests_use(services: dict[str, Service]) -> None:
    script = (ROOT / "scripts" / "install-services.sh").read_text(encoding="utf-8")
    match = re.search(r"^ES_VERSION=(\S+)$", script, re.MULTILINE)
    assert match
    for word in ("elasticsearch", "kibana"):
        image = services[by_image(services, word)]["image"]
        assert image.rpartition(":")[2] == match[1], image


def test_airflow_image_is_airflow_3_on_python_3_11(services: dict[str, Service]) -> None:
    bases = {base for s in airflow_services(services).values() for base in from_images(s)}
    assert len(bases) == 1, bases
    assert re.fullmatch(r"apache/airflow:3\.\d+\.\d+-python3\.11", bases.pop())


# --------------------------------------------------------------------------------------
# Dependencies, health checks, volumes, ports


def test_dependencies_exist_with_valid_conditions_and_no_cycle(services: dict[str, Service]) -> None:
    for name, service in services.items():
        for dep, condition in depends_of(service).items():
            assert dep in services, f"{name} depends on a service that does not exist: {dep}"
            assert condition in CONDITIONS, f"{name} -> {dep}: {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy"
            if condition == "service_completed_successfully":
                assert is_one_shot(services[dep]), f"{name} waits for {dep} to finish"
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", f"dependency cycle: {' -> '.join([*path, name])}"
        state[name] = "open"
        for dep in depends_of(services[name]):
            visit(dep, [*path, name])
        state[name] = "done"

    for name in services:
        visit(name, [])


def test_services_wait_for_the_database_and_the_index_to_be_healthy(
    services: dict[str, Service],
) -> None:
    for name, service in services.items():
        env = env_of(service)
        for var in ("NEWSWATCH_DATABASE_URL", "NEWSWATCH_ES_URL", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
            if var in env:
                host = urlsplit(env[var]).hostname
                assert host in services, f"{name}: {var} names no service: {env[var]}"
                assert reaches(services, name, host, "service_healthy"), (
                    f"{name} uses {host} ({var}) without waiting for it to be healthy")


def test_services_wait_for_their_init_jobs(services: dict[str, Service]) -> None:
    newswatch_init = init_service(services, "newswatch init")
    airflow_init = init_service(services, "airflow db migrate")
    for name in newswatch_services(services):
        if name != newswatch_init:  # migrations must not race the init job's
            assert reaches(services, name, newswatch_init, "service_completed_successfully"), name
    for name in airflow_services(services):
        if name != airflow_init:
            assert reaches(services, name, airflow_init, "service_completed_successfully"), name
    kibana = by_image(services, "kibana")
    kibana_setup = init_service(services, "newswatch kibana setup")
    assert depends_of(services[kibana_setup]).get(kibana) == "service_healthy"


def test_long_running_services_have_health_checks(services: dict[str, Service]) -> None:
    for name, service in services.items():
        if is_one_shot(service):
            assert not service.get("ports"), f"{name}: a one-shot job publishes no port"
            continue
        assert service.get("restart") in {"always", "unless-stopped", "on-failure"}, name
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name}: no health check"
        assert check["test"] != ["NONE"], name
        assert {"interval", "timeout", "retries"} <= set(check), f"{name}: {check}"


def test_scheduler_health_check_server_is_on(services: dict[str, Service]) -> None:
    for name, service in airflow_services(services).items():
        if "8974" in str(service.get("healthcheck", {}).get("test")):
            assert env_of(service).get("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK") == "true", name


def test_volumes_are_named_and_declared_and_bind_mounts_exist(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in compose["services"].items():
        for volume in service.get("volumes") or []:
            source = volume["source"] if isinstance(volume, dict) else str(volume).split(":")[0]
            if source.startswith((".", "/", "~")):
                assert (ROOT / source).exists(), f"{name} mounts a missing file: {source}"
            else:
                assert source in declared, f"{name} uses an undeclared volume: {source}"
                used.add(source)
    assert used == declared, f"declared but unused: {declared - used}"
    for word in ("postgres", "elasticsearch"):  # the data that matters survives `down`
        service = compose["services"][by_image(compose["services"], word)]
        assert any(not str(v).startswith((".", "/")) for v in service["volumes"]), word


def test_ports_are_published_on_loopback_only_and_do_not_clash(services: dict[str, Service]) -> None:
    seen: dict[int, str] = {}
    for name, service in services.items():
        for address, host_port, _ in ports_of(service):
            assert address == "127.0.0.1", (
                f"{name}: port {host_port} open to the network (security is disabled)")
            assert host_port not in seen, f"{name} and {seen[host_port]} publish {host_port}"
            seen[host_port] = name


def test_each_user_facing_service_is_reachable_on_its_port(
    services: dict[str, Service], tmp_path: Path
) -> None:
    def container_ports(name: str) -> set[int]:
        return {target for _, _, target in ports_of(services[name])}

    assert 9200 in container_ports(by_image(services, "elasticsearch"))
    assert 5601 in container_ports(by_image(services, "kibana"))
    assert {8025, 1025} <= container_ports(by_image(services, "mailpit"))
    apiserver = next(n for n, s in airflow_services(services).items()
                     if command_of(s)[:1] == ["api-server"])
    assert 8080 in container_ports(apiserver)
    api = next(n for n, s in services.items() if command_of(s)[:2] == ["newswatch", "serve"])
    settings = settings_of(services[api], tmp_path)
    assert settings.api_host == "0.0.0.0", "inside a container the API must not listen on loopback"
    assert settings.api_port in container_ports(api)
    assert f":{settings.api_port}/health" in str(services[api]["healthcheck"]["test"])


def test_the_operations_guide_names_the_published_ports(services: dict[str, Service]) -> None:
    published = {host for s in services.values() for _, host, _ in ports_of(s)}
    documented = {int(p) for p in re.findall(r"localhost:(\d+)", OPERATIONS_DOC.read_text())}
    assert documented, "docs/operations.md names no URL"
    assert documented <= published, f"documented but not published: {documented - published}"
    web = {8000, 8080, 5601, 8025} & published
    assert web <= documented, f"published but not in docs/operations.md: {web - documented}"


# --------------------------------------------------------------------------------------
# newswatch's settings and commands


class _RecordingEnv(dict[str, str]):
    """An environment that remembers every name it is asked for."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


@pytest.fixture(scope="module")
def setting_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every NEWSWATCH_* name load_settings reads, found by watching it read."""
    env = _RecordingEnv({"NEWSWATCH_HOME": str(tmp_path_factory.mktemp("home"))})
    load_settings(env=env)
    names = {n for n in env.asked if n.startswith("NEWSWATCH_")}
    assert "NEWSWATCH_HOME" in names and len(names) > 10, names
    return names


def test_every_newswatch_variable_is_a_real_setting(
    services: dict[str, Service], setting_names: set[str]
) -> None:
    for name, service in services.items():
        unknown = sorted(k for k in env_names(service) if k.startswith("NEWSWATCH_")
                         and k not in setting_names)
        assert unknown == [], f"{name} sets variables newswatch never reads: {unknown}"


def _postgres_init() -> tuple[dict[str, str], dict[str, str]]:
    """Roles (name → password) and databases (name → owner) of deploy/postgres-init.sql."""
    sql = (ROOT / "deploy" / "postgres-init.sql").read_text(encoding="utf-8")
    sql = re.sub(r"--[^\n]*", "", sql)
    roles = dict(re.findall(r"CREATE ROLE (\w+) [^;]*PASSWORD '([^']*)'", sql, re.IGNORECASE))
    dbs = dict(re.findall(r"CREATE DATABASE (\w+) OWNER (\w+)", sql, re.IGNORECASE))
    return roles, dbs


def test_newswatch_services_point_at_the_stack(services: dict[str, Service], tmp_path: Path) -> None:
    postgres, es = by_image(services, "postgres"), by_image(services, "elasticsearch")
    mailpit, kibana = by_image(services, "mailpit"), by_image(services, "kibana")
    roles, dbs = _postgres_init()
    init_mounted = any("docker-entrypoint-initdb.d" in str(v) and "postgres-init.sql" in str(v)
                       for v in services[postgres].get("volumes", []))
    assert init_mounted, "deploy/postgres-init.sql is not given to the postgres image"
    api = next(n for n, s in services.items() if command_of(s)[:2] == ["newswatch", "serve"])
    api_host_port = next(host for _, host, _ in ports_of(services[api]))
    chosen = newswatch_services(services)
    assert len(chosen) >= 4, chosen  # init, kibana setup, API, and Airflow's components
    for name, service in chosen.items():
        settings = settings_of(service, tmp_path)  # the values parse (ConfigError otherwise)
        db = urlsplit(settings.database_url)
        assert (db.scheme, db.hostname, db.port or 5432) == ("postgresql", postgres, 5432), name
        assert db.path.lstrip("/") in dbs and dbs[db.path.lstrip("/")] == db.username, name
        assert roles.get(db.username or "") == db.password, f"{name}: wrong password for {db.username}"
        assert settings.index == "elasticsearch", name
        es_url = urlsplit(settings.es_url)
        assert (es_url.hostname, es_url.port) == (es, 9200), name
        assert (settings.smtp_host, settings.smtp_port) == (mailpit, 1025), name
        assert settings.smtp_security == "none", f"{name}: Mailpit offers no TLS"
        assert urlsplit(settings.public_url).port == api_host_port, name
        assert urlsplit(settings.kibana_url).hostname == kibana, name
        assert settings.api_key and settings.unsubscribe_secret, name
    setup = init_service(services, "newswatch kibana setup")
    url = command_of(services[setup])[command_of(services[setup]).index("--url") + 1]
    assert (urlsplit(url).hostname, urlsplit(url).port) == (kibana, 5601)


def _click_command(args: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = cli
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        assert sub is not None, f"`newswatch {' '.join(args)}`: no command {rest[0]!r}"
        command, rest = sub, rest[1:]
    return command, rest


def test_newswatch_commands_exist(services: dict[str, Service]) -> None:
    for name, service in services.items():
        args = command_of(service)
        if args[:1] != ["newswatch"]:
            continue
        command, rest = _click_command(args[1:])
        assert not isinstance(command, click.Group), f"{name}: `{' '.join(args)}` is a group"
        options = {opt for p in command.params for opt in p.opts}
        for arg in rest:
            if arg.startswith("-"):
                assert arg.split("=")[0] in options, f"{name}: {arg} is not an option of {args}"


# --------------------------------------------------------------------------------------
# Airflow's settings


def test_airflow_components_share_one_configuration(services: dict[str, Service]) -> None:
    postgres = by_image(services, "postgres")
    pg_env = env_of(services[postgres])
    chosen = airflow_services(services)
    assert {command_of(s)[0] for s in chosen.values() if not is_one_shot(s)} == AIRFLOW_COMPONENTS
    apiserver = next(n for n, s in chosen.items() if command_of(s)[:1] == ["api-server"])
    shared = {"AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY",
              "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
              "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__CORE__AUTH_MANAGER"}
    first = env_of(next(iter(chosen.values())))
    for name, service in chosen.items():
        env = env_of(service)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        for key in shared:  # tokens signed by one component are checked by another
            assert key in env and env[key] == first[key], f"{name}: {key} differs or is missing"
        conn = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert conn.scheme.startswith("postgresql") and conn.hostname == postgres, name
        assert (conn.username, conn.password, conn.path.lstrip("/")) == (
            pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"], pg_env["POSTGRES_DB"]), name
        execution = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert (execution.hostname, execution.port, execution.path) == (
            apiserver, 8080, "/execution/"), name
    assert len(first["AIRFLOW__API_AUTH__JWT_SECRET"]) >= 32, "HMAC keys need 32 bytes"


def test_airflow_variables_are_real_options(services: dict[str, Service]) -> None:
    spec = importlib.util.find_spec("airflow")
    locations = list(spec.submodule_search_locations or []) if spec else []
    config = next((Path(p) / "config_templates" / "config.yml" for p in locations
                   if (Path(p) / "config_templates" / "config.yml").is_file()), None)
    if config is None:
        pytest.skip("apache-airflow is not installed here: its options cannot be listed")
    sections = yaml.safe_load(config.read_text(encoding="utf-8"))
    for name, service in services.items():
        for key in env_names(service):
            if not key.startswith("AIRFLOW__"):
                continue
            section, _, option = key.removeprefix("AIRFLOW__").lower().partition("__")
            options = (sections.get(section) or {}).get("options") or {}
            assert option in options, f"{name}: {key} is not an Airflow option ([{section}])"


# --------------------------------------------------------------------------------------
# Dockerfiles


def _instructions(dockerfile: Path) -> Iterator[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            yield keyword.upper(), rest.strip()


def _build(service: Service) -> tuple[Path, Path]:
    build = service["build"]
    build = {"context": build} if isinstance(build, str) else build
    context = ROOT / build.get("context", ".")
    return context, context / build.get("dockerfile", "Dockerfile")


def from_images(service: Service) -> list[str]:
    if "build" not in service:
        return []
    _, dockerfile = _build(service)
    return [rest.split()[0] for kw, rest in _instructions(dockerfile) if kw == "FROM"]


def _ignored(path: str, patterns: list[str]) -> bool:
    """The subset of .dockerignore these files use: last match wins, ``!`` re-includes, a
    pattern matching a parent folder matches its contents, ``**/NAME`` matches anywhere."""
    parts = path.strip("/").split("/")
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatchcase(p, pattern[3:]) for p in parts)
        else:
            hit = any(fnmatch.fnmatchcase("/".join(parts[:i]), pattern)
                      for i in range(1, len(parts) + 1))
        if hit:
            result = not negate
    return result


def test_dockerfiles_exist_and_copy_only_what_exists(services: dict[str, Service]) -> None:
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
                 ["optional-dependencies"])
    built = [s for s in services.values() if "build" in s]
    assert built, "no image is built from this repository"
    for service in built:
        context, dockerfile = _build(service)
        assert dockerfile.is_file(), dockerfile
        ignore_file = dockerfile.with_name(dockerfile.name + ".dockerignore")
        if not ignore_file.is_file():
            ignore_file = context / ".dockerignore"
        patterns = [line.strip() for line in ignore_file.read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
        for heavy in (".venv", "build", ".git"):  # the build context stays small
            assert _ignored(heavy, patterns), f"{ignore_file.name} lets {heavy}/ into the context"
        steps = list(_instructions(dockerfile))
        for keyword, rest in steps:
            if keyword == "FROM":
                image = rest.split()[0]
                assert ":" in image and not image.endswith(":latest"), f"{dockerfile}: {image}"
            if keyword in ("COPY", "ADD") and "--from=" not in rest:
                sources = [a for a in shlex.split(rest) if not a.startswith("--")][:-1]
                for source in sources:
                    assert (context / source).exists(), f"{dockerfile.name}: COPY {source} is missing"
                    assert not _ignored(source, patterns), (
                        f"{dockerfile.name}: COPY {source} is excluded by {ignore_file.name}")
            if keyword == "RUN" and "pip install" in rest:
                for group in re.findall(r"[\w./-]+\[([\w,-]+)\]", rest):
                    assert set(group.split(",")) <= extras, f"{dockerfile.name}: [{group}]"


def test_images_install_what_their_services_run(services: dict[str, Service]) -> None:
    airflow = airflow_services(services)
    for name, service in services.items():
        if "build" not in service:
            continue
        _, dockerfile = _build(service)
        installs = " ".join(rest for kw, rest in _instructions(dockerfile) if kw == "RUN")
        if command_of(service)[:2] == ["newswatch", "serve"]:
            assert re.search(r"\[[\w,]*\bapi\b", installs), f"{name}: the api extra is missing"
        if name in airflow:  # tasks run the whole pipeline
            for extra in ("postgres", "es", "nlp"):
                assert re.search(rf"\[[\w,]*\b{extra}\b", installs), f"{name}: extra {extra}"


# --------------------------------------------------------------------------------------
# Compose's own validation, when a Compose v2 CLI is installed


def test_docker_compose_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed")
    try:
        version = subprocess.run([docker, "compose", "version"], capture_output=True,
                                 text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"`docker compose version` failed: {exc}")
    if version.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
