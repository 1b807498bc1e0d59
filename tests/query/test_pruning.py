from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from lakeward.catalog.base import Column, Table
from lakeward.config import load_config
from lakeward.errors import InvalidRequest
from lakeward.query import pruning as pruning_module
from lakeward.query.dialect import parse_query
from lakeward.query.pruning import LocalFileSource, open_file_source, partition_expression

TABLE = Table(
    "sales",
    "orders",
    (Column("amount", "double"), Column("state", "string")),
    "s3://b/orders/",
    "parquet",
    partition_keys=(Column("year", "int"), Column("month", "string"), Column("day", "date")),
)


def expression(where: str, source: str = "orders") -> str | None:
    ref = parse_query(f"SELECT * FROM {source} WHERE {where}", "sales").refs[0]
    return partition_expression(ref, TABLE)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("month = '01'", "month = '01'"),
        ("'01' = month", "month = '01'"),
        ("'02' < month", "month > '02'"),
        ("year >= 2023 AND month <= '06'", "year >= 2023 AND month <= '06'"),
        ("year = '2024'", "year = 2024"),  # DuckDB compares an int key as a number
        ("year BETWEEN 2020 AND 2022", "year BETWEEN 2020 AND 2022"),
        ("month IN ('01', '02')", "month IN ('01', '02')"),
        ("month NOT IN ('01')", "NOT (month IN ('01'))"),
        ("(month = '01' OR month = '03')", "(month = '01' OR month = '03')"),
        ("month <> '01'", "month <> '01'"),
        ("day = DATE '2024-01-02'", "day = '2024-01-02'"),
        ("year = -1", "year = -1"),
        ("month = 'it''s'", "month = 'it''s'"),
        ("orders.month = '01' AND sales.orders.year = 1", "month = '01' AND year = 1"),
    ],
)
def test_translated(where: str, expected: str) -> None:
    assert expression(where) == expected


@pytest.mark.parametrize(
    "where",
    [
        "amount > 3",  # not a partition key
        "month = 3",  # '03' = 3 is true in DuckDB, never in Glue's text comparison
        "lower(month) = '01'",
        "month = state",
        "month IN (SELECT m FROM other)",
        "month LIKE '0%'",
        "month IS NULL",
        "month = '01' OR amount > 3",  # the OR needs both sides
        "year = 'x'",
        "month = DATE '2024-01-01'",  # compares as a date: '2024-1-1' would match
        "x.month = '01'",  # another table's column
    ],
)
def test_not_translated(where: str) -> None:
    assert expression(where) is None


def test_untranslatable_conjuncts_are_dropped_not_the_rest() -> None:
    assert expression("amount > 1 AND month = '01' AND lower(state) = 'x'") == "month = '01'"


def test_on_conditions_of_inner_and_left_joins_only() -> None:
    def scan_filters(sql: str) -> list[str | None]:
        return [partition_expression(ref, TABLE) for ref in parse_query(sql, "sales").refs]

    inner = "SELECT * FROM t JOIN orders o ON o.month = '01'"
    assert scan_filters(inner) == [None, "month = '01'"]
    left = "SELECT * FROM orders a LEFT JOIN orders b ON a.month = '01' AND b.month = '02'"
    assert scan_filters(left) == [None, "month = '02'"]
    right = "SELECT * FROM orders a RIGHT JOIN orders b ON b.month = '02'"
    assert scan_filters(right) == [None, None]
    full = "SELECT * FROM orders a FULL JOIN orders b ON b.month = '02'"
    assert scan_filters(full) == [None, None]


def test_filters_of_another_query_block_do_not_prune() -> None:
    sql = "SELECT * FROM (SELECT * FROM orders) s WHERE s.month = '01'"
    assert partition_expression(parse_query(sql, "sales").refs[0], TABLE) is None


def test_unpartitioned_table_has_no_expression() -> None:
    plain = Table("sales", "orders", (Column("month", "string"),), "s3://b/o/", "parquet")
    ref = parse_query("SELECT * FROM orders WHERE month = '01'", "sales").refs[0]
    assert partition_expression(ref, plain) is None


def test_local_listing_skips_markers_hidden_and_empty_files(tmp_path: Path) -> None:
    folder = tmp_path / "buckets" / "b" / "t" / "year=2024"
    (folder / "sub").mkdir(parents=True)
    (folder / "_temporary").mkdir()
    (folder / "a.parquet").write_bytes(b"x" * 5)
    (folder / "sub" / "b.parquet").write_bytes(b"y" * 3)
    (folder / "_temporary" / "c.parquet").write_bytes(b"z")
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / ".a.parquet.crc").write_bytes(b"crc")
    (folder / "empty.parquet").write_bytes(b"")
    (folder / "x_$folder$").write_bytes(b"m")
    source = LocalFileSource(tmp_path)
    listed = source.list_files("d.t", "s3://b/t/year=2024/")
    assert [(Path(f.path).relative_to(folder).as_posix(), f.size) for f in listed] == [
        ("a.parquet", 5),
        ("sub/b.parquet", 3),
    ]
    assert source.list_files("d.t", "s3://b/missing/") == []
    assert source.path_of("s3://b") == tmp_path.resolve() / "buckets" / "b"


