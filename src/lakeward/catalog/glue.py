"""AWS Glue Data Catalog backend: the :class:`~lakeward.catalog.base.Catalog` contract over boto3.

Databases, tables and partitions live in Glue, where Athena, EMR and Spark read them: tables
are ``EXTERNAL_TABLE`` with the input/output formats and SerDe Athena expects for their
format (see :mod:`lakeward.catalog._glue_shapes`), Glue keeps their versions itself, and
partitions are filtered by Glue (``GetPartitions(Expression=…)``) after lakeward has checked
the expression, so both backends refuse a bad one with the same message.

Every boto3 call runs inside :meth:`GlueCatalog._calls`, which turns botocore's exceptions
into the most specific :class:`~lakeward.errors.LakeError`
(:func:`~lakeward.catalog._glue_shapes.translate_glue_error`): no raw botocore exception
leaves this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError

from lakeward.catalog._glue_shapes import (
    chunks,
    column_from_glue,
    error_code,
    partition_from_glue,
    partition_input,
    table_from_glue,
    table_input,
    translate_glue_error,
    version_from_glue,
)
from lakeward.catalog.base import Catalog, Partition, Table, TableVersion
from lakeward.catalog.loader import check_name, check_partitions, check_table, check_values
from lakeward.config_models import suggest
from lakeward.errors import (
    AlreadyExists,
    InvalidRequest,
    LakeError,
    NoSuchDatabase,
    NoSuchTable,
    NotFound,
)

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_glue.type_defs import (
        PartitionInputTypeDef,
        PartitionValueListUnionTypeDef,
        TableInputTypeDef,
    )

    from lakeward.config_models import LakeConfig

__all__ = ["GlueCatalog", "translate_glue_error"]

CREATE_PARTITIONS_BATCH = 100
"""Most partitions one ``BatchCreatePartition`` takes."""
DELETE_PARTITIONS_BATCH = 25
"""Most partitions one ``BatchDeletePartition`` takes."""
DELETE_TABLES_BATCH = 100
"""Most tables one ``BatchDeleteTable`` takes."""

_MAX_LISTED = 10
"""Names listed in a "no such table" message."""
_MAX_EXPRESSION = 2048
"""Longest ``Expression`` Glue takes; a longer one is evaluated here on every partition."""
_BATCH_CODES = {
    "AlreadyExistsException": "AlreadyExists",
    "EntityNotFoundException": "NotFound",
    "InvalidInputException": "InvalidRequest",
}
"""Glue's per-partition error codes as ``batch_create_partitions`` reports them."""


# -- the catalog -------------------------------------------------------------------------------


