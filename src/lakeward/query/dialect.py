"""Athena SQL in, DuckDB SQL out: parsing, table references, and the rewrite onto files.

Queries are parsed with sqlglot's ``athena`` dialect (Trino's grammar). A bad query
becomes an :class:`~lakeward.errors.InvalidRequest` that shows the line, the column and
the fragment with a caret under it. Every reference to a catalog table (``db.table``, or a
bare ``table`` in the default database) is found through sqlglot's scopes, so a CTE of the
same name is never mistaken for a table; each reference keeps the ``WHERE`` (and, for an
inner or left-joined table, the ``ON``) conjuncts of the query block it is read in, from
which :mod:`lakeward.query.pruning` takes the partition filters.

Rendering for DuckDB keeps the query as written and replaces each reference by a relation
over the files to read (``read_parquet([...], hive_partitioning=true, hive_types={...})``,
``read_json``, ``read_csv``) under the same alias, so ``o.amount`` and ``orders.amount``
still resolve. Two of Athena's rules that DuckDB does not share are carried over: integer
division truncates (``5 / 2`` is ``2``; types come from the catalog's columns), and an
unnamed output column is called ``_col0``, ``_col1``…

>>> parsed = parse_query("SELECT count(*) FROM orders WHERE year = '2024'", "sales")
>>> [ref.qualified for ref in parsed.refs], parsed.refs[0].alias
(['sales.orders'], 'orders')
>>> render_duckdb(parsed, ["read_parquet(['/x.parquet'])"])
"SELECT COUNT(*) AS _col0 FROM read_parquet(['/x.parquet']) AS orders WHERE year = '2024'"
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, TokenError
from sqlglot.optimizer.scope import Scope, traverse_scope

from lakeward.errors import InvalidRequest, NotSupported

if TYPE_CHECKING:
    from lakeward.catalog.base import Column, Table
    from lakeward.query.pruning import TableScan

__all__ = [
    "DIALECT",
    "ParsedQuery",
    "TableRef",
    "duckdb_type",
    "parse_query",
    "relation_sql",
    "render_duckdb",
    "sql_identifier",
    "sql_string",
]

DIALECT = "athena"
"""sqlglot's dialect for what users write: Athena's engine is Trino."""
DATA_CATALOG = "awsdatacatalog"
"""Athena's name for the Glue catalog; ``awsdatacatalog.db.table`` means ``db.table``."""


@dataclass(frozen=True)
class TableRef:
    """One reference to a catalog table in a query.

    Attributes:
        index: Position among the query's references (the order :func:`render_duckdb` takes
            relations in).
        database: The database, from the query or the default one.
        name: The table's name, lower-cased like the catalog's.
        alias: The name the query binds the table to (its alias, else the table's name).
        filters: Conjuncts of the ``WHERE`` of the query block that reads the table, and of
            its own ``ON`` when it is inner or left joined: every row the block keeps makes
            each of them true, so a partition that makes one false can be skipped.
    """

    index: int
    database: str
    name: str
    alias: str
    filters: tuple[exp.Expr, ...] = ()

    @property
    def qualified(self) -> str:
        """``database.name``."""
        return f"{self.database}.{self.name}"


@dataclass(frozen=True)
class ParsedQuery:
    """A parsed query and its table references."""

    sql: str
    ast: exp.Query
    refs: tuple[TableRef, ...]

    @property
    def tables(self) -> list[tuple[str, str]]:
        """Distinct ``(database, name)`` pairs, in order of first reference."""
        return list(dict.fromkeys((ref.database, ref.name) for ref in self.refs))


# -- parsing -------------------------------------------------------------------------------


