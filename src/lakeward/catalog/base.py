"""The catalog interface: a Glue-shaped store of databases, tables, schema versions, partitions.

Backends: ``local`` (SQLite tables in the lake's ``lake.db``) and ``glue`` (AWS Glue via
boto3). Both keep the same semantics, checked by ``tests/conformance/test_catalog.py``:

* names are lower-cased like Glue's (``Sales.Orders`` → ``sales.orders``);
* ``update_table`` keeps the previous definition as a numbered version (``get_table_versions``,
  newest first), the way Glue keeps table versions;
* partitions are keyed by their values in partition-key order; ``get_partitions`` takes
  Glue's expression syntax (``year = '2024' AND month IN ('01', '02')``, ``>``, ``<=``,
  ``BETWEEN``, ``LIKE``, ``NOT``, ``OR``, parentheses) — see :mod:`lakeward.catalog.expression`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lakeward._closeable import Closeable

__all__ = ["Catalog", "Column", "Partition", "Table", "TableVersion"]


@dataclass(frozen=True)
class Column:
    """A column of a table.

    Types are Hive/Athena type names: ``string``, ``bigint``, ``double``, ``timestamp``,
    ``date``, ``decimal(10,2)``, ``array<string>``, …
    """

    name: str
    type: str
    comment: str = ""


@dataclass(frozen=True)
class Table:
    """A table: where its files are, how they are stored, its columns and partition keys."""

    database: str
    name: str
    columns: tuple[Column, ...]
    location: str
    """``s3://bucket/prefix/`` of the table's files."""
    format: str
    """``parquet``, ``csv``, ``json`` (NDJSON), ``orc`` or ``avro``."""
    partition_keys: tuple[Column, ...] = ()
    compression: str | None = None
    serde: str = ""
    """The SerDe class Athena would use (``org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe``…)."""
    parameters: dict[str, str] = field(default_factory=dict)
    """Free-form parameters (``classification``, ``lakeward:dataset``, ``deprecated``…)."""
    description: str = ""
    version_id: int = 1
    updated_at: datetime | None = None


@dataclass(frozen=True)
class TableVersion:
    """One stored definition of a table (Glue ``TableVersion``)."""

    version_id: int
    table: Table
    created_at: datetime


@dataclass(frozen=True)
class Partition:
    """One partition: its values (in partition-key order) and where its files are."""

    values: tuple[str, ...]
    location: str
    parameters: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None


class Catalog(Closeable, abc.ABC):
    """Databases, tables (with versions) and partitions, Glue-shaped."""

    # -- databases -----------------------------------------------------------------------
    @abc.abstractmethod
    def create_database(self, name: str, *, description: str = "", exist_ok: bool = False) -> None:
        """Create a database.

        Raises:
            AlreadyExists: It exists and ``exist_ok`` is False.
            InvalidRequest: The name is not a valid Glue name (lower-case letters, digits, ``_``).
        """

    @abc.abstractmethod
    def list_databases(self) -> list[str]:
        """Database names, sorted."""

    @abc.abstractmethod
    def delete_database(self, name: str) -> None:
        """Delete a database and everything in it.

        Raises:
            NoSuchDatabase: It does not exist.
        """

    # -- tables --------------------------------------------------------------------------
    @abc.abstractmethod
    def create_table(self, table: Table) -> Table:
        """Create a table (version 1).

        Raises:
            NoSuchDatabase: Its database does not exist.
            AlreadyExists: The table exists.
        """

    @abc.abstractmethod
    def update_table(self, table: Table) -> Table:
        """Replace a table's definition, keeping the old one as a version; returns the new one.

        Raises:
            NoSuchTable: It does not exist (the message suggests close names).
        """

    @abc.abstractmethod
    def get_table(self, database: str, name: str) -> Table:
        """The current definition of a table.

        Raises:
            NoSuchDatabase: The database does not exist.
            NoSuchTable: The table does not exist (the message suggests close names).
        """

    @abc.abstractmethod
    def list_tables(self, database: str) -> list[str]:
        """Table names of a database, sorted."""

    @abc.abstractmethod
    def delete_table(self, database: str, name: str) -> None:
        """Delete a table, its versions and its partitions."""

    @abc.abstractmethod
    def get_table_versions(self, database: str, name: str) -> list[TableVersion]:
        """Every stored definition, newest first (the current one included)."""

    # -- partitions ----------------------------------------------------------------------
    @abc.abstractmethod
    def batch_create_partitions(
        self, database: str, table: str, partitions: Sequence[Partition]
    ) -> list[tuple[tuple[str, ...], str]]:
        """Create partitions; existing ones are left as they are.

        Returns:
            ``(values, error)`` for each partition that was not created: ``error`` is the
            name of the lakeward error (exactly ``"AlreadyExists"`` for a partition that
            exists, or that appears earlier in the same batch), as Glue's
            ``BatchCreatePartition`` reports them.

        Raises:
            NoSuchTable: The table does not exist.
            InvalidRequest: A partition has not one text value per partition key (nothing
                is created).
        """

    @abc.abstractmethod
    def get_partitions(
        self, database: str, table: str, expression: str | None = None
    ) -> list[Partition]:
        """Partitions matching a Glue expression (all without one), sorted by values.

        ``None`` or a blank expression selects every partition. The order is that of the
        values as tuples of text (``'10' < '9'`` even under an ``int`` key).

        Raises:
            NoSuchTable: The table does not exist.
            InvalidRequest: The expression does not parse or names no partition key.
        """

    @abc.abstractmethod
    def delete_partitions(
        self, database: str, table: str, values: Sequence[tuple[str, ...]]
    ) -> int:
        """Delete partitions by their values; return how many existed."""

    def describe(self) -> dict[str, Any]:
        """What this catalog is (backend, location) for ``lakeward catalog`` output."""
        return {"backend": type(self).__name__}
