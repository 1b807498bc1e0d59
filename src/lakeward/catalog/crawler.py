"""The crawler: files under a prefix → catalog tables and partitions, with the reasons why.

Like an AWS Glue crawler, but every decision is explained (:attr:`TableReport.explanations`):

1. **Walk** every object under the prefix with the store's listing (one pass, either
   backend), leaving out exclusions (``fnmatch`` globs on the key, or on the key below the
   prefix), hidden names (a segment starting with ``.`` or ``_``: ``_SUCCESS``, ``.crc``)
   and lakeward's own ``metadata/`` and ``error/`` prefixes (unless the prefix is in them).
2. **Group**: a file's table root is the folder above its first Hive ``key=value`` folder,
   or the prefix itself; the folders between the root and the file are partition levels
   (``key=value`` → key ``key``; an unnamed level ``n`` → ``partition_n``). Files under
   one root with another format or compression form another table; files at another
   depth than most of the root's are left out.
3. **Sample** up to ``sample_per_folder`` files of each format in each folder (their
   content can correct the name's format) and merge their schemas
   (:func:`~lakeward.catalog._crawl_schema.merge_schemas`); folders whose schemas do not
   merge form separate tables.
4. **Write** each table: create it (``<root's last folder>``, sanitized), or compare with
   the catalog's and apply the ``SchemaChangePolicy``: ``update_behavior``
   ``UPDATE_IN_DATABASE`` (a new table version) or ``LOG``; new partitions are added;
   partitions whose folders are gone follow ``delete_behavior``:
   ``DELETE_FROM_DATABASE`` deletes them, ``DEPRECATE_IN_DATABASE`` and ``LOG`` report
   them, and a crawler table with no files left is deleted, marked ``deprecated=true`` or
   reported. ``new_folders_only`` samples only folders that are not registered partitions
   yet, never removes columns and only reports deletions (as Glue's incremental crawls).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from lakeward.catalog._crawl_schema import (
    RESERVED_PREFIXES,
    File,
    Sample,
    apply_content,
    final_type,
    kind,
    merge_schemas,
    partition_keys,
    pick_samples,
    sample_all,
    sanitize,
    walk,
)
from lakeward.catalog.base import Catalog, Column, Partition, Table
from lakeward.catalog.loader import SERDES
from lakeward.errors import InvalidRequest, NoSuchDatabase
from lakeward.layout import parse_s3_uri
from lakeward.storage.base import ObjectStore

if TYPE_CHECKING:
    from lakeward.config_models import LakeConfig
    from lakeward.lake import Lake

__all__ = [
    "CrawlReport",
    "CrawlTarget",
    "SchemaChanges",
    "TableReport",
    "crawl",
]

UpdateBehavior = Literal["UPDATE_IN_DATABASE", "LOG"]
DeleteBehavior = Literal["DELETE_FROM_DATABASE", "DEPRECATE_IN_DATABASE", "LOG"]
UPDATE_BEHAVIORS = ("UPDATE_IN_DATABASE", "LOG")
DELETE_BEHAVIORS = ("DELETE_FROM_DATABASE", "DEPRECATE_IN_DATABASE", "LOG")
CRAWLER_PARAMETER = "lakeward:crawler"
_REMOTE_SAMPLE_THREADS = 8
_LISTED = 5


class CrawlTarget(NamedTuple):
    """What a crawl works on when there is no :class:`~lakeward.lake.Lake` at hand."""

    catalog: Catalog
    store: ObjectStore
    config: LakeConfig


@dataclass
class SchemaChanges:
    """Columns a crawl found added, removed or retyped against the catalog's table."""

    added: list[Column] = field(default_factory=list)
    removed: list[Column] = field(default_factory=list)
    retyped: list[tuple[str, str, str]] = field(default_factory=list)
    """``(column, old type, new type)``."""

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.retyped)

    def lines(self) -> list[str]:
        """``+ name type``, ``- name type``, ``~ name old → new``, as ``catalog history --diff``."""
        return (
            [f"+ {c.name} {c.type}" for c in self.added]
            + [f"- {c.name} {c.type}" for c in self.removed]
            + [f"~ {name} {old} → {new}" for name, old, new in self.retyped]
        )


