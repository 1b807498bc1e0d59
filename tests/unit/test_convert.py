"""The to_parquet conversion core: JSON/NDJSON/CSV → partitioned Parquet, record by record."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeward.config_models import Column
from lakeward.errors import InvalidRequest
from lakeward.events import convert as convert_module
from lakeward.events._convert_records import field_for_type, parse_timestamp
from lakeward.events.convert import ConvertResult, PartitionOutput, convert_to_parquet

COLUMNS = [
    Column(name="id", type="bigint"),
    Column(name="amount", type="double"),
    Column(name="event_time", type="timestamp"),
    Column(name="email", type="string", pii=True),
]


def ndjson(*records: Any) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def rows(output: PartitionOutput) -> list[dict[str, Any]]:
    table: list[dict[str, Any]] = pq.read_table(output.path).to_pylist()
    return table


def all_rows(result: ConvertResult) -> list[dict[str, Any]]:
    return [row for output in result.outputs for row in rows(output)]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- NDJSON with declared columns ---


def test_ndjson_bad_records_are_reported_and_the_rest_lands_in_month_partitions(
    tmp_path: Path,
) -> None:
    source = write(
        tmp_path / "in.ndjson",
        ndjson(
            {"id": 1, "amount": 1.5, "event_time": "2024-03-01T10:00:00Z", "unknown": "x"},
            '{"id": 2, "amount": ',  # malformed
            {"id": 3, "amount": "abc", "event_time": "2024-03-02"},  # wrong type
            {"id": 4, "amount": 2},  # no timestamp
            "",
            {"id": 5, "amount": "7.25", "event_time": 1714000000, "email": "a@b.c"},
            {"id": 6, "event_time": "2024-03-31T23:30:00-02:00"},  # April in UTC
        ),
    )
    result = convert_to_parquet(
        source, "ndjson", tmp_path / "out", columns=COLUMNS, timestamp_field="event_time"
    )

    assert [(bad.number, bad.reason) for bad in result.bad] == [
        (2, "invalid JSON: Expecting value at column 21"),
        (3, "field 'amount': 'abc' is not a double"),
        (4, "missing timestamp field 'event_time'"),
    ]
    assert result.bad[0].raw == '{"id": 2, "amount": '
    assert json.loads(result.bad[1].raw)["amount"] == "abc"
    assert (result.rows_in, result.rows_written) == (6, 3)
    assert [(o.partition, o.rows) for o in result.outputs] == [
        ({"year": "2024", "month": "03"}, 1),
        ({"year": "2024", "month": "04"}, 2),
    ]
    march, april = result.outputs
    assert march.path == tmp_path / "out" / "year=2024" / "month=03" / "part-00000.parquet"
    assert rows(march) == [
        {"id": 1, "amount": 1.5, "event_time": utc(2024, 3, 1, 10), "email": None}
    ]
    assert [row["id"] for row in rows(april)] == [5, 6]
    assert rows(april)[0]["amount"] == 7.25
    assert rows(april)[1]["event_time"] == utc(2024, 4, 1, 1, 30)
    schema = pq.read_schema(march.path)
    assert [(f.name, f.type) for f in schema] == [
        ("id", pa.int64()),
        ("amount", pa.float64()),
        ("event_time", pa.timestamp("us", tz="UTC")),
        ("email", pa.string()),
    ]
    assert result.schema == [
        {"name": "id", "type": "int64"},
        {"name": "amount", "type": "double"},
        {"name": "event_time", "type": "timestamp[us, tz=UTC]"},
        {"name": "email", "type": "string"},
    ]


def test_other_record_level_failures_are_bad_records(tmp_path: Path) -> None:
    source = write(
        tmp_path / "in.json",  # "json" that starts with "{" is read line by line
        ndjson(
            {"id": 1, "event_time": "yesterday"},
            [1, 2],
            {"id": 2**70, "event_time": "2024-01-01"},
            {"id": 3, "event_time": True},
            '{"id": 4, "event_time": "2024-01-01"}',
        ),
    )
    result = convert_to_parquet(
        source, "json", tmp_path / "out", columns=COLUMNS, timestamp_field="event_time"
    )
    reasons = [bad.reason for bad in result.bad]
    assert reasons[0].startswith("timestamp field 'event_time': 'yesterday' is not a timestamp")
    assert reasons[1] == "not a JSON object"
    assert reasons[2] == "field 'id': 1180591620717411303424 is out of range for bigint"
    assert reasons[3].startswith("timestamp field 'event_time': True is not a timestamp")
    assert all_rows(result)[0]["id"] == 4


def test_a_line_without_a_newline_at_the_end_counts(tmp_path: Path) -> None:
    source = write(tmp_path / "in.ndjson", '{"id": 1}\n\n{"id": 2}')
    result = convert_to_parquet(source, "ndjson", tmp_path / "out", columns=COLUMNS[:1])
    assert [row["id"] for row in all_rows(result)] == [1, 2]
    assert result.rows_in == 2


def test_lines_longer_than_the_limit_are_bad_without_being_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(convert_module, "MAX_LINE", 40)
    monkeypatch.setattr(convert_module, "_READ_CHUNK", 16)
    long = json.dumps({"id": 2, "pad": "x" * 100})
    source = write(tmp_path / "in.ndjson", ndjson({"id": 1}, long, {"id": 3}))
    result = convert_to_parquet(source, "ndjson", tmp_path / "out", columns=COLUMNS[:1])
    assert [row["id"] for row in all_rows(result)] == [1, 3]
    assert [(bad.number, bad.raw) for bad in result.bad] == [(2, long[:40])]
    assert result.bad[0].reason.startswith("line longer than")


# --- JSON arrays ---


def test_json_array_items_are_numbered_and_kept_verbatim(tmp_path: Path) -> None:
    items = '[\n {"id": 1, "amount": 2.5},\n "text",\n {"id": "x"},\n {"id": 4}\n]\n'
    source = write(tmp_path / "in.json", items)
    result = convert_to_parquet(source, "json", tmp_path / "out", columns=COLUMNS[:2])
    assert [(bad.number, bad.reason, bad.raw) for bad in result.bad] == [
        (2, "not a JSON object", '"text"'),
        (3, "field 'id': 'x' is not a bigint", '{"id": "x"}'),
    ]
    assert all_rows(result) == [{"id": 1, "amount": 2.5}, {"id": 4, "amount": None}]
    assert result.outputs[0].path == tmp_path / "out" / "part-00000.parquet"


def test_a_broken_json_array_keeps_the_items_before_the_break(tmp_path: Path) -> None:
    source = write(tmp_path / "in.json", '[{"id": 1}, {"id": 2}, {"id": oops}, {"id": 4}]')
    result = convert_to_parquet(source, "json", tmp_path / "out", columns=COLUMNS[:1])
    assert [row["id"] for row in all_rows(result)] == [1, 2]
    assert [bad.number for bad in result.bad] == [3]
    assert "the rest of the array was not read" in result.bad[0].reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[]", None),
        ("  [ ]  ", None),
        ('[{"id": 1}] trailing', "text after the closing ']'"),
        ('[{"id": 1} {"id": 2}]', "expected ',' or ']'"),
        ('[{"id": 1},]', "Expecting value"),
    ],
)
def test_json_array_edges(tmp_path: Path, text: str, reason: str | None) -> None:
    result = convert_to_parquet(write(tmp_path / "a.json", text), "json", tmp_path / "out")
    assert [bad.reason for bad in result.bad if reason and reason in bad.reason] == (
        [result.bad[-1].reason] if reason else []
    )
    assert len(result.bad) == (1 if reason else 0)


def test_a_json_array_over_the_limit_must_be_ndjson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(convert_module, "JSON_ARRAY_LIMIT", 32)
    source = write(tmp_path / "in.json", json.dumps([{"id": i} for i in range(10)]))
    with pytest.raises(InvalidRequest, match="NDJSON"):
        convert_to_parquet(source, "json", tmp_path / "out")


# --- compression ---


@pytest.mark.parametrize(
    ("name", "compression"),
    [("in.ndjson.gz", None), ("object-without-suffix", None), ("in.ndjson", "gzip")],
)
def test_gzip_ndjson_is_detected_or_declared(
    tmp_path: Path, name: str, compression: str | None
) -> None:
    body = ndjson(*({"id": i, "event_time": f"2024-0{1 + i % 2}-01"} for i in range(10)))
    source = write(tmp_path / name, gzip.compress(body.encode()))
    result = convert_to_parquet(
        source,
        "ndjson",
        tmp_path / "out",
        columns=COLUMNS,
        timestamp_field="event_time",
        compression=compression,
    )
    assert result.bad == []
    assert [(o.partition["month"], o.rows) for o in result.outputs] == [("01", 5), ("02", 5)]


def test_a_truncated_gzip_keeps_what_was_readable(tmp_path: Path) -> None:
    noise = random.Random(0)
    body = "".join(f'{{"id": {i}, "pad": "{noise.randbytes(24).hex()}"}}\n' for i in range(50_000))
    compressed = gzip.compress(body.encode())
    source = write(tmp_path / "in.ndjson.gz", compressed[: len(compressed) // 2])
    result = convert_to_parquet(source, "ndjson", tmp_path / "out", columns=COLUMNS[:1])
    assert 0 < result.rows_written < 50_000
    assert [row["id"] for row in all_rows(result)] == list(range(result.rows_written))
    assert result.bad[-1].reason.startswith("cannot read the rest of the file")


# --- CSV ---


def test_csv_bad_values_mark_only_their_row(tmp_path: Path) -> None:
    source = write(
        tmp_path / "in.csv",
        "id,amount,event_time,email,extra\n"
        "1,1.5,2024-03-01T10:00:00,a@b.c,x\n"
        '2,NA,2024-03-02,"multi\nline",y\n'
        "3,abc,2024-03-03,c@d.e,z\n"
        "4,2.0\n"
        "\n"
        "5,,2024-04-01,NULL,w\n"
        "6,3,,e@f.g,v\n",
    )
    result = convert_to_parquet(
        source, "csv", tmp_path / "out", columns=COLUMNS, timestamp_field="event_time"
    )
    assert [(bad.number, bad.reason, bad.raw) for bad in result.bad] == [
        (3, "field 'amount': 'abc' is not a double", "3,abc,2024-03-03,c@d.e,z"),
        (4, "expected 5 fields, found 2", "4,2.0"),
        (6, "missing timestamp field 'event_time'", "6,3,,e@f.g,v"),
    ]
    assert (result.rows_in, result.rows_written) == (6, 3)
    assert all_rows(result) == [
        {"id": 1, "amount": 1.5, "event_time": utc(2024, 3, 1, 10), "email": "a@b.c"},
        {"id": 2, "amount": None, "event_time": utc(2024, 3, 2), "email": "multi\nline"},
        {"id": 5, "amount": None, "event_time": utc(2024, 4, 1), "email": None},
    ]


def test_csv_bytes_that_are_not_utf8_make_a_bad_row(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", b"id,email\n1,ok\n2,caf\xe9\n")
    result = convert_to_parquet(source, "csv", tmp_path / "out", columns=[COLUMNS[0], COLUMNS[3]])
    assert [(bad.number, bad.reason) for bad in result.bad] == [
        (2, "field 'email': not UTF-8 text")
    ]
    assert all_rows(result) == [{"id": 1, "email": "ok"}]


def test_csv_with_a_repeated_header_column_is_one_bad_record(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", "id,id\n1,2\n")
    result = convert_to_parquet(source, "csv", tmp_path / "out", columns=COLUMNS[:1])
    assert result.outputs == []
    assert "repeats column 'id'" in result.bad[0].reason


def test_csv_schema_is_inferred_from_text(tmp_path: Path) -> None:
    source = write(
        tmp_path / "in.csv",
        "n,x,flag,day,at,name\n"
        "1,1.5,true,2024-01-02,2024-01-02T03:04:05Z,ann\n"
        "2,2,false,2024-01-03,2024-01-03 00:00:00,NA\n",
    )
    result = convert_to_parquet(source, "csv", tmp_path / "out")
    assert [field["type"] for field in result.schema] == [
        "int64",
        "double",
        "bool",
        "date32[day]",
        "timestamp[us, tz=UTC]",
        "string",
    ]
    assert all_rows(result)[1] == {
        "n": 2,
        "x": 2.0,
        "flag": False,
        "day": date(2024, 1, 3),
        "at": utc(2024, 1, 3),
        "name": None,
    }


# --- inferred schemas ---


def test_inferred_schema_comes_from_the_first_batch_and_later_misfits_are_bad(
    tmp_path: Path,
) -> None:
    source = write(
        tmp_path / "in.ndjson",
        ndjson(
            {"id": 1, "name": "a", "tags": ["x"], "score": 1, "when": "2024-05-01"},
            {"id": 2, "name": None, "tags": [], "score": 2.5, "when": "2024-05-02"},
            {"id": 3, "name": "c", "tags": ["y", "z"], "score": 3, "when": "2024-06-01"},
            {"id": "four", "name": "d", "when": "2024-06-02"},
            {"id": 5, "name": "e", "new": 1, "when": "2024-06-03"},
            {"id": 6, "name": 7, "tags": "not a list", "when": "2024-06-04"},
        ),
    )
    result = convert_to_parquet(
        source, "ndjson", tmp_path / "out", timestamp_field="when", batch_rows=2
    )
    assert result.schema == [
        {"name": "id", "type": "int64"},
        {"name": "name", "type": "string"},
        {"name": "tags", "type": "list<item: string>"},
        {"name": "score", "type": "double"},
        {"name": "when", "type": "timestamp[us, tz=UTC]"},
    ]
    assert [bad.number for bad in result.bad] == [4, 5, 6]
    assert result.bad[0].reason == "field 'id': 'four' is not a bigint"
    assert result.bad[1].reason.startswith("field 'new' is not in the schema inferred")
    assert result.bad[2].reason == "field 'tags': 'not a list' is not a list<item: string>"
    assert [row["id"] for row in all_rows(result)] == [1, 2, 3]


def test_inference_waits_for_a_batch_holding_objects(tmp_path: Path) -> None:
    source = write(tmp_path / "in.ndjson", ndjson("nope", "[1]", {"a": "x"}, {"a": 2}))
    result = convert_to_parquet(source, "ndjson", tmp_path / "out", batch_rows=2)
    assert result.schema == [{"name": "a", "type": "string"}]
    assert all_rows(result) == [{"a": "x"}, {"a": "2"}]  # mixed types in the sample: string
    assert [bad.number for bad in result.bad] == [1, 2]


# --- anonymization ---


def convert_email(tmp_path: Path, salt: str, name: str, how: str = "hash") -> list[Any]:
    source = write(tmp_path / f"{name}.ndjson", ndjson({"id": 1, "email": "a@b.c"}, {"id": 2}))
    result = convert_to_parquet(
        source,
        "ndjson",
        tmp_path / name,
        columns=[COLUMNS[0], COLUMNS[3]],
        anonymize={"email": how},
        salt=salt,
    )
    return [row.get("email", "<dropped>") for row in all_rows(result)]


def test_hash_is_salted_sha256_and_null_stays_null(tmp_path: Path) -> None:
    first = convert_email(tmp_path, "pepper", "one")
    assert first == [hashlib.sha256(b"peppera@b.c").hexdigest(), None]
    assert convert_email(tmp_path, "pepper", "two") == first
    assert convert_email(tmp_path, "other", "three")[0] != first[0]


def test_drop_removes_the_column(tmp_path: Path) -> None:
    assert convert_email(tmp_path, "", "dropped", how="drop") == ["<dropped>", "<dropped>"]
    schema = pq.read_schema(tmp_path / "dropped" / "part-00000.parquet")
    assert schema.names == ["id"]


def test_hashing_a_typed_column_gives_a_string_column(tmp_path: Path) -> None:
    source = write(tmp_path / "in.ndjson", ndjson({"id": 7}))
    result = convert_to_parquet(
        source, "ndjson", tmp_path / "out", columns=COLUMNS[:1], anonymize={"id": "hash"}
    )
    assert result.schema == [{"name": "id", "type": "string"}]
    assert all_rows(result) == [{"id": hashlib.sha256(b"7").hexdigest()}]


@pytest.mark.parametrize(
    ("anonymize", "columns", "message"),
    [
        ({"emial": "hash"}, COLUMNS, "not a column"),
        ({"email": "mask"}, COLUMNS, "unknown method 'mask'"),
        ({"emial": "drop"}, (), "inferred from the first records"),
    ],
)
def test_anonymize_must_name_columns_and_methods(
    tmp_path: Path, anonymize: dict[str, str], columns: Any, message: str
) -> None:
    source = write(tmp_path / "in.ndjson", ndjson({"id": 1, "email": "a@b.c"}))
    with pytest.raises(InvalidRequest, match=message):
        convert_to_parquet(source, "ndjson", tmp_path / "out", columns=columns, anonymize=anonymize)


# --- shapes of the result ---


def test_without_timestamp_field_one_unpartitioned_file(tmp_path: Path) -> None:
    source = write(tmp_path / "in.ndjson", ndjson(*({"id": i} for i in range(7))))
    result = convert_to_parquet(source, "ndjson", tmp_path / "out", batch_rows=3)
    assert result.outputs == [PartitionOutput({}, tmp_path / "out" / "part-00000.parquet", 7)]
    assert [row["id"] for row in all_rows(result)] == list(range(7))


def test_all_bad_input_writes_nothing(tmp_path: Path) -> None:
    source = write(tmp_path / "in.ndjson", ndjson({"id": "x"}, "garbage", {"id": "y"}))
    result = convert_to_parquet(source, "ndjson", tmp_path / "out", columns=COLUMNS[:1])
    assert result.outputs == []
    assert (result.rows_in, result.rows_written, len(result.bad)) == (3, 0, 3)
    assert not (tmp_path / "out").exists()
    assert result.schema == [{"name": "id", "type": "int64"}]


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv"])
def test_empty_input_converts_to_nothing(tmp_path: Path, fmt: str) -> None:
    result = convert_to_parquet(write(tmp_path / "in", " \n\n"), fmt, tmp_path / "out")
    assert result == ConvertResult(outputs=[], rows_in=0, rows_written=0, bad=[], schema=[])


def test_output_is_deterministic(tmp_path: Path) -> None:
    lines = [
        {"id": i, "amount": i / 3, "event_time": f"2023-{1 + i % 12:02d}-05", "email": f"u{i}"}
        for i in range(2000)
    ]
    source = write(tmp_path / "in.ndjson", ndjson(*lines))

    def run(out: str) -> dict[str, bytes]:
        result = convert_to_parquet(
            source,
            "ndjson",
            tmp_path / out,
            columns=COLUMNS,
            timestamp_field="event_time",
            anonymize={"email": "hash"},
            batch_rows=150,
        )
        assert len(result.outputs) == 12
        return {
            str(o.path.relative_to(tmp_path / out)): o.path.read_bytes() for o in result.outputs
        }

    assert run("a") == run("b")


def test_small_batches_write_the_same_rows_as_one_batch(tmp_path: Path) -> None:
    lines = [{"id": i, "event_time": f"2022-{1 + i * 7 % 12:02d}-01"} for i in range(500)]
    source = write(tmp_path / "in.ndjson", ndjson(*lines))
    kwargs: dict[str, Any] = {"columns": COLUMNS, "timestamp_field": "event_time"}
    small = convert_to_parquet(source, "ndjson", tmp_path / "s", batch_rows=7, **kwargs)
    large = convert_to_parquet(source, "ndjson", tmp_path / "l", **kwargs)
    assert [(o.partition, rows(o)) for o in small.outputs] == [
        (o.partition, rows(o)) for o in large.outputs
    ]


# --- arguments ---


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": "parquet"}, "cannot convert format 'parquet'"),
        ({"compression": "snappy"}, "cannot stream 'snappy'"),
        ({"batch_rows": 0}, "batch_rows must be 1 or more"),
        ({"timestamp_field": "ts", "columns": COLUMNS}, "'ts' is not a declared column"),
        ({"columns": [Column(name="a", type="array<int>")]}, "declare it string"),
        ({"columns": [Column(name="a", type="decimal(40,2)")]}, "p in 1-38"),
        ({"columns": [Column(name="a", type="money")]}, "unknown type 'money'"),
    ],
)
def test_bad_arguments_are_invalid_requests(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    source = write(tmp_path / "in.ndjson", ndjson({"a": 1}))
    fmt = kwargs.pop("fmt", "ndjson")
    with pytest.raises(InvalidRequest, match=message):
        convert_to_parquet(source, fmt, tmp_path / "out", **kwargs)


def test_an_unreadable_source_is_an_invalid_request(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match=r"cannot read .*missing\.ndjson"):
        convert_to_parquet(tmp_path / "missing.ndjson", "ndjson", tmp_path / "out")


def test_importing_the_module_does_not_import_pyarrow() -> None:
    code = "import sys, lakeward.events.convert; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- values ---


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01T10:00:00+02:00", utc(2024, 3, 1, 8)),
        ("2024-03-01T10:00:00Z", utc(2024, 3, 1, 10)),
        ("2024-03-01 10:00:00.5", datetime(2024, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2024-03-01", utc(2024, 3, 1)),
        (1709287200, utc(2024, 3, 1, 10)),
        (1709287200.25, datetime(2024, 3, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ("1709287200", utc(2024, 3, 1, 10)),
    ],
)
def test_timestamps_accepted(value: Any, expected: datetime) -> None:
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize("value", ["soon", "2024-13-01", True, float("nan"), 1e20, {}, ""])
def test_timestamps_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="is not a timestamp"):
        parse_timestamp(value)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("int", "42", 42),
        ("int", 42.0, 42),
        ("tinyint", -128, -128),
        ("smallint", " 7 ", 7),
        ("double", "1e3", 1000.0),
        ("real", 1, 1.0),
        ("decimal(5,2)", "1.5", Decimal("1.50")),
        ("decimal(5,2)", 0.1, Decimal("0.10")),
        ("decimal", 12, Decimal("12")),
        ("boolean", "Yes", True),
        ("boolean", 0, False),
        ("date", "2024-02-29", date(2024, 2, 29)),
        ("varchar(3)", "abc", "abc"),
        ("string", 12, "12"),
        ("string", True, "true"),
        ("string", {"b": 1}, '{"b":1}'),
        ("binary", "é", "é".encode()),
    ],
)
def test_values_converted(kind: str, value: Any, expected: Any) -> None:
    assert field_for_type("f", kind).convert(value) == expected


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("int", 2**31, "out of range for int"),
        ("int", True, "True is not a int"),
        ("int", 1.5, "is not a int"),
        ("bigint", "1_000", "is not a bigint"),
        ("float", 1e39, "out of range for float"),
        ("double", "abc", "'abc' is not a double"),
        ("decimal(5,2)", "1.234", "more than 2 decimal places"),
        ("decimal(5,2)", 1000, "out of range for decimal(5,2)"),
        ("decimal(5,2)", "nan", "is not a decimal(5,2)"),
        ("boolean", "maybe", "is not a boolean"),
        ("date", "2024-02-30", "is not a date"),
        ("varchar(3)", "abcd", "longer than varchar(3)"),
    ],
)
def test_values_refused(kind: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        field_for_type("f", kind).convert(value)


# --- bounded memory ---

_MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    from lakeward.events.convert import convert_to_parquet

    def run(name):
        return convert_to_parquet(
            Path(sys.argv[1]) / name, "ndjson", Path(sys.argv[1]) / ("out-" + name),
            timestamp_field="event_time", anonymize={"user": "hash"}, batch_rows=5_000,
        )

    run("warm.ndjson")  # allocator pools, writer machinery: not what we measure
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run("big.ndjson")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    print(result.rows_written, (after - before) * unit)
    """
)


