"""The Parquet side of :mod:`lakeward.events.convert`: one file per year/month partition.

:class:`PartitionWriters` buffers the converted record batches of each partition and
writes them as row groups of one ``part-00000.parquet`` per partition, choosing per file
which columns to dictionary-encode. Both conversion engines write through it, so their
files have the same layout. pyarrow is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeward.events._convert_records import PartitionKey

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["PARQUET_CODEC", "PART_NAME", "PartitionOutput", "PartitionWriters"]

PART_NAME = "part-00000.parquet"
PARQUET_CODEC = "snappy"
_BUFFERED_BATCHES = 2


@dataclass(frozen=True)
class PartitionOutput:
    """One Parquet file written by :func:`~lakeward.events.convert.convert_to_parquet`.

    Attributes:
        partition: ``{"year": "2024", "month": "03"}`` (zero-padded), ``{}`` when the
            output is not partitioned.
        path: The file, ``out_dir/year=YYYY/month=MM/part-00000.parquet``.
        rows: Rows written to it.
    """

    partition: dict[str, str]
    path: Path
    rows: int


class PartitionWriters:
    """One open ``ParquetWriter`` per partition, fed from small per-partition buffers.

    A partition's buffer is written as a row group once it holds ``flush_rows`` rows;
    when all buffers together hold more than a few batches, every buffer is written.
    """

    def __init__(self, out_dir: Path, flush_rows: int) -> None:
        self._out_dir = out_dir
        self._flush_rows = flush_rows
        self._buffers: dict[PartitionKey, list[pa.RecordBatch]] = {}
        self._buffered: dict[PartitionKey, int] = {}
        self._writers: dict[PartitionKey, Any] = {}
        self._rows: dict[PartitionKey, int] = {}

    def add(self, key: PartitionKey, batch: pa.RecordBatch) -> None:
        self._buffers.setdefault(key, []).append(batch)
        self._buffered[key] = self._buffered.get(key, 0) + batch.num_rows
        if self._buffered[key] >= self._flush_rows:
            self._flush(key)
        elif sum(self._buffered.values()) > _BUFFERED_BATCHES * self._flush_rows:
            for pending in sorted(self._buffers):
                self._flush(pending)

    def close(self) -> list[PartitionOutput]:
        for key in sorted(self._buffers):
            self._flush(key)
        outputs = []
        for key in sorted(self._writers):
            self._writers.pop(key).close()
            outputs.append(PartitionOutput(_partition(key), self._path(key), self._rows[key]))
        return outputs

    def abort(self) -> None:
        """Close whatever is still open (after an error; a no-op after close)."""
        while self._writers:
            self._writers.popitem()[1].close()

    def _flush(self, key: PartitionKey) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_batches(self._buffers.pop(key))
        self._buffered.pop(key)
        writer = self._writers.get(key)
        if writer is None:
            path = self._path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(
                str(path),
                table.schema,
                compression=PARQUET_CODEC,
                use_dictionary=_dictionary_columns(table),
            )
            self._writers[key] = writer
        writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self._rows[key] = self._rows.get(key, 0) + table.num_rows

    def _path(self, key: PartitionKey) -> Path:
        parts = [f"{name}={value}" for name, value in _partition(key).items()]
        return self._out_dir.joinpath(*parts, PART_NAME)


def _dictionary_columns(table: pa.Table) -> list[str]:
    """The columns worth dictionary-encoding: at most one distinct value in two rows.

    Judged on a partition's first row group. Dictionary-encoding a column of mostly
    distinct values (ids, measurements) costs time and then falls back to plain pages;
    repeated values (codes, names, dates) shrink. The leaves of nested columns keep the
    dictionary, as pyarrow's default does.
    """
    import pyarrow.compute as pc

    rows = max(table.num_rows, 1)
    chosen = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if _is_nested(field.type):
            chosen += _leaf_paths(field.name, field.type)
        elif pc.count_distinct(column).as_py() * 2 <= rows:
            chosen.append(field.name)
    return chosen


def _is_nested(data_type: pa.DataType) -> bool:
    """Whether ``data_type`` is a list, map or struct."""
    import pyarrow as pa

    return bool(pa.types.is_nested(data_type))


def _leaf_paths(path: str, data_type: pa.DataType) -> list[str]:
    """The Parquet column paths under a column (``tags.list.element``, ``m.key_value.key``)."""
    import pyarrow as pa

    if pa.types.is_map(data_type):
        return [
            *_leaf_paths(f"{path}.key_value.key", data_type.key_type),
            *_leaf_paths(f"{path}.key_value.value", data_type.item_type),
        ]
    if pa.types.is_struct(data_type):
        children = (data_type.field(i) for i in range(data_type.num_fields))
        return [leaf for c in children for leaf in _leaf_paths(f"{path}.{c.name}", c.type)]
    if _is_nested(data_type):  # list, large list, fixed-size list
        return _leaf_paths(f"{path}.list.element", data_type.value_type)
    return [path]


def _partition(key: PartitionKey) -> dict[str, str]:
    if not key:
        return {}
    year, month = key
    return {"year": f"{year:04d}", "month": f"{month:02d}"}
