"""One small interface over the connections the runner accepts.

`build_models` takes a dlt pipeline, a dlt SQL client, a DuckDB connection or a DB-API connection to
PostgreSQL (psycopg2); each is wrapped in an `Executor` that runs SQL and opens a transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

if TYPE_CHECKING:  # for the annotations only: importing dlt costs seconds that a DuckDB user need not pay
    import duckdb
    from dlt import Pipeline
    from dlt.destinations.sql_client import SqlClientBase

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


class DbApiConnection(Protocol):
    """A DB-API 2 connection with an `autocommit` switch (psycopg2's)."""

    autocommit: bool

    def cursor(self) -> Any:
        """A new cursor."""
        ...

    def commit(self) -> None:
        """Commit the open transaction."""
        ...

    def rollback(self) -> None:
        """Roll the open transaction back."""
        ...


# What the runner and the model tests accept (`open_executor` wraps each into an `Executor`).
Target: TypeAlias = "Pipeline | SqlClientBase[Any] | duckdb.DuckDBPyConnection | DbApiConnection | Executor"


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
def open_executor(target: Target, dataset_name: str | None = None) -> Iterator[Executor]:
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
    given: Any = target  # told apart by what it has: the Protocols cannot be checked at runtime
    if all(hasattr(given, a) for a in ("execute", "transaction", "dialect", "dataset_name")):
        yield given  # already an Executor
        return
    if hasattr(given, "sql_client") and hasattr(given, "pipeline_name"):
        with given.sql_client() as client:
            yield DltClientExecutor(client)
        return
    if hasattr(given, "execute_sql") and hasattr(given, "begin_transaction"):
        if getattr(given, "native_connection", None) is None:
            with given:
                yield DltClientExecutor(given)
        else:
            yield DltClientExecutor(given)
        return
    module = type(given).__module__
    if module.startswith("duckdb") or module.startswith("_duckdb"):
        yield DuckDBExecutor(given, dataset_name)
        return
    if hasattr(given, "cursor") and hasattr(given, "autocommit"):
        yield DbApiExecutor(given, "postgres", dataset_name)
        return
    raise TypeError(f"cannot run models on {type(given).__name__}")
