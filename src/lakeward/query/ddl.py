"""Athena ``CREATE EXTERNAL TABLE`` DDL: written from a catalog table, and read back into one.

:func:`create_table_ddl` writes what Athena's ``SHOW CREATE TABLE`` shows: columns,
``PARTITIONED BY``, ``ROW FORMAT SERDE`` (with ``SERDEPROPERTIES``), ``STORED AS
INPUTFORMAT … OUTPUTFORMAT``, ``LOCATION`` and ``TBLPROPERTIES``. :func:`table_from_ddl`
reads such a statement with sqlglot's Athena (Hive DDL) grammar, from the syntax tree:
``STORED AS PARQUET``-style shorthands and ``ROW FORMAT DELIMITED`` are understood too.

The :class:`~lakeward.catalog.base.Table` has no place of its own for SerDe properties:
the SerDe's defaults (e.g. OpenCSVSerde's ``separatorChar ','``) are implied by the
format, and a property that differs from them is kept in ``Table.parameters`` under its
own name (``separatorChar``, ``field.delim``…), where the query engine's CSV reader looks.
A table's compression is the ``compressionType`` table property.

>>> from lakeward.catalog.base import Column, Table
>>> table = Table("sales", "orders", (Column("id", "bigint"),), "s3://b/orders/", "parquet",
...               partition_keys=(Column("year", "string"),),
...               serde="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
...               parameters={"classification": "parquet"})
>>> table_from_ddl(create_table_ddl(table), "default") == table
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError

from lakeward.catalog.base import Column, Table
from lakeward.catalog.loader import SERDES
from lakeward.errors import InvalidRequest
from lakeward.query.dialect import DIALECT, syntax_error

__all__ = ["SERDE_PROPERTY_KEYS", "create_table_ddl", "table_from_ddl"]

_TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
_TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
_LAZY_SIMPLE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"


@dataclass(frozen=True)
class _Storage:
    input_format: str
    output_format: str
    serde_defaults: Mapping[str, str] = field(default_factory=dict)


# The same classes as the Glue catalog writes (catalog/_glue_shapes.FORMATS), kept here so
# DDL does not import the AWS backend.
_STORAGE = {
    "parquet": _Storage(
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        {"serialization.format": "1"},
    ),
    "json": _Storage(_TEXT_INPUT, _TEXT_OUTPUT),
    "csv": _Storage(
        _TEXT_INPUT, _TEXT_OUTPUT, {"separatorChar": ",", "quoteChar": '"', "escapeChar": "\\"}
    ),
    "orc": _Storage(
        "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
    ),
    "avro": _Storage(
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
    ),
}
_STORED_AS = {"PARQUET": "parquet", "ORC": "orc", "AVRO": "avro", "JSONFILE": "json"}
_SERDE_FORMATS = {serde: name for name, serde in SERDES.items()} | {
    _LAZY_SIMPLE: "csv",
    "org.apache.hive.hcatalog.data.JsonSerDe": "json",
    "org.openx.data.jsonserde.JsonSerDe": "json",
}

SERDE_PROPERTY_KEYS = frozenset(
    {
        "separatorChar",
        "quoteChar",
        "escapeChar",
        "field.delim",
        "line.delim",
        "escape.delim",
        "collection.delim",
        "mapkey.delim",
        "serialization.format",
        "serialization.null.format",
        "serialization.encoding",
        "ignore.malformed.json",
        "dots.in.keys",
        "case.insensitive",
    }
)
"""Parameters written as ``SERDEPROPERTIES`` rather than ``TBLPROPERTIES`` (and ``mapping.*``)."""
_DELIMITED = {
    "fields": "field.delim",
    "escaped": "escape.delim",
    "collection_items": "collection.delim",
    "map_keys": "mapkey.delim",
    "lines": "line.delim",
    "null": "serialization.null.format",
}


def _is_serde_key(key: str) -> bool:
    return key in SERDE_PROPERTY_KEYS or key.startswith("mapping.")


# -- writing ---------------------------------------------------------------------------------


def create_table_ddl(table: Table) -> str:
    """Athena's ``CREATE EXTERNAL TABLE`` for a catalog table.

    Args:
        table: The table (its SerDe defaults to the format's when empty).

    Returns:
        The statement, ending with a newline.

    Raises:
        InvalidRequest: The format is unknown, or a column type does not parse.
    """
    storage = _storage(table.format)
    serde = table.serde or SERDES[table.format]
    serde_properties = dict(storage.serde_defaults) if serde == SERDES[table.format] else {}
    serde_properties |= {k: v for k, v in table.parameters.items() if _is_serde_key(k)}
    properties = {k: v for k, v in table.parameters.items() if not _is_serde_key(k)}
    if table.compression and "compressionType" not in properties:
        properties["compressionType"] = table.compression
    name = f"{_ident(table.database)}.{_ident(table.name)}"
    lines = [f"CREATE EXTERNAL TABLE {name} (", _column_lines(table, table.columns), ")"]
    if table.description:
        lines.append(f"COMMENT {_string(table.description)}")
    if table.partition_keys:
        lines += ["PARTITIONED BY (", _column_lines(table, table.partition_keys), ")"]
    lines.append(f"ROW FORMAT SERDE {_string(serde)}")
    if serde_properties:
        lines += ["WITH SERDEPROPERTIES (", _pairs(serde_properties), ")"]
    lines += [
        f"STORED AS INPUTFORMAT {_string(storage.input_format)}",
        f"OUTPUTFORMAT {_string(storage.output_format)}",
        f"LOCATION {_string(table.location)}",
    ]
    if properties:
        lines += ["TBLPROPERTIES (", _pairs(properties), ")"]
    return "\n".join(lines) + "\n"


def _storage(fmt: str) -> _Storage:
    try:
        return _STORAGE[fmt]
    except KeyError:
        raise InvalidRequest(
            f"table format {fmt!r} has no Athena DDL: formats are {', '.join(_STORAGE)}"
        ) from None


def _column_lines(table: Table, columns: Iterable[Column]) -> str:
    rendered = []
    for column in columns:
        try:
            exp.DataType.build(column.type, dialect="hive")
        except (SqlglotError, ValueError) as exc:
            raise InvalidRequest(
                f"table {table.database}.{table.name}: column {column.name!r} has type "
                f"{column.type!r}, which Athena cannot read ({exc})"
            ) from None
        comment = f" COMMENT {_string(column.comment)}" if column.comment else ""
        rendered.append(f"  {_ident(column.name)} {column.type}{comment}")
    return ",\n".join(rendered)


def _pairs(values: Mapping[str, str]) -> str:
    return ",\n".join(f"  {_string(k)}={_string(v)}" for k, v in values.items())


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="hive")


def _string(value: str) -> str:
    return exp.Literal.string(value).sql(dialect="hive")


# -- reading ---------------------------------------------------------------------------------


def table_from_ddl(sql: str, default_database: str) -> Table:
    """The catalog table an Athena ``CREATE EXTERNAL TABLE`` statement describes.

    Args:
        sql: One ``CREATE [EXTERNAL] TABLE`` statement (a trailing ``;`` is fine).
        default_database: The database when the statement names none.

    Returns:
        The table (version 1, not yet in any catalog).

    Raises:
        InvalidRequest: The statement does not parse (with its position), is not a
            ``CREATE TABLE`` with columns, has no ``LOCATION``, uses a clause lakeward
            cannot keep, or its format cannot be told.
    """
    create = _parse_create(sql)
    schema = create.this
    assert isinstance(schema, exp.Schema)
    target = schema.this
    if not isinstance(target, exp.Table):
        raise InvalidRequest("CREATE TABLE names no table: write CREATE EXTERNAL TABLE db.name (…)")
    reader = _PropertyReader()
    properties = create.args.get("properties")
    for prop in properties.expressions if isinstance(properties, exp.Properties) else ():
        reader.read(prop)
    if not reader.location:
        raise InvalidRequest(
            f"CREATE TABLE {target.sql(DIALECT)} has no LOCATION: add "
            "LOCATION 's3://bucket/prefix/' (Athena tables read the files there)"
        )
    fmt = reader.format()
    serde = reader.serde or SERDES[fmt]
    parameters = dict(reader.table_properties)
    compression = parameters.pop("compressionType", None)
    if compression is not None and compression.lower() in ("", "none"):
        compression = None
    defaults = _STORAGE[fmt].serde_defaults if serde == SERDES[fmt] else {}
    for key, value in reader.serde_properties.items():
        if defaults.get(key) != value:
            parameters[key] = value
    return Table(
        database=(target.db or default_database).lower(),
        name=target.name.lower(),
        columns=_columns(schema.expressions),
        location=reader.location,
        format=fmt,
        partition_keys=reader.partition_keys,
        compression=compression,
        serde=serde,
        parameters=parameters,
        description=reader.description,
    )


def _parse_create(sql: str) -> exp.Create:
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as exc:
        raise syntax_error(sql, exc) from None
    except TokenError as exc:
        raise InvalidRequest(f"DDL syntax error: {exc}") from None
    if len(statements) != 1:
        raise InvalidRequest(
            f"the DDL holds {len(statements)} statements: give one CREATE EXTERNAL TABLE"
        )
    create = statements[0]
    if (
        not isinstance(create, exp.Create)
        or str(create.kind).upper() != "TABLE"
        or not isinstance(create.this, exp.Schema)
        or create.expression is not None
    ):
        raise InvalidRequest(
            "only CREATE [EXTERNAL] TABLE db.name (columns…) … LOCATION '…' is read here "
            "(no CREATE TABLE AS SELECT, views or other statements)"
        )
    return create


def _columns(definitions: Iterable[exp.Expr]) -> tuple[Column, ...]:
    columns = []
    for definition in definitions:
        if not isinstance(definition, exp.ColumnDef) or definition.args.get("kind") is None:
            raise InvalidRequest(
                f"{definition.sql(DIALECT)!r} is not a column with a type: write `name type`"
            )
        comment = ""
        for constraint in definition.constraints:
            if isinstance(constraint.kind, exp.CommentColumnConstraint):
                comment = str(constraint.kind.this.this)
        columns.append(Column(definition.name, _hive_type(definition.args["kind"]), comment))
    return tuple(columns)


def _hive_type(kind: exp.Expr) -> str:
    """``struct<a:int,b:string>``: Hive's spelling, lower case, no spaces."""
    return "".join(kind.sql(dialect="hive").lower().split())


def _literal(node: exp.Expr | None) -> str:
    if isinstance(node, exp.Literal | exp.Var):
        return str(node.this)
    if isinstance(node, exp.Expr):
        return node.sql(DIALECT)
    return ""


class _PropertyReader:
    """Collects what a CREATE TABLE's properties say, refusing what would be lost."""

    def __init__(self) -> None:
        self.location = ""
        self.description = ""
        self.serde = ""
        self.stored_as = ""
        self.input_format = ""
        self.partition_keys: tuple[Column, ...] = ()
        self.serde_properties: dict[str, str] = {}
        self.table_properties: dict[str, str] = {}

    def read(self, prop: exp.Expr) -> None:
        if isinstance(prop, exp.ExternalProperty):
            return
        if isinstance(prop, exp.LocationProperty):
            self.location = _literal(prop.this)
        elif isinstance(prop, exp.SchemaCommentProperty):
            self.description = _literal(prop.this)
        elif isinstance(prop, exp.PartitionedByProperty):
            keys = prop.this.expressions if isinstance(prop.this, exp.Schema) else [prop.this]
            self.partition_keys = _columns(keys)
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            self.serde = _literal(prop.this)
            found = prop.args.get("serde_properties")
            for pair in found.expressions if isinstance(found, exp.SerdeProperties) else ():
                self.serde_properties[_literal(pair.this)] = _literal(pair.args.get("value"))
        elif isinstance(prop, exp.RowFormatDelimitedProperty):
            self.serde = _LAZY_SIMPLE
            for arg, key in _DELIMITED.items():
                if prop.args.get(arg) is not None:
                    self.serde_properties[key] = _literal(prop.args[arg])
        elif isinstance(prop, exp.FileFormatProperty):
            self._file_format(prop.this)
        elif type(prop) is exp.Property:
            self.table_properties[_literal(prop.this)] = _literal(prop.args.get("value"))
        else:
            raise InvalidRequest(
                f"the DDL clause {prop.sql(DIALECT)!r} is not kept by lakeward's catalog: "
                "remove it (columns, COMMENT, PARTITIONED BY, ROW FORMAT, STORED AS, "
                "LOCATION and TBLPROPERTIES are read)"
            )

    def _file_format(self, value: exp.Expr | None) -> None:
        if isinstance(value, exp.InputOutputFormat):
            self.input_format = _literal(value.args.get("input_format"))
        else:
            self.stored_as = _literal(value).upper()

    def format(self) -> str:
        """The table format, from STORED AS, the input format, the SerDe, then classification."""
        if self.stored_as in _STORED_AS:
            return _STORED_AS[self.stored_as]
        if self.input_format and self.input_format != _TEXT_INPUT:
            for name, storage in _STORAGE.items():
                if storage.input_format == self.input_format:
                    return name
        if self.serde in _SERDE_FORMATS:
            return _SERDE_FORMATS[self.serde]
        classification = self.table_properties.get("classification", "").lower()
        if classification in _STORAGE:
            return classification
        if self.stored_as == "TEXTFILE" or self.input_format == _TEXT_INPUT:
            return "csv"
        raise InvalidRequest(
            "the DDL does not say how the files are stored: add STORED AS PARQUET (or ORC, "
            "AVRO, JSONFILE), or ROW FORMAT SERDE '…' with STORED AS INPUTFORMAT/OUTPUTFORMAT"
        )