def parse_query(sql: str, default_database: str) -> ParsedQuery:
    """Parse one Athena ``SELECT`` (with ``WITH``, joins, unions, subqueries…).

    Args:
        sql: The query text.
        default_database: The database of table names written without one.

    Returns:
        The syntax tree and every reference to a catalog table in it.

    Raises:
        InvalidRequest: The text does not parse (the message points at the line and column),
            holds no statement or more than one, is not a query (DDL, ``INSERT``, ``SHOW``…),
            or reads from a table function instead of a table.
    """
    statements = _parse(sql)
    if len(statements) != 1:
        raise InvalidRequest(
            "the SQL holds no statement: write one SELECT query"
            if not statements
            else f"the SQL holds {len(statements)} statements: run one query at a time"
        )
    ast = statements[0]
    if not isinstance(ast, exp.Query):
        kind = ast.key.upper() if not isinstance(ast, exp.Command) else str(ast.this).upper()
        raise InvalidRequest(
            f"only queries (SELECT, WITH … SELECT, VALUES in FROM) run here, not {kind}: "
            "create tables with `lakeward ddl apply FILE.sql` or the catalog API"
        )
    refs = tuple(_find_refs(ast, default_database.lower()))
    return ParsedQuery(sql=sql, ast=ast, refs=refs)


def _parse(sql: str) -> list[exp.Expr]:
    with _quiet_sqlglot():
        try:
            found = sqlglot.parse(sql, read=DIALECT, error_level=ErrorLevel.RAISE)
        except ParseError as exc:
            raise syntax_error(sql, exc) from None
        except TokenError as exc:
            raise InvalidRequest(f"SQL syntax error: {exc}") from None
    return [statement for statement in found if statement is not None]


@contextlib.contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    # sqlglot logs a warning before parsing unknown statements (SHOW …) as a Command; the
    # refusal that follows says it better.
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def syntax_error(sql: str, error: ParseError) -> InvalidRequest:
    r"""An :class:`InvalidRequest` pointing at where sqlglot stopped, with a caret.

    >>> try:
    ...     parse_query("SELECT a\nFROM t WHERE (a = ", "db")
    ... except InvalidRequest as exc:
    ...     print(exc)
    SQL syntax error at line 2, column 17: Required keyword: 'expression' missing for EQ
      FROM t WHERE (a =
                      ^
    """
    details: dict[str, Any] = error.errors[0] if error.errors else {}
    line, col = details.get("line"), details.get("col")
    description = str(details.get("description") or error).split(". Line ")[0]
    description = description.replace("<class 'sqlglot.expressions.core.", "").replace("'>", "")
    description = description.replace("<class 'sqlglot.expressions.", "")
    lines = sql.splitlines() or [""]
    if not isinstance(line, int) or not isinstance(col, int) or not 1 <= line <= len(lines):
        return InvalidRequest(f"SQL syntax error: {description}")
    text = lines[line - 1].rstrip()
    highlight = str(details.get("highlight") or "")
    width = max(len(highlight), 1)
    start = max(min(col - width, len(text)), 0)  # sqlglot's column is the fragment's last char
    caret = " " * start + "^" * width
    return InvalidRequest(
        f"SQL syntax error at line {line}, column {start + 1}: {description}\n  {text}\n  {caret}"
    )


def _find_refs(ast: exp.Query, default_database: str) -> Iterator[TableRef]:
    index = 0
    for scope in traverse_scope(ast):
        for table in scope.tables:
            if scope.sources.get(table.alias_or_name) is not table:
                continue  # a CTE (or derived table) of that name, not a catalog table
            database, name = _table_name(table, default_database)
            alias = table.alias or name
            table.meta["lakeward_ref"] = index
            yield TableRef(index, database, name, alias.lower(), tuple(_filters(scope, table)))
            index += 1


def _table_name(table: exp.Table, default_database: str) -> tuple[str, str]:
    if not isinstance(table.this, exp.Identifier):
        raise InvalidRequest(
            f"{table.this.sql(DIALECT)} is a table function: queries read catalog tables "
            "(database.table); see `lakeward catalog ls`"
        )
    catalog = table.catalog.lower()
    if catalog and catalog != DATA_CATALOG:
        raise InvalidRequest(
            f"catalog {table.catalog!r} in {table.sql(DIALECT)} is unknown: name tables as "
            f"database.table (or {DATA_CATALOG}.database.table)"
        )
    return (table.db or default_database).lower(), table.name.lower()