@dataclass
class TableReport:
    """What a crawl found and did for one table.

    ``action`` is ``created``, ``updated`` (definition or partitions changed),
    ``logged`` (changes found, only reported: ``LOG``), ``unchanged``, or for a crawler
    table with no files left ``deleted`` / ``deprecated``.
    """

    database: str
    name: str
    root: str
    format: str
    compression: str | None
    files: int
    partition_keys: list[str]
    partitions_added: list[tuple[str, ...]] = field(default_factory=list)
    partitions_removed: list[tuple[str, ...]] = field(default_factory=list)
    """Partitions whose folders are gone (deleted from the catalog only under
    ``DELETE_FROM_DATABASE``)."""
    schema_changes: SchemaChanges = field(default_factory=SchemaChanges)
    action: str = "unchanged"
    explanations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "database": self.database,
            "name": self.name,
            "root": self.root,
            "format": self.format,
            "compression": self.compression,
            "files": self.files,
            "partition_keys": self.partition_keys,
            "partitions_added": [list(v) for v in self.partitions_added],
            "partitions_removed": [list(v) for v in self.partitions_removed],
            "schema_changes": {
                "added": [vars(c) for c in self.schema_changes.added],
                "removed": [vars(c) for c in self.schema_changes.removed],
                "retyped": [
                    {"name": n, "from": o, "to": t} for n, o, t in self.schema_changes.retyped
                ],
            },
            "action": self.action,
            "explanations": self.explanations,
        }


@dataclass
class CrawlReport:
    """What a crawl did: a report per table, what it skipped, and how long it took."""

    location: str
    database: str
    tables: list[TableReport]
    objects: int
    """Objects listed under the prefix."""
    skipped: dict[str, int]
    """Objects left out, by reason (``excluded``, ``hidden``, ``reserved``, ``unrecognised``…)."""
    samples: int
    """Files whose content was read."""
    seconds: float
    explanations: list[str] = field(default_factory=list)

    def table(self, name: str) -> TableReport:
        """The report of one table.

        Raises:
            KeyError: No table of that name was crawled.
        """
        for report in self.tables:
            if report.name == name:
                return report
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "location": self.location,
            "database": self.database,
            "objects": self.objects,
            "skipped": self.skipped,
            "samples": self.samples,
            "seconds": round(self.seconds, 3),
            "tables": [report.to_dict() for report in self.tables],
            "explanations": self.explanations,
        }


# -- grouping into tables ------------------------------------------------------------------------


@dataclass
class _Candidate:
    root: str
    format: str
    compression: str | None
    files: list[File]
    columns: tuple[Column, ...] | None
    keys: tuple[str, ...]
    explanations: list[str]
    sampled: int = 0
    name: str = ""

    def partition_values(self, item: File) -> tuple[str, ...]:
        return tuple(
            level.partition("=")[2] if key == level.partition("=")[0] else level
            for key, level in zip(self.keys, item.levels, strict=True)
        )


def _group(
    files: list[File], samples: dict[str, Sample], roots: frozenset[str] = frozenset()
) -> list[_Candidate]:
    """Tables of the files; a root that does not hold one table is looked at a level down.

    A root without ``key=value`` folders goes down a level when its files split into
    several tables, or when another table's root is below it (``raw/`` holding the
    Hive table ``raw/sales/`` is no table itself: ``raw/events/…`` is one).
    """
    by_root: dict[str, list[File]] = {}
    for item in files:
        if item.format is not None:
            by_root.setdefault(item.root, []).append(item)
    roots = roots | by_root.keys()
    candidates: list[_Candidate] = []
    for root, members in sorted(by_root.items()):
        found = _root_candidates(root, members, samples)
        below = sorted(other for other in roots if other != root and other.startswith(root))
        if (len(found) > 1 or below) and all(item.levels and not item.hive for item in members):
            why = _why_split(found) if len(found) > 1 else f"the table {below[0]} is below it"
            for item in members:
                item.root, item.levels = f"{item.root}{item.levels[0]}/", item.levels[1:]
            for candidate in _group(members, samples, roots):
                candidate.explanations.insert(
                    0, f"table root one level below {root or '(bucket root)'}: its files do "
                    f"not form one table ({why})"
                )  # fmt: skip
                candidates.append(candidate)
        else:
            candidates += found
    return candidates


