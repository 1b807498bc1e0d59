"""The local catalog: SQLite tables in the lake's own ``lake.db``.

::

    catalog_databases       name, description, created_at
    catalog_tables          database, name, version_id, definition (JSON), updated_at
    catalog_table_versions  database, name, version_id, definition (JSON), created_at
                            (every definition, the current one included)
    catalog_partitions      database, table_name, values_key, location, parameters (JSON),
                            created_at

A table's ``definition`` is its JSON without the names and version (columns, partition
keys, location, format, compression, serde, parameters, description). A partition's
``values_key`` is its values as a compact JSON array: unique per table, and the first
``k`` values select a key range (``["2024",`` ≤ key < ``["2024"-``), so an expression
fixing the leading keys reads only their partitions. Every mutation is one short
``BEGIN IMMEDIATE`` transaction, so concurrent writers (threads or processes) never see
half a change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeward.catalog.base import Catalog, Column, Partition, Table, TableVersion
from lakeward.catalog.expression import compile_expression
from lakeward.catalog.loader import check_name, check_partitions, check_table, check_values
from lakeward.config_models import suggest
from lakeward.errors import AlreadyExists, NoSuchDatabase, NoSuchTable
from lakeward.storage._local_db import LakeDB

if TYPE_CHECKING:
    import sqlite3

__all__ = ["LocalCatalog"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog_databases (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS catalog_tables (
    database TEXT NOT NULL REFERENCES catalog_databases(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    version_id INTEGER NOT NULL,
    definition TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (database, name)
);
CREATE TABLE IF NOT EXISTS catalog_table_versions (
    database TEXT NOT NULL,
    name TEXT NOT NULL,
    version_id INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (database, name, version_id),
    FOREIGN KEY (database, name) REFERENCES catalog_tables(database, name) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS catalog_partitions (
    database TEXT NOT NULL,
    table_name TEXT NOT NULL,
    values_key TEXT NOT NULL,
    location TEXT NOT NULL,
    parameters TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    PRIMARY KEY (database, table_name, values_key),
    FOREIGN KEY (database, table_name) REFERENCES catalog_tables(database, name)
        ON DELETE CASCADE
);
"""

_MAX_LISTED = 10


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _values_key(values: Sequence[str]) -> str:
    return json.dumps(list(values), separators=(",", ":"))


def _definition(table: Table) -> str:
    return json.dumps(
        {
            "columns": [_column_json(column) for column in table.columns],
            "partition_keys": [_column_json(column) for column in table.partition_keys],
            "location": table.location,
            "format": table.format,
            "compression": table.compression,
            "serde": table.serde,
            "parameters": table.parameters,
            "description": table.description,
        },
        sort_keys=True,
    )


def _column_json(column: Column) -> dict[str, str]:
    return {"name": column.name, "type": column.type, "comment": column.comment}


def _table(database: str, name: str, version_id: int, definition: str, at: str) -> Table:
    data: dict[str, Any] = json.loads(definition)
    return Table(
        database=database,
        name=name,
        columns=tuple(Column(**column) for column in data["columns"]),
        location=data["location"],
        format=data["format"],
        partition_keys=tuple(Column(**column) for column in data["partition_keys"]),
        compression=data["compression"],
        serde=data["serde"],
        parameters=data["parameters"],
        description=data["description"],
        version_id=version_id,
        updated_at=datetime.fromisoformat(at),
    )


def _partition(row: sqlite3.Row) -> Partition:
    parameters = row["parameters"]
    return Partition(
        values=tuple(json.loads(row["values_key"])),
        location=row["location"],
        parameters={} if parameters == "{}" else json.loads(parameters),
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED]) or "none"
    return shown + (f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else "")