def test_a_large_ndjson_converts_in_bounded_memory(tmp_path: Path) -> None:
    template = (
        '{{"id": {i}, "user": "user-{i}@example.com", "amount": {i}.25, '
        '"event_time": "2024-{m:02d}-{d:02d}T{h:02d}:00:00Z", "note": "{pad}"}}\n'
    )
    pad = "lorem ipsum " * 8
    count = 0
    with open(tmp_path / "big.ndjson", "w") as out:
        for chunk in range(30):
            out.write(
                "".join(
                    template.format(i=i, m=1 + i % 12, d=1 + i % 28, h=i % 24, pad=pad)
                    for i in range(chunk * 5_000, (chunk + 1) * 5_000)
                )
            )
            count += 5_000
    with open(tmp_path / "big.ndjson", "rb") as src, open(tmp_path / "warm.ndjson", "wb") as dst:
        dst.writelines(line for _, line in zip(range(15_000), src, strict=False))
    size = (tmp_path / "big.ndjson").stat().st_size
    assert size > 28_000_000

    run = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    written, growth = map(int, run.stdout.split())
    assert written == count
    print(f"peak RSS growth {growth / 2**20:.1f} MiB for {size / 2**20:.1f} MiB of NDJSON")
    assert growth < size / 3, (
        f"peak RSS grew by {growth / 2**20:.1f} MiB for {size / 2**20:.0f} MiB"
    )