def _why_split(found: list[_Candidate]) -> str:
    kinds = sorted({kind(c.format, c.compression) for c in found})
    reasons = [f"{len(kinds)} formats: {', '.join(kinds)}"] if len(kinds) > 1 else []
    if len(found) > len(kinds):
        reasons.append("schemas that do not merge")
    return "; ".join(reasons)


def _root_candidates(
    root: str, members: list[File], samples: dict[str, Sample]
) -> list[_Candidate]:
    groups: dict[tuple[str, str | None], list[File]] = {}
    for item in members:
        assert item.format is not None
        groups.setdefault((item.format, item.compression), []).append(item)
    candidates = []
    for (fmt, compression), group in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1] or "")):
        notes = []
        if len(groups) > 1:
            others = sorted(kind(f, c) for f, c in groups if (f, c) != (fmt, compression))
            notes.append(
                f"split by format: {root or '(bucket root)'} also holds {', '.join(others)} "
                f"files, which become another table"
            )
        group, depth_note = _one_depth(group)
        notes += depth_note
        for cluster in _clusters(group, samples, text=fmt == "csv"):
            keys, key_notes = partition_keys(cluster.files)
            sampled = sum(1 for f in cluster.files if f.key in samples)
            candidates.append(
                _Candidate(root, fmt, compression, cluster.files, cluster.columns, keys,
                           [*notes, *cluster.why, *key_notes], sampled)
            )  # fmt: skip
    return candidates


def _one_depth(members: list[File]) -> tuple[list[File], list[str]]:
    depths = Counter(len(item.levels) for item in members)
    if len(depths) == 1:
        return members, []
    depth = max(depths, key=lambda d: (depths[d], d))
    kept = [item for item in members if len(item.levels) == depth]
    left = [item.key for item in members if len(item.levels) != depth]
    shown = ", ".join(left[:_LISTED]) + (", …" if len(left) > _LISTED else "")
    return kept, [
        f"{len(left)} files left out: they are not {depth} folder levels below the root "
        f"like the other {len(kept)} ({shown})"
    ]


@dataclass
class _Cluster:
    files: list[File]
    columns: tuple[Column, ...] | None
    why: list[str]


def _clusters(members: list[File], samples: dict[str, Sample], *, text: bool) -> list[_Cluster]:
    """Split a group into folders whose sampled schemas merge (first fit, listing order)."""
    folders: dict[str, list[File]] = {}
    for item in members:
        folders.setdefault(item.folder, []).append(item)
    clusters: list[_Cluster] = []
    unread: list[str] = []
    for folder, items in folders.items():
        schema, problems = _folder_schema(items, samples, text=text)
        unread += problems
        if not _join(clusters, items, schema, text=text):
            why = []
            if clusters:
                reasons = [merge_schemas(c.columns, schema or (), text=text)[1]
                           for c in clusters if c.columns]  # fmt: skip
                why.append(
                    f"split by schema: the files under {folder} do not merge with the other "
                    f"table{'s' if len(clusters) > 1 else ''} of this root ({'; '.join(reasons)})"
                )
            clusters.append(_Cluster(list(items), schema, why))
    if unread and clusters:
        shown = "; ".join(unread[:_LISTED]) + ("; …" if len(unread) > _LISTED else "")
        clusters[0].why.append(f"{len(unread)} sampled files not read: {shown}")
    return clusters


def _join(
    clusters: list[_Cluster], items: list[File], schema: tuple[Column, ...] | None, *, text: bool
) -> bool:
    for cluster in clusters:
        if schema is None or cluster.columns is None:
            merged: tuple[Column, ...] | None = cluster.columns or schema
        else:
            merged, _ = merge_schemas(cluster.columns, schema, text=text)
            if merged is None:
                continue
        cluster.files.extend(items)
        cluster.columns = merged
        return True
    return False


