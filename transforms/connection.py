"""One small interface over the connections the runner accepts.

`build_models` takes a dlt pipeline, a dlt SQL client, a DuckDB connection or a DB-API connection to
PostgreSQL (psycopg2); each is wrapped in an `Executor` that runs SQL and opens a transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

Rows = list[tuple[Any, ...]]


class Executor(Protocol):
    """What the runner needs from a connection."""

    dialect: str
    dataset_name: str | None

    def execute(self, sql: str) -> Rows:
        """Run one statement; return its rows (empty for statements without a result)."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Run the enclosed statements in one transaction: commit on success, roll back on error."""
        ...


def _rows(result: Sequence[Sequence[Any]] | None) -> Rows:
    return [tuple(row) for row in result] if result else []


def client_dialect(client: Any) -> str:
    """The sqlglot dialect a dlt SQL client names, or "" when it names none."""
    return str(client.capabilities.sqlglot_dialect or "")


class DltClientExecutor:
    """A dlt `SqlClientBase` (what `pipeline.sql_client()` returns), already opened."""

    def __init__(self, client: Any) -> None:
        dialect = client.capabilities.sqlglot_dialect
        if not dialect:
            raise ValueError(f"{type(client).__name__} does not name its SQL dialect; pass dialect=")
        self.client = client
        self.dialect = str(dialect)
        self.dataset_name: str | None = str(client.dataset_name)

    def execute(self, sql: str) -> Rows:
        return _rows(self.client.execute_sql(sql))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.client.begin_transaction():
            yield


class DuckDBExecutor:
    """A `duckdb.DuckDBPyConnection`."""

    dialect = "duckdb"

    def __init__(self, conn: Any, dataset_name: str | None = None) -> None:
        self.conn = conn
        self.dataset_name = dataset_name

    def execute(self, sql: str) -> Rows:
        cursor = self.conn.execute(sql)
        return _rows(cursor.fetchall()) if cursor.description else []

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.begin()
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()


class DbApiExecutor:
    """A DB-API 2 connection with an `autocommit` switch (psycopg2 for PostgreSQL)."""

    def __init__(self, conn: Any, dialect: str = "postgres", dataset_name: str | None = None) -> None:
        self.conn = conn
        self.dialect = dialect
        self.dataset_name = dataset_name
        self.conn.autocommit = True

    def execute(self, sql: str) -> Rows:
        with self.conn.cursor() as cursor:
            cursor.execute(sql)
            return _rows(cursor.fetchall()) if cursor.description else []

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.autocommit = False
        try:
            yield
        except BaseException:
            self.conn.rollback()
            self.conn.autocommit = True
            raise
        self.conn.commit()
        self.conn.autocommit = True


@contextmanager
def open_executor(target: Any, dataset_name: str | None = None) -> Iterator[Executor]:
    """Wrap whatever the caller passed into an `Executor`, opening and closing it if needed.

    Args:
        target: A dlt pipeline, a dlt SQL client, a DuckDB connection, a psycopg2 connection, or an
            object that already implements `Executor`.
        dataset_name: The dataset, when the target cannot tell.

    Yields:
        The executor.

    Raises:
        TypeError: For anything else.
    """
    if all(hasattr(target, a) for a in ("execute", "transaction", "dialect", "dataset_name")):
        yield target  # already an Executor
        return
    if hasattr(target, "sql_client") and hasattr(target, "pipeline_name"):
        with target.sql_client() as client:
            yield DltClientExecutor(client)
        return
    if hasattr(target, "execute_sql") and hasattr(target, "begin_transaction"):
        if getattr(target, "native_connection", None) is None:
            with target:
                yield DltClientExecutor(target)
        else:
            yield DltClientExecutor(target)
        return
    module = type(target).__module__
    if module.startswith("duckdb") or module.startswith("_duckdb"):
        yield DuckDBExecutor(target, dataset_name)
        return
    if hasattr(target, "cursor") and hasattr(target, "autocommit"):
        yield DbApiExecutor(target, "postgres", dataset_name)
        return
    raise TypeError(f"cannot run models on {type(target).__name__}")
