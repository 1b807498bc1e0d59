"""Which local files an ingest takes, and the key each one gets (DESIGN.md §5).

``raw/<domain>/<source>/ingest_date=YYYY-MM-DD/<path>`` by default; a dataset's
``prefix`` and ``partition_by`` change it (``raw/year=2023/<file>``). Partition values
come from ``--partition name=value``, from the file's folder with
``--partition-from-path '{year}/'``, or (``ingest_date``) from the run's date.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from lakeward.config_models import DatasetConfig
from lakeward.errors import InvalidRequest, LakeError
from lakeward.layout import hive_segment, validate_key, view_parts

__all__ = ["PartitionTemplate", "SourceFile", "discover", "key_for"]

_GLOB_CHARS = re.compile(r"[*?\[]")
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class SourceFile:
    """A local file to ingest and the folder its relative path is taken from."""

    path: Path
    root: Path

    @property
    def relative(self) -> str:
        """The path below ``root``, with ``/`` separators."""
        return self.path.relative_to(self.root).as_posix()


def discover(inputs: Sequence[str | Path]) -> list[SourceFile]:
    """Expand files, folders (recursively) and globs into the files to ingest.

    Hidden files (names starting with ``.``) are left out. Each file appears once.

    Raises:
        InvalidRequest: An input matches nothing, or nothing at all was found.
    """
    found: dict[Path, SourceFile] = {}
    for item in inputs:
        for source in _expand(str(item)):
            found.setdefault(source.path.resolve(), source)
    if not found:
        raise InvalidRequest(f"no files to ingest under {', '.join(map(str, inputs))}")
    return sorted(found.values(), key=lambda s: (str(s.root), s.relative))


def _expand(item: str) -> Iterator[SourceFile]:
    path = Path(item).expanduser()
    if path.is_dir():
        yield from _walk(path, path)
    elif path.is_file():
        yield SourceFile(path, path.parent)
    elif _GLOB_CHARS.search(item):
        root = _glob_root(path)
        matches = sorted(glob.glob(str(path), recursive=True))  # noqa: PTH207 - shell-style, absolute or relative
        if not matches:
            raise InvalidRequest(f"the pattern {item!r} matches no file")
        for match in map(Path, matches):
            if match.is_dir():
                yield from _walk(match, root)
            elif match.is_file() and not match.name.startswith("."):
                yield SourceFile(match, root)
    else:
        raise InvalidRequest(f"{item} does not exist: give a file, a folder or a glob pattern")


def _walk(folder: Path, root: Path) -> Iterator[SourceFile]:
    for path in sorted(folder.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if path.is_file() and not hidden:
            yield SourceFile(path, root)


def _glob_root(pattern: Path) -> Path:
    parts = []
    for part in pattern.parts:
        if _GLOB_CHARS.search(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path()


class PartitionTemplate:
    """A ``--partition-from-path`` template such as ``'{year}/'`` or ``'year={year}/'``.

    It is matched against the start of a file's relative path; each ``{name}`` takes one
    folder's value. ``'year={year}/'`` also matches a plain ``2023/`` folder, so the same
    template serves local folders named either way.

    >>> PartitionTemplate("year={year}/").match("2023/payments.csv")
    ({'year': '2023'}, 'payments.csv')
    """

    def __init__(self, template: str) -> None:
        text = template if template.endswith("/") else template + "/"
        self.template = text
        self.fields = _FIELD.findall(text)
        if not self.fields:
            raise InvalidRequest(
                f"--partition-from-path {template!r} names no partition: write e.g. '{{year}}/'"
            )
        plain = re.sub(r"([A-Za-z_][A-Za-z0-9_]*)=\{\1\}", r"{\1}", text)
        self._patterns = [_compile(text), _compile(plain)]

    def match(self, relative: str) -> tuple[dict[str, str], str] | None:
        """Return the partition values and the rest of the path, or None if it doesn't fit."""
        for pattern in self._patterns:
            found = pattern.match(relative)
            if found:
                return dict(found.groupdict()), relative[found.end() :]
        return None