def _folder_schema(
    items: list[File], samples: dict[str, Sample], *, text: bool
) -> tuple[tuple[Column, ...] | None, list[str]]:
    schema: tuple[Column, ...] | None = None
    problems = []
    for item in items:
        sample = samples.get(item.key)
        if sample is None:
            continue
        if sample.columns is None:
            problems.append(f"{item.key}: {sample.error}")
            continue
        if schema is None:
            schema = sample.columns
            continue
        merged, why = merge_schemas(schema, sample.columns, text=text)
        if merged is None:
            problems.append(f"{item.key}: unlike the other files of its folder ({why})")
        else:
            schema = merged
    return schema, problems


# -- naming -----------------------------------------------------------------------------------------


def _base_name(candidate: _Candidate, bucket: str, prefix: str, dataset: str | None) -> str:
    if dataset and candidate.root == prefix:
        return sanitize(dataset)
    segments = candidate.root.rstrip("/").split("/")
    return sanitize(segments[-1] if candidate.root else bucket)


# -- the crawl ------------------------------------------------------------------------------------


def crawl(
    target: Lake | CrawlTarget,
    *,
    prefix: str | None = None,
    dataset: str | None = None,
    bucket: str | None = None,
    database: str | None = None,
    exclude: Sequence[str] = (),
    sample_per_folder: int = 3,
    update_behavior: UpdateBehavior = "UPDATE_IN_DATABASE",
    delete_behavior: DeleteBehavior = "DEPRECATE_IN_DATABASE",
    new_folders_only: bool = False,
    explain: bool = False,
) -> CrawlReport:
    """Crawl a prefix (or a dataset's prefix) into catalog tables and partitions.

    Args:
        target: A :class:`~lakeward.lake.Lake`, or a :class:`CrawlTarget`.
        prefix: ``s3://bucket/prefix/`` (a logical bucket name is resolved), or a key
            prefix of ``bucket``.
        dataset: Crawl this declared dataset's prefix in its bucket instead; a table found
            right at that prefix is named after the dataset.
        bucket: The bucket of a bare key ``prefix``.
        database: The catalog database (default: the lake's ``catalog.database``).
        exclude: Glob patterns (``fnmatch``) on keys, or on keys below the prefix.
        sample_per_folder: Files of each format read per folder to infer schemas (≥ 1).
        update_behavior: ``UPDATE_IN_DATABASE`` (new table version) or ``LOG``.
        delete_behavior: ``DELETE_FROM_DATABASE``, ``DEPRECATE_IN_DATABASE`` or ``LOG``.
        new_folders_only: Only sample folders that are not registered partitions yet;
            columns are only added and deletions only reported.
        explain: Add the detail (content that overrode a name, sampled files) to the
            explanations.

    Returns:
        The report: per table what was found and done, and why.

    Raises:
        InvalidRequest: No prefix or dataset (or both), a bad behaviour or sample size.
        ConfigError: Unknown dataset or bucket.
    """
    started = time.perf_counter()
    catalog, store, config = _unpack(target)
    _check_options(sample_per_folder, update_behavior, delete_behavior)
    bucket, prefix = _location(config, prefix, dataset, bucket)
    database = (database or config.catalog_database).lower()
    taken = _table_names(catalog, database)
    existing = _existing_tables(catalog, database, sorted(taken), bucket, prefix)
    known_folders = _known_folders(catalog, existing) if new_folders_only else set()
    reserved = prefix.startswith(RESERVED_PREFIXES)
    listing = walk(store, bucket, prefix, exclude, reserved=reserved)
    picked = pick_samples(listing.files, sample_per_folder, known_folders)
    remote = not config.backend.store_uri().startswith("local://")
    samples = sample_all(store, bucket, picked, threads=_REMOTE_SAMPLE_THREADS if remote else 1)
    notes = apply_content(listing.files, samples)
    unrecognised = [f for f in listing.files if f.format is None]
    if unrecognised:
        listing.skipped["format not recognised"] += len(unrecognised)
    candidates = _group(listing.files, samples)
    _name_all(candidates, existing, bucket, prefix, dataset, taken)
    policy = _Policy(update_behavior, delete_behavior, new_folders_only, explain)
    reports = [
        _write(catalog, database, bucket, candidate, existing, policy) for candidate in candidates
    ]
    matched = {report.name for report in reports}
    reports += _gone_tables(catalog, existing, matched, policy)
    location = f"s3://{bucket}/{prefix}"
    explanations = [f"listed {listing.objects} objects under {location}"]
    explanations += [f"left out {count} {why}" for why, count in sorted(listing.skipped.items())]
    if explain:
        explanations += notes
    return CrawlReport(
        location=location,
        database=database,
        tables=reports,
        objects=listing.objects,
        skipped=dict(listing.skipped),
        samples=len(samples),
        seconds=time.perf_counter() - started,
        explanations=explanations,
    )


