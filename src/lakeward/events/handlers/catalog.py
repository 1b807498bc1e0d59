"""The ``catalog`` handler: register the partition of each new object, without a crawl.

Route options: ``dataset`` (required: its declared columns define the table), and to
describe a derived layer of it (e.g. the Parquet that ``to_parquet`` writes) ``table``
(default: the dataset's name), ``location_prefix`` (default: the dataset's prefix),
``format`` and ``partition_keys``. The table is created on the first event if it does not
exist; an object whose key carries no value for a partition key is left alone.
Idempotent: registering a partition that exists changes nothing.
"""

from __future__ import annotations

from dataclasses import replace

from lakeward.catalog.base import Column, Partition, Table
from lakeward.errors import NoSuchDatabase, NoSuchTable
from lakeward.events.handlers import HandlerContext
from lakeward.events.model import Event


def table_for(context: HandlerContext) -> Table:
    """The table a route registers partitions in (its definition, from the dataset)."""
    from lakeward.catalog.loader import table_from_dataset

    options = context.route.options
    config = context.lake.config
    table = table_from_dataset(config, str(options["dataset"]))
    bucket = table.location.removeprefix("s3://").split("/", 1)[0]
    prefix = str(options.get("location_prefix", "")).strip("/")
    keys = options.get("partition_keys")
    return replace(
        table,
        name=str(options.get("table", table.name)).lower(),
        location=f"s3://{bucket}/{prefix}/" if prefix else table.location,
        format=str(options.get("format", table.format)),
        partition_keys=tuple(Column(str(k), "string") for k in keys)
        if keys
        else table.partition_keys,
        compression=None if "format" in options else table.compression,
    )


def _ensure_table(context: HandlerContext, table: Table) -> None:
    catalog = context.lake.catalog
    try:
        catalog.get_table(table.database, table.name)
    except NoSuchDatabase:
        catalog.create_database(table.database, exist_ok=True)
        catalog.create_table(table)
    except NoSuchTable:
        catalog.create_table(table)


def partition_of(table: Table, key: str) -> Partition | None:
    """The partition an object key belongs to, or None (outside the table or no values)."""
    prefix = table.location.removeprefix("s3://").split("/", 1)[1]
    if not key.startswith(prefix):
        return None
    segments = dict(
        part.split("=", 1) for part in key[len(prefix) :].split("/")[:-1] if "=" in part
    )
    values = tuple(segments.get(column.name) for column in table.partition_keys)
    if any(value is None for value in values):
        return None
    path = "/".join(f"{c.name}={v}" for c, v in zip(table.partition_keys, values, strict=True))
    return Partition(values=tuple(str(v) for v in values), location=f"{table.location}{path}/")


def handle(context: HandlerContext, event: Event) -> str:
    """Register the event's partition in the catalog (creating the table the first time)."""
    if not event.event_name.startswith("ObjectCreated:"):
        return f"ignored {event.event_name}"
    table = table_for(context)
    if not table.partition_keys:
        _ensure_table(context, table)
        return f"{table.database}.{table.name} has no partitions: nothing to register"
    partition = partition_of(table, event.key)
    if partition is None:
        return f"s3://{event.bucket}/{event.key} is not in a partition of {table.database}.{table.name}"
    _ensure_table(context, table)
    errors = context.lake.catalog.batch_create_partitions(table.database, table.name, [partition])
    where = "/".join(
        f"{c.name}={v}" for c, v in zip(table.partition_keys, partition.values, strict=True)
    )
    state = "already registered" if errors else "registered"
    return f"{state} partition {where} of {table.database}.{table.name}"