# --- the vectorized fast path gives exactly what record-by-record conversion gives ---

FAST_COLUMNS = [
    Column(name="id", type="bigint"),
    Column(name="n", type="int"),
    Column(name="amount", type="double"),
    Column(name="ok", type="boolean"),
    Column(name="event_time", type="timestamp"),
    Column(name="seen", type="timestamp"),
    Column(name="email", type="string"),
]
_ODD_VALUES: list[Any] = [
    None,
    "7",
    1.0,
    -0.0,
    2**40,
    2**70,
    True,
    "2024-02-30",
    " 2024-03-01",
    1709287200,
    "1709287200",
    "2024-03-01T10:00",
    "2024-03-01T10:00:00.1234567",
    "0001-01-01T00:00:00+01:00",
    "ü",
    [1],
    {"a": 1},
    "",
]
_ODD_LINES = [
    "garbage",
    "[1, 2]",
    '{"id": 1, "id": 2}',
    '{"id": 1, "amount": NaN, "event_time": "2024-01-01"}',
    '{"id": 1, "amount": Inf, "event_time": "2024-01-01"}',
    '{"id": -0, "amount": -0, "event_time": "2024-01-01"}',
    '{"id": 1, "email": "a\tb", "event_time": "2024-01-01"}',
    '{"id": 1, "event_time": "2024-01-01"} {"id": 2}',
    '\ufeff{"id": 1, "event_time": "2024-01-01"}',
    '{"id": 1, "event_time": "2024-01-01", "deep": ' + "[" * 3000 + "]" * 3000 + "}",
    "   ",
    "",
]


