from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from lakeward.catalog.base import Column, Partition, Table
from lakeward.errors import AccessDenied, InvalidRequest, NoSuchTable, NotSupported
from lakeward.query import BytesScannedCutoff, QueryEngine
from lakeward.query.cost import MIN_BILLED_BYTES, query_cost
from tests.query.conftest import BUCKET, DB, LakeEnv, ndjson


def raw(env: LakeEnv, sql: str) -> pa.Table:
    """The same query in plain DuckDB over a glob of the table's files."""
    glob = env.view / "processed/sales/*/*/*.parquet"
    relation = f"read_parquet('{glob}', hive_partitioning=true, hive_types_autocast=false)"
    return duckdb.sql(sql.replace("SALES", relation)).to_arrow_table()


def sorted_rows(table: pa.Table) -> list[tuple[object, ...]]:
    return sorted(zip(*(column.to_pylist() for column in table.columns), strict=True))


def test_partition_filter_reads_only_matching_files(sales: LakeEnv) -> None:
    sql = "SELECT count(*) AS n, sum(amount) AS total FROM sales WHERE year = '2024' AND month IN ('01', '02')"
    estimate = sales.engine.estimate(sql)
    assert [p.values for p in estimate.partitions] == [("2024", "01"), ("2024", "02")]
    assert [Path(f.path).relative_to(sales.view).as_posix() for f in estimate.files] == [
        "processed/sales/year=2024/month=01/part-0.parquet",
        "processed/sales/year=2024/month=02/part-0.parquet",
    ]
    assert estimate.scans[0].expression == "year = '2024' AND month IN ('01', '02')"
    assert estimate.bytes == sum(f.size for f in estimate.files)

    pruned = sales.engine.run(sql)
    full = sales.engine.run("SELECT count(*) AS n, sum(amount) AS total FROM sales")
    assert pruned.table.column("n").to_pylist() == [1000]
    assert 0 < pruned.bytes_scanned < full.bytes_scanned
    assert full.estimate.bytes == sum(f.size for f in full.estimate.files)
    assert len(full.estimate.files) == 6  # _SUCCESS and .crc are not data


def test_results_equal_raw_duckdb(sales: LakeEnv) -> None:
    sql = (
        "SELECT year, month, state, count(*) AS n, sum(amount) AS total, max(ts) AS last "
        "FROM SALES WHERE year = '2023' AND month BETWEEN '02' AND '03' AND qty > 2 "
        "GROUP BY year, month, state ORDER BY year, month, state"
    )
    ours = sales.engine.run(sql.replace("SALES", "lake_dev.sales"))
    expected = raw(sales, sql)
    assert ours.table.column_names == expected.column_names
    assert ours.table.to_pylist() == expected.to_pylist()
    assert len(ours.estimate.files) == 2


def test_select_star_matches_raw(sales: LakeEnv) -> None:
    sql = "SELECT * FROM SALES WHERE month = '03' AND state = 'NY'"
    ours = sales.engine.run(sql.replace("SALES", "sales"))
    expected = raw(sales, sql)
    assert sorted(ours.table.column_names) == sorted(expected.column_names)
    assert sorted_rows(ours.table.select(expected.column_names)) == sorted_rows(expected)
    assert {p.values for p in ours.estimate.partitions} == {("2023", "03"), ("2024", "03")}


def test_athena_syntax_transpiles_and_runs(sales: LakeEnv) -> None:
    result = sales.engine.run(
        "SELECT approx_distinct(state) AS states, "
        "count_if(ts >= from_iso8601_timestamp('2024-03-05T00:00:00Z')) AS late, "
        "date '2024-01-01' AS d, date_trunc('month', min(ts)) AS first_month, "
        "7 / 2 AS int_div, sum(qty) / count(*) AS avg_int, 7 / 2.0 AS real_div "
        "FROM sales s WHERE s.year = '2024' AND s.month = '03'"
    )
    row = result.table.to_pylist()[0]
    assert row["states"] == 4
    assert row["late"] == 500 - 4 * 24
    assert str(row["d"]) == "2024-01-01"
    assert row["int_div"] == 3 and row["real_div"] == 3.5
    assert isinstance(row["avg_int"], int)
    assert "APPROX_COUNT_DISTINCT" in result.sql_duckdb
    assert len(result.estimate.files) == 1


