from __future__ import annotations

import bz2
import gzip
import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeward.errors import InvalidRequest
from lakeward.ingest import profile as profile_module
from lakeward.ingest.pii import scan_pii
from lakeward.ingest.profile import FileProfile, profile_bytes, profile_file

CSV = b'id,name,note,amount\n1,Ana,"two\nlines",NA\n2,Bo,plain,12.5\n3,,NULL,\n'
CSV_SCHEMA = [
    {"name": "id", "type": "int64"},
    {"name": "name", "type": "string"},
    {"name": "note", "type": "string"},
    {"name": "amount", "type": "double"},
]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_csv_with_quoted_newlines_and_na(tmp_path: Path) -> None:
    result = profile_file(write(tmp_path / "a.csv", CSV), "csv")
    assert result == FileProfile(
        rows=3,
        schema=CSV_SCHEMA,
        sample=[
            {"id": 1, "name": "Ana", "note": "two\nlines", "amount": None},
            {"id": 2, "name": "Bo", "note": "plain", "amount": 12.5},
            {"id": 3, "name": None, "note": None, "amount": None},
        ],
        error=None,
    )


def test_csv_sample_is_capped(tmp_path: Path) -> None:
    data = b"n\n" + b"".join(b"%d\n" % i for i in range(50))
    result = profile_file(write(tmp_path / "n.csv", data), "csv", sample_rows=5)
    assert result.rows == 50
    assert result.sample == [{"n": i} for i in range(5)]
    assert profile_file(tmp_path / "n.csv", "csv", sample_rows=0).sample == []


def test_csv_streams_in_blocks_and_widens_a_column_whose_type_breaks_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profile_module, "_CSV_BLOCK_SIZE", 64)
    data = b"zip,city\n" + b"12345,Porto\n" * 40 + b"A1B 2C3,Toronto\n" + b"54321,Braga\n" * 9
    result = profile_file(write(tmp_path / "z.csv", data), "csv", sample_rows=2)
    assert result.error is None
    assert result.rows == 50
    assert result.schema == [{"name": "zip", "type": "string"}, {"name": "city", "type": "string"}]
    assert result.sample == [{"zip": "12345", "city": "Porto"}] * 2


def test_gzip_csv_by_suffix_by_magic_and_declared(tmp_path: Path) -> None:
    packed = gzip.compress(CSV)
    for name, compression in [("a.csv.gz", None), ("a.csv", None), ("a.data", "gzip")]:
        result = profile_file(write(tmp_path / name, packed), "csv", compression)
        assert (result.rows, result.schema, result.error) == (3, CSV_SCHEMA, None), name


def test_bz2_detected_and_zstd_declared(tmp_path: Path) -> None:
    assert profile_file(write(tmp_path / "b.csv", bz2.compress(CSV)), "csv").rows == 3
    with pa.CompressedOutputStream(str(tmp_path / "z.csv"), "zstd") as out:
        out.write(CSV)
    assert profile_file(tmp_path / "z.csv", "csv", "zstd").rows == 3


def test_snappy_text_is_not_streamed(tmp_path: Path) -> None:
    result = profile_file(write(tmp_path / "s.csv", b"x"), "csv", "snappy")
    assert result == FileProfile(
        None, None, [], "snappy-compressed csv cannot be streamed: not profiled"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"a,b\n1,2\n3,ana@example.com,5\n",
        b'a,b\n"unterminated,2\n',
    ],
)
def test_malformed_csv_sets_error_without_quoting_content(tmp_path: Path, data: bytes) -> None:
    result = profile_file(write(tmp_path / "bad.csv", data), "csv")
    assert (result.rows, result.schema, result.sample) == (None, None, [])
    assert result.error is not None
    assert result.error.startswith("malformed csv: ")
    assert "ana@example.com" not in result.error
    assert "unterminated" not in result.error


def test_truncated_gzip_sets_error(tmp_path: Path) -> None:
    packed = gzip.compress(b"a,b\n" + b"1,2\n" * 5000)
    result = profile_file(write(tmp_path / "t.csv.gz", packed[:-40]), "csv")
    assert result.rows is None
    assert result.error is not None


def test_empty_files_have_no_rows(tmp_path: Path) -> None:
    for fmt in ("csv", "json", "ndjson"):
        assert profile_file(write(tmp_path / "e", b" \n"), fmt) == FileProfile(0, [], [], None)