def _clean_record(rng: random.Random, i: int) -> dict[str, Any]:
    stamp = rng.choice(
        [
            f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:30:00Z",
            f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}",
            f"2024-03-31T23:30:00.{i % 1000:03d}-02:00",
            "2024-06-01 00:00:00.5",
            "2024-12-31T23:59:59+05:30",
        ]
    )
    record: dict[str, Any] = {
        "id": i * rng.choice([1, -1, 10**12]),
        "n": rng.randint(-(2**31), 2**31 - 1),
        "amount": rng.choice([rng.random() * 1e6, rng.randint(-5, 5), 0, 1e300, 0.1]),
        "ok": rng.choice([True, False, None]),
        "event_time": stamp,
        "seen": rng.choice([None, "2020-01-01T00:00:00Z", "1999-12-31"]),
        "email": rng.choice([f"user{i}@example.com", 'é😀 \\/"', None, "Nancy's"]),
    }
    if rng.random() < 0.3:
        record["extra"] = rng.choice([1, "x", [1, {"y": None}], None])
    for name in rng.sample(list(record), k=rng.randint(0, 2)):
        if name != "event_time":
            del record[name]
    return record


def _fuzz_lines(seed: int, count: int, dirty: float) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        record = _clean_record(rng, i)
        if rng.random() < dirty:
            if rng.random() < 0.5:
                lines.append(rng.choice(_ODD_LINES))
                continue
            record[rng.choice([c.name for c in FAST_COLUMNS])] = rng.choice(_ODD_VALUES)
        lines.append(json.dumps(record, ensure_ascii=rng.random() < 0.5))
    return lines


