"""Index names, versioned templates (``search/templates/KIND-vN.json``), aliases and
migrations (new index, copy, atomic alias flip): see ``docs/elasticsearch.md``."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elasticsearch import (
    ApiError,
)
from elasticsearch.helpers import scan

from core.errors import ConfigError, NewswatchError
from search.elastic_client import ElasticClient, error_type

KINDS = ("articles", "stories")


TEMPLATES_DIR = Path(__file__).parent / "templates"


_TEMPLATE_FILE = re.compile(r"^(?P<kind>[a-z]+)-v(?P<version>\d+)\.json$")


@dataclass(frozen=True)
class MigrationStep:
    """What :meth:`ElasticIndex.migrate` did for one kind of document."""

    kind: str
    alias: str
    old_index: str
    new_index: str
    documents: int
    status: str  # "migrated" | "current" (already at the target version)
    method: str = ""  # "_reindex" | "scan+bulk" (servers without the reindex module)


class IndexLayout(ElasticClient):
    """The indices of one prefix: names, templates, aliases, migrations."""

    prefix: str
    templates_dir: Path

    def alias(self, kind: str) -> str:
        """The alias every read and write of ``kind`` goes through."""
        return f"{self.prefix}-{kind}"

    def index_name(self, kind: str, version: int) -> str:
        return f"{self.prefix}-{kind}-v{version}"

    def template_versions(self, kind: str) -> list[int]:
        """Mapping versions shipped as ``KIND-vN.json`` files, ascending."""
        versions = []
        for path in self.templates_dir.glob(f"{kind}-v*.json"):
            m = _TEMPLATE_FILE.match(path.name)
            if m and m["kind"] == kind:
                versions.append(int(m["version"]))
        return sorted(versions)

    def template_body(self, kind: str, version: int) -> dict[str, Any]:
        """The composable template for ``PREFIX-KIND-vN`` (index pattern filled in)."""
        path = self.templates_dir / f"{kind}-v{version}.json"
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"there is no index template {path}") from None
        body: dict[str, Any] = json.loads(raw)
        body["index_patterns"] = [self.index_name(kind, version)]
        meta = dict(body.get("_meta") or {})
        meta["checksum"] = hashlib.sha256(raw.encode()).hexdigest()[:16]
        body["_meta"] = meta
        return body

    def current_version(self, kind: str) -> int | None:
        """The mapping version the alias points at; ``None`` when there is no alias yet."""
        with self._errors():
            return self._current(kind)[1]

    def migrate(
        self, target_version: int, kinds: Sequence[str] = KINDS, *, delete_old: bool = False
    ) -> list[MigrationStep]:
        """Move each kind to mapping ``target_version``: create ``PREFIX-KIND-vN`` from its
        template, copy every document into it, then flip the alias in one atomic request.

        Copies with the ``_reindex`` API, or with scroll + bulk on servers without the reindex
        module. Writes made to the alias while a copy runs are not in the new index: pause
        ``newswatch run`` during a migration. The old index is kept unless ``delete_old``.
        """
        for kind in kinds:
            if kind not in KINDS:
                raise ConfigError(f"unknown index kind {kind!r}; known: {', '.join(KINDS)}")
        steps = []
        with self._errors():
            self.ensure_schema()
            for kind in kinds:
                steps.append(self._migrate_kind(kind, target_version, delete_old))
        return steps

    def drop(self) -> None:
        """Delete every index and template of this prefix (tests; irreversible)."""
        with self._errors():
            for kind in KINDS:
                pattern = f"{self.prefix}-{kind}-v*"
                own = re.compile(re.escape(pattern[:-1]) + r"\d+")
                found = self.client.options(ignore_status=404).indices.get(index=pattern)
                for name in sorted(n for n in found if own.fullmatch(n)):
                    self.client.indices.delete(index=name)
                templates = self.client.options(ignore_status=404).indices.get_index_template(
                    name=pattern
                )
                for item in templates.get("index_templates", []):
                    if own.fullmatch(item["name"]):
                        self.client.indices.delete_index_template(name=item["name"])

    def _current(self, kind: str) -> tuple[str | None, int | None]:
        alias = self.alias(kind)
        found = self.client.options(ignore_status=404).indices.get_alias(name=alias)
        names = sorted(
            n for n, v in found.items() if isinstance(v, dict) and alias in (v.get("aliases") or {})
        )
        if not names:
            return None, None
        if len(names) > 1:
            raise NewswatchError(
                f"alias {alias} points at {len(names)} indices ({', '.join(names)}); "
                "it must point at exactly one"
            )
        m = re.search(r"-v(\d+)$", names[0])
        return names[0], int(m.group(1)) if m else None

    def _put_template(self, kind: str, version: int) -> None:
        name = self.index_name(kind, version)
        body = self.template_body(kind, version)
        existing = self.client.options(ignore_status=404).indices.get_index_template(name=name)
        for item in existing.get("index_templates", []):
            if item["index_template"].get("_meta") == body["_meta"]:
                return  # unchanged: no cluster-state update
        self.client.indices.put_index_template(name=name, **body)

    def _add_new_fields(self, kind: str) -> None:
        """Put fields that the template of the alias's version has and its index lacks (an
        additive change, such as the analysed ``title_terms``/``body_terms``, is made in
        place; a field that changes is a new version and a migration)."""
        index, version = self._current(kind)
        if index is None or version is None or version not in self.template_versions(kind):
            return
        wanted = self.template_body(kind, version)["template"]["mappings"].get("properties", {})
        found = self.client.indices.get_mapping(index=index)[index]["mappings"]
        missing = {n: spec for n, spec in wanted.items() if n not in found.get("properties", {})}
        if missing:
            self.client.indices.put_mapping(index=index, properties=missing)

    def _create_index(self, name: str, alias: str | None) -> None:
        aliases: dict[str, Any] | None = {alias: {}} if alias else None
        try:
            self.client.indices.create(index=name, aliases=aliases)
        except ApiError as exc:
            if error_type(exc) != "resource_already_exists_exception":
                raise
            # another process was faster, or an earlier run stopped before the alias existed
            if alias and not self.client.indices.exists_alias(name=alias):
                self.client.indices.put_alias(index=name, name=alias)

    def _migrate_kind(self, kind: str, target: int, delete_old: bool) -> MigrationStep:
        alias = self.alias(kind)
        old, version = self._current(kind)
        if old is None:
            raise NewswatchError(f"alias {alias} does not exist on {self.url}")
        if version == target:
            count = int(self.client.count(index=old)["count"])
            return MigrationStep(kind, alias, old, old, count, "current")
        if target not in self.template_versions(kind):
            raise ConfigError(f"there is no {kind}-v{target}.json template in {self.templates_dir}")
        new = self.index_name(kind, target)
        if self.client.indices.exists(index=new):  # left by an interrupted migration
            self.client.indices.delete(index=new)
        self._create_index(new, None)
        method = self._copy(old, new)
        self.client.indices.refresh(index=new)
        before = int(self.client.count(index=old)["count"])
        after = int(self.client.count(index=new)["count"])
        if before != after:
            raise NewswatchError(
                f"migrating {alias}: {old} has {before} documents but {new} received {after}; "
                f"the alias still points at {old}"
            )
        self.client.indices.update_aliases(
            actions=[
                {"remove": {"index": old, "alias": alias}},
                {"add": {"index": new, "alias": alias}},
            ]
        )
        if delete_old:
            self.client.indices.delete(index=old)
        return MigrationStep(kind, alias, old, new, after, "migrated", method)

    def _copy(self, source: str, dest: str) -> str:
        """Copy every document; server-side ``_reindex`` when the server has it."""
        try:
            started = self.client.reindex(
                source={"index": source}, dest={"index": dest}, wait_for_completion=False
            )
        except ApiError as exc:
            missing = error_type(exc) == "index_not_found_exception"
            if exc.meta.status not in (400, 404, 405) or missing:
                raise
            # no reindex module (e.g. the integ-test distribution): copy through the client
            docs = scan(self.client, index=source, query={"query": {"match_all": {}}}, size=500)
            actions = (
                {"_op_type": "index", "_index": dest, "_id": d["_id"], "_source": d["_source"]}
                for d in docs
            )
            self._bulk(actions)
            return "scan+bulk"
        task_id = started["task"]
        while True:
            status = self.client.tasks.get(task_id=task_id)
            if status.get("completed"):
                break
            time.sleep(0.5)
        response = status.get("response") or {}
        failures = response.get("failures") or []
        if status.get("error") or failures:
            reason = status.get("error") or failures[0]
            raise NewswatchError(f"_reindex from {source} to {dest} failed: {reason}")
        return "_reindex"

    def ensure_schema(self) -> None:
        """Put the templates; create the newest index and its alias when the alias is missing.

        Idempotent. An alias pointing at an older version is left alone: that is a migration.
        """
        with self._errors():
            for kind in KINDS:
                versions = self.template_versions(kind)
                if not versions:
                    raise ConfigError(f"no {kind}-vN.json index template in {self.templates_dir}")
                for version in versions:
                    self._put_template(kind, version)
                alias = self.alias(kind)
                if self.client.indices.exists_alias(name=alias):
                    self._add_new_fields(kind)
                    continue
                if self.client.indices.exists(index=alias):
                    raise NewswatchError(
                        f"{alias} on {self.url} is an index, not an alias (written to before "
                        "newswatch created its indices?); delete or rename it"
                    )
                self._create_index(self.index_name(kind, versions[-1]), alias)
