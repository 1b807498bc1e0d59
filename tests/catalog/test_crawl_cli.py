"""``lakeward crawl`` through a CLI app that registers only it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from typer.testing import CliRunner

from lakeward.cli import crawl as crawl_cli
from lakeward.cli._common import CliState

from .conftest import CrawlEnv, csv_bytes, ndjson_bytes, sales

app = typer.Typer()


@app.callback()
def _main(ctx: typer.Context, root: Annotated[Path, typer.Option("--root")]) -> None:
    ctx.obj = CliState(root=root)
    ctx.call_on_close(ctx.obj.close)


crawl_cli.register(app)


def run(env: CrawlEnv, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--root", str(env.root), "crawl", *args])
    return result.exit_code, result.stdout, result.stderr


def test_crawl_prints_a_summary_and_explanations(env: CrawlEnv) -> None:
    env.put("raw/sales/year=2024/a.csv", csv_bytes(sales()))
    env.put("raw/mixed/a.csv", csv_bytes(sales()))
    env.put("raw/mixed/b.json", ndjson_bytes(sales()))
    env.catalog.close()  # the CLI opens its own
    code, out, err = run(env, "--prefix", "s3://lake/raw/", "--explain")
    assert code == 0, err
    assert "sales" in out and "created" in out and "mixed_json" in out
    assert "split by format: raw/mixed/ also holds json files" in out
    assert "3 objects listed, 3 sampled" in out

    code, out, err = run(env, "--prefix", "s3://lake/raw/", "--json", "--exclude", "*.json")
    assert code == 0, err
    data = json.loads(out)
    assert {t["name"]: t["action"] for t in data["tables"]} == {
        "mixed_csv": "unchanged",
        "mixed_json": "deprecated",  # its only file is excluded now
        "sales": "unchanged",
    }


def test_crawl_errors_are_messages(env: CrawlEnv) -> None:
    code, _, err = run(env)
    assert code == 1 and "give a dataset" in err
    code, _, err = run(env, "--prefix", "s3://lake/raw/", "--update-behavior", "merge")
    assert code == 1 and "update behavior 'MERGE'" in err