def test_unnamed_columns_are_named_like_athena(sales: LakeEnv) -> None:
    result = sales.engine.run("SELECT year, count(*), max(amount) FROM sales GROUP BY year")
    assert result.table.column_names == ["year", "_col1", "_col2"]


def test_bytes_scanned_and_minimum_cost(sales: LakeEnv) -> None:
    result = sales.engine.run("SELECT sum(amount) FROM sales WHERE year = '2023'")
    assert 0 < result.bytes_scanned < MIN_BILLED_BYTES
    assert result.cost_usd == query_cost(0) == pytest.approx(10 * 2**20 / 2**40 * 5)
    assert result.estimate.cost_usd == pytest.approx(result.cost_usd)
    assert result.seconds > 0


def test_cutoff_refuses_and_history_records(sales: LakeEnv) -> None:
    engine = sales.engine
    small = engine.estimate("SELECT id FROM sales WHERE year = '2024' AND month = '01'", "capped")
    assert not small.exceeds_cutoff and small.cutoff == 20_000
    engine.run("SELECT id FROM sales WHERE year = '2024' AND month = '01'", "capped")

    with pytest.raises(BytesScannedCutoff) as caught:
        engine.run("SELECT id FROM sales", "capped")
    assert isinstance(caught.value, AccessDenied)
    assert caught.value.cutoff == 20_000 and caught.value.estimated_bytes > 20_000
    message = str(caught.value)
    assert "'capped'" in message and "year, month" in message

    with pytest.raises(InvalidRequest):
        engine.run("SELECT nope FROM sales WHERE year = '2024' AND month = '01'", "capped")

    rows = engine.history("capped")
    assert [r.status for r in rows] == ["failed", "refused", "succeeded"]
    failed, refused, succeeded = rows
    assert refused.bytes_scanned == 0 and refused.cost_usd == 0
    assert refused.bytes_estimated is not None and refused.bytes_estimated > 20_000
    assert "BytesScannedCutoff" in (refused.error or "")
    assert succeeded.bytes_scanned > 0 and succeeded.cost_usd == query_cost(0)
    assert succeeded.sql.startswith("SELECT id FROM sales WHERE")
    assert "nope" in (failed.error or "")
    assert engine.history("primary") == []
    assert len(engine.history(limit=2)) == 2


def test_primary_is_unlimited_and_unknown_workgroups_are_refused(sales: LakeEnv) -> None:
    assert sales.engine.estimate("SELECT 1", "primary").cutoff is None
    with pytest.raises(
        InvalidRequest, match=r"unknown workgroup 'analyst'.*did you mean 'analysts'"
    ):
        sales.engine.run("SELECT 1", "analyst")
    assert sales.engine.history() == []  # no workgroup to record it in


def test_unknown_table_suggests(sales: LakeEnv) -> None:
    with pytest.raises(NoSuchTable, match="did you mean 'sales'"):
        sales.engine.run("SELECT * FROM sale")
    assert sales.engine.history()[0].status == "failed"


def test_bad_sql_points_at_the_position(sales: LakeEnv) -> None:
    with pytest.raises(InvalidRequest) as caught:
        sales.engine.run("SELECT id,\n  amount FRM sales")
    text = str(caught.value)
    # FRM reads as an alias of amount, so the parser stops at the table's name
    assert "line 2, column 14: Invalid expression / Unexpected token" in text
    assert text.endswith("\n    amount FRM sales\n" + " " * 15 + "^^^^^")


def test_no_matching_partition_gives_empty_typed_result(sales: LakeEnv) -> None:
    result = sales.engine.run("SELECT id, amount, year FROM sales WHERE year = '1999'")
    assert result.table.num_rows == 0
    assert result.table.column_names == ["id", "amount", "year"]
    assert result.estimate.files == () and result.bytes_scanned == 0