def test_ndjson(tmp_path: Path) -> None:
    data = b'{"a": 1, "b": "x"}\n\n{"a": 2, "c": true}\n'
    result = profile_file(write(tmp_path / "a.ndjson", data), "ndjson")
    assert result == FileProfile(
        rows=2,
        schema=[
            {"name": "a", "type": "int64"},
            {"name": "b", "type": "string"},
            {"name": "c", "type": "bool"},
        ],
        sample=[{"a": 1, "b": "x", "c": None}, {"a": 2, "b": None, "c": True}],
        error=None,
    )
    assert profile_file(tmp_path / "a.ndjson", "json") == result


def test_pretty_printed_json_objects(tmp_path: Path) -> None:
    data = json.dumps({"a": 1, "b": {"c": "x"}}, indent=2) + "\n" + json.dumps({"a": 2}, indent=2)
    result = profile_file(write(tmp_path / "p.json", data.encode()), "json")
    assert result.rows == 2
    assert result.sample == [{"a": 1, "b": {"c": "x"}}, {"a": 2, "b": None}]
    assert result.error is None


def test_large_ndjson_counts_lines_and_infers_from_a_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profile_module, "_NDJSON_IN_MEMORY_LIMIT", 1000)
    monkeypatch.setattr(profile_module, "_NDJSON_SCHEMA_PREFIX", 200)
    monkeypatch.setattr(profile_module, "_READ_CHUNK", 64)
    lines = [json.dumps({"i": i, "s": "v" * (i % 7)}).encode() for i in range(300)]
    data = b"\n\n".join(lines) + b"\n  \n" + b'{"i": 300, "late": "not in the prefix"}'
    result = profile_file(write(tmp_path / "big.ndjson", data), "ndjson", sample_rows=3)
    assert result.rows == 301
    assert result.schema == [{"name": "i", "type": "int64"}, {"name": "s", "type": "string"}]
    assert result.sample == [{"i": 0, "s": ""}, {"i": 1, "s": "v"}, {"i": 2, "s": "vv"}]
    assert result.error is None


def test_malformed_ndjson(tmp_path: Path) -> None:
    data = b'{"a": 1}\n{"a": "secret value"\n'
    result = profile_file(write(tmp_path / "bad.ndjson", data), "ndjson")
    assert (result.rows, result.schema, result.sample) == (None, None, [])
    assert result.error is not None
    assert "secret" not in result.error


def test_json_array(tmp_path: Path) -> None:
    records = [{"a": i, "b": f"x{i}"} for i in range(10)]
    path = write(tmp_path / "a.json", json.dumps(records).encode())
    result = profile_file(path, "json", sample_rows=2)
    assert result == FileProfile(
        rows=10,
        schema=[{"name": "a", "type": "int64"}, {"name": "b", "type": "string"}],
        sample=records[:2],
        error=None,
    )


def test_json_array_edge_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scalars = profile_file(write(tmp_path / "s.json", b"[1, 2, 3]"), "json")
    assert (scalars.rows, scalars.schema, scalars.error) == (
        3,
        None,
        "JSON array items are not objects",
    )
    broken = profile_file(write(tmp_path / "b.json", b'[{"a": 1}, {"a": '), "json")
    assert broken.rows is None
    assert broken.error is not None
    assert broken.error.startswith("malformed json")
    deep = profile_file(write(tmp_path / "d.json", b"[" * 200_000), "json")
    assert deep.rows is None
    scalar = profile_file(write(tmp_path / "n.json", b"42"), "json")
    assert scalar.rows is None
    monkeypatch.setattr(profile_module, "_JSON_ARRAY_LIMIT", 64)
    big = profile_file(write(tmp_path / "big.json", json.dumps([{"a": 1}] * 20).encode()), "json")
    assert big == FileProfile(None, None, [], "JSON array larger than 0 MiB: rows not counted")


