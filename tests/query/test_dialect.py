from __future__ import annotations

import pytest

from lakeward.errors import InvalidRequest
from lakeward.query.dialect import duckdb_type, parse_query, render_duckdb

SCHEMA = {"sales": {"orders": {"id": "bigint", "qty": "int", "amount": "double", "year": "string"}}}


def refs(sql: str) -> list[tuple[str, str]]:
    return [(ref.qualified, ref.alias) for ref in parse_query(sql, "sales").refs]


def test_references_in_joins_subqueries_unions_and_ctes() -> None:
    sql = (
        "WITH orders AS (SELECT * FROM raw.orders WHERE y = 1) "
        "SELECT * FROM orders o JOIN awsdatacatalog.crm.customers c ON o.c = c.id "
        "WHERE o.id IN (SELECT id FROM returns) UNION ALL SELECT * FROM Sales.Orders"
    )
    assert sorted(refs(sql)) == [
        ("crm.customers", "c"),
        ("raw.orders", "orders"),
        ("sales.orders", "orders"),
        ("sales.returns", "returns"),
    ]


def test_cte_shadows_a_table_of_the_same_name() -> None:
    assert refs("WITH t AS (SELECT 1 AS a) SELECT * FROM t") == []


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("", "no statement"),
        ("SELECT 1; SELECT 2", "2 statements"),
        ("INSERT INTO t SELECT 1", "not INSERT"),
        ("SHOW TABLES", "not SHOW"),
        ("SELECT * FROM read_parquet('/etc/x')", "table function"),
        ("SELECT * FROM other.db.t", "catalog 'other'"),
        ("SELECT 'abc", "syntax error"),
    ],
)
def test_refused(sql: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_query(sql, "sales")


def test_syntax_error_caret_under_the_fragment() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_query("SELECT a,\n       b\nFROM t WHERE a = = 1", "sales")
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("SQL syntax error at line 3, column 18")
    assert lines[1:] == ["  FROM t WHERE a = = 1", "  " + " " * 17 + "^"]


def render(sql: str, relation: str = "REL") -> str:
    parsed = parse_query(sql, "sales")
    return render_duckdb(parsed, [relation] * len(parsed.refs), SCHEMA)


def test_render_replaces_tables_and_keeps_aliases() -> None:
    assert render("SELECT o.id FROM sales.orders o") == "SELECT o.id FROM REL AS o"
    assert (
        render("SELECT sales.orders.id, orders.qty FROM sales.orders")
        == "SELECT orders.id, orders.qty FROM REL AS orders"
    )
    assert render("SELECT * FROM orders AS x(a, b)") == "SELECT * FROM REL AS x(a, b)"


def test_athena_functions_transpile() -> None:
    out = render(
        "SELECT approx_distinct(id) AS a, date '2024-01-01' AS d, "
        "from_iso8601_timestamp('2024-01-01T00:00:00Z') AS t, "
        "date_add('day', 1, date '2024-01-01') AS n FROM orders"
    )
    assert "APPROX_COUNT_DISTINCT(id)" in out
    assert "CAST('2024-01-01' AS DATE)" in out
    assert "CAST('2024-01-01T00:00:00Z' AS TIMESTAMPTZ)" in out


def test_integer_division_truncates_like_athena() -> None:
    out = render("SELECT id / qty AS a, amount / qty AS b, sum(qty) / count(*) AS c FROM orders")
    assert out.startswith("SELECT id // qty AS a, amount / qty AS b, SUM(qty) // COUNT(*) AS c")


def test_unnamed_outputs_are_named_like_athena() -> None:
    assert render("SELECT id, count(*), 1 + 1 FROM orders GROUP BY id") == (
        "SELECT id, COUNT(*) AS _col1, 1 + 1 AS _col2 FROM REL AS orders GROUP BY id"
    )


def test_relations_are_placed_by_index() -> None:
    parsed = parse_query("SELECT * FROM a JOIN b ON TRUE", "sales")
    assert render_duckdb(parsed, ["R0", "R1"]) == "SELECT * FROM R0 AS a JOIN R1 AS b ON TRUE"
    with pytest.raises(ValueError, match="2 relations needed"):
        render_duckdb(parsed, ["R0"])


@pytest.mark.parametrize(
    ("hive", "duck"),
    [
        ("string", "TEXT"),
        ("bigint", "BIGINT"),
        ("int", "INT"),
        ("decimal(10,2)", "DECIMAL(10, 2)"),
        ("struct<a:int,b:string>", "STRUCT(a INT, b TEXT)"),
        ("map<string,int>", "MAP(TEXT, INT)"),
        ("date", "DATE"),
        ("¿", "TEXT"),
    ],
)
def test_duckdb_types(hive: str, duck: str) -> None:
    assert duckdb_type(hive) == duck
