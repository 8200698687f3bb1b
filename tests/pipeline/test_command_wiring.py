"""Every sub-command is wired the same way: its parser, typed options and handler in one module of
`pipelines/commands/`, reached through the dispatch table of `pipelines/cli.py`; `pipelines/` has no
import cycle, not even through an import inside a function."""

from __future__ import annotations

import argparse
import ast
import dataclasses
from pathlib import Path

import pytest

from pipelines import cli, defaults
from pipelines.commands import dashboard, demo, load, push, status, transform, webhooks
from pipelines.commands.load import LoadArgs

PIPELINES = Path(cli.__file__).parent
# The smallest valid command line of each sub-command (and of each `webhooks` action).
MINIMAL = {
    "load": ["load"],
    "transform": ["transform"],
    "status": ["status"],
    "push": ["push", "--table", "leads"],
    "dashboard": ["dashboard"],
    "demo": ["demo"],
    "webhooks": ["webhooks", "serve", "--spool", "spool"],
}


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def test_the_dispatch_table_holds_every_command_of_the_parser_once() -> None:
    assert _subcommands(cli.build_parser()) == list(cli.COMMANDS)
    assert list(cli.COMMANDS) == ["load", "transform", "status", "push", "dashboard", "demo", "webhooks"]
    modules = (load, transform, status, push, dashboard, demo, webhooks)
    assert [cli.COMMANDS[m.NAME] for m in modules] == [m.COMMAND for m in modules]
    listing = cli.build_parser().parse_args(["webhooks", "list", "--api-key", "k2"])
    assert webhooks.COMMAND.api_key(webhooks.options(listing)) == "k2"
    pushing = cli.build_parser().parse_args(["push", "--file", "f.csv", "--api-key", "k3"])
    assert push.COMMAND.api_key(push.options(pushing)) == "k3"
    for module in modules:
        assert module.COMMAND.run is module.run and module.COMMAND.add_arguments is module.add_arguments


@pytest.mark.parametrize("name", list(MINIMAL))
def test_each_command_reads_frozen_typed_options_once(name: str) -> None:
    args = cli.build_parser().parse_args(MINIMAL[name])
    options = cli.COMMANDS[name].options(args)
    assert dataclasses.is_dataclass(options)
    field = dataclasses.fields(options)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(options, field, None)
    assert cli.COMMANDS[name].api_key(options) is None  # no --api-key given


def test_load_flags_become_the_load_options() -> None:
    argv = ["load", "--resources", "prospects, campaigns", "--reconcile", "--no-transform", "--api-key", "k1"]
    argv += ["--webhook-spool", "spool", "--dataset", "wp", "--duckdb-path", "x.duckdb", "--full-refresh"]
    options = LoadArgs.from_args(cli.build_parser().parse_args(argv))
    assert load.COMMAND.api_key(options) == "k1"  # kept out of error messages
    loaded = options.load_options(12.5)
    assert loaded.resources == ["prospects", "campaigns"]
    assert (loaded.reconcile, loaded.transform, loaded.full_refresh) == (True, False, True)
    assert (loaded.dataset, loaded.duckdb_path, loaded.api_key) == ("wp", "x.duckdb", "k1")
    assert loaded.source_options == {"webhook_spool": "spool"} and loaded.lock_timeout == 12.5
    plain = LoadArgs.from_args(cli.build_parser().parse_args(["load"])).load_options(1.0)
    assert (plain.resources, plain.reconcile, plain.transform, plain.full_refresh) == (
        None,
        None,
        True,
        False,
    )
    assert (plain.dataset, plain.pipeline_name) == (defaults.DATASET_NAME, defaults.PIPELINE_NAME)


def _imports(path: Path) -> set[str]:
    """The modules of `pipelines` that a file imports, at its top or inside a function."""
    package = ".".join(path.relative_to(PIPELINES.parent).with_suffix("").parts)
    if path.name == "__init__.py":
        package = package.rsplit(".", 1)[0] + ".__init__"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: -node.level]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    todo, seen = [start], set()
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_pipelines_has_no_import_cycle() -> None:
    files = {
        ".".join(p.relative_to(PIPELINES.parent).with_suffix("").parts): p for p in PIPELINES.rglob("*.py")
    }
    modules = {name.removesuffix(".__init__"): path for name, path in files.items()}
    graph = {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}
    # A package's `__init__` runs before any module of it: importing `pkg.mod` imports `pkg` too.
    for name, targets in graph.items():
        targets |= {t.rsplit(".", 1)[0] for t in list(targets) if t.rsplit(".", 1)[0] in modules}
        targets.discard(name)
    assert len(graph) > 30 and "pipelines.commands.load" in graph["pipelines.cli"]
    reachable = {name: _reachable(graph, name) for name in graph}
    circles = sorted(
        (name, target) for name, targets in graph.items() for target in targets if name in reachable[target]
    )
    assert not circles, f"import cycles through: {circles}"