def _both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes, **kwargs: Any
) -> tuple[ConvertResult, int]:
    """Convert with and without the fast path; assert identical results, count fast chunks."""
    from lakeward.events import _convert_fast

    source = write(tmp_path / "in.ndjson", text)
    kwargs = {"batch_rows": 40, **kwargs}
    accepted = []
    real = _convert_fast.FastConverter.convert

    def spy(self: Any, *args: Any) -> Any:
        result = real(self, *args)
        accepted.append(result is not None)
        return result

    with monkeypatch.context() as patch:
        patch.setattr(_convert_fast.FastConverter, "convert", spy)
        fast = convert_to_parquet(source, "ndjson", tmp_path / "fast", **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(_convert_fast.FastConverter, "build", classmethod(lambda cls, c: None))
        slow = convert_to_parquet(source, "ndjson", tmp_path / "slow", **kwargs)
    assert (fast.rows_in, fast.rows_written, fast.bad, fast.schema) == (
        slow.rows_in,
        slow.rows_written,
        slow.bad,
        slow.schema,
    )
    assert [(o.partition, o.rows) for o in fast.outputs] == [
        (o.partition, o.rows) for o in slow.outputs
    ]
    for f, s in zip(fast.outputs, slow.outputs, strict=True):
        assert f.path.relative_to(tmp_path / "fast") == s.path.relative_to(tmp_path / "slow")
        assert repr(rows(f)) == repr(rows(s))  # repr: NaN == NaN
        assert pq.read_schema(f.path) == pq.read_schema(s.path)
        assert f.path.read_bytes() == s.path.read_bytes()
    return fast, sum(accepted)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dirty", [0.0, 0.01, 0.2])
def test_fast_path_matches_record_by_record_with_declared_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, dirty: float
) -> None:
    lines = _fuzz_lines(seed, 400, dirty)
    anonymize = [{}, {"email": "hash"}, {"email": "drop", "n": "hash"}, {"ok": "hash"}][seed % 4]
    result, fast_chunks = _both_paths(
        tmp_path,
        monkeypatch,
        "\n".join(lines) + ("\n" if seed % 2 else ""),
        columns=FAST_COLUMNS,
        timestamp_field="event_time",
        anonymize=anonymize,
        salt="s",
    )
    assert result.rows_written > 0
    if dirty == 0.0:
        assert fast_chunks == 10  # every chunk of 40 clean records was converted at once


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dirty", [0.0, 0.05])
@pytest.mark.parametrize("columns", [FAST_COLUMNS, ()], ids=["declared", "inferred"])
def test_fast_path_parsed_in_parallel_blocks_matches_record_by_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, dirty: float, columns: Any
) -> None:
    from lakeward.events import _convert_fast

    monkeypatch.setattr(_convert_fast, "_BLOCK", 2048)  # each chunk spans several blocks
    lines = [line for line in _fuzz_lines(seed, 400, dirty) if len(line) < 2000]
    result, fast_chunks = _both_paths(
        tmp_path,
        monkeypatch,
        "\n".join(lines) + "\n",
        columns=columns,
        timestamp_field="event_time",
        anonymize={"email": "hash"},
        salt="s",
    )
    assert result.rows_written > 0
    if dirty == 0.0 and columns:
        assert fast_chunks == 10  # every multi-block chunk was accepted


