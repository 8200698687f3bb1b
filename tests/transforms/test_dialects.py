"""Transpiling: the CTE hint where the dialect has it, and the expressions written per dialect."""

from __future__ import annotations

import pytest

from transforms import layout
from transforms.dialects import to_dialect
from transforms.inputs import column_expression

HINTED = "WITH c AS NOT MATERIALIZED (SELECT 1 AS a) SELECT a FROM c JOIN c AS d USING (a)"


@pytest.mark.parametrize("dialect", layout.TRANSPILE_DIALECTS)
def test_cte_materialization_hint_only_where_supported(dialect: str) -> None:
    out = to_dialect(HINTED, dialect)
    assert ("NOT MATERIALIZED" in out) == (dialect in layout.CTE_MATERIALIZATION_DIALECTS)
    assert out.count("SELECT") == 2


UTC_DAY = "SELECT DATE '1970-01-01' + CAST(FLOOR(EXTRACT(EPOCH FROM t) / 86400) AS INTEGER) AS d FROM x"


def test_source_dialect_is_returned_unchanged() -> None:
    assert to_dialect(UTC_DAY, "duckdb") is UTC_DAY  # the DuckDB build pays no parse


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        ("bigquery", "DATE_ADD(CAST('1970-01-01' AS DATE), INTERVAL (CAST(FLOOR((UNIX_MICROS(t) / 1000000)"),
        ("athena", "DATE_ADD('DAY', CAST(FLOOR(CAST((TO_UNIXTIME(t)) AS DOUBLE)"),
        ("databricks", "DATEADD(DAY, CAST(FLOOR((UNIX_MICROS(t) / 1000000)"),
        ("tsql", "SWITCHOFFSET(t, '+00:00')"),
        ("clickhouse", "toUnixTimestamp64Micro(t) / 1000000"),
        ("snowflake", "DATE_PART(EPOCH_MICROSECOND, T) / 1000000"),
        ("postgres", "CAST('1970-01-01' AS DATE) + CAST(FLOOR(CAST(EXTRACT(EPOCH FROM t)"),
    ],
)
def test_utc_day_is_written_per_dialect(dialect: str, expected: str) -> None:
    assert expected in to_dialect(UTC_DAY, dialect)


def test_naive_timestamp_read_as_utc_per_dialect() -> None:
    naive = "SELECT CAST(c AS TIMESTAMP) AT TIME ZONE 'UTC' AS c FROM x"
    assert "TIMESTAMP(CAST(c AS DATETIME), 'UTC')" in to_dialect(naive, "bigquery")
    assert "WITH_TIMEZONE(CAST(c AS TIMESTAMP), 'UTC')" in to_dialect(naive, "athena")
    assert "toDateTime64(toString(c), 6, 'UTC')" in to_dialect(naive, "clickhouse")
    assert "AT TIME ZONE 'UTC'" in to_dialect(naive, "postgres")


def test_renames_stay_in_the_dataset() -> None:
    rename = 'ALTER TABLE "w"."a__build" RENAME TO "a"'
    assert to_dialect(rename, "clickhouse") == 'RENAME TABLE "w"."a__build" TO "w"."a"'
    assert to_dialect(rename, "snowflake") == 'ALTER TABLE "W"."A__BUILD" RENAME TO "W"."A"'
    assert to_dialect(rename, "postgres") == rename


def test_tsql_conditions_become_bit_values() -> None:
    out = to_dialect(
        "SELECT x > 0 AS f, COALESCE(s = 'R', FALSE) AS g FROM t WHERE COALESCE(s = 'R', FALSE)", "tsql"
    )
    assert "CAST(CASE WHEN x > 0 THEN 1 WHEN NOT x > 0 THEN 0 END AS BIT) AS f" in out
    assert "WHERE (COALESCE(CASE WHEN s = 'R' THEN 1 WHEN NOT s = 'R' THEN 0 END, 0) = 1)" in out


def test_clickhouse_timestamps_with_a_zone_are_read_as_zoned() -> None:
    zoned = column_expression("x", layout.TIMESTAMPTZ, "Nullable(DateTime64(6, 'UTC'))")
    assert zoned == 'CAST("x" AS TIMESTAMPTZ) AS "x"'
    naive = column_expression("x", layout.TIMESTAMPTZ, "Nullable(DateTime64(6))")
    assert "AT TIME ZONE 'UTC'" in naive
