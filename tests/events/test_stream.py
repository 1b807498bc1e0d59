"""RecordStream: Firehose-like buffered delivery of JSON records into a dataset."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from lakeward.cli import stream as stream_cli
from lakeward.config import config_from_dict
from lakeward.config_models import LakeConfig
from lakeward.errors import (
    AccessDenied,
    BackendUnavailable,
    Conflict,
    InvalidRequest,
    LakeError,
    NoSuchBucket,
)
from lakeward.events._spool import BatchHeader
from lakeward.events.stream import Delivery, RecordStream, default_spool_dir, encode_record
from lakeward.storage.local import LocalObjectStore
from lakeward.storage.ops import iter_objects, iter_versions

BUCKET = "acme-dev-lake"
PREFIX = "raw/web/app/"
T0 = datetime(2024, 6, 1, 12, 30, 5, tzinfo=UTC).timestamp()
KEY_RE = re.compile(
    r"^raw/web/app/year=2024/month=06/day=01/hour=12/clicks-20240601T123005Z-[0-9a-f]{16}\.ndjson\.gz$"
)
DATA: dict[str, Any] = {
    "lake": {"name": "acme"},
    "datasets": {
        "clicks": {
            "domain": "web",
            "source": "app",
            "owner": "web-team@example.com",
            "classification": "confidential",
            "format": "ndjson",
            "tags": {"CostCenter": "42"},
        }
    },
}


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RefusingStore(LocalObjectStore):
    """The local store, except that ``refuse(key)`` may return an error a put raises."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.refusals: dict[str, LakeError] = {}

    def put(self, bucket: str, key: str, data: Any, **options: Any) -> Any:
        for prefix, error in self.refusals.items():
            if key.startswith(prefix):
                raise error
        return super().put(bucket, key, data, **options)


@pytest.fixture
def config(tmp_path: Path) -> LakeConfig:
    return config_from_dict({**DATA, "backend": {"root": str(tmp_path / "lake")}})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RefusingStore]:
    opened = RefusingStore(tmp_path / "lake")
    opened.create_bucket(BUCKET)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "spool"


def open_stream(
    config: LakeConfig, store: LocalObjectStore, spool: Path, clock: Clock, **options: Any
) -> RecordStream:
    return RecordStream(config, store, "clicks", spool_dir=spool, clock=clock, **options)


def objects(store: LocalObjectStore, prefix: str = PREFIX) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for info in iter_objects(store, BUCKET, prefix):
        with store.get(BUCKET, info.key) as body:
            lines = gzip.decompress(body.read()).decode().splitlines()
        found[info.key] = [json.loads(line) for line in lines]
    return found


def abandon(stream: RecordStream) -> None:
    """Drop a stream as a kill -9 would: no flush, the spool lock released."""
    stream._spool.close()