def test_join_and_cte_prune_each_reference(sales: LakeEnv) -> None:
    sql = (
        "WITH jan AS (SELECT state, sum(amount) AS a FROM sales WHERE month = '01' "
        "AND year = '2023' GROUP BY state) "
        "SELECT j.state, j.a, count(*) AS n FROM jan j JOIN lake_dev.sales s "
        "ON s.state = j.state AND s.year = '2024' AND s.month = '02' GROUP BY 1, 2 ORDER BY 1"
    )
    estimate = sales.engine.estimate(sql)
    assert [scan.expression for scan in estimate.scans] == [
        "month = '01' AND year = '2023'",
        "year = '2024' AND month = '02'",
    ]
    assert len(estimate.files) == 2
    rows = sales.engine.run(sql).table.to_pylist()
    assert [r["state"] for r in rows] == ["CA", "NY", "TX", "WA"]
    assert all(r["n"] == 125 for r in rows)


def test_left_join_keeps_preserved_side(sales: LakeEnv) -> None:
    sql = (
        "SELECT count(*) AS n FROM sales a LEFT JOIN sales b "
        "ON a.id = b.id AND b.year = '2023' AND a.year = '2024'"
    )
    estimate = sales.engine.estimate(sql)
    assert estimate.scans[0].expression is None  # a is preserved: every partition
    assert estimate.scans[1].expression == "year = '2023'"
    assert sales.engine.run(sql).table.to_pylist() == [{"n": 3000}]


def test_catalog_refusing_the_expression_reads_every_partition(sales: LakeEnv) -> None:
    class Refusing(type(sales.catalog)):  # type: ignore[misc]
        def get_partitions(self, database, table, expression=None):  # type: ignore[no-untyped-def]
            if expression is not None:
                raise InvalidRequest("cannot read that")
            return super().get_partitions(database, table)

    catalog = Refusing(sales.root)
    try:
        engine = QueryEngine(catalog, sales.config, sales.root)
        result = engine.run("SELECT count(*) AS n FROM sales WHERE year = '2024'")
    finally:
        catalog.close()
    assert result.table.to_pylist() == [{"n": 1500}]
    assert len(result.estimate.files) == 6


def test_partitions_outside_hive_folders(lake_env: LakeEnv) -> None:
    from tests.query.conftest import parquet_bytes, sales_rows

    table = Table(
        DB,
        "events",
        (Column("id", "bigint"), Column("amount", "double")),
        f"s3://{BUCKET}/landing/events/",
        "parquet",
        partition_keys=(Column("partition_0", "string"), Column("partition_1", "int")),
    )
    lake_env.catalog.create_table(table)
    parts = []
    for year, month in (("2023", "01"), ("2024", "02")):
        key = f"landing/events/{year}/{month}/data.parquet"
        lake_env.put(key, parquet_bytes(sales_rows(year, month).select(["id", "amount"])))
        parts.append(Partition((year, month), f"s3://{BUCKET}/landing/events/{year}/{month}/"))
    lake_env.catalog.batch_create_partitions(DB, "events", parts)
    pruned = lake_env.engine.estimate("SELECT * FROM events WHERE partition_1 >= 2")
    assert pruned.scans[0].expression == "partition_1 >= 2"
    assert [p.values for p in pruned.partitions] == [("2024", "02")]
    result = lake_env.engine.run(
        "SELECT partition_0, partition_1, count(*) AS n FROM events "
        "WHERE partition_1 >= 1 GROUP BY 1, 2 ORDER BY 1"
    )
    assert result.table.to_pylist() == [
        {"partition_0": "2023", "partition_1": 1, "n": 500},
        {"partition_0": "2024", "partition_1": 2, "n": 500},
    ]
    assert "UNION ALL BY NAME" in result.sql_duckdb