def _unpack(target: Lake | CrawlTarget) -> tuple[Catalog, ObjectStore, LakeConfig]:
    if isinstance(target, tuple):
        return target.catalog, target.store, target.config
    return target.catalog, target.store, target.config


def _check_options(per_folder: int, update: str, delete: str) -> None:
    if per_folder < 1:
        raise InvalidRequest(f"sample_per_folder must be 1 or more, got {per_folder}")
    if update not in UPDATE_BEHAVIORS:
        raise InvalidRequest(
            f"update behavior {update!r} is not one of {', '.join(UPDATE_BEHAVIORS)}"
        )
    if delete not in DELETE_BEHAVIORS:
        raise InvalidRequest(
            f"delete behavior {delete!r} is not one of {', '.join(DELETE_BEHAVIORS)}"
        )


def _location(
    config: LakeConfig, prefix: str | None, dataset: str | None, bucket: str | None
) -> tuple[str, str]:
    if (prefix is None) == (dataset is None):
        raise InvalidRequest(
            "crawl what? give a dataset (--dataset NAME) or a prefix "
            "(--prefix s3://bucket/prefix/), not both"
        )
    if dataset is not None:
        physical = config.physical_bucket(config.dataset_bucket(dataset))
        return physical, config.dataset(dataset).key_prefix + "/"
    assert prefix is not None
    if prefix.startswith("s3://"):
        parsed = parse_s3_uri(prefix)
        bucket, key = parsed.bucket, parsed.key
    elif bucket is None:
        raise InvalidRequest(
            f"prefix {prefix!r} names no bucket: write s3://bucket/{prefix.lstrip('/')} "
            "or give the bucket (--bucket)"
        )
    else:
        key = prefix
    key = key.lstrip("/")
    return config.resolve_bucket(bucket), key if not key or key.endswith("/") else key + "/"


def _table_names(catalog: Catalog, database: str) -> set[str]:
    """Every table name of the database: a new table must not take one, wherever it is."""
    try:
        return set(catalog.list_tables(database))
    except NoSuchDatabase:
        return set()


def _existing_tables(
    catalog: Catalog, database: str, names: list[str], bucket: str, prefix: str
) -> list[Table]:
    """The tables (of ``names``, the database's) located at or under the crawl location."""
    location = f"s3://{bucket}/{prefix}"
    tables = [catalog.get_table(database, name) for name in names]
    return [t for t in tables if _slash(t.location).startswith(location)]


def _slash(location: str) -> str:
    return location if location.endswith("/") else location + "/"


def _known_folders(catalog: Catalog, tables: list[Table]) -> set[str]:
    """Keys (``prefix/``) of every registered partition folder of the tables."""
    folders = set()
    for table in tables:
        for partition in catalog.get_partitions(table.database, table.name):
            folder = _slash(partition.location).removeprefix("s3://").partition("/")[2]
            folders.add(folder)
    return folders


def _name_all(
    candidates: list[_Candidate],
    existing: list[Table],
    bucket: str,
    prefix: str,
    dataset: str | None,
    taken: set[str],
) -> None:
    by_place = {(_slash(t.location), t.format, t.compression): t.name for t in existing}
    used: set[str] = set()
    for candidate in candidates:
        place = (f"s3://{bucket}/{candidate.root}", candidate.format, candidate.compression)
        if place in by_place and by_place[place] not in used:
            candidate.name = by_place[place]
            used.add(candidate.name)
    others = [c for c in candidates if not c.name]
    kinds: dict[str, set[tuple[str, str | None]]] = {}
    for candidate in candidates:
        kinds.setdefault(candidate.root, set()).add((candidate.format, candidate.compression))
    for candidate in others:
        base = _base_name(candidate, bucket, prefix, dataset)
        if len(kinds[candidate.root]) > 1:
            base = f"{base}_{candidate.format}"
        name, number = base, 1
        while name in taken or name in used:
            number += 1
            name = f"{base}_{number}"
        candidate.name = name
        used.add(name)


