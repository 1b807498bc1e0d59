"""The CSV reader of :mod:`lakeward.events.convert`: numbered records, malformed rows kept.

pyarrow's streaming CSV reader parses the rows; the rows it skips as malformed are
interleaved back as bad records at their row numbers. pyarrow is imported inside the
functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from lakeward.events._convert_records import Record

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["csv_records"]

OpenStream = Callable[[], "pa.NativeFile"]

MIB = 1024 * 1024
_CSV_BLOCK = 4 * MIB
_CSV_NULLS = ["", "NA", "NULL", "null"]


def csv_records(
    open_stream: OpenStream, slice_rows: int, short: Callable[[BaseException], str]
) -> Iterator[Record]:
    """Number the data rows, interleaving the rows pyarrow skipped as malformed."""
    import pyarrow as pa

    try:
        with open_stream() as stream:
            names = list(_open_csv(stream, lambda row: "skip").schema.names)
    except (pa.ArrowException, OSError) as exc:
        yield Record(1, None, "", f"cannot read the CSV header: {short(exc)}")
        return
    repeated = next((name for i, name in enumerate(names) if name in names[:i]), None)
    if repeated is not None:
        yield Record(1, None, names, f"the CSV header repeats column {repeated!r}: no row read")
        return
    invalid: dict[int, Record] = {}
    number, failure = 1, None
    try:
        for values in _csv_rows(open_stream, names, invalid, slice_rows):
            while number in invalid:
                yield invalid.pop(number)
                number += 1
            yield _csv_record(number, names, values)
            number += 1
    except (pa.ArrowException, OSError) as exc:
        failure = f"cannot read the rest of the CSV: {short(exc)}"
    for key in sorted(invalid):
        number = max(number, key + 1)
        yield invalid[key]
    if failure is not None:
        yield Record(number, None, "", failure)


def _open_csv(stream: pa.NativeFile, on_invalid: Callable[[Any], str], names: Any = ()) -> Any:
    """A streaming CSV reader; the columns in ``names`` are read as raw bytes."""
    import pyarrow as pa
    from pyarrow import csv

    return csv.open_csv(
        stream,
        read_options=csv.ReadOptions(block_size=_CSV_BLOCK, use_threads=False),
        parse_options=csv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
        convert_options=csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.binary()),
            null_values=_CSV_NULLS,
            strings_can_be_null=True,
        ),
    )


def _csv_rows(
    open_stream: OpenStream, names: list[str], invalid: dict[int, Record], slice_rows: int
) -> Iterator[tuple[bytes | None, ...]]:
    """Yield each well-formed data row's raw values; record malformed rows in ``invalid``."""

    def on_invalid(row: Any) -> str:
        key = row.number - 1 if row.number > 0 else -1 - len(invalid)  # header is row 1
        reason = f"expected {row.expected_columns} fields, found {row.actual_columns}"
        invalid[key] = Record(max(key, 0), None, row.text, reason)
        return "skip"

    with open_stream() as stream:
        for batch in _open_csv(stream, on_invalid, names):
            for start in range(0, batch.num_rows, slice_rows):
                part = batch.slice(start, slice_rows)
                yield from zip(*(column.to_pylist() for column in part.columns), strict=True)


def _csv_record(number: int, names: list[str], values: tuple[bytes | None, ...]) -> Record:
    try:
        text = [None if value is None else value.decode("utf-8") for value in values]
    except UnicodeDecodeError:
        shown = [None if v is None else v.decode("utf-8", errors="replace") for v in values]
        bad = (n for n, v in zip(names, shown, strict=True) if v and "\ufffd" in v)
        return Record(number, None, shown, f"field {next(bad, names[0])!r}: not UTF-8 text")
    return Record(number, dict(zip(names, text, strict=True)), text)