def test_csv_table(lake_env: LakeEnv) -> None:
    body = b'id,name,amount\n1,ana,2.5\n2,bob,3\n3,"c, d",4\n'
    lake_env.put("raw/people/ingest_date=2024-05-01/a.csv", body)
    lake_env.put("raw/people/ingest_date=2024-05-02/b.csv", b"id,name,amount\n4,eve,1\n")
    lake_env.catalog.create_table(
        Table(
            DB,
            "people",
            (Column("id", "bigint"), Column("name", "string"), Column("amount", "double")),
            f"s3://{BUCKET}/raw/people/",
            "csv",
            partition_keys=(Column("ingest_date", "date"),),
            parameters={"skip.header.line.count": "1", "classification": "csv"},
        )
    )
    lake_env.catalog.batch_create_partitions(
        DB,
        "people",
        [
            Partition((d,), f"s3://{BUCKET}/raw/people/ingest_date={d}/")
            for d in ("2024-05-01", "2024-05-02")
        ],
    )
    result = lake_env.engine.run(
        "SELECT name, amount, ingest_date FROM people "
        "WHERE ingest_date = DATE '2024-05-01' ORDER BY id"
    )
    assert [r["name"] for r in result.table.to_pylist()] == ["ana", "bob", "c, d"]
    assert str(result.table.to_pylist()[0]["ingest_date"]) == "2024-05-01"
    assert len(result.estimate.files) == 1
    assert result.estimate.scans[0].expression == "ingest_date = '2024-05-01'"
    assert result.bytes_scanned > 0


def test_ndjson_table_unpartitioned(lake_env: LakeEnv) -> None:
    lake_env.put(
        "raw/clicks/2024/a.json",
        ndjson([{"user": 1, "page": "/", "extra": True}, {"user": 2, "page": "/a"}]),
    )
    lake_env.put("raw/clicks/b.json", ndjson([{"user": 3}]))
    lake_env.catalog.create_table(
        Table(
            DB,
            "clicks",
            (Column("user", "bigint"), Column("page", "string")),
            f"s3://{BUCKET}/raw/clicks/",
            "json",
        )
    )
    result = lake_env.engine.run('SELECT "user", page FROM clicks ORDER BY "user"')
    assert result.table.to_pylist() == [
        {"user": 1, "page": "/"},
        {"user": 2, "page": "/a"},
        {"user": 3, "page": None},
    ]
    assert len(result.estimate.files) == 2  # read recursively under the location


def test_gzip_ndjson(lake_env: LakeEnv) -> None:
    import gzip

    lake_env.put("raw/logs/x.ndjson.gz", gzip.compress(ndjson([{"level": "warn"}] * 3)))
    lake_env.catalog.create_table(
        Table(DB, "logs", (Column("level", "string"),), f"s3://{BUCKET}/raw/logs/", "json")
    )
    assert lake_env.engine.run("SELECT count(*) AS n FROM logs").table.to_pylist() == [{"n": 3}]


def test_orc_is_not_supported(lake_env: LakeEnv) -> None:
    lake_env.put("raw/o/x.orc", b"ORC....")
    lake_env.catalog.create_table(
        Table(DB, "o", (Column("a", "int"),), f"s3://{BUCKET}/raw/o/", "orc")
    )
    with pytest.raises(NotSupported, match="convert it to parquet"):
        lake_env.engine.estimate("SELECT * FROM o")


def test_table_functions_and_statements_are_refused(sales: LakeEnv) -> None:
    with pytest.raises(InvalidRequest, match="table function"):
        sales.engine.run("SELECT * FROM read_text('/etc/passwd')")
    with pytest.raises(InvalidRequest, match="only queries"):
        sales.engine.run("DROP TABLE sales")
    with pytest.raises(InvalidRequest, match="one query at a time"):
        sales.engine.run("SELECT 1; SELECT 2")


def test_duckdb_is_confined_to_the_view(sales: LakeEnv, tmp_path: Path) -> None:
    from lakeward.query.engine import _execute

    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    with pytest.raises(AccessDenied):
        _execute(f"SELECT * FROM read_csv('{outside}')", [str(sales.view) + "/"])