class LocalCatalog(Catalog):
    """The catalog of a local lake, in ``<root>/lake.db``.

    >>> import tempfile
    >>> from lakeward.catalog.base import Column, Table
    >>> with tempfile.TemporaryDirectory() as root, LocalCatalog(root) as catalog:
    ...     catalog.create_database("Sales")
    ...     table = Table("sales", "orders", (Column("id", "bigint"),), "s3://b/orders/", "parquet")
    ...     catalog.create_table(table).version_id, catalog.list_tables("SALES")
    (1, ['orders'])
    """

    def __init__(self, root: str | Path) -> None:
        Path(root).mkdir(parents=True, exist_ok=True)
        self.db = LakeDB(Path(root) / "lake.db")
        try:
            with self.db.write() as conn:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()

    def describe(self) -> dict[str, Any]:
        """``{"backend": "local", "database_file": <root>/lake.db}``."""
        return {"backend": "local", "database_file": str(self.db.path)}

    # -- lookups -------------------------------------------------------------------------
    def _require_database(self, conn: sqlite3.Connection, name: str) -> str:
        database = check_name("database", name)
        found = conn.execute(
            "SELECT 1 FROM catalog_databases WHERE name = ?", (database,)
        ).fetchone()
        if found is None:
            known = [r[0] for r in conn.execute("SELECT name FROM catalog_databases ORDER BY 1")]
            raise NoSuchDatabase(
                f"no catalog database {database!r}{suggest(database, known)} "
                f"(databases: {_listed(known)}): create it first"
            )
        return database

    def _require_table(self, conn: sqlite3.Connection, database: str, name: str) -> sqlite3.Row:
        database = self._require_database(conn, database)
        table = check_name("table", name)
        row = conn.execute(
            "SELECT * FROM catalog_tables WHERE database = ? AND name = ?", (database, table)
        ).fetchone()
        if row is None:
            known = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM catalog_tables WHERE database = ? ORDER BY 1", (database,)
                )
            ]
            raise NoSuchTable(
                f"no table {table!r} in database {database!r}{suggest(table, known)} "
                f"(tables: {_listed(known)})"
            )
        result: sqlite3.Row = row
        return result

    @staticmethod
    def _from_row(row: sqlite3.Row) -> Table:
        return _table(
            row["database"], row["name"], row["version_id"], row["definition"], row["updated_at"]
        )

    # -- databases -----------------------------------------------------------------------
    def create_database(self, name: str, *, description: str = "", exist_ok: bool = False) -> None:  # noqa: D102
        database = check_name("database", name)
        with self.db.write() as conn:
            done = conn.execute(
                "INSERT OR IGNORE INTO catalog_databases(name, description, created_at)"
                " VALUES (?, ?, ?)",
                (database, description, _now()),
            )
            if done.rowcount == 0 and not exist_ok:
                raise AlreadyExists(
                    f"catalog database {database!r} exists already (pass exist_ok to accept it)"
                )

    def list_databases(self) -> list[str]:  # noqa: D102
        rows = self.db.conn().execute("SELECT name FROM catalog_databases ORDER BY name")
        return [row[0] for row in rows]

    def delete_database(self, name: str) -> None:  # noqa: D102
        with self.db.write() as conn:
            database = self._require_database(conn, name)
            for table in ("catalog_partitions", "catalog_table_versions", "catalog_tables"):
                conn.execute(f"DELETE FROM {table} WHERE database = ?", (database,))
            conn.execute("DELETE FROM catalog_databases WHERE name = ?", (database,))

    # -- tables --------------------------------------------------------------------------
    def create_table(self, table: Table) -> Table:  # noqa: D102
        table = check_table(table)
        now, definition = _now(), _definition(table)
        with self.db.write() as conn:
            self._require_database(conn, table.database)
            done = conn.execute(
                "INSERT OR IGNORE INTO catalog_tables(database, name, version_id, definition,"
                " updated_at) VALUES (?, ?, 1, ?, ?)",
                (table.database, table.name, definition, now),
            )
            if done.rowcount == 0:
                raise AlreadyExists(
                    f"table {table.database}.{table.name} exists already: update_table changes it"
                )
            self._add_version(conn, table, 1, definition, now)
        return _table(table.database, table.name, 1, definition, now)

    @staticmethod
    def _add_version(
        conn: sqlite3.Connection, table: Table, version_id: int, definition: str, now: str
    ) -> None:
        conn.execute(
            "INSERT INTO catalog_table_versions(database, name, version_id, definition,"
            " created_at) VALUES (?, ?, ?, ?, ?)",
            (table.database, table.name, version_id, definition, now),
        )

    def update_table(self, table: Table) -> Table:  # noqa: D102
        table = check_table(table)
        now, definition = _now(), _definition(table)
        with self.db.write() as conn:
            current = self._require_table(conn, table.database, table.name)
            version_id = current["version_id"] + 1
            conn.execute(
                "UPDATE catalog_tables SET version_id = ?, definition = ?, updated_at = ?"
                " WHERE database = ? AND name = ?",
                (version_id, definition, now, table.database, table.name),
            )
            self._add_version(conn, table, version_id, definition, now)
        return _table(table.database, table.name, version_id, definition, now)

    def get_table(self, database: str, name: str) -> Table:  # noqa: D102
        return self._from_row(self._require_table(self.db.conn(), database, name))

    def list_tables(self, database: str) -> list[str]:  # noqa: D102
        conn = self.db.conn()
        name = self._require_database(conn, database)
        rows = conn.execute(
            "SELECT name FROM catalog_tables WHERE database = ? ORDER BY name", (name,)
        )
        return [row[0] for row in rows]

    def delete_table(self, database: str, name: str) -> None:  # noqa: D102
        with self.db.write() as conn:
            row = self._require_table(conn, database, name)
            key = (row["database"], row["name"])
            conn.execute(
                "DELETE FROM catalog_partitions WHERE database = ? AND table_name = ?", key
            )
            conn.execute("DELETE FROM catalog_table_versions WHERE database = ? AND name = ?", key)
            conn.execute("DELETE FROM catalog_tables WHERE database = ? AND name = ?", key)

    def get_table_versions(self, database: str, name: str) -> list[TableVersion]:  # noqa: D102
        conn = self.db.conn()
        row = self._require_table(conn, database, name)
        rows = conn.execute(
            "SELECT * FROM catalog_table_versions WHERE database = ? AND name = ?"
            " ORDER BY version_id DESC",
            (row["database"], row["name"]),
        )
        return [
            TableVersion(
                version_id=r["version_id"],
                table=_table(
                    r["database"], r["name"], r["version_id"], r["definition"], r["created_at"]
                ),
                created_at=datetime.fromisoformat(r["created_at"]),
            )
            for r in rows
        ]

    # -- partitions ----------------------------------------------------------------------
    def batch_create_partitions(  # noqa: D102
        self, database: str, table: str, partitions: Sequence[Partition]
    ) -> list[tuple[tuple[str, ...], str]]:
        errors: list[tuple[tuple[str, ...], str]] = []
        now = _now()
        with self.db.write() as conn:
            definition = self._from_row(self._require_table(conn, database, table))
            check_partitions(definition, partitions)
            for partition in partitions:
                done = conn.execute(
                    "INSERT OR IGNORE INTO catalog_partitions(database, table_name, values_key,"
                    " location, parameters, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        definition.database,
                        definition.name,
                        _values_key(partition.values),
                        partition.location,
                        json.dumps(partition.parameters, sort_keys=True),
                        now,
                    ),
                )
                if done.rowcount == 0:
                    errors.append((tuple(partition.values), "AlreadyExists"))
        return errors

    def get_partitions(  # noqa: D102
        self, database: str, table: str, expression: str | None = None
    ) -> list[Partition]:
        conn = self.db.conn()
        definition = self._from_row(self._require_table(conn, database, table))
        sql = "SELECT * FROM catalog_partitions WHERE database = ? AND table_name = ?"
        args: list[str] = [definition.database, definition.name]
        if expression is None or not expression.strip():
            rows = conn.execute(sql, args).fetchall()
            return sorted((_partition(row) for row in rows), key=lambda p: p.values)
        matches = compile_expression(expression, definition.partition_keys)
        if len(matches.prefix) == len(definition.partition_keys):
            sql += " AND values_key = ?"
            args.append(_values_key(matches.prefix))
        elif matches.prefix:
            low = _values_key(matches.prefix)[:-1] + ","
            sql += " AND values_key >= ? AND values_key < ?"
            args += [low, low[:-1] + "-"]
        found = []
        for row in conn.execute(sql, args):
            values = tuple(json.loads(row["values_key"]))
            if matches(values):
                found.append(_partition(row))
        return sorted(found, key=lambda p: p.values)

    def delete_partitions(  # noqa: D102
        self, database: str, table: str, values: Sequence[tuple[str, ...]]
    ) -> int:
        with self.db.write() as conn:
            definition = self._from_row(self._require_table(conn, database, table))
            keys = {_values_key(check_values(definition, v)) for v in values}
            deleted = 0
            for key in sorted(keys):
                done = conn.execute(
                    "DELETE FROM catalog_partitions WHERE database = ? AND table_name = ?"
                    " AND values_key = ?",
                    (definition.database, definition.name, key),
                )
                deleted += done.rowcount
        return deleted
