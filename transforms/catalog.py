"""The model files: discovery, the two placeholders, and dependency order.

A model is one `.sql` file under `models/<layer>/`; its name is the file name. It reads raw tables
with `{{ typed_source(source('woodpecker', 'prospects')) }}` (the dbt form: the same files are a dbt
package, see transforms/dbt_project.yml; `{{ source('prospects') }}` is accepted too) and other models
with `{{ ref('stg_woodpecker__prospects') }}`. Both become the typed input of `inputs.source_inputs`.
An optional first-line comment `-- materialized: view|table` overrides the layer's default for the
destination's dialect (`layout.DEFAULT_MATERIALIZATION`, `layout.DIALECT_MATERIALIZATION`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from . import layout

# `{{ ref('model') }}`, `{{ source('table') }}`, `{{ source('woodpecker', 'table') }}` and
# `{{ typed_source(source('woodpecker', 'table')) }}`: group `kind` is ref or source, `name` the name.
PLACEHOLDER = re.compile(
    r"\{\{\s*(?:typed_source\(\s*)?(?P<kind>source|ref)\(\s*"
    rf"(?:['\"]{layout.SOURCE_NAME}['\"]\s*,\s*)?['\"](?P<name>[A-Za-z0-9_]+)['\"]\s*\)(?:\s*\))?\s*\}}\}}"
)
MATERIALIZED = re.compile(r"^\s*--\s*materialized:\s*(\w+)", re.IGNORECASE)
# A call of one of the package's dialect macros, `{{ woodpecker.name('expr', …) }}` or `{{ name(…) }}`:
# dbt dispatches it per adapter; the built-in runner writes its DuckDB form (the macro's `default__`
# implementation in macros/*.sql, arguments substituted) and lets sqlglot transpile that.
MACRO_CALL = re.compile(r"\{\{\s*(?:woodpecker\.)?(?P<name>[a-z_][a-z0-9_]*)\((?P<args>[^{}]*)\)\s*\}\}")
MACRO_DEFINITION = re.compile(
    r"\{%-?\s*macro\s+default__(?P<name>[a-z_][a-z0-9_]*)\((?P<params>[^)]*)\)\s*-?%\}(?P<body>.*?)"
    r"\{%-?\s*endmacro\s*-?%\}",
    re.S,
)
_NOT_DIALECT_MACROS = ("ref", "source", "typed_source")


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
        per_dialect = layout.DIALECT_MATERIALIZATION.get(dialect, {})
        return per_dialect.get(self.layer, layout.DEFAULT_MATERIALIZATION[self.layer])


def dialect_macros(macros_dir: Path) -> dict[str, tuple[list[str], str]]:
    """The package's dispatched SQL macros: name → (parameters, the `default__` (DuckDB) body).

    Only macros whose `default__` body is plain SQL with `{{ parameter }}` placeholders count.
    """
    found: dict[str, tuple[list[str], str]] = {}
    for path in sorted(macros_dir.glob("*.sql")):
        for match in MACRO_DEFINITION.finditer(path.read_text(encoding="utf-8")):
            if "{%" in match.group("body") or "return(" in match.group("body"):
                continue  # a Jinja helper (typed_source, …), not a SQL fragment
            params = [p.strip().split("=")[0].strip() for p in match.group("params").split(",") if p.strip()]
            found[match.group("name")] = (params, match.group("body").strip())
    return found


_ARGUMENT = r"""\s*(?:'([^']*)'|"([^"]*)")\s*"""
_ARGUMENTS = re.compile(rf"(?:{_ARGUMENT}(?:,{_ARGUMENT})*)?")


def _string_arguments(text: str, where: str) -> list[str]:
    """The SQL passed to a macro: quoted strings (`'…'` or `"…"`) separated by commas."""
    if _ARGUMENTS.fullmatch(text) is None:
        raise ModelError(f"{where}: macro arguments must be quoted SQL strings, got ({text})")
    return [single or double for single, double in re.findall(_ARGUMENT + "(?:,|$)", text)]


def expand_macros(sql: str, macros: dict[str, tuple[list[str], str]], where: str) -> str:
    """`sql` with each dialect macro call replaced by the macro's DuckDB form.

    Raises:
        ModelError: On a call of a macro the package does not define, or with the wrong arguments.
    """

    def substitute(match: re.Match[str]) -> str:
        name = match.group("name")
        if name in _NOT_DIALECT_MACROS:
            return match.group(0)
        if name not in macros:
            raise ModelError(f"{where}: unknown macro {name!r}")
        params, body = macros[name]
        values = _string_arguments(match.group("args"), where)
        if len(values) != len(params):
            raise ModelError(f"{where}: macro {name} takes {len(params)} argument(s), got {len(values)}")
        by_name = dict(zip(params, values, strict=True))
        placeholder = re.compile(r"\{\{\s*(" + "|".join(re.escape(p) for p in params) + r")\s*\}\}")
        return placeholder.sub(lambda found: by_name[found.group(1)], body) if params else body

    return MACRO_CALL.sub(substitute, sql)


def parse_model(path: Path, layer: str, macros: dict[str, tuple[list[str], str]] | None = None) -> Model:
    """Read one model file.

    Args:
        path: The `.sql` file.
        layer: The layer folder it lives in.
        macros: The package's dialect macros (`dialect_macros`); their calls are expanded.

    Returns:
        The parsed model.

    Raises:
        ModelError: On an unknown materialisation or an unknown raw table.
    """
    sql = expand_macros(path.read_text(encoding="utf-8").strip().rstrip(";"), macros or {}, path.name)
    materialized = None
    first_line = sql.splitlines()[0] if sql else ""
    if match := MATERIALIZED.match(first_line):
        materialized = match.group(1).lower()
    if materialized is not None and materialized not in layout.MATERIALIZATIONS:
        raise ModelError(f"{path.name}: unknown materialization {materialized!r}")
    refs: list[str] = []
    sources: list[str] = []
    for match in PLACEHOLDER.finditer(sql):
        kind, name = match.group("kind"), match.group("name")
        target = refs if kind == "ref" else sources
        if name not in target:
            target.append(name)
    unknown = [s for s in sources if s not in layout.SOURCES]
    if unknown:
        raise ModelError(f"{path.name}: unknown source table(s) {unknown}")
    return Model(path.stem, layer, materialized, sql, tuple(refs), tuple(sources))


def load_models(models_dir: Path = layout.MODELS_DIR) -> list[Model]:
    """All models, in dependency order (every model after the models it refers to).

    Args:
        models_dir: Folder holding one sub-folder per layer.

    Returns:
        The models, sorted so that each comes after its `ref()`s.

    Raises:
        ModelError: On duplicate names, unknown refs or a dependency cycle.
    """
    found: dict[str, Model] = {}
    macros = dialect_macros(models_dir.parent / "macros")
    for layer in layout.LAYERS:
        for path in sorted((models_dir / layer).glob("*.sql")):
            model = parse_model(path, layer, macros)
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
    rank = {layer: i for i, layer in enumerate(layout.LAYERS)}
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