@pytest.mark.parametrize("seed", range(4))
def test_fast_path_matches_record_by_record_with_an_inferred_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    lines = [
        json.dumps({"id": i, "ts": f"2024-{1 + i % 9:02d}-1{i % 10}T12:00:00Z", "s": str(i)})
        for i in range(300)
    ]
    for _ in range(seed):
        lines[rng.randrange(100, 300)] = rng.choice(
            ['{"id": 1, "ts": 1709287200}', '{"id": 1, "ts": "2024-01-01", "new": 1}', "{}"]
        )
    if seed == 3:
        lines[150] = '{"id": 1, "ts": "2024-01-01", "new": null}'
    result, fast_chunks = _both_paths(
        tmp_path, monkeypatch, "\r\n".join(lines), timestamp_field="ts", batch_rows=50
    )
    assert [field["name"] for field in result.schema] == ["id", "ts", "s"]
    assert fast_chunks >= 6 - seed


@pytest.mark.parametrize(
    "text",
    [
        ndjson({"id": 1, "event_time": "2024-01-01"}, "", {"id": 2, "event_time": "2024-02-01"}),
        b'{"id": 1, "event_time": "2024-01-01", "email": "caf\xe9"}\n',
        ndjson(*({"id": i, "event_time": "2024-01-01", "amount": -0.0} for i in range(3))),
        ndjson(*({"id": i, "event_time": "2024-01-01", "x": {"a": [i]}} for i in range(3))),
    ],
)
def test_fast_path_matches_record_by_record_on_edges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes
) -> None:
    _both_paths(tmp_path, monkeypatch, text, columns=FAST_COLUMNS, timestamp_field="event_time")


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        (
            "lines.ndjson",
            '{"ts": "2024-01-01", "n": "\\ud800"}\n{"ts": "2024-01-02", "n": "x"}\n',
            "ndjson",
        ),
        (
            "array.json",
            '[{"ts": "2024-01-01", "n": "\\udc80"}, {"ts": "2024-01-02", "n": "x"}]',
            "json",
        ),
    ],
)
def test_a_lone_surrogate_is_a_bad_record_not_a_crash(
    tmp_path: Path, name: str, text: str, fmt: str
) -> None:
    source = tmp_path / name
    source.write_text(text)
    result = convert_to_parquet(source, fmt, tmp_path / "out", timestamp_field="ts")
    assert result.rows_written == 1
    assert [b.number for b in result.bad] == [1]
    assert "lone UTF-16 surrogate" in result.bad[0].reason