def _compile(template: str) -> re.Pattern[str]:
    pieces = []
    position = 0
    for field in _FIELD.finditer(template):
        pieces.append(re.escape(template[position : field.start()]))
        pieces.append(f"(?P<{field.group(1)}>[^/]+)")
        position = field.end()
    pieces.append(re.escape(template[position:]))
    return re.compile("".join(pieces))


def roots_named_by_template(
    sources: Sequence[SourceFile], template: PartitionTemplate
) -> set[Path]:
    """Input folders that are partition folders themselves (``ingest data/2023 … '{year}/'``).

    A folder counts when none of its files fits the template below it: then the folder's
    own name is the first partition value. A parent of partition folders never counts, so
    a stray file beside ``2023/`` is refused instead of landing in ``year=<parent>``.
    """
    roots: dict[Path, bool] = {}
    for source in sources:
        fits = template.match(source.relative) is not None
        roots[source.root] = roots.get(source.root, False) or fits
    return {root for root, any_fits in roots.items() if not any_fits}


def key_for(
    dataset: DatasetConfig,
    source: SourceFile,
    *,
    partitions: Mapping[str, str],
    template: PartitionTemplate | None,
    ingest_date: date,
    named_roots: set[Path] | None = None,
) -> tuple[str, dict[str, str]]:
    """Return the key a file lands at and its partition values.

    Raises:
        InvalidRequest: A partition has no value or a malformed time value (``year=data``),
            the path does not fit the template, or the key could not be a path for readers
            (empty, ``.`` or ``..`` segments).
    """
    values = {"ingest_date": ingest_date.isoformat(), **partitions}
    relative = source.relative
    if template is not None:
        matched = template.match(relative)
        if matched is None and source.root in (named_roots or set()):
            matched = template.match(f"{source.root.name}/{relative}")
        if matched is None:
            raise InvalidRequest(
                f"{relative} does not fit --partition-from-path {template.template!r}"
            )
        found, relative = matched
        values.update(found)
    segments = [_segment(name, values) for name in dataset.partition_by]
    key = "/".join([dataset.key_prefix, *segments, relative])
    _check_key(key)
    return key, {name: values[name] for name in dataset.partition_by}


_TIME_VALUES = {
    "year": (re.compile(r"^\d{4}$"), "four digits, e.g. 2023"),
    "month": (re.compile(r"^(0[1-9]|1[0-2])$"), "01 to 12"),
    "day": (re.compile(r"^(0[1-9]|[12]\d|3[01])$"), "01 to 31"),
    "hour": (re.compile(r"^([01]\d|2[0-3])$"), "00 to 23"),
    "ingest_date": (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "YYYY-MM-DD"),
}


def _segment(name: str, values: Mapping[str, str]) -> str:
    if name not in values:
        raise InvalidRequest(
            f"partition {name!r} has no value: give --partition {name}=VALUE or "
            f"--partition-from-path '{{{name}}}/'"
        )
    rule = _TIME_VALUES.get(name)
    if rule and not rule[0].match(values[name]):
        raise InvalidRequest(f"partition {name}={values[name]!r} is not a {name}: use {rule[1]}")
    return hive_segment(name, values[name])


def _check_key(key: str) -> None:
    try:
        validate_key(key)
    except LakeError as exc:
        raise InvalidRequest(f"cannot ingest to {key!r}: {exc}") from exc
    if view_parts(key) is None:
        raise InvalidRequest(
            f"cannot ingest to {key!r}: empty, '.' or '..' path segments would hide it from "
            "query engines; rename the file"
        )


def check_partitions(
    dataset_name: str, dataset: DatasetConfig, partitions: Mapping[str, str]
) -> None:
    """Refuse ``--partition`` names the dataset does not declare.

    Raises:
        InvalidRequest: With the declared partitions.
    """
    unknown = sorted(set(partitions) - set(dataset.partition_by))
    if unknown:
        declared = ", ".join(dataset.partition_by) or "none"
        raise InvalidRequest(
            f"dataset {dataset_name!r} has no partition {', '.join(map(repr, unknown))} "
            f"(datasets.{dataset_name}.partition_by: {declared})"
        )
