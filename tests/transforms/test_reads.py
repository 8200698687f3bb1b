"""Which columns of other models a model reads (what a build keeps in its temporary caches)."""

from __future__ import annotations

from collections import Counter

import pytest

from transforms.catalog import Model, load_models
from transforms.reads import columns_read, ref_columns


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT p.id, p.email FROM t AS p JOIN u ON u.id = p.id", {"id", "email"}),
        ("SELECT p.id FROM t AS p WHERE p.deleted IS NULL ORDER BY p.created", {"id", "deleted", "created"}),
        ("SELECT a, COUNT(*) FROM t WHERE b > 1 GROUP BY a", {"a", "b"}),
        ("SELECT x.a FROM (SELECT a, b FROM t) AS x", {"a", "b"}),
        ("WITH c AS (SELECT t.a FROM t) SELECT * FROM c", {"a"}),
        ("SELECT u.*, t.a FROM t JOIN u ON u.id = t.id", {"a", "id"}),
        ("SELECT T.A FROM main.T AS T", {"a"}),
        ("SELECT 1 FROM u", set()),
        ("SELECT p.a FROM t AS p WHERE EXISTS (SELECT 1 FROM u WHERE u.id = p.id)", {"a", "id"}),
        ("SELECT p.a, (SELECT MAX(u.x) FROM u WHERE u.id = p.id) AS m FROM t AS p", {"a", "id"}),
        ("SELECT u.a FROM u WHERE u.id IN (SELECT p.id FROM t AS p WHERE p.k = u.k)", {"id", "k"}),
    ],
)
def test_named_columns_are_found(sql: str, expected: set[str]) -> None:
    assert columns_read(sql, ["t"]) == {"t": frozenset(expected)}


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM t",
        "SELECT t.*, u.a FROM t JOIN u ON u.id = t.id",
        "SELECT a FROM t JOIN u ON u.id = t.id",  # `a` may come from t
        "SELECT x.a FROM (SELECT * FROM t) AS x",
    ],
)
def test_stars_and_ambiguous_columns_mean_every_column(sql: str) -> None:
    assert columns_read(sql, ["t"]) == {"t": None}


def test_tables_are_told_apart() -> None:
    sql = "SELECT t.a, u.b FROM t JOIN u ON u.id = t.id JOIN v ON v.id = t.id"
    assert columns_read(sql, ["t", "u", "v"]) == {
        "t": frozenset({"a", "id"}),
        "u": frozenset({"b", "id"}),
        "v": frozenset({"id"}),
    }


def test_shipped_models_name_the_columns_they_read_from_shared_models() -> None:
    """A model read by several others is cached on DuckDB; its readers name columns, so it is trimmed."""
    models = load_models()
    readers = Counter(ref for m in models for ref in m.refs)
    for model in models:
        for ref, columns in ref_columns(model).items():
            if readers[ref] > 1:
                assert columns, f"{model.name} reads {ref} through * or an unqualified column"


def test_placeholders_are_resolved_before_reading() -> None:
    model = Model(
        name="zz",
        layer="marts",
        materialized=None,
        sql="SELECT p.email FROM {{ ref('stg_x') }} AS p JOIN {{ source('prospects') }} AS r ON r.id = p.id",
        refs=("stg_x",),
        sources=("prospects",),
    )
    assert ref_columns(model) == {"stg_x": frozenset({"email", "id"})}
