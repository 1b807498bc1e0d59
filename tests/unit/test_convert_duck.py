"""The opt-in DuckDB engine of to_parquet: same layout and rows as the exact path, lenient
casts as documented, and the exact path for the whole file whenever DuckDB fails."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from lakeward import Lake
from lakeward.config import config_from_dict
from lakeward.config_models import Column
from lakeward.errors import ConfigError, InvalidRequest
from lakeward.events.convert import LENIENT_CASTS, ConvertResult, convert_to_parquet
from lakeward.examples import ioc_assessments
from tests.unit.test_convert import FAST_COLUMNS, _fuzz_lines

COLUMNS = [
    Column(name="id", type="bigint"),
    Column(name="n", type="int"),
    Column(name="small", type="smallint"),
    Column(name="amount", type="double"),
    Column(name="ok", type="boolean"),
    Column(name="event_time", type="timestamp"),
    Column(name="email", type="string"),
]


def ndjson(*records: Any) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def clean_records(count: int, *, extra: bool = True) -> list[dict[str, Any]]:
    stamps = [
        "2024-01-05T10:00:00Z",
        "2023-12-31",
        "2024-03-31T23:30:00-02:00",
        "2024-02-01 08:00:00",
    ]
    return [
        {
            "id": i * 7,
            "n": -i,
            "small": i % 100,
            "amount": i / 4,
            "ok": [True, False, None][i % 3],
            "event_time": stamps[i % 4],
            "email": None if i % 5 == 0 else f"user{i}@example.com",
            **({"extra": [i]} if extra and i % 7 == 0 else {}),
        }
        for i in range(count)
    ]


def rows_by_file(result: ConvertResult, root: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        str(o.path.relative_to(root)): pq.read_table(o.path).to_pylist() for o in result.outputs
    }


def both_engines(
    tmp_path: Path, name: str, text: str | bytes, **kwargs: Any
) -> tuple[ConvertResult, ConvertResult]:
    source = tmp_path / name
    source.write_bytes(text.encode() if isinstance(text, str) else text)
    exact = convert_to_parquet(source, "ndjson", tmp_path / "exact", **kwargs)
    duck = convert_to_parquet(source, "ndjson", tmp_path / "duck", engine="duckdb", **kwargs)
    return exact, duck


@pytest.mark.parametrize(
    ("anonymize", "columns"),
    [
        ({}, COLUMNS),
        ({"email": "hash", "n": "hash", "ok": "hash", "small": "drop"}, COLUMNS),
        ({}, ()),
        ({"email": "hash"}, ()),
    ],
    ids=["declared", "declared-anonymized", "inferred", "inferred-hashed"],
)
def test_on_clean_data_duckdb_writes_the_rows_and_schema_of_the_exact_path(
    tmp_path: Path, anonymize: dict[str, str], columns: Any
) -> None:
    exact, duck = both_engines(
        tmp_path,
        "in.ndjson",
        ndjson(*clean_records(500, extra=bool(columns))),  # a list column is never DuckDB's
        columns=columns,
        timestamp_field="event_time",
        anonymize=anonymize,
        salt="pepper",
        batch_rows=60,
    )
    assert (exact.engine, duck.engine) == ("lakeward", "duckdb")
    assert exact.bad == [] and duck.bad == []
    assert (duck.rows_in, duck.rows_written, duck.schema) == (
        exact.rows_in,
        exact.rows_written,
        exact.schema,
    )
    assert [(o.partition, o.rows) for o in duck.outputs] == [
        (o.partition, o.rows) for o in exact.outputs
    ]
    assert rows_by_file(duck, tmp_path / "duck") == rows_by_file(exact, tmp_path / "exact")
    for d, e in zip(duck.outputs, exact.outputs, strict=True):
        assert pq.read_schema(d.path).remove_metadata() == pq.read_schema(e.path).remove_metadata()
    assert sorted(p.name for p in (tmp_path / "duck").iterdir()) == ["year=2023", "year=2024"]
    assert (tmp_path / "duck" / "year=2024" / "month=04" / "part-00000.parquet").exists()


def test_duckdb_reads_gzip_and_writes_one_file_without_a_timestamp_field(tmp_path: Path) -> None:
    body = ndjson(*clean_records(50)).encode()
    exact, duck = both_engines(tmp_path, "in.ndjson.gz", gzip.compress(body), columns=COLUMNS)
    assert duck.engine == "duckdb"
    assert [o.path for o in duck.outputs] == [tmp_path / "duck" / "part-00000.parquet"]
    assert rows_by_file(duck, tmp_path / "duck") == rows_by_file(exact, tmp_path / "exact")


def test_hashes_are_the_exact_paths_salted_sha256(tmp_path: Path) -> None:
    _, duck = both_engines(
        tmp_path,
        "in.ndjson",
        ndjson({"id": 7, "ok": True, "email": "a@b.c", "event_time": "2024-01-01"}),
        columns=COLUMNS,
        anonymize={"email": "hash", "id": "hash", "ok": "hash"},
        salt="s",
    )
    (row,) = pq.read_table(duck.outputs[0].path).to_pylist()
    assert duck.engine == "duckdb"
    assert row["email"] == hashlib.sha256(b"sa@b.c").hexdigest()
    assert row["id"] == hashlib.sha256(b"s7").hexdigest()
    assert row["ok"] == hashlib.sha256(b"strue").hexdigest()


# --- the documented lenient casts: DuckDB writes them where the exact path quarantines ---


@pytest.mark.parametrize(
    ("value", "column", "expected"),
    [
        ('"id": 1.5', "id", 2),
        ('"id": 2.5', "id", 2),
        ('"id": -0.5', "id", 0),
        ('"id": true', "id", 1),
        ('"amount": true', "amount", 1.0),
        ('"ok": 2', "ok", True),
        ('"ok": 1.0', "ok", True),
        ('"amount": Inf', "amount", float("inf")),
        ('"amount": -Inf', "amount", float("-inf")),
        ('"id": 3,', "id", 3),  # a trailing comma
    ],
)
def test_each_documented_lenient_cast(
    tmp_path: Path, value: str, column: str, expected: Any
) -> None:
    line = '{"event_time": "2024-01-02", ' + value + "}"
    text = ndjson({"id": 0, "event_time": "2024-01-01"}, line)
    exact, duck = both_engines(
        tmp_path, "in.ndjson", text, columns=COLUMNS, timestamp_field="event_time"
    )
    assert duck.engine == "duckdb" and duck.bad == []
    assert pq.read_table(duck.outputs[0].path).to_pylist()[1][column] == expected
    assert [bad.number for bad in exact.bad] == [2]  # the exact path quarantines it


def test_a_record_nested_deeper_than_python_reads_is_read(tmp_path: Path) -> None:
    deep = '{"id": 1, "event_time": "2024-01-02", "x": ' + "[" * 3000 + "]" * 3000 + "}"
    text = ndjson({"id": 0, "event_time": "2024-01-01"}) + deep + "\n"
    exact, duck = both_engines(
        tmp_path, "in.ndjson", text, columns=COLUMNS, timestamp_field="event_time"
    )
    assert duck.engine == "duckdb" and duck.rows_written == 2
    assert [(bad.number, bad.reason) for bad in exact.bad] == [
        (2, "invalid JSON: nested too deeply")
    ]


def test_fields_outside_an_inferred_schema_are_ignored(tmp_path: Path) -> None:
    records = [{"id": i, "event_time": "2024-01-01"} for i in range(3)]
    text = ndjson(*records, {"id": 3, "event_time": "2024-01-01", "new": 1})
    exact, duck = both_engines(
        tmp_path, "in.ndjson", text, timestamp_field="event_time", batch_rows=3
    )
    assert duck.engine == "duckdb" and duck.rows_written == 4
    assert [bad.number for bad in exact.bad] == [4]


def test_the_lenient_casts_are_documented_in_the_readme_and_the_docstring() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    docstring = " ".join((convert_to_parquet.__doc__ or "").split())
    assert len(LENIENT_CASTS) == 8
    for cast in LENIENT_CASTS:
        assert cast in readme and cast in docstring, cast


# --- fallback: DuckDB fails, the exact path converts the whole file ---


@pytest.mark.parametrize(
    "bad_line",
    [
        '{"id": 2, "amount": ',  # malformed
        '{"id": "two", "event_time": "2024-01-01"}',  # cannot cast
        '{"id": 2}',  # no timestamp
        '{"id": 2, "event_time": "20240-01-01"}',  # a year Python cannot hold
        '{"id": 2, "event_time": 1709287200}',  # epoch seconds: exact takes them, DuckDB not
        "[1, 2]",  # not an object
        '{"id": 2, "id": 3, "event_time": "2024-01-01"}',  # a repeated key
        '{"id": 2, "email": "\\ud800", "event_time": "2024-01-01"}',  # a lone surrogate
        '{"id": 2, "event_time": "2024-01-01 12:00:00 EST"}',  # zone names: no ICU here
        '{"id": 2, "event_time": "2024-01-01 12:00:00 America/New_York"}',
        '{"id": 2, "event_time": "infinity"}',  # DuckDB's infinite timestamps
        '{"id": 2, "event_time": "-infinity"}',
    ],
)
def test_when_duckdb_fails_the_exact_path_converts_the_whole_file(
    tmp_path: Path, bad_line: str
) -> None:
    lines = [json.dumps(r) for r in clean_records(120)]
    lines[60] = bad_line
    exact, duck = both_engines(
        tmp_path,
        "in.ndjson",
        "\n".join(lines) + "\n",
        columns=COLUMNS,
        timestamp_field="event_time",
        anonymize={"email": "hash"},
        salt="s",
        batch_rows=50,
    )
    assert duck.engine == "lakeward"
    assert (duck.rows_in, duck.rows_written, duck.bad, duck.schema) == (
        exact.rows_in,
        exact.rows_written,
        exact.bad,
        exact.schema,
    )
    for d, e in zip(duck.outputs, exact.outputs, strict=True):
        assert d.path.read_bytes() == e.path.read_bytes()
    assert not list((tmp_path / "duck").rglob(".duckdb-staging"))


@pytest.mark.parametrize(
    ("name", "text", "kwargs"),
    [
        ("in.csv", "id,event_time\n1,2024-01-01\n", {"fmt": "csv"}),
        ("in.json", '[{"id": 1, "event_time": "2024-01-01"}]', {"fmt": "json"}),
        (
            "in.ndjson",
            ndjson({"id": 1, "event_time": "2024-01-01"}),
            {
                "columns": [
                    Column(name="id", type="decimal(5,2)"),
                    Column(name="event_time", type="timestamp"),
                ]
            },
        ),
        (
            "in.ndjson",
            ndjson({"id": 1.5, "event_time": "2024-01-01"}),
            {"anonymize": {"id": "hash"}},
        ),
        ("in.ndjson", "", {}),
    ],
    ids=["csv", "json-array", "decimal", "hashed-double", "empty"],
)
def test_inputs_duckdb_cannot_write_exactly_go_to_the_exact_path(
    tmp_path: Path, name: str, text: str, kwargs: dict[str, Any]
) -> None:
    source = tmp_path / name
    source.write_text(text)
    fmt = kwargs.pop("fmt", "ndjson")
    result = convert_to_parquet(source, fmt, tmp_path / "out", engine="duckdb", salt="s", **kwargs)
    assert result.engine == "lakeward"
    assert result.bad == []


def test_an_unknown_engine_is_an_invalid_request(tmp_path: Path) -> None:
    source = tmp_path / "in.ndjson"
    source.write_text(ndjson({"id": 1}))
    with pytest.raises(InvalidRequest, match="unknown engine 'spark': use one of lakeward, duckdb"):
        convert_to_parquet(source, "ndjson", tmp_path / "out", engine="spark")


def test_importing_the_module_does_not_import_duckdb() -> None:
    code = "import sys, lakeward.events.convert; print('duckdb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the route option ---

_BASE = {
    "lake": {"name": "acme"},
    "buckets": {"landing": {"zones": ["raw"]}},
    "datasets": {"ioc": {"domain": "sec", "source": "app", "owner": "o", "format": "ndjson"}},
}


def _route(engine: object) -> dict[str, object]:
    options = {"dataset": "ioc", "engine": engine}
    return {"r": {"bucket": "landing", "handler": "to_parquet", "options": options}}


@pytest.mark.parametrize("engine", ["lakeward", "duckdb"])
def test_the_engine_route_option_accepts_the_engines(engine: str) -> None:
    config = config_from_dict({**_BASE, "routes": _route(engine)})
    assert config.routes["r"].options["engine"] == engine


@pytest.mark.parametrize(
    ("engine", "message"),
    [("duck", "unknown engine 'duck' (allowed: lakeward, duckdb)"), (1, "must be a str")],
)
def test_the_engine_route_option_is_validated(engine: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict({**_BASE, "routes": _route(engine)})
    assert any(
        p.startswith("routes.r.options.engine") and message in p for p in caught.value.problems
    ), caught.value.problems


def test_the_route_option_reaches_the_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOC_SALT", "test-salt")
    example = Path(ioc_assessments.__file__).with_suffix(".yaml").read_text()
    marker = "      salt_env: IOC_SALT\n"
    assert marker in example
    (tmp_path / "lakeward.yaml").write_text(
        example.replace(marker, marker + "      engine: duckdb\n", 1)
    )
    ioc_assessments.generate(tmp_path / "data", events=100, files=2)  # event 42 is bad
    with Lake.open(tmp_path / "lakeward.yaml", environ={}) as lake:
        lake.init()
        assert lake.ingest(tmp_path / "data", dataset="ioc_assessments").ok
        stats = lake.run_worker()
        details = sorted(o["detail"][0] for o in stats.outcomes if o["route"] == "ioc_to_parquet")
        (record,) = lake.quarantine("ioc_assessments")
    assert sorted(d.rsplit("; ", 1)[1] for d in details) == ["engine duckdb", "engine lakeward"]
    assert "score" in record.reason  # the file DuckDB failed on went the exact way


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-1-2", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-01T24:00:00", datetime(2024, 1, 2, tzinfo=UTC)),
        ("epoch", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_timestamps_duckdb_reads_and_python_does_not(
    tmp_path: Path, text: str, expected: datetime
) -> None:
    lines = ndjson({"id": 0, "event_time": "2024-01-01"}, {"id": 1, "event_time": text})
    exact, duck = both_engines(
        tmp_path, "in.ndjson", lines, columns=COLUMNS, timestamp_field="event_time"
    )
    assert duck.engine == "duckdb" and duck.bad == []
    written = [r for o in duck.outputs for r in pq.read_table(o.path).to_pylist() if r["id"] == 1]
    assert [r["event_time"] for r in written] == [expected]
    assert [bad.number for bad in exact.bad] == [2]  # the exact path quarantines it


@pytest.mark.parametrize(
    "text", ["2024-01-01T12:00:00.1234567Z", "2024-01-01T12:00:00+0530", "2024-01-01T12:00"]
)
def test_timestamps_both_engines_read_alike(tmp_path: Path, text: str) -> None:
    lines = ndjson({"id": 0, "event_time": "2024-01-01"}, {"id": 1, "event_time": text})
    exact, duck = both_engines(
        tmp_path, "in.ndjson", lines, columns=COLUMNS, timestamp_field="event_time"
    )
    assert duck.engine == "duckdb" and exact.bad == [] == duck.bad
    assert rows_by_file(duck, tmp_path / "duck") == rows_by_file(exact, tmp_path / "exact")


@pytest.mark.parametrize("seed", range(30))
def test_where_the_exact_path_rejects_nothing_duckdb_writes_the_same_rows(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    text = "\n".join(_fuzz_lines(seed, rng.randint(20, 300), 0.0)) + "\n"
    columns = FAST_COLUMNS if rng.random() < 0.7 else ()
    anonymize = rng.choice([{}, {"email": "hash"}, {"email": "drop", "n": "hash"}])
    exact, duck = both_engines(
        tmp_path,
        "in.ndjson",
        text,
        columns=columns,
        timestamp_field="event_time",
        anonymize=anonymize if columns else {},
        salt="s",
        batch_rows=rng.choice([7, 50, 1000]),
    )
    if exact.bad:  # a documented lenient cast (a field outside the inferred schema)
        assert duck.rows_written >= exact.rows_written
        return
    assert duck.engine == "duckdb"
    assert (duck.rows_in, duck.rows_written, duck.schema) == (
        exact.rows_in,
        exact.rows_written,
        exact.schema,
    )
    assert repr(rows_by_file(duck, tmp_path / "duck")) == repr(
        rows_by_file(exact, tmp_path / "exact")
    )