@pytest.mark.parametrize(
    ("where", "partitions"),
    [
        ("year = '2024' AND month IN ('01', '02')", 2),
        ("(month = '01' OR month = '03') AND year > '2023'", 2),
        ("month NOT IN ('01', '02')", 2),
        ("month BETWEEN '02' AND '03' AND NOT (year = '2023')", 2),
        ("month <> '02'", 4),
        ("'2024' <= year AND month < '02'", 1),
        ("year = '2023' OR amount > 10", 6),
        ("upper(state) = 'NY' AND month = '02'", 2),
    ],
)
def test_real_catalog_evaluates_pruning_expressions(
    sales: LakeEnv, where: str, partitions: int
) -> None:
    sql = f"SELECT count(*) AS n FROM sales WHERE {where}"
    result = sales.engine.run(sql)
    assert len(result.estimate.partitions) == partitions
    assert result.table.to_pylist() == raw(sales, sql.replace("sales", "SALES")).to_pylist()


def test_parquet_files_with_different_columns_are_unioned_by_name(lake_env: LakeEnv) -> None:
    from tests.query.conftest import parquet_bytes

    old = pa.table({"id": [1, 2], "amount": [1.0, 2.0]})
    new = pa.table({"note": ["n"], "id": [3], "amount": [3.0]})
    lake_env.put("processed/evolving/year=2023/part-0.parquet", parquet_bytes(old))
    lake_env.put("processed/evolving/year=2024/part-0.parquet", parquet_bytes(new))
    columns = (Column("id", "bigint"), Column("amount", "double"), Column("note", "string"))
    lake_env.catalog.create_table(
        Table(DB, "evolving", columns, f"s3://{BUCKET}/processed/evolving/", "parquet",
              partition_keys=(Column("year", "string"),))
    )  # fmt: skip
    lake_env.catalog.batch_create_partitions(
        DB,
        "evolving",
        [Partition((y,), f"s3://{BUCKET}/processed/evolving/year={y}/") for y in ("2023", "2024")],
    )
    result = lake_env.engine.run("SELECT id, note, year FROM evolving ORDER BY id")
    assert result.table.to_pylist() == [
        {"id": 1, "note": None, "year": "2023"},
        {"id": 2, "note": None, "year": "2023"},
        {"id": 3, "note": "n", "year": "2024"},
    ]
    assert "union_by_name=true" in result.sql_duckdb
    same = lake_env.engine.run("SELECT sum(amount) AS s FROM evolving")
    assert same.table.to_pylist() == [{"s": 6.0}]


def test_files_with_one_schema_are_read_without_union_by_name(sales: LakeEnv) -> None:
    result = sales.engine.run("SELECT count(*) AS n FROM sales")
    assert "union_by_name" not in result.sql_duckdb
    assert "union_by_name=true" in result.estimate.sql_duckdb_by_name


def test_queries_from_several_threads(sales: LakeEnv) -> None:
    from concurrent.futures import ThreadPoolExecutor

    months = ["01", "02", "03"] * 4
    sql = "SELECT count(*) AS n FROM sales WHERE month = '{}'"
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda m: sales.engine.run(sql.format(m)), months))
    assert all(r.table.to_pylist() == [{"n": 1000}] for r in results)
    assert len(sales.engine.history(limit=50)) == len(months)


def test_each_run_reports_its_own_bytes_on_a_reused_cursor(sales: LakeEnv) -> None:
    one = "SELECT sum(amount) FROM sales WHERE year = '2023' AND month = '01'"
    first = sales.engine.run(one).bytes_scanned
    everything = sales.engine.run("SELECT sum(amount) FROM sales").bytes_scanned
    with pytest.raises(InvalidRequest):
        sales.engine.run("SELECT no_such_column FROM sales")
    again = sales.engine.run(one).bytes_scanned
    assert 0 < first == again < everything


def test_threads_report_their_own_bytes(sales: LakeEnv) -> None:
    from concurrent.futures import ThreadPoolExecutor

    one = "SELECT sum(amount) FROM sales WHERE month = '01'"
    full = "SELECT sum(amount) FROM sales"
    expected = {
        one: sales.engine.run(one).bytes_scanned,
        full: sales.engine.run(full).bytes_scanned,
    }
    with ThreadPoolExecutor(3) as pool:
        runs = list(
            pool.map(lambda sql: (sql, sales.engine.run(sql).bytes_scanned), [one, full] * 6)
        )
    assert all(scanned == expected[sql] for sql, scanned in runs)
    assert expected[one] < expected[full]