@pytest.mark.parametrize("location", ["s3://b/../etc/", "/etc/passwd", "gs://b/x/", "s3://"])
def test_bad_locations(tmp_path: Path, location: str) -> None:
    with pytest.raises(InvalidRequest):
        LocalFileSource(tmp_path).path_of(location)


def test_logical_bucket_names_resolve(tmp_path: Path) -> None:
    config = load_config(environ={}, overrides={"backend.root": str(tmp_path)})
    source = open_file_source(config, tmp_path)
    assert isinstance(source, LocalFileSource)
    assert source.path_of("s3://lake/x/") == tmp_path.resolve() / "buckets" / "lake-dev-lake" / "x"


# -- listings reused while a folder is unchanged ------------------------------------------------


def _age(*folders: Path, seconds: float = 60.0) -> None:
    """Date the folders' mtime back, as if last changed ``seconds`` ago."""
    for folder in folders:
        then = folder.stat().st_mtime - seconds
        os.utime(folder, (then, then))


def _scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = pruning_module._scan

    def counting(folder: str, stamp: tuple[int, int, int]) -> object:
        seen.append(folder)
        return real(folder, stamp)

    monkeypatch.setattr(pruning_module, "_scan", counting)
    return seen


def _listed(source: LocalFileSource, root: Path) -> list[tuple[str, int]]:
    base = root.resolve() / "buckets" / "b" / "t"
    return [
        (Path(f.path).relative_to(base).as_posix(), f.size)
        for f in source.list_files("d.t", "s3://b/t/")
    ]


def test_an_unchanged_folder_is_listed_from_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "buckets" / "b" / "t"
    (table / "p=1").mkdir(parents=True)
    (table / "p=1" / "a.parquet").write_bytes(b"xx")
    _age(table, table / "p=1")
    source = LocalFileSource(tmp_path)
    scans = _scans(monkeypatch)
    assert _listed(source, tmp_path) == [("p=1/a.parquet", 2)]
    assert len(scans) == 2  # the table folder and its partition
    assert _listed(source, tmp_path) == [("p=1/a.parquet", 2)]
    assert len(scans) == 2  # nothing listed again


def test_added_removed_and_renamed_files_show_at_once(tmp_path: Path) -> None:
    table = tmp_path / "buckets" / "b" / "t"
    partition = table / "p=1"
    partition.mkdir(parents=True)
    (partition / "a.parquet").write_bytes(b"xx")
    _age(table, partition)
    source = LocalFileSource(tmp_path)
    assert _listed(source, tmp_path) == [("p=1/a.parquet", 2)]
    (partition / "b.parquet").write_bytes(b"yyy")
    assert _listed(source, tmp_path) == [("p=1/a.parquet", 2), ("p=1/b.parquet", 3)]
    _age(partition)
    assert _listed(source, tmp_path) == [("p=1/a.parquet", 2), ("p=1/b.parquet", 3)]
    (partition / "a.parquet").unlink()
    assert _listed(source, tmp_path) == [("p=1/b.parquet", 3)]
    _age(partition)
    _listed(source, tmp_path)
    tmp = partition / ".b.tmp"
    tmp.write_bytes(b"zzzz")
    tmp.replace(partition / "b.parquet")  # how the store writes: a rename over the old file
    assert _listed(source, tmp_path) == [("p=1/b.parquet", 4)]
    (table / "p=2").mkdir()
    (table / "p=2" / "c.parquet").write_bytes(b"c")
    assert _listed(source, tmp_path) == [("p=1/b.parquet", 4), ("p=2/c.parquet", 1)]


def test_a_folder_changed_just_now_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Same clock tick: a change right after the listing could keep an equal mtime.
    partition = tmp_path / "buckets" / "b" / "t"
    partition.mkdir(parents=True)
    (partition / "a.parquet").write_bytes(b"xx")
    source = LocalFileSource(tmp_path)
    scans = _scans(monkeypatch)
    _listed(source, tmp_path)
    _listed(source, tmp_path)
    assert len(scans) == 2
    _age(partition)
    _listed(source, tmp_path)
    _listed(source, tmp_path)
    assert len(scans) == 3


def test_a_replaced_folder_is_listed_again(tmp_path: Path) -> None:
    table = tmp_path / "buckets" / "b" / "t"
    (table / "p=1").mkdir(parents=True)
    (table / "p=1" / "a.parquet").write_bytes(b"xx")
    _age(table, table / "p=1")
    source = LocalFileSource(tmp_path)
    assert _listed(source, tmp_path) == [("p=1/a.parquet", 2)]
    shutil.rmtree(table / "p=1")
    assert _listed(source, tmp_path) == []
    (table / "p=1").mkdir()
    (table / "p=1" / "b.parquet").write_bytes(b"b")
    _age(table, table / "p=1")  # the same old mtimes as before, but another inode
    assert _listed(source, tmp_path) == [("p=1/b.parquet", 1)]
