"""What the previously published warehouse held that this refresh compares itself with.

Target lists mark `new_since_last_refresh` and count who left since the last refresh. dbt cannot open the published
warehouse (another file, read by users), so before dbt runs this stage copies the last refresh's list membership
into the build file (schema `previous`); the dbt macro `previous_target_list_members()` reads it. With nothing
published yet (or a warehouse from before target lists existed) the table is empty: everyone is new.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.sql_text import sql_string

PREVIOUS_SCHEMA = "previous"


def copy_previous_target_lists(con: duckdb.DuckDBPyConnection, warehouse_path: Path) -> int:
    """Copy (list_name, person_id, neighbourhood, practice_code) of the published target lists; returns the rows."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {PREVIOUS_SCHEMA}")
    con.execute(f"""CREATE OR REPLACE TABLE {PREVIOUS_SCHEMA}.target_list_members (
                        list_name VARCHAR, person_id VARCHAR, neighbourhood VARCHAR, practice_code VARCHAR)""")
    if not warehouse_path.exists():
        return 0
    con.execute(f"ATTACH {sql_string(warehouse_path)} AS published (READ_ONLY)")
    try:
        has_lists = con.execute("""SELECT count(*) FROM duckdb_tables()
                                   WHERE database_name = 'published' AND schema_name = 'marts'
                                     AND table_name = 'target_lists'""").fetchall()[0][0]
        if has_lists:
            con.execute(f"""INSERT INTO {PREVIOUS_SCHEMA}.target_list_members
                            SELECT list_name, person_id, neighbourhood, practice_code
                            FROM published.marts.target_lists""")
    finally:
        con.execute("DETACH published")
    return con.execute(f"SELECT count(*) FROM {PREVIOUS_SCHEMA}.target_list_members").fetchall()[0][0]