def _filters(scope: Scope, table: exp.Table) -> Iterator[exp.Expr]:
    select = scope.expression
    if not isinstance(select, exp.Select):
        return
    where = select.args.get("where")
    if isinstance(where, exp.Where):
        yield from conjuncts(where.this)
    join = table.parent
    # ON restricts the joined table's rows only when that table is inner or left joined
    # (it supplies NULLs, never preserved rows); for a preserved side ON filters nothing.
    if isinstance(join, exp.Join) and join.this is table and join.side in ("", "LEFT"):
        if join.kind.upper() not in ("", "INNER", "OUTER"):
            return
        on = join.args.get("on")
        if isinstance(on, exp.Expr):
            yield from conjuncts(on)


def conjuncts(condition: exp.Expr) -> Iterator[exp.Expr]:
    """The top-level ``AND`` parts of a condition (parentheses unwrapped).

    >>> [c.sql() for c in conjuncts(sqlglot.parse_one("a = 1 AND (b > 2 AND (c OR d))"))]
    ['a = 1', 'b > 2', 'c OR d']
    """
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        yield from conjuncts(condition.left)
        yield from conjuncts(condition.right)
    else:
        yield condition


# -- rendering -----------------------------------------------------------------------------


def render_duckdb(
    parsed: ParsedQuery,
    relations: Sequence[str],
    schema: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
) -> str:
    """The query in DuckDB's SQL with each table reference replaced by a relation.

    Args:
        parsed: The parsed query.
        relations: DuckDB SQL of one relation per reference, in :attr:`TableRef.index`
            order (a table function call or a parenthesized subquery).
        schema: ``{database: {table: {column: hive_type}}}`` of the referenced tables, so
            integer division keeps Athena's meaning; without it only literals are typed.

    Returns:
        One DuckDB statement.
    """
    if len(relations) != len(parsed.refs):
        raise ValueError(f"{len(parsed.refs)} relations needed, {len(relations)} given")
    tree = parsed.ast.copy()
    refs = _ref_nodes(tree)
    for ref in parsed.refs:  # qualified names, so the typing below finds the catalog's columns
        refs[ref.index].set("db", exp.to_identifier(ref.database))
    _truncate_integer_division(tree, schema or {})
    _name_unnamed_columns(tree)
    token = f"__lakeward_relation_{secrets.token_hex(6)}_"
    for ref in parsed.refs:
        _point_at_placeholder(tree, refs[ref.index], ref, f"{token}{ref.index}")
    rendered = tree.sql(dialect="duckdb")
    for ref in sorted(parsed.refs, key=lambda r: -r.index):  # _10 before _1
        rendered = rendered.replace(f"{token}{ref.index}", relations[ref.index])
    return rendered


def _ref_nodes(tree: exp.Expr) -> dict[int, exp.Table]:
    return {
        node.meta["lakeward_ref"]: node
        for node in tree.find_all(exp.Table)
        if "lakeward_ref" in node.meta
    }


def _point_at_placeholder(tree: exp.Expr, node: exp.Table, ref: TableRef, name: str) -> None:
    # In place, so the node keeps what hangs on it (joins, pivots, column aliases).
    node.set("this", exp.to_identifier(name))
    node.set("db", None)
    node.set("catalog", None)
    if not node.alias:
        node.set("alias", exp.TableAlias(this=exp.to_identifier(ref.alias)))
    for column in tree.find_all(exp.Column):  # sales.orders.amount → orders.amount
        if column.args.get("db") and column.table.lower() == ref.alias:
            column.set("db", None)
            column.set("catalog", None)