@dataclass(frozen=True)
class _Policy:
    update: str
    delete: str
    new_folders_only: bool
    explain: bool


def _write(
    catalog: Catalog,
    database: str,
    bucket: str,
    candidate: _Candidate,
    existing: list[Table],
    policy: _Policy,
) -> TableReport:
    table = _table_of(database, bucket, candidate)
    current = next((t for t in existing if t.name == candidate.name), None)
    report = TableReport(
        database=database,
        name=candidate.name,
        root=table.location,
        format=candidate.format,
        compression=candidate.compression,
        files=len(candidate.files),
        partition_keys=list(candidate.keys),
        explanations=[_summary(candidate), *candidate.explanations],
    )
    if current is None:
        catalog.create_database(database, exist_ok=True)
        catalog.create_table(table)
        report.action = "created"
        current = table
    else:
        _compare(catalog, current, table, report, policy)
        current = catalog.get_table(database, candidate.name)
    if tuple(k.name for k in current.partition_keys) == candidate.keys and candidate.keys:
        _sync_partitions(catalog, current, candidate, report, policy)
    return report


def _summary(candidate: _Candidate) -> str:
    place = candidate.root or "(bucket root)"
    schema = (
        "a compatible schema"
        if candidate.columns is not None
        else "no schema read (no sample could be read)"
    )
    return (
        f"{len(candidate.files)} files under {place} share format "
        f"{kind(candidate.format, candidate.compression)} and {schema}; "
        f"{candidate.sampled} sampled"
    )


def _table_of(database: str, bucket: str, candidate: _Candidate) -> Table:
    keys = {key.lower() for key in candidate.keys}
    columns = tuple(
        Column(c.name, final_type(c.type))
        for c in candidate.columns or ()
        if c.name.lower() not in keys
    )
    dropped = [c.name for c in candidate.columns or () if c.name.lower() in keys]
    if dropped:
        candidate.explanations.append(
            f"columns {', '.join(dropped)} left to the partition keys of the same name"
        )
    parameters = {
        "classification": candidate.format,
        CRAWLER_PARAMETER: "true",
        "typeOfData": "file",
    }
    if candidate.compression:
        parameters["compressionType"] = candidate.compression
    if candidate.format == "csv":
        parameters["skip.header.line.count"] = "1"
    return Table(
        database=database,
        name=candidate.name,
        columns=columns,
        location=f"s3://{bucket}/{candidate.root}",
        format=candidate.format,
        partition_keys=tuple(Column(key, "string") for key in candidate.keys),
        compression=candidate.compression,
        serde=SERDES[candidate.format],
        parameters=parameters,
    )


def _compare(
    catalog: Catalog, current: Table, found: Table, report: TableReport, policy: _Policy
) -> None:
    changes, columns = _diff(current.columns, found.columns, additive=policy.new_folders_only)
    if not found.columns and not changes:
        columns = current.columns
    report.schema_changes = changes
    keys_differ = [k.name for k in current.partition_keys] != report.partition_keys
    if keys_differ:
        report.explanations.append(
            f"the folders give partition keys ({', '.join(report.partition_keys) or 'none'}) "
            f"but the catalog has ({', '.join(k.name for k in current.partition_keys) or 'none'})"
            ": partitions not synced; delete and recrawl the table to change them"
        )
    undeprecate = current.parameters.get("deprecated") == "true"
    if not changes and not undeprecate:
        return
    if changes:
        report.explanations.append("schema changes: " + "; ".join(changes.lines()))
    if policy.update == "LOG":
        report.action = "logged"
        report.explanations.append("update behavior LOG: the catalog's table is left as it is")
        return
    parameters = {**current.parameters, CRAWLER_PARAMETER: "true"}
    parameters.pop("deprecated", None)
    catalog.update_table(replace(current, columns=columns, parameters=parameters))
    report.action = "updated"
    if undeprecate:
        report.explanations.append("files are back: the deprecated flag is removed")