# --- the NDJSON reader: blocks cut at newlines, runs of non-blank lines, exact numbers ---

_READER_TEXT = (
    b'{"id": 1, "event_time": "2024-01-01T00:00:00Z"}\r\n'
    b"\r\n"
    b'{"id": 2, "event_time": "2024-01-02"}\n'
    b"   \t \n"
    b"\n"
    b'  {"id": 3, "event_time": "2024-02-01T00:00:00Z"}\n'
    b'{"id": "four", "event_time": "2024-02-01"}\n'
    b'{"id": 5, "event_time": "2024-02-02T10:00:00+02:00"}\r\n'
    b"garbage\n"
    b'{"id": 7, "event_time": "2024-03-01"}'  # no final newline
)


@pytest.mark.parametrize("read_size", [1, 5, 17, 64, 1 << 20])
@pytest.mark.parametrize("batch_rows", [1, 2, 3, 50])
def test_blocks_of_any_size_give_the_same_records_and_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_size: int, batch_rows: int
) -> None:
    monkeypatch.setattr(convert_module, "_READ_CHUNK", read_size)  # lines span many reads
    result, _ = _both_paths(
        tmp_path,
        monkeypatch,
        _READER_TEXT,
        columns=COLUMNS[:1] + COLUMNS[2:3],
        timestamp_field="event_time",
        batch_rows=batch_rows,
    )
    assert [(bad.number, bad.reason, bad.raw) for bad in result.bad] == [
        (7, "field 'id': 'four' is not a bigint", '{"id": "four", "event_time": "2024-02-01"}'),
        (9, "invalid JSON: Expecting value at column 1", "garbage"),
    ]
    assert result.rows_in == 7  # blank and whitespace-only lines are not records
    assert [row["id"] for row in all_rows(result)] == [1, 2, 3, 5, 7]