def test_parquet_from_footer_and_first_row_group(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array(range(100), pa.int32()),
            "day": [date(2024, 1, 1)] * 100,
            "price": pa.array([Decimal("1.50")] * 100, pa.decimal128(5, 2)),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=30)
    result = profile_file(tmp_path / "t.parquet", "parquet", "snappy", sample_rows=40)
    assert result.rows == 100
    assert result.schema == [
        {"name": "id", "type": "int32"},
        {"name": "day", "type": "date32[day]"},
        {"name": "price", "type": "decimal128(5, 2)"},
    ]
    assert len(result.sample) == 30  # the first row group only
    assert result.sample[0] == {"id": 0, "day": date(2024, 1, 1), "price": Decimal("1.50")}
    assert result.error is None


def test_not_parquet_and_not_orc(tmp_path: Path) -> None:
    path = write(tmp_path / "x.parquet", CSV)
    for fmt in ("parquet", "orc"):
        result = profile_file(path, fmt)
        assert (result.rows, result.schema, result.sample) == (None, None, [])
        assert result.error is not None
        assert result.error.startswith(f"malformed {fmt}: ")


def test_orc(tmp_path: Path) -> None:
    orc = pytest.importorskip("pyarrow.orc")
    orc.write_table(pa.table({"x": [1, 2, 3]}), str(tmp_path / "t.orc"))
    result = profile_file(tmp_path / "t.orc", "orc", sample_rows=2)
    assert result == FileProfile(3, [{"name": "x", "type": "int64"}], [{"x": 1}, {"x": 2}], None)


def test_avro_text_and_binary_are_not_profiled(tmp_path: Path) -> None:
    path = write(tmp_path / "blob", bytes(range(256)))
    assert profile_file(path, "avro") == FileProfile(None, None, [], "avro profiling not supported")
    assert profile_file(path, "binary") == FileProfile(None, None, [], None)
    assert profile_file(path, "text") == FileProfile(None, None, [], None)


def test_bad_arguments_and_unreadable_files_raise(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", CSV)
    with pytest.raises(InvalidRequest, match="unknown format 'xlsx'"):
        profile_file(path, "xlsx")
    with pytest.raises(InvalidRequest, match="unknown compression 'lzma'"):
        profile_file(path, "csv", "lzma")
    with pytest.raises(InvalidRequest, match="sample_rows"):
        profile_file(path, "csv", sample_rows=-1)
    with pytest.raises(InvalidRequest, match="cannot read"):
        profile_file(tmp_path / "missing.csv", "csv")
    with pytest.raises(InvalidRequest, match="cannot read"):
        profile_file(tmp_path, "binary")


def test_sample_feeds_the_pii_scan(tmp_path: Path) -> None:
    data = b"npi,email,amount\n1234567893,ana@example.com,1500.00\n1234567893,NA,NA\n"
    result = profile_file(write(tmp_path / "p.csv", data), "csv")
    assert [(f.column, f.kind, f.matches, f.sampled) for f in scan_pii(result.sample)] == [
        ("email", "email", 1, 1)
    ]


def test_import_does_not_load_pyarrow() -> None:
    code = "import sys, lakeward.ingest.profile; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_profile_bytes_matches_profile_file(tmp_path: Path) -> None:
    table = pa.table({"id": pa.array(range(50), pa.int32()), "name": ["x"] * 50})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=20)
    orc = pytest.importorskip("pyarrow.orc")
    orc.write_table(table, str(tmp_path / "t.orc"))
    lines = b"".join(json.dumps({"a": i, "b": "v"}).encode() + b"\n" for i in range(10))
    cases = [
        (write(tmp_path / "a.csv", CSV), "csv", None),
        (write(tmp_path / "g.csv", gzip.compress(CSV)), "csv", None),
        (write(tmp_path / "b.csv", bz2.compress(CSV)), "csv", "bz2"),
        (write(tmp_path / "a.ndjson", lines), "ndjson", None),
        (write(tmp_path / "a.json", json.dumps([{"a": 1}, {"a": 2}]).encode()), "json", None),
        (write(tmp_path / "bad.json", b"42"), "json", None),
        (tmp_path / "t.parquet", "parquet", None),
        (tmp_path / "t.orc", "orc", None),
        (write(tmp_path / "t.txt", b"hello"), "text", None),
    ]
    for path, fmt, compression in cases:
        expected = profile_file(path, fmt, compression, sample_rows=3)
        assert profile_bytes(path.read_bytes(), fmt, compression, sample_rows=3) == expected
    with pytest.raises(InvalidRequest):
        profile_bytes(b"", "xml")
