"""Great Expectations 1.x on DuckDB.

GX has no DuckDB dialect: on a plain SQL datasource it closes the SQLAlchemy connection between building a
query and reading its result, and DuckDB drops the pending result on that rollback ("list index out of
range" on every expectation). GX already keeps one persisted connection for SQLite and SQL Server; adding
DuckDB to that list makes every expectation work. This touches a GX internal, so great-expectations is
pinned in pyproject.toml and tests/unit/test_gx_duckdb.py fails if the behaviour changes.
"""

from __future__ import annotations

from great_expectations.data_context.data_context.ephemeral_data_context import EphemeralDataContext
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import sqlalchemy_execution_engine as _engine

from expectations.gx_context import ephemeral_context


class _DuckDBDialect(str):
    """Stands in a GXSqlDialect member: GX compares `.value` prefixes and `dialect_name in (...)`."""

    value = "duckdb"


def keep_duckdb_connections() -> None:
    """Adds DuckDB to the dialects GX keeps one connection for (once; when a context is made, not at import)."""
    if not any(getattr(d, "value", None) == "duckdb" for d in _engine._PERSISTED_CONNECTION_DIALECTS):
        # GX's constant is inferred as a fixed 4-tuple of GXSqlDialect; extending it with a stand-in is the patch
        _engine._PERSISTED_CONNECTION_DIALECTS = (*_engine._PERSISTED_CONNECTION_DIALECTS, _DuckDBDialect("duckdb"))  # type: ignore[assignment]


def duckdb_context(database_path: str, datasource_name: str = "build") -> tuple[EphemeralDataContext, SQLDatasource]:
    """An ephemeral GX context (expectations/gx_context.py) with one SQL datasource on the DuckDB file (opened
    read-only)."""
    keep_duckdb_connections()
    context = ephemeral_context()
    # GX's sources.pyi omits SQLDatasource's `kwargs` field from add_sql, which the runtime accepts
    datasource = context.data_sources.add_sql(  # type: ignore[call-arg]
        name=datasource_name,
        connection_string=f"duckdb:///{database_path}",
        kwargs={"connect_args": {"read_only": True}},
    )
    return context, datasource


def rollback(datasource: SQLDatasource) -> None:
    """After a query that raised: DuckDB aborts the persisted connection's transaction, and every later
    expectation on it would fail with "Current transaction is aborted" unless it is rolled back."""
    connection = datasource.get_execution_engine()._connection
    if connection is not None:
        connection.rollback()


def close(datasource: SQLDatasource) -> None:
    """Release the DuckDB file so the next writer (ingest, dbt) can open it."""
    execution_engine = datasource.get_execution_engine()
    if execution_engine._connection is not None:
        execution_engine._connection.close()
        execution_engine._connection = None
    execution_engine.engine.dispose()
    engine = getattr(datasource, "_engine", None)
    if engine is not None:
        engine.dispose()
