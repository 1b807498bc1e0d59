from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from lakeward.cli import query as query_cli
from lakeward.cli._common import CliState
from tests.query.conftest import LakeEnv

app = typer.Typer()


@app.callback()
def _main(ctx: typer.Context, root: Annotated[Path, typer.Option("--root")]) -> None:
    ctx.obj = CliState(
        root=root,
        settings=[
            "workgroups.capped.bytes_scanned_cutoff=20000",
            "workgroups.primary.description=x",
        ],
    )
    ctx.call_on_close(ctx.obj.close)


query_cli.register(app)


def run(env: LakeEnv, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--root", str(env.root), *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_query_prints_rows_and_cost(sales: LakeEnv) -> None:
    code, out, err = run(
        sales, "query", "SELECT year, count(*) AS n FROM sales GROUP BY 1 ORDER BY 1"
    )
    assert code == 0, err
    assert "2023" in out and "1500" in out
    assert "2 rows · scanned" in out and "workgroup primary" in out


def test_query_run_spelled_out_json_and_stdin(sales: LakeEnv) -> None:
    code, out, err = run(
        sales, "query", "run", "-", "--format", "json",
        input="SELECT month, count(*) AS n FROM sales WHERE year = '2024' GROUP BY 1 ORDER BY 1",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == [{"month": m, "n": 500} for m in ("01", "02", "03")]
    assert "3 rows" in err  # the summary stays off stdout


def test_query_csv_and_parquet(sales: LakeEnv, tmp_path: Path) -> None:
    code, out, _ = run(
        sales, "query", "SELECT DISTINCT state FROM sales ORDER BY 1", "--format", "csv"
    )
    assert code == 0 and out.splitlines() == ['"state"', '"CA"', '"NY"', '"TX"', '"WA"']
    target = tmp_path / "out.parquet"
    code, _, err = run(
        sales,
        "query",
        "SELECT id FROM sales WHERE month = '01'",
        "--format",
        "parquet",
        "-o",
        str(target),
    )
    assert code == 0, err
    assert pq.read_table(target).num_rows == 1000


def test_explain_and_estimate_do_not_run(sales: LakeEnv) -> None:
    sql = "SELECT * FROM sales WHERE year = '2024' AND month = '02'"
    code, out, err = run(sales, "query", sql, "--explain")
    assert code == 0, err
    assert "lake_dev.sales AS sales: 1 partitions, 1 files" in out
    assert "year=2024, month=02: 1 files" in out and "read_parquet" in out
    code, out, _ = run(sales, "query", "estimate", sql, "--json", "-w", "capped")
    plan = json.loads(out)
    assert plan["scans"][0]["partitions"] == [["2024", "02"]]
    assert plan["exceeds_cutoff"] is False and plan["bytes_scanned_cutoff"] == 20000
    code, out, _ = run(sales, "query", "estimate", "SELECT * FROM sales", "-w", "capped")
    assert code == 0 and "REFUSED" in out
    code, out, _ = run(sales, "query", "history", "--json")
    assert json.loads(out) == []


def test_errors_exit_1_and_history(sales: LakeEnv) -> None:
    code, _, err = run(sales, "query", "SELECT * FROM sales", "-w", "capped")
    assert code == 1 and "BytesScannedCutoff" in err
    code, _, err = run(sales, "query", "SELECT * FROM slaes")
    assert code == 1 and "did you mean 'sales'" in err
    code, _, err = run(sales, "query", "SELECT * FROM sales WHERE")
    assert code == 1 and "SQL syntax error" in err and "^" in err
    code, out, _ = run(sales, "query", "history", "--json", "--workgroup", "capped")
    assert [e["status"] for e in json.loads(out)] == ["refused"]
    code, out, _ = run(sales, "query", "history")
    assert code == 0 and "failed" in out and "refused" in out


def test_catalog_commands(sales: LakeEnv) -> None:
    code, out, _ = run(sales, "catalog", "ls")
    assert code == 0 and "lake_dev" in out
    code, out, _ = run(sales, "catalog", "ls", "lake_dev", "--json")
    assert [t["name"] for t in json.loads(out)] == ["sales"]
    code, out, _ = run(sales, "catalog", "show", "sales")
    assert code == 0 and "partition key" in out and "s3://lake-dev-lake/processed/sales/" in out
    code, out, _ = run(
        sales, "catalog", "partitions", "lake_dev.sales", "--where", "month = '03'", "--json"
    )
    assert [p["values"] for p in json.loads(out)] == [
        {"year": "2023", "month": "03"},
        {"year": "2024", "month": "03"},
    ]
    table = sales.catalog.get_table("lake_dev", "sales")
    from dataclasses import replace

    from lakeward.catalog.base import Column

    sales.catalog.update_table(
        replace(
            table, columns=(*table.columns[:-1], Column("ts", "string"), Column("note", "string"))
        )
    )
    code, out, _ = run(sales, "catalog", "history", "sales", "--diff")
    assert code == 0 and "+ note string" in out and "~ ts timestamp → string" in out


def test_ddl_show_and_apply(sales: LakeEnv, tmp_path: Path) -> None:
    code, out, _ = run(sales, "ddl", "sales")
    assert code == 0 and out.startswith("CREATE EXTERNAL TABLE `lake_dev`.`sales`")
    assert run(sales, "ddl", "show", "lake_dev.sales")[1] == out
    ddl = tmp_path / "t.sql"
    ddl.write_text(out.replace("`lake_dev`.`sales`", "analytics.sales_copy"))
    code, out, err = run(sales, "ddl", "apply", str(ddl))
    assert code == 0, err
    assert "created database analytics" in out and "created analytics.sales_copy (version 1)" in out
    code, _, err = run(sales, "ddl", "apply", str(ddl))
    assert code == 1 and "--replace" in err
    code, out, _ = run(sales, "ddl", "apply", str(ddl), "--replace")
    assert code == 0 and "updated analytics.sales_copy (version 2)" in out


@pytest.mark.parametrize("group", ["query", "catalog", "ddl"])
def test_help(sales: LakeEnv, group: str) -> None:
    code, out, _ = run(sales, group, "--help")
    assert code == 0 and len(out) > 100