def _truncate_integer_division(
    tree: exp.Expr, schema: Mapping[str, Mapping[str, Mapping[str, str]]]
) -> None:
    divisions = list(tree.find_all(exp.Div))
    if not divisions:
        return
    for number, division in enumerate(divisions):
        division.meta["lakeward_div"] = number
    integer = _integer_divisions(tree, schema)
    for division in divisions:
        if division.meta["lakeward_div"] in integer:
            division.replace(exp.IntDiv(this=division.left, expression=division.right))


def _integer_divisions(
    tree: exp.Expr, schema: Mapping[str, Mapping[str, Mapping[str, str]]]
) -> set[int]:
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.schema import MappingSchema

    try:
        mapping = MappingSchema(
            {db: {t: dict(cols) for t, cols in tables.items()} for db, tables in schema.items()},
            dialect="hive",
        )
        probe = qualify(
            tree.copy(),
            schema=mapping,
            dialect=DIALECT,
            expand_stars=False,
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
        probe = annotate_types(probe, schema=mapping, dialect=DIALECT)
    except (SqlglotError, KeyError, ValueError, TypeError, AttributeError):
        # Typing is best effort (sqlglot cannot type every query); what it cannot type
        # keeps DuckDB's division, as written.
        return set()
    return {
        division.meta["lakeward_div"]
        for division in probe.find_all(exp.Div)
        if "lakeward_div" in division.meta
        and division.left.is_type(*exp.DataType.INTEGER_TYPES)
        and division.right.is_type(*exp.DataType.INTEGER_TYPES)
    }


def _name_unnamed_columns(tree: exp.Expr) -> None:
    select: exp.Expr = tree
    while isinstance(select, exp.SetOperation | exp.Subquery):
        select = select.this if isinstance(select, exp.Subquery) else select.left
    if not isinstance(select, exp.Select):
        return
    for position, item in enumerate(select.expressions):
        if not isinstance(item, exp.Alias | exp.Column | exp.Star) and not item.is_star:
            item.replace(exp.alias_(item.copy(), f"_col{position}"))


# -- DuckDB literals and types -------------------------------------------------------------


def sql_string(value: str) -> str:
    """A SQL string literal.

    >>> sql_string("it's")
    "'it''s'"
    """
    return "'" + value.replace("'", "''") + "'"


def duckdb_type(hive_type: str) -> str:
    """DuckDB's name of a Hive/Athena column type; unknown types are read as text.

    >>> duckdb_type("string"), duckdb_type("decimal(10,2)"), duckdb_type("array<bigint>")
    ('TEXT', 'DECIMAL(10, 2)', 'BIGINT[]')
    """
    try:
        return exp.DataType.build(hive_type, dialect="hive").sql("duckdb")
    except (SqlglotError, ValueError):
        return "TEXT"


def sql_identifier(name: str) -> str:
    """A double-quoted SQL identifier.

    >>> print(sql_identifier('a"b'))
    "a""b"
    """
    return '"' + name.replace('"', '""') + '"'


# -- relations over files --------------------------------------------------------------------

_CSV_DELIMITER_KEYS = ("field.delim", "separatorChar", "serde:field.delim", "serde:separatorChar")
_CSV_QUOTE_KEYS = ("quoteChar", "serde:quoteChar")
_COMPRESSIONS = {"gzip": "gzip", "gz": "gzip", "zstd": "zstd"}


def relation_sql(scan: TableScan, *, by_name: bool = False) -> str:
    """DuckDB SQL of a relation over the files a scan reads, typed from the catalog.

    Partition keys come from the paths when every partition folder ends with its
    ``key=value`` segments (one reader with ``hive_partitioning``, keys typed by
    ``hive_types`` so ``year = '2024'`` stays a text comparison); otherwise each
    partition's files are read on their own with its values as constants, and the parts
    are unioned by name. No file to read gives an empty relation with the catalog's columns.

    Parquet files are matched to the first file's columns by name; ``by_name`` reads every
    file's footer first and unions all their columns (``union_by_name``), for files whose
    columns differ — slower by a footer read per file, so only when needed.

    Raises:
        NotSupported: A format DuckDB cannot read offline (``orc``, ``avro``).
    """
    table = scan.table
    if not scan.files:
        return _empty_relation(table)
    keys = table.partition_keys
    if not keys:
        return _reader(table, [item.path for item in scan.files], hive=False, by_name=by_name)
    present = [partition for partition in scan.partitions if partition.files]
    if all(_hive_folder(partition.location, keys, partition.values) for partition in present):
        return _reader(table, [item.path for item in scan.files], hive=True, by_name=by_name)
    parts = []
    for partition in present:
        constants = ", ".join(
            f"CAST({sql_string(value)} AS {duckdb_type(key.type)}) AS {sql_identifier(key.name)}"
            for key, value in zip(keys, partition.values, strict=True)
        )
        reader = _reader(
            table, [item.path for item in partition.files], hive=False, by_name=by_name
        )
        parts.append(f"SELECT *, {constants} FROM {reader}")
    return "(" + " UNION ALL BY NAME ".join(parts) + ")"


def _hive_folder(location: str, keys: Sequence[Column], values: Sequence[str]) -> bool:
    segments = location.rstrip("/").split("/")[-len(keys) :]
    expected = [f"{key.name}={value}" for key, value in zip(keys, values, strict=True)]
    return segments == expected


def _reader(table: Table, paths: Sequence[str], *, hive: bool, by_name: bool) -> str:
    files = "[" + ", ".join(sql_string(path) for path in paths) + "]"
    options = [f"hive_partitioning={'true' if hive else 'false'}"]
    if hive:
        types = ", ".join(
            f"{sql_string(key.name)}: {sql_string(duckdb_type(key.type))}"
            for key in table.partition_keys
        )
        options += [f"hive_types={{{types}}}", "hive_types_autocast=false"]
    if table.format == "parquet":
        if by_name and len(paths) > 1:
            options.append("union_by_name=true")
        return f"read_parquet({files}, {', '.join(options)})"
    options += _text_options(table)
    if table.format == "json":
        return f"read_json({files}, format='newline_delimited', {', '.join(options)})"
    if table.format == "csv":
        return f"read_csv({files}, {', '.join(options + _csv_options(table))})"
    raise NotSupported(
        f"table {table.database}.{table.name} is {table.format}: queries read parquet, json "
        "(NDJSON) and csv tables (DuckDB's orc and avro readers are extensions, which cannot "
        "be installed offline); convert it to parquet"
    )


def _text_options(table: Table) -> list[str]:
    options = []
    if table.columns:
        columns = ", ".join(
            f"{sql_string(column.name)}: {sql_string(duckdb_type(column.type))}"
            for column in table.columns
        )
        options.append(f"columns={{{columns}}}")
    compression = _COMPRESSIONS.get((table.compression or "").lower())
    if compression:
        options.append(f"compression={sql_string(compression)}")
    return options


def _csv_options(table: Table) -> list[str]:
    parameters = table.parameters
    options = []
    skip = parameters.get("skip.header.line.count")
    if skip is not None and skip.strip().isdigit():
        options.append(f"header={'true' if int(skip) >= 1 else 'false'}")
    delimiter = next((parameters[k] for k in _CSV_DELIMITER_KEYS if parameters.get(k)), None)
    if delimiter:
        options.append(f"delim={sql_string(delimiter)}")
    quote = next((parameters[k] for k in _CSV_QUOTE_KEYS if parameters.get(k)), None)
    if quote:
        options.append(f"quote={sql_string(quote)}")
    return options


def _empty_relation(table: Table) -> str:
    columns = [*table.columns, *table.partition_keys]
    if not columns:
        return "(SELECT NULL AS _empty LIMIT 0)"
    listed = ", ".join(
        f"CAST(NULL AS {duckdb_type(column.type)}) AS {sql_identifier(column.name)}"
        for column in columns
    )
    return f"(SELECT {listed} LIMIT 0)"