@pytest.mark.parametrize("final_newline", [True, False])
def test_a_declined_chunk_in_the_middle_keeps_exact_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, final_newline: bool
) -> None:
    monkeypatch.setattr(convert_module, "_READ_CHUNK", 300)
    lines = [json.dumps({"id": i, "event_time": f"2024-0{1 + i % 3}-01"}) for i in range(200)]
    lines[95] = ""  # a blank line: the chunk still holds 40 records
    lines[101] = '{"id": 101, "event_time": "2024-01-01", "amount": "x"}'
    lines[130] = '{"id": 130, "event_time": "2024-01-01", "amount": NaN}'
    text = "\r\n".join(lines) + ("\r\n" if final_newline else "")
    result, fast_chunks = _both_paths(
        tmp_path, monkeypatch, text, columns=COLUMNS, timestamp_field="event_time"
    )
    assert [(bad.number, bad.reason) for bad in result.bad] == [
        (102, "field 'amount': 'x' is not a double")
    ]
    assert result.rows_in == 199
    assert fast_chunks == 3  # records 81-120 (line 102) and 121-160 (NaN) are declined
    nan = [row for row in all_rows(result) if row["id"] == 130]
    assert repr(nan[0]["amount"]) == "nan"


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("Infinity and NaN in text", True),  # inside a string, not where a value stands
        ("a\tb", False),  # a raw tab
        ("\ufeffbom", False),
    ],
)
def test_text_that_only_looks_unsafe_stays_on_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, accepted: bool
) -> None:
    lines = [
        json.dumps({"id": i, "event_time": "2024-01-01", "email": value}, ensure_ascii=False)
        for i in range(80)
    ]
    text = "\n".join(lines).replace("\\t", "\t") + "\n"
    result, fast_chunks = _both_paths(
        tmp_path, monkeypatch, text, columns=COLUMNS, timestamp_field="event_time"
    )
    assert fast_chunks == (2 if accepted else 0)
    assert result.rows_written == (80 if value != "a\tb" else 0)


@pytest.mark.parametrize(
    "line",
    [
        b'{"ts": "2024-01-01", "n": "\xed\xa0\x80"}',  # a surrogate's UTF-8 form
        '{"ts": "2024-01-01", "n": "\ud800"}'.encode("utf-16-le", "surrogatepass"),
    ],
)
def test_a_lone_surrogate_without_an_escape_is_a_bad_record(tmp_path: Path, line: bytes) -> None:
    source = write(tmp_path / "in.ndjson", b'{"ts": "2024-01-02", "n": "x"}\n' + line + b"\n")
    result = convert_to_parquet(source, "ndjson", tmp_path / "out", timestamp_field="ts")
    assert [b.number for b in result.bad] == [2]
    assert "lone UTF-16 surrogate" in result.bad[0].reason


def test_only_columns_of_repeated_values_are_dictionary_encoded(tmp_path: Path) -> None:
    records = [
        {
            "id": i,
            "code": ["a", "b", "c"][i % 3],
            "score": i / 7,
            "tags": [i % 2],
            "who": {"name": f"n{i}", "team": "t"},
            "ts": "2024-01-01",
        }
        for i in range(1000)
    ]
    source = write(tmp_path / "in.ndjson", ndjson(*records))
    result = convert_to_parquet(source, "ndjson", tmp_path / "out", timestamp_field="ts")
    (output,) = result.outputs
    group = pq.ParquetFile(output.path).metadata.row_group(0)
    encoded = {
        group.column(i).path_in_schema: "dictionary"
        if any("DICTIONARY" in e for e in group.column(i).encodings)
        else "plain"
        for i in range(group.num_columns)
    }
    assert encoded == {
        "id": "plain",  # all distinct
        "code": "dictionary",
        "score": "plain",
        "tags.list.element": "dictionary",  # nested: always
        "who.name": "dictionary",
        "who.team": "dictionary",
        "ts": "dictionary",  # one value
    }
    assert rows(output) == [{**r, "ts": datetime(2024, 1, 1, tzinfo=UTC)} for r in records]


@pytest.mark.parametrize("seed", range(40))
def test_fast_path_matches_record_by_record_across_reads_batches_and_separators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    # Seeds of this shape found a timestamp column (not the partition one) whose UTC year
    # Python cannot hold, written by the fast path and refused record by record.
    rng = random.Random(1000 + seed)
    dirty = rng.choice([0.0, 0.005, 0.02, 0.1, 0.3])
    lines = _fuzz_lines(1000 + seed, rng.randint(50, 400), dirty)
    text = rng.choice(["\n", "\r\n", "\n\n", "\n  \n"]).join(lines)
    text += rng.choice(["", "\n", "\r\n", "\n\n"])
    columns = FAST_COLUMNS if rng.random() < 0.7 else ()
    anonymize = rng.choice([{}, {"email": "hash"}, {"email": "drop", "n": "hash"}])
    monkeypatch.setattr(convert_module, "_READ_CHUNK", rng.choice([1, 7, 64, 1000, 4096]))
    _both_paths(
        tmp_path,
        monkeypatch,
        text,
        columns=columns,
        timestamp_field="event_time",
        anonymize=anonymize if columns else {},
        salt="s",
        batch_rows=rng.choice([1, 7, 40, 100, 1000]),
    )


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-02:00"])
def test_a_timestamp_column_with_a_year_python_cannot_hold_is_a_bad_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    records = [{"id": i, "event_time": "2024-01-01", "seen": "2024-02-01"} for i in range(5)]
    records[2]["seen"] = value
    result, fast_chunks = _both_paths(
        tmp_path,
        monkeypatch,
        ndjson(*records),
        columns=FAST_COLUMNS,
        timestamp_field="event_time",
    )
    assert [b.number for b in result.bad] == [3] and "'seen'" in result.bad[0].reason
    assert fast_chunks == 0  # declined, converted record by record
