"""The crawler's walk and sampling against plain per-key definitions of what they do."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from fnmatch import fnmatchcase

import pytest

from lakeward.catalog import _crawl_schema
from lakeward.catalog._crawl_schema import (
    HEAD_BYTES,
    RESERVED_PREFIXES,
    File,
    classify_name,
    hive,
    pick_samples,
    sample_all,
    sample_object,
    walk,
)
from lakeward.storage.base import ObjectBody, ObjectInfo

from .conftest import BUCKET, CrawlEnv, csv_bytes, gz, ndjson_bytes, parquet_bytes, sales

KEYS = (
    "raw/sales/year=2024/month=01/a.csv",
    "raw/sales/year=2024/month=01/b.CSV.GZ",
    "raw/sales/year=2024/month=01/_SUCCESS",
    "raw/sales/year=2024/month=01/.a.csv.crc",
    "raw/sales/year=2024/_tmp/c.csv",
    "raw/sales/.spark/year=2024/d.csv",
    "raw/events/2024/01/e.json",
    "raw/events/2024/01/f.ndjson.gzip",
    "raw/events/2024/x=1/g.parquet",
    "raw/events/=odd/h.parq",
    "raw/flat.csv",
    "raw/noext",
    "raw/README.md",
    "raw/dir/",
    "raw/logs/dt=1/skip-me.json",
    "raw/logs/dt=2/keep.json",
    "raw//double/slash.csv",
    "metadata/shop/m.json",
    "metadata/_x/n.json",
    "error/orders/o.json",
    "top.csv",
)


def reference_walk(
    keys: list[tuple[str, int]], prefix: str, exclude: list[str], *, reserved: bool
) -> tuple[list[File], dict[str, int]]:
    """The walk as a rule per key: markers, reserved, hidden, excluded, then root and levels."""
    files, skipped = [], {}
    for key, size in keys:
        relative = key[len(prefix) :]
        parts = relative.split("/")
        if not relative or key.endswith("/"):
            why = "folder marker"
        elif not reserved and key.startswith(RESERVED_PREFIXES):
            why = "reserved (metadata/, error/)"
        elif any(part[:1] in (".", "_") for part in parts):
            why = "hidden (. or _)"
        elif any(fnmatchcase(key, p) or fnmatchcase(relative, p) for p in exclude):
            why = "excluded"
        else:
            folders = parts[:-1]
            first = next((i for i, part in enumerate(folders) if hive(part)), None)
            depth = first or 0
            root = prefix + "".join(f"{part}/" for part in folders[:depth])
            fmt, compression = classify_name(key)
            folder = key[: key.rfind("/") + 1]
            levels = tuple(folders[depth:])
            files.append(File(key, size, folder, root, levels, fmt, compression, first is not None))
            continue
        skipped[why] = skipped.get(why, 0) + 1
    return files, skipped


@pytest.mark.parametrize(
    ("prefix", "exclude", "reserved"),
    [
        ("", [], False),
        ("raw/", ["*/skip-*", "flat.*"], False),
        ("raw/sales/", ["year=2024/month=01/a.*"], False),
        ("metadata/", [], True),
        ("raw/events/2024/", ["raw/events/*/x=1/*"], False),
        ("raw/events/2024/01/e", [], False),  # not a folder: ".json" below it is hidden
        ("raw/fl", [], False),
    ],
)
def test_walk_keeps_and_skips_like_the_per_key_rules(
    env: CrawlEnv, prefix: str, exclude: list[str], reserved: bool
) -> None:
    for number, key in enumerate(KEYS):
        env.put(key, b"x" * number)
    listed = [(info.key, info.size) for info in env.store.list(BUCKET, prefix).objects]
    expected_files, expected_skipped = reference_walk(listed, prefix, exclude, reserved=reserved)

    found = walk(env.store, BUCKET, prefix, exclude, reserved=reserved)

    assert found.objects == len(listed)
    assert found.files == expected_files
    assert dict(found.skipped) == expected_skipped
    assert found.files or found.skipped


def test_pick_samples_takes_the_first_n_of_each_folder_and_format() -> None:
    def file(key: str) -> File:
        folder = key[: key.rfind("/") + 1]
        return File(key, 1, folder, folder, (), *classify_name(key), False)

    files = [file(k) for k in ("a/1.csv", "a/2.json", "a/3.csv", "a/4.csv", "b/1.csv", "c/1.csv")]
    picked = pick_samples(files, 2, {"c/"})
    assert [f.key for f in picked] == ["a/1.csv", "a/2.json", "a/3.csv", "b/1.csv"]


class RecordingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.asked.append(-1 if size is None else size)
        return super().read(size)


def body_of(data: bytes, recorded_size: int) -> tuple[ObjectBody, RecordingStream]:
    info = ObjectInfo(
        bucket=BUCKET,
        key="raw/x.csv",
        size=recorded_size,
        etag="e",
        sha256=hashlib.sha256(data).hexdigest(),
        version_id="null",
        last_modified=datetime(2024, 1, 1, tzinfo=UTC),
    )
    stream = RecordingStream(data)
    return ObjectBody(info, stream), stream


def test_a_small_file_is_read_with_a_small_buffer() -> None:
    data = csv_bytes(sales())
    body, stream = body_of(data, len(data))
    assert _crawl_schema._read_head(body) == (data, True)
    assert stream.asked == [len(data) + 1]


def test_a_body_longer_than_recorded_is_read_as_far_as_a_full_head() -> None:
    data = b"a,b\n" + b"1,2\n" * (HEAD_BYTES // 4)  # one line more than HEAD_BYTES holds
    body, _ = body_of(data, 10)
    head, complete = _crawl_schema._read_head(body)
    assert (head, complete) == (data[:HEAD_BYTES], False)

    short, _ = body_of(data[:100], 10)
    assert _crawl_schema._read_head(short) == (data[:100], True)


def test_parquet_is_read_whole() -> None:
    data = parquet_bytes(sales(50))
    body, _ = body_of(data, len(data))
    assert _crawl_schema._read_head(body) == (data, True)


def test_local_sampling_in_chunks_gives_the_samples_of_one_by_one(
    env: CrawlEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = {
        "raw/t/a.csv": csv_bytes(sales()),
        "raw/t/b.csv.gz": gz(csv_bytes(sales(extra=True))),
        "raw/t/c.json": ndjson_bytes(sales()),
        "raw/t/d.parquet": parquet_bytes(sales()),
        "raw/t/e.csv": b"\x00\x01 not text",
        "raw/t/f.csv": b"",
        "raw/t/g.csv": csv_bytes(sales()),
    }
    for key, body in bodies.items():
        env.put(key, body)
    files = walk(env.store, BUCKET, "raw/", (), reserved=False).files
    env.store.delete(BUCKET, "raw/t/g.csv")  # listed, gone when read
    monkeypatch.setattr(_crawl_schema, "_CHUNK_FILES", 3)

    chunked = sample_all(env.store, BUCKET, files, threads=1)

    assert list(chunked) == list(bodies)
    assert chunked == {key: sample_object(env.store, BUCKET, key) for key in bodies}
    assert chunked["raw/t/b.csv.gz"].compression == "gzip"
    assert chunked["raw/t/d.parquet"].format == "parquet"
    assert chunked["raw/t/e.csv"].error == "format not recognised from its content"
    assert (chunked["raw/t/g.csv"].error or "").startswith("not read:")


def test_worker_processes_give_the_samples_of_this_process(
    env: CrawlEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = {
        f"raw/t/p={n}/{name}": body
        for n in range(4)
        for name, body in (
            ("a.csv", csv_bytes(sales())),
            ("b.csv.gz", gz(csv_bytes(sales(extra=True)))),
            ("c.json", ndjson_bytes(sales())),
            ("d.parquet", parquet_bytes(sales())),
            ("e.csv", b"\x00\x01 not text"),
        )
    }
    for key, body in bodies.items():
        env.put(key, body)
    files = walk(env.store, BUCKET, "raw/", (), reserved=False).files
    monkeypatch.setattr(_crawl_schema, "_CHUNK_FILES", 3)  # 7 chunks over 2 processes

    in_processes = sample_all(env.store, BUCKET, files, threads=1, processes=2)
    here = sample_all(env.store, BUCKET, files, threads=1, processes=1)

    assert in_processes == here
    assert list(in_processes) == list(bodies)
    assert in_processes["raw/t/p=3/d.parquet"].format == "parquet"


def test_many_samples_go_to_processes_few_stay_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_crawl_schema.os, "cpu_count", lambda: 8)
    assert _crawl_schema._profile_processes(100) == 1
    assert _crawl_schema._profile_processes(50_000) == 4
    monkeypatch.setattr(_crawl_schema.os, "cpu_count", lambda: None)
    assert _crawl_schema._profile_processes(50_000) == 1


def test_chunks_close_on_count_and_on_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_crawl_schema, "_CHUNK_FILES", 3)
    monkeypatch.setattr(_crawl_schema, "_CHUNK_BYTES", 100)
    sizes = [1, 1, 1, 1, 150, 1, 60, 60, 1]
    files = [File(f"k{n}", size, "", "", (), "csv", None, False) for n, size in enumerate(sizes)]
    chunks = [[f.size for f in chunk] for chunk in _crawl_schema._chunks(files)]
    assert chunks == [[1, 1, 1], [1, 150], [1, 60, 60], [1]]