def _diff(
    old: Sequence[Column], new: Sequence[Column], *, additive: bool
) -> tuple[SchemaChanges, tuple[Column, ...]]:
    """What changed from ``old`` to ``new``, and the columns to store (``old``'s order)."""
    changes = SchemaChanges()
    found = {c.name.lower(): c for c in new}
    columns: list[Column] = []
    for column in old:
        seen = found.get(column.name.lower())
        if seen is None:
            if additive or not new:
                columns.append(column)
            else:
                changes.removed.append(column)
            continue
        kind = seen.type
        if additive:
            merged, _ = merge_schemas([column], [seen], text=False)
            kind = merged[0].type if merged else seen.type
        if kind != column.type:
            changes.retyped.append((column.name, column.type, kind))
        columns.append(Column(column.name, kind, column.comment))
    known = {c.name.lower() for c in old}
    changes.added = [c for c in new if c.name.lower() not in known]
    return changes, (*columns, *changes.added)


def _sync_partitions(
    catalog: Catalog, table: Table, candidate: _Candidate, report: TableReport, policy: _Policy
) -> None:
    found: dict[tuple[str, ...], str] = {}
    folders: set[str] = set()
    for item in candidate.files:  # a folder's files share their partition values
        if item.folder not in folders:
            folders.add(item.folder)
            found.setdefault(candidate.partition_values(item), item.folder)
    registered = {p.values for p in catalog.get_partitions(table.database, table.name)}
    bucket = table.location.removeprefix("s3://").partition("/")[0]
    new = [
        Partition(values, f"s3://{bucket}/{folder}")
        for values, folder in sorted(found.items())
        if values not in registered
    ]
    if new:
        catalog.batch_create_partitions(table.database, table.name, new)
        report.partitions_added = [p.values for p in new]
        report.explanations.append(f"{len(new)} new partitions: {_values(report.partitions_added)}")
        if report.action == "unchanged":
            report.action = "updated"
    gone = sorted(registered - found.keys())
    if not gone:
        return
    report.partitions_removed = gone
    if policy.delete == "DELETE_FROM_DATABASE" and not policy.new_folders_only:
        catalog.delete_partitions(table.database, table.name, gone)
        what = "deleted from the catalog (DELETE_FROM_DATABASE)"
        if report.action == "unchanged":
            report.action = "updated"
    else:
        why = "new_folders_only" if policy.new_folders_only else policy.delete
        what = f"left in the catalog ({why}: only reported)"
    report.explanations.append(
        f"{len(gone)} partitions have no files any more, {what}: {_values(gone)}"
    )


def _values(values: Sequence[tuple[str, ...]]) -> str:
    shown = ", ".join("/".join(v) for v in values[:_LISTED])
    return shown + (f", … ({len(values) - _LISTED} more)" if len(values) > _LISTED else "")


def _gone_tables(
    catalog: Catalog, existing: list[Table], matched: set[str], policy: _Policy
) -> list[TableReport]:
    reports = []
    for table in existing:
        if table.name in matched or table.parameters.get(CRAWLER_PARAMETER) != "true":
            continue
        report = TableReport(
            database=table.database,
            name=table.name,
            root=table.location,
            format=table.format,
            compression=table.compression,
            files=0,
            partition_keys=[k.name for k in table.partition_keys],
            explanations=[f"no crawlable files left under {table.location}"],
        )
        if policy.new_folders_only or policy.delete == "LOG":
            report.action = "logged"
            why = "new_folders_only" if policy.new_folders_only else "LOG"
            report.explanations.append(f"delete behavior {why}: the table is left as it is")
        elif policy.delete == "DELETE_FROM_DATABASE":
            catalog.delete_table(table.database, table.name)
            report.action = "deleted"
            report.explanations.append("DELETE_FROM_DATABASE: the table is deleted")
        elif table.parameters.get("deprecated") == "true":
            report.action = "unchanged"
            report.explanations.append("already marked deprecated")
        else:
            parameters = {**table.parameters, "deprecated": "true"}
            catalog.update_table(replace(table, parameters=parameters))
            report.action = "deprecated"
            report.explanations.append("DEPRECATE_IN_DATABASE: the table is marked deprecated=true")
        reports.append(report)
    return reports