def test_close_delivers_one_gzip_ndjson_object_with_the_records_in_order(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    records = [{"id": i, "name": "Zoë ☃", "nested": {"a": [1, None, True]}} for i in range(50)]
    with open_stream(config, store, spool, clock) as stream:
        for record in records[:10]:
            stream.put(record)
        stream.put_many(records[10:])
        assert stream.buffered_records == 50 and objects(store) == {}
    (only,) = objects(store).items()
    assert KEY_RE.match(only[0]), only[0]
    assert only[1] == records
    assert not list((spool / "clicks").glob("*.ndjson"))  # nothing left in the spool


def test_key_metadata_and_tags(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    with open_stream(config, store, spool, clock) as stream:
        stream.put({"id": 1})
        clock.now += 299  # the key keeps the first record's arrival time
        stream.put({"id": 2})
        (key,) = stream.flush()
    assert KEY_RE.match(key)
    info = store.head(BUCKET, key)
    assert info.content_type == "application/x-ndjson"
    assert info.metadata["content-encoding"] == "gzip"
    assert info.metadata["lakeward-records"] == "2"
    assert info.metadata["lakeward-first-arrival"] == "2024-06-01T12:30:05+00:00"
    assert key.endswith(f"-{info.metadata['lakeward-batch-sha256'][:16]}.ndjson.gz")
    assert store.get_tags(BUCKET, key) == {
        "Owner": "web-team@example.com",
        "Classification": "confidential",
        "Domain": "web",
        "Dataset": "clicks",
        "CostCenter": "42",
    }


def test_size_buffering_keeps_objects_under_max_bytes(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    record = {"id": 0, "pad": "x" * 20}
    size = len(encode_record({**record, "id": 10}))  # 32 bytes for ids 10-99
    delivered: list[Delivery] = []
    with open_stream(
        config, store, spool, clock, max_bytes=3 * size, on_delivery=delivered.append
    ) as stream:
        for i in range(10, 13):
            stream.put({**record, "id": i})
        assert len(objects(store)) == 1 and stream.buffered_records == 0  # reached: delivered
        for i in range(13, 18):
            stream.put({**record, "id": i})
        assert len(objects(store)) == 2 and stream.buffered_records == 2
        stream.put_many([{**record, "id": i} for i in range(18, 30)])  # split at max_bytes
        assert stream.buffered_records == 2
    found = objects(store)
    assert sorted(len(batch) for batch in found.values()) == [2, 3, 3, 3, 3, 3, 3]
    ids = [r["id"] for key in sorted(found, key=lambda k: found[k][0]["id"]) for r in found[key]]
    assert ids == list(range(10, 30))
    assert [d.records for d in delivered] == [3, 3, 3, 3, 3, 3, 2]
    assert {d.status for d in delivered} == {"delivered"}


def test_a_record_larger_than_max_bytes_is_one_object(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    with open_stream(config, store, spool, clock, max_bytes=10) as stream:
        stream.put({"big": "y" * 100})
        stream.put({"big": "z" * 100})
    assert sorted(len(batch) for batch in objects(store).values()) == [1, 1]


def test_time_buffering_on_put_and_tick(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    with open_stream(config, store, spool, clock, max_seconds=60) as stream:
        stream.put({"id": 1})
        clock.now += 30
        stream.put({"id": 2})
        assert stream.tick() == []
        clock.now += 31  # the first record is 61 s old: this put delivers the batch first
        stream.put({"id": 3})
        assert list(objects(store).values()) == [[{"id": 1}, {"id": 2}]]
        clock.now += 59
        assert stream.tick() == []
        clock.now += 1
        (key,) = stream.tick()
        assert objects(store)[key] == [{"id": 3}]
        assert stream.tick() == [] and stream.buffered_records == 0


def test_invalid_records_are_refused_and_nothing_is_buffered(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    with open_stream(config, store, spool, clock) as stream:
        with pytest.raises(InvalidRequest, match=r"must be a JSON object.*list"):
            stream.put([1, 2])  # type: ignore[arg-type]
        with pytest.raises(InvalidRequest, match=r"not JSON-serialisable.*datetime"):
            stream.put({"at": datetime.now(UTC)})
        with pytest.raises(InvalidRequest, match=r"not JSON-serialisable.*Out of range float"):
            stream.put({"x": float("nan")})
        with pytest.raises(InvalidRequest, match="not JSON-serialisable"):
            stream.put({"bad": "\ud800"})  # a lone surrogate has no UTF-8
        with pytest.raises(InvalidRequest, match=r"record 1: .*set"):
            stream.put_many([{"ok": 1}, {"s": {1, 2}}])
        with pytest.raises(InvalidRequest, match="iterable of records"):
            stream.put_many({"id": 1})
        assert stream.buffered_records == 0 and stream.stats.records_put == 0
        stream.put({"ok": True})
    assert list(objects(store).values()) == [[{"ok": True}]]


def test_limits_unknown_dataset_and_closed_stream(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    with pytest.raises(InvalidRequest, match="max_bytes"):
        open_stream(config, store, spool, clock, max_bytes=0)
    with pytest.raises(InvalidRequest, match="max_seconds"):
        open_stream(config, store, spool, clock, max_seconds=-1)
    with pytest.raises(LakeError, match="did you mean 'clicks'"):
        RecordStream(config, store, "clickz", spool_dir=spool)
    stream = open_stream(config, store, spool, clock)
    stream.close()
    stream.close()  # idempotent
    with pytest.raises(InvalidRequest, match="closed"):
        stream.put({"id": 1})


def test_one_open_stream_per_dataset_spool(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    with (
        open_stream(config, store, spool, clock),
        pytest.raises(Conflict, match="in use by another open stream"),
    ):
        open_stream(config, store, spool, clock)
    with open_stream(config, store, spool, clock):  # released on close
        pass


def test_reopen_keeps_filling_a_non_empty_spool(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    first = open_stream(config, store, spool, clock)
    first.put_many([{"id": 1}, {"id": 2}])
    abandon(first)  # killed: nothing delivered, both records in the spool
    clock.now += 10
    with open_stream(config, store, spool, clock) as second:
        assert second.buffered_records == 2 and objects(store) == {}
        assert second.stats.recovered_torn_lines == 0
        second.put({"id": 3})
        (key,) = second.flush()
    assert KEY_RE.match(key)  # named after the first record's arrival, before the crash
    assert objects(store)[key] == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_recovery_drops_only_a_torn_last_line(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    folder = spool / "clicks"
    folder.mkdir(parents=True)
    current = folder / "current.ndjson"
    header = BatchHeader("b1", T0).encode()
    current.write_bytes(header + b'{"id":1}\n{"id":2}\n{"id":3,"na')  # cut mid-append
    with open_stream(config, store, spool, clock) as stream:
        assert stream.stats.recovered_torn_lines == 1 and stream.buffered_records == 2
    assert list(objects(store).values()) == [[{"id": 1}, {"id": 2}]]
    # A complete record whose newline was not written yet is kept.
    current.write_bytes(BatchHeader("b2", T0).encode() + b'{"id":4}\n{"id":5}')
    with open_stream(config, store, spool, clock) as stream:
        assert stream.stats.recovered_torn_lines == 0 and stream.buffered_records == 2
    assert [{"id": 4}, {"id": 5}] in objects(store).values()
    # A torn first write (header and first record) leaves nothing to deliver.
    current.write_bytes(BatchHeader("b3", T0).encode()[:20])
    with open_stream(config, store, spool, clock) as stream:
        assert stream.stats.recovered_torn_lines == 1 and stream.buffered_records == 0
    assert len(objects(store)) == 2 and not current.exists()


def test_a_foreign_file_in_the_spool_is_reported(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    (spool / "clicks").mkdir(parents=True)
    (spool / "clicks" / "current.ndjson").write_text('{"id": 1}\n{"id": 2}\n')
    with pytest.raises(LakeError, match="not a spool file"):
        open_stream(config, store, spool, clock)
    (spool / "clicks" / "current.ndjson").unlink()
    with open_stream(config, store, spool, clock):  # the failed open released the lock
        pass


def test_redelivering_a_sealed_batch_writes_nothing_new(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    first = open_stream(config, store, spool, clock)
    first.put_many([{"id": 1}, {"id": 2}])
    abandon(first)
    sealed_copy = (spool / "clicks" / "current.ndjson").read_bytes()
    with open_stream(config, store, spool, clock) as stream:
        (key,) = stream.flush()
    # A crash between the upload and the removal of the sealed file leaves it behind.
    (spool / "clicks" / "sealed-00000007.ndjson").write_bytes(sealed_copy)
    delivered: list[Delivery] = []
    with open_stream(config, store, spool, clock, on_delivery=delivered.append) as again:
        assert again.stats.recovered_batches == 1
        assert again.stats.already_delivered == 1 and again.stats.batches_delivered == 0
    assert delivered == [Delivery(key, 2, delivered[0].size, "already_delivered")]
    assert [v.key for v in iter_versions(store, BUCKET, PREFIX)] == [key]  # one version
    assert hashlib.sha256(sealed_copy).hexdigest().startswith(key[-len(".ndjson.gz") - 16 : -10])


def test_identical_records_at_the_same_instant_are_distinct_batches(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    with open_stream(config, store, spool, clock) as stream:
        stream.put({"heartbeat": True})
        first = stream.flush()
        stream.put({"heartbeat": True})
        second = stream.flush()
    assert first != second and len(objects(store)) == 2


def test_a_refused_batch_goes_to_the_error_prefix(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    store.refusals["raw/"] = AccessDenied("not allowed to write raw/")
    with open_stream(config, store, spool, clock) as stream:
        stream.put_many([{"id": 1}, {"id": 2}])
        (key,) = stream.flush()
        assert stream.stats.batches_to_error == 1 and stream.stats.batches_delivered == 0
        assert stream.stats.last_error == "AccessDenied: not allowed to write raw/"
    assert re.match(
        r"^error/clicks/stream-failed/year=2024/month=06/day=01/hour=12/"
        r"clicks-20240601T123005Z-[0-9a-f]{16}\.ndjson\.gz$",
        key,
    )
    assert objects(store, "error/") == {key: [{"id": 1}, {"id": 2}]}
    metadata = store.head(BUCKET, key).metadata
    assert metadata["lakeward-error"] == "AccessDenied: not allowed to write raw/"
    assert metadata["lakeward-records"] == "2"
    assert store.get_tags(BUCKET, key)["Dataset"] == "clicks"


def test_a_batch_nobody_accepts_stays_in_the_spool(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    store.refusals[""] = NoSuchBucket("the bucket is gone")
    stream = open_stream(config, store, spool, clock)
    stream.put({"id": 1})
    with pytest.raises(NoSuchBucket) as caught:
        stream.flush()
    notes = "\n".join(caught.value.__notes__)
    assert "failed too" in notes and "sealed-00000001.ndjson" in notes
    assert stream.pending_batches == 1
    with pytest.raises(NoSuchBucket):
        stream.close()  # closes anyway; the batch waits for the next stream
    store.refusals.clear()
    with open_stream(config, store, spool, clock) as again:
        assert again.pending_batches == 0 and again.stats.batches_delivered == 1
    assert list(objects(store).values()) == [[{"id": 1}]]


def test_transient_failures_keep_batches_and_a_later_flush_delivers_them_in_order(
    config: LakeConfig, store: RefusingStore, spool: Path, clock: Clock
) -> None:
    store.refusals[""] = BackendUnavailable("throttled")
    with open_stream(config, store, spool, clock, max_bytes=30) as stream:
        for i in range(6):
            stream.put({"id": i, "pad": "xxxxxxxx"})  # 29 bytes: one batch per record
        assert stream.stats.delivery_failures >= 1  # puts do not raise: records are safe
        assert stream.pending_batches == 5 and objects(store) == {}
        with pytest.raises(BackendUnavailable):
            stream.tick()
        store.refusals.clear()
        keys = stream.flush()
    assert len(keys) == 6
    found = objects(store)
    assert [found[key][0]["id"] for key in keys] == list(range(6))


def test_default_spool_dir(tmp_path: Path) -> None:
    local = config_from_dict({**DATA, "backend": {"root": str(tmp_path / "lake")}})
    assert default_spool_dir(local) == tmp_path / "lake" / "spool"
    aws = config_from_dict({**DATA, "backend": {"type": "aws", "region": "eu-west-1"}})
    assert default_spool_dir(aws) == Path.home() / ".cache/lakeward/spool/acme-dev"


# -- CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def cli_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import yaml

    (tmp_path / "lakeward.yaml").write_text(yaml.safe_dump(DATA))
    monkeypatch.chdir(tmp_path)
    with LocalObjectStore(tmp_path / ".lake") as created:
        created.create_bucket(BUCKET)
    return tmp_path


def put_records(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    app = typer.Typer()
    stream_cli.register(app)
    app.command("noop")(lambda: None)  # two commands, so put-records is a subcommand
    result = CliRunner().invoke(app, ["put-records", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_cli_puts_records_and_reports_bad_lines(cli_lake: Path) -> None:
    lines = [json.dumps({"id": i}) for i in range(5)]
    lines[2] = '{"id": 2,'  # not JSON
    lines.insert(4, "[1, 2]")  # not an object
    lines.insert(1, "")  # blank lines are skipped silently
    (cli_lake / "records.ndjson").write_text("\n".join(lines) + "\n")
    code, out, err = put_records("clicks", "records.ndjson", "--max-bytes", "20")
    assert code == 1
    assert "line 4: not JSON" in err and "line 6: a record must be a JSON object" in err
    assert "clicks: put 4 records into 2 objects; 2 bad lines skipped" in out
    assert out.count(f"s3://{BUCKET}/raw/web/app/year=") == 2
    with LocalObjectStore(cli_lake / ".lake") as store:
        ids = sorted(r["id"] for batch in objects(store).values() for r in batch)
    assert ids == [0, 1, 3, 4]


def test_cli_reads_stdin_and_prints_json(cli_lake: Path) -> None:
    code, out, err = put_records("clicks", "-", "--json", input=b'{"a": 1}\n{"a": 2}\n')
    assert code == 0, err
    report = json.loads(out)
    assert report["records"] == 2 and report["bad_lines"] == [] and report["bucket"] == BUCKET
    (only,) = report["objects"]
    assert only["records"] == 2 and only["status"] == "delivered"
    assert only["key"].startswith("raw/web/app/year=")
    code, _, err = put_records("clicks", "missing.ndjson")
    assert code == 2 and "cannot read 'missing.ndjson'" in err
    code, out, err = put_records("clicks", "/dev/null")  # delivers what a failure left
    assert code == 0 and "put 0 records into 0 objects" in out, err
