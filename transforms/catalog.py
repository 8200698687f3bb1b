"""The model files: discovery, the two placeholders, and dependency order.

A model is one `.sql` file under `models/<layer>/`; its name is the file name. It reads raw tables
with `{{ typed_source(source('woodpecker', 'prospects')) }}` (the dbt form: the same files are a dbt
package, see transforms/dbt_project.yml; `{{ source('prospects') }}` is accepted too) and other models
with `{{ ref('stg_woodpecker__prospects') }}`. Both become the typed input of `inputs.source_inputs`.
An optional first-line comment `-- materialized: view|table` overrides the layer's default for the
destination's dialect (`settings.DEFAULT_MATERIALIZATION`, `settings.DIALECT_MATERIALIZATION`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from . import settings

# `{{ ref('model') }}`, `{{ source('table') }}`, `{{ source('woodpecker', 'table') }}` and
# `{{ typed_source(source('woodpecker', 'table')) }}`: group `kind` is ref or source, `name` the name.
PLACEHOLDER = re.compile(
    r"\{\{\s*(?:typed_source\(\s*)?(?P<kind>source|ref)\(\s*"
    rf"(?:['\"]{settings.SOURCE_NAME}['\"]\s*,\s*)?['\"](?P<name>[A-Za-z0-9_]+)['\"]\s*\)(?:\s*\))?\s*\}}\}}"
)
MATERIALIZED = re.compile(r"^\s*--\s*materialized:\s*(\w+)", re.IGNORECASE)


class ModelError(ValueError):
    """A model file is malformed or refers to something that does not exist."""


@dataclass(frozen=True)
class Model:
    """One SQL model.

    Attributes:
        name: Name of the published object (the file name without `.sql`).
        layer: `staging`, `intermediate` or `marts`.
        materialized: `view` or `table` when the file says so, else None (the layer's default).
        sql: The SELECT statement, with placeholders.
        refs: Models this one reads.
        sources: Raw tables this one reads.
    """

    name: str
    layer: str
    materialized: str | None
    sql: str
    refs: tuple[str, ...]
    sources: tuple[str, ...]

    def materialization(self, dialect: str) -> str:
        """`view` or `table`: the file's choice, else the layer's default for the dialect."""
        if self.materialized:
            return self.materialized
        per_dialect = settings.DIALECT_MATERIALIZATION.get(dialect, {})
        return per_dialect.get(self.layer, settings.DEFAULT_MATERIALIZATION[self.layer])


def parse_model(path: Path, layer: str) -> Model:
    """Read one model file.

    Args:
        path: The `.sql` file.
        layer: The layer folder it lives in.

    Returns:
        The parsed model.

    Raises:
        ModelError: On an unknown materialisation or an unknown raw table.
    """
    sql = path.read_text(encoding="utf-8").strip().rstrip(";")
    materialized = None
    first_line = sql.splitlines()[0] if sql else ""
    if match := MATERIALIZED.match(first_line):
        materialized = match.group(1).lower()
    if materialized is not None and materialized not in settings.MATERIALIZATIONS:
        raise ModelError(f"{path.name}: unknown materialization {materialized!r}")
    refs: list[str] = []
    sources: list[str] = []
    for match in PLACEHOLDER.finditer(sql):
        kind, name = match.group("kind"), match.group("name")
        target = refs if kind == "ref" else sources
        if name not in target:
            target.append(name)
    unknown = [s for s in sources if s not in settings.SOURCES]
    if unknown:
        raise ModelError(f"{path.name}: unknown source table(s) {unknown}")
    return Model(path.stem, layer, materialized, sql, tuple(refs), tuple(sources))


def load_models(models_dir: Path = settings.MODELS_DIR) -> list[Model]:
    """All models, in dependency order (every model after the models it refers to).

    Args:
        models_dir: Folder holding one sub-folder per layer.

    Returns:
        The models, sorted so that each comes after its `ref()`s.

    Raises:
        ModelError: On duplicate names, unknown refs or a dependency cycle.
    """
    found: dict[str, Model] = {}
    for layer in settings.LAYERS:
        for path in sorted((models_dir / layer).glob("*.sql")):
            model = parse_model(path, layer)
            if model.name in found:
                raise ModelError(f"duplicate model name {model.name!r}")
            found[model.name] = model
    return dependency_order(found.values())


def dependency_order(models: Iterable[Model]) -> list[Model]:
    """Sort models so that each comes after the models it refers to (stable by layer, then name)."""
    by_name = {m.name: m for m in models}
    graph: dict[str, set[str]] = {}
    for model in by_name.values():
        missing = [r for r in model.refs if r not in by_name]
        if missing:
            raise ModelError(f"{model.name}: ref() to unknown model(s) {missing}")
        graph[model.name] = set(model.refs)
    sorter = TopologicalSorter(graph)
    try:
        sorter.prepare()
    except CycleError as exc:
        raise ModelError(f"dependency cycle between models: {exc.args[1]}") from exc
    ordered: list[str] = []
    rank = {layer: i for i, layer in enumerate(settings.LAYERS)}
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=lambda n: (rank[by_name[n].layer], n))
        ordered.extend(ready)
        sorter.done(*ready)
    return [by_name[name] for name in ordered]


def render(
    model: Model,
    ref: Callable[[str], str],
    source: Callable[[str], str] | Mapping[str, str],
) -> str:
    """Replace the placeholders of a model.

    Args:
        model: The model.
        ref: Maps a model name to the SQL that names it (e.g. a qualified table name).
        source: Maps a raw table name to the SQL that reads it (a name or a parenthesised SELECT).

    Returns:
        The SQL without placeholders.
    """
    resolve_source = source.__getitem__ if isinstance(source, Mapping) else source

    def substitute(match: re.Match[str]) -> str:
        kind, name = match.group("kind"), match.group("name")
        return ref(name) if kind == "ref" else resolve_source(name)

    return PLACEHOLDER.sub(substitute, model.sql)