class GlueCatalog(Catalog):
    """The catalog on AWS Glue, through a boto3 Glue client.

    Args:
        client: A boto3 Glue client.
        owns_client: Close the client on :meth:`close` (the catalog built it).

    >>> import boto3
    >>> catalog = GlueCatalog(boto3.client("glue", region_name="us-east-1"))
    >>> catalog.describe()
    {'backend': 'glue', 'region': 'us-east-1'}
    """

    def __init__(self, client: GlueClient, *, owns_client: bool = False) -> None:
        self._client = client
        self._owns_client = owns_client

    @classmethod
    def from_config(
        cls, config: LakeConfig, *, clients: Mapping[str, Any] | None = None
    ) -> GlueCatalog:
        """Open the Glue catalog of a lake (its ``backend`` region, profile, endpoint_url).

        Args:
            config: The lake's configuration.
            clients: Ready boto3 clients by service (tests pass moto's ``"glue"``).

        Raises:
            ConfigError: The AWS profile does not exist or the AWS configuration is invalid.
        """
        from lakeward.events.notifications_aws import Service, aws_clients

        built, created = aws_clients(
            config.backend.store_options(), cast("Sequence[Service]", ("glue",)), clients
        )
        return cls(built["glue"], owns_client="glue" in created)

    def close(self) -> None:
        """Close the Glue client if this catalog built it."""
        if self._owns_client:
            self._owns_client = False
            self._client.close()

    def describe(self) -> dict[str, Any]:
        """``{"backend": "glue", "region": …}``."""
        return {"backend": "glue", "region": self._client.meta.region_name}

    # -- databases -------------------------------------------------------------------------
    def create_database(self, name: str, *, description: str = "", exist_ok: bool = False) -> None:
        """Create a database (``CreateDatabase``); see :meth:`Catalog.create_database`."""
        name = check_name("database", name)
        database: dict[str, Any] = {"Name": name}
        if description:
            database["Description"] = description
        try:
            with self._calls(f"Glue database {name}"):
                self._client.create_database(DatabaseInput=cast(Any, database))
        except AlreadyExists:
            if not exist_ok:
                raise AlreadyExists(
                    f"catalog database {name!r} exists already (pass exist_ok to accept it)"
                ) from None

    def list_databases(self) -> list[str]:
        """Database names, sorted (``GetDatabases``, every page)."""
        names: list[str] = []
        with self._calls("Glue databases"):
            for page in self._client.get_paginator("get_databases").paginate():
                names.extend(database["Name"] for database in page["DatabaseList"])
        return sorted(names)

    def delete_database(self, name: str) -> None:
        """Delete a database, its tables first (``BatchDeleteTable``, ``DeleteDatabase``).

        Glue removes the tables of a deleted database only eventually (they count against
        the account's quotas until then); deleting them first removes them at once.
        """
        name = check_name("database", name)
        tables = self.list_tables(name)
        with self._calls(f"Glue database {name}", database=name):
            for batch in chunks(tables, DELETE_TABLES_BATCH):
                self._client.batch_delete_table(DatabaseName=name, TablesToDelete=list(batch))
            self._client.delete_database(Name=name)

    # -- tables ----------------------------------------------------------------------------
    def create_table(self, table: Table) -> Table:
        """Create a table (``CreateTable``); see :meth:`Catalog.create_table`."""
        table = check_table(table)
        shape = cast("TableInputTypeDef", table_input(table))
        try:
            with self._calls(f"Glue table {table.database}.{table.name}", database=table.database):
                self._client.create_table(DatabaseName=table.database, TableInput=shape)
        except AlreadyExists:
            raise AlreadyExists(
                f"table {table.database}.{table.name} exists already: update_table changes it"
            ) from None
        return self.get_table(table.database, table.name)

    def update_table(self, table: Table) -> Table:
        """Replace a table's definition (``UpdateTable``; Glue archives the old one)."""
        table = check_table(table)
        shape = cast("TableInputTypeDef", table_input(table))
        with self._calls(
            f"Glue table {table.database}.{table.name}", database=table.database, table=table.name
        ):
            self._client.update_table(DatabaseName=table.database, TableInput=shape)
        return self.get_table(table.database, table.name)

    def get_table(self, database: str, name: str) -> Table:
        """The current definition of a table (``GetTable``); see :meth:`Catalog.get_table`."""
        database, name = _names(database, name)
        return table_from_glue(self._raw_table(database, name), database)

    def list_tables(self, database: str) -> list[str]:
        """Table names of a database, sorted (``GetTables``, every page).

        Raises:
            NoSuchDatabase: The database does not exist.
        """
        database = check_name("database", database)
        names: list[str] = []
        with self._calls(f"Glue database {database}", database=database):
            pages = self._client.get_paginator("get_tables").paginate(DatabaseName=database)
            for page in pages:
                names.extend(table["Name"] for table in page["TableList"])
        return sorted(names)

    def delete_table(self, database: str, name: str) -> None:
        """Delete a table (``DeleteTable``; Glue drops its versions and partitions).

        Raises:
            NoSuchDatabase: The database does not exist.
            NoSuchTable: The table does not exist.
        """
        database, name = _names(database, name)
        with self._calls(f"Glue table {database}.{name}", database=database, table=name):
            self._client.delete_table(DatabaseName=database, Name=name)

    def get_table_versions(self, database: str, name: str) -> list[TableVersion]:
        """Every stored definition, newest first (``GetTableVersions``, every page)."""
        database, name = _names(database, name)
        versions: list[TableVersion] = []
        with self._calls(f"Glue table {database}.{name}", database=database, table=name):
            pages = self._client.get_paginator("get_table_versions").paginate(
                DatabaseName=database, TableName=name
            )
            for page in pages:
                versions.extend(
                    version_from_glue(cast(Any, raw), database) for raw in page["TableVersions"]
                )
        return sorted(versions, key=lambda version: version.version_id, reverse=True)

    # -- partitions ------------------------------------------------------------------------
    def batch_create_partitions(
        self, database: str, table: str, partitions: Sequence[Partition]
    ) -> list[tuple[tuple[str, ...], str]]:
        """Create partitions (``BatchCreatePartition``, 100 a call); existing ones are kept.

        Returns:
            ``(values, error)`` for each partition not created: ``AlreadyExists`` for those
            that exist (or appear twice in ``partitions``), else Glue's reason.

        Raises:
            NoSuchTable: The table does not exist.
            InvalidRequest: A partition has not one value per partition key.
        """
        database, table = _names(database, table)
        raw = self._raw_table(database, table)
        check_partitions(table_from_glue(raw, database), partitions)
        failed: list[tuple[tuple[str, ...], str]] = []
        inputs: list[dict[str, Any]] = []
        seen: set[tuple[str, ...]] = set()
        for partition in partitions:
            values = tuple(partition.values)
            if values in seen:
                failed.append((values, "AlreadyExists"))
                continue
            seen.add(values)
            inputs.append(partition_input(replace(partition, values=values), raw))
        with self._calls(f"Glue table {database}.{table}", database=database, table=table):
            for batch in chunks(inputs, CREATE_PARTITIONS_BATCH):
                answer = self._client.batch_create_partition(
                    DatabaseName=database,
                    TableName=table,
                    PartitionInputList=cast("list[PartitionInputTypeDef]", list(batch)),
                )
                for error in answer.get("Errors", []):
                    code = error.get("ErrorDetail", {}).get("ErrorCode", "")
                    values = tuple(error.get("PartitionValues", ()))
                    failed.append((values, _BATCH_CODES.get(code, code.removesuffix("Exception"))))
        return failed

    def get_partitions(
        self, database: str, table: str, expression: str | None = None
    ) -> list[Partition]:
        """Partitions matching a Glue expression, sorted by values (``GetPartitions``).

        The expression is compiled here first (:mod:`lakeward.catalog.expression`), so Glue
        and the local catalog refuse the same expressions with the same message; Glue gets
        its canonical form and selects the partitions, and the compiled filter checks what
        comes back. Where Glue cannot evaluate an expression lakeward accepts (a NULL
        partition value under an ``int`` key), every partition is read and filtered here.

        Raises:
            NoSuchTable: The table does not exist.
            InvalidRequest: The expression does not parse or names no partition key.
        """
        database, table = _names(database, table)
        raw = self._raw_table(database, table)
        if expression is None or not expression.strip():
            return self._partitions(database, table, None)
        from lakeward.catalog.expression import compile_expression

        keys = tuple(column_from_glue(key) for key in raw.get("PartitionKeys") or ())
        matches = compile_expression(expression, keys)
        try:
            found = self._partitions(database, table, matches.glue_expression)
        except InvalidRequest:
            found = self._partitions(database, table, None)
        return [partition for partition in found if matches(partition.values)]

    def _partitions(self, database: str, table: str, expression: str | None) -> list[Partition]:
        """Every partition Glue selects with ``expression`` (all without), sorted by values."""
        arguments: dict[str, Any] = {
            "DatabaseName": database,
            "TableName": table,
            "ExcludeColumnSchema": True,
        }
        if expression is not None and len(expression) <= _MAX_EXPRESSION:
            arguments["Expression"] = expression
        found: list[Partition] = []
        with self._calls(f"Glue table {database}.{table}", database=database, table=table):
            for page in self._client.get_paginator("get_partitions").paginate(**arguments):
                found.extend(partition_from_glue(cast(Any, item)) for item in page["Partitions"])
        return sorted(found, key=lambda partition: partition.values)

    def delete_partitions(
        self, database: str, table: str, values: Sequence[tuple[str, ...]]
    ) -> int:
        """Delete partitions by their values (``BatchDeletePartition``, 25 a call).

        Returns:
            How many of them existed.

        Raises:
            NoSuchTable: The table does not exist.
            InvalidRequest: Some values are not one per partition key.
        """
        database, table = _names(database, table)
        definition = table_from_glue(self._raw_table(database, table), database)
        unique = list(dict.fromkeys(check_values(definition, v) for v in values))
        deleted = len(unique)
        with self._calls(f"Glue table {database}.{table}", database=database, table=table):
            for batch in chunks(unique, DELETE_PARTITIONS_BATCH):
                targets = [{"Values": list(v)} for v in batch]
                answer = self._client.batch_delete_partition(
                    DatabaseName=database,
                    TableName=table,
                    PartitionsToDelete=cast("list[PartitionValueListUnionTypeDef]", targets),
                )
                for error in answer.get("Errors", []):
                    detail = error.get("ErrorDetail", {})
                    if detail.get("ErrorCode") != "EntityNotFoundException":
                        what = f"partition {error.get('PartitionValues')} of {database}.{table}"
                        raise translate_glue_error(_batch_error(detail), what)
                    deleted -= 1
        return deleted

    # -- helpers ---------------------------------------------------------------------------
    @contextmanager
    def _calls(
        self, what: str, *, database: str | None = None, table: str | None = None
    ) -> Iterator[None]:
        """Run Glue calls, translating their errors; "not found" says what is missing.

        Args:
            what: What the calls address, for messages.
            database: The database they address: ``EntityNotFoundException`` is then
                ``NoSuchDatabase`` (with close names) or, given ``table``, ``NoSuchTable``
                when the database exists.
            table: The table they address.
        """
        try:
            yield
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            if database is not None and error_code(exc) == "EntityNotFoundException":
                raise self._not_found(database, table) from exc
            raise translate_glue_error(exc, what) from exc

    def _not_found(self, database: str, table: str | None) -> LakeError:
        """``NoSuchDatabase`` or ``NoSuchTable``, naming the close names that do exist."""
        try:
            with self._calls(f"Glue database {database}"):
                self._client.get_database(Name=database)
        except NotFound:
            known = self.list_databases()
            return NoSuchDatabase(
                f"no catalog database {database!r}{suggest(database, known)} "
                f"(databases: {_listed(known)}): create it first"
            )
        if table is None:
            return NotFound(f"something in Glue database {database!r} does not exist")
        known = self.list_tables(database)
        return NoSuchTable(
            f"no table {table!r} in database {database!r}{suggest(table, known)} "
            f"(tables: {_listed(known)})"
        )

    def _raw_table(self, database: str, name: str) -> dict[str, Any]:
        """The Glue ``Table`` structure of a table (``GetTable``)."""
        with self._calls(f"Glue table {database}.{name}", database=database, table=name):
            answer = self._client.get_table(DatabaseName=database, Name=name)
        return cast("dict[str, Any]", answer["Table"])


def _names(database: str, table: str) -> tuple[str, str]:
    """A database and a table name, lower-cased and checked like the local catalog's."""
    return check_name("database", database), check_name("table", table)


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED]) or "none"
    return shown + (f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else "")


def _batch_error(detail: Mapping[str, Any]) -> ClientError:
    """A batch call's per-item ``ErrorDetail`` as the ``ClientError`` a single call raises."""
    error = {"Code": detail.get("ErrorCode", ""), "Message": detail.get("ErrorMessage", "")}
    return ClientError(cast(Any, {"Error": error}), "BatchDeletePartition")
