"""The ``to_parquet`` handler: JSON, NDJSON and CSV objects → Parquet in ``processed/``.

Route options: ``dataset`` (required: its columns, timestamp field, format, compression),
``anonymize`` (column → ``hash`` | ``drop``), ``salt_env`` (the environment variable that
holds the hashing salt, default ``LAKEWARD_ANON_SALT``), ``output_prefix`` (default
``processed/<dataset>``), ``error_prefix`` (default ``error/<dataset>``), ``engine``
(``lakeward``, the exact conversion, by default; ``duckdb``: a lenient DuckDB read of
NDJSON that falls back to the exact one when DuckDB fails, see
:func:`~lakeward.events.convert.convert_to_parquet`).

Good records land in ``<output_prefix>/year=YYYY/month=MM/<name>-<id>.parquet`` by the
data's own timestamp; bad ones go, with the reason per record, to
``<error_prefix>/<name>-<id>.ndjson`` (``lakeward quarantine ls|replay``). ``<id>`` is
derived from the source object version, and every output is written with If-None-Match,
so a replayed event writes nothing twice.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from lakeward._failpoints import failpoint
from lakeward.errors import ConfigError, PreconditionFailed
from lakeward.events.handlers import HandlerContext
from lakeward.events.model import Event
from lakeward.storage import ObjectStore
from lakeward.storage.ops import download

DEFAULT_SALT_ENV = "LAKEWARD_ANON_SALT"


@dataclass(frozen=True)
class Target:
    """Where one dataset's conversions go and how they are anonymized."""

    dataset: str
    bucket: str
    output_prefix: str
    error_prefix: str
    anonymize: dict[str, str]
    salt: str
    engine: str = "lakeward"


def target_for(context: HandlerContext, *, need_salt: bool = True) -> Target:
    """Resolve a route's options against the configuration.

    Args:
        context: The route's context.
        need_salt: Refuse when hashing is asked for and the salt is missing (False only
            where nothing is hashed, e.g. listing the quarantine).

    Raises:
        ConfigError: ``anonymize`` hashes columns but the salt variable is not set, or
            ``engine`` is not one of :data:`~lakeward.events.convert.ENGINES`.
    """
    from lakeward.events.convert import ENGINES

    options = context.route.options
    name = str(options["dataset"])
    config = context.lake.config
    anonymize = {str(k): str(v) for k, v in (options.get("anonymize") or {}).items()}
    salt_env = str(options.get("salt_env", DEFAULT_SALT_ENV))
    salt = os.environ.get(salt_env, "")
    if need_salt and "hash" in anonymize.values() and not salt:
        raise ConfigError(
            [f"routes.{context.route_name}.options.salt_env: set the hashing salt in ${salt_env}"]
        )
    engine = str(options.get("engine", ENGINES[0]))
    if engine not in ENGINES:
        raise ConfigError(
            [
                f"routes.{context.route_name}.options.engine: {engine!r} is not one of {', '.join(ENGINES)}"
            ]
        )
    return Target(
        dataset=name,
        bucket=config.physical_bucket(config.dataset_bucket(name)),
        output_prefix=str(options.get("output_prefix", f"processed/{name}")).strip("/"),
        error_prefix=str(options.get("error_prefix", f"error/{name}")).strip("/"),
        anonymize=anonymize,
        salt=salt,
        engine=engine,
    )


def output_id(event: Event) -> str:
    """A short id of the source object version, used in every output name."""
    return hashlib.sha256(event.idempotency_key.encode()).hexdigest()[:12]


def handle(context: HandlerContext, event: Event) -> str:
    """Convert the event's object version; land good records, quarantine bad ones."""
    if not event.event_name.startswith("ObjectCreated:"):
        return f"ignored {event.event_name}"
    from lakeward.events.convert import convert_to_parquet

    target = target_for(context)
    dataset = context.lake.config.dataset(target.dataset)
    store = context.lake.store
    stem = f"{PurePosixPath(event.key).name.split('.')[0]}-{output_id(event)}"
    with tempfile.TemporaryDirectory(prefix="lakeward-to-parquet-") as folder:
        source = Path(folder) / "source"
        download(store, event.bucket, event.key, source, version_id=event.version_id)
        result = convert_to_parquet(
            source, dataset.format, Path(folder) / "out", columns=dataset.columns,
            timestamp_field=dataset.timestamp_field, anonymize=target.anonymize, salt=target.salt,
            compression=dataset.compression, engine=target.engine,
        )  # fmt: skip
        tags = context.lake.config.dataset_tags(target.dataset)
        written = [
            put_once(
                store, target.bucket, output_key(target, output.partition, stem), output.path, tags
            )
            for output in result.outputs
        ]
    failpoint("to_parquet:outputs")
    origin = {"bucket": event.bucket, "key": event.key, "version_id": event.version_id}
    if result.bad:
        body = quarantine_body(result.bad, origin)
        put_once(store, target.bucket, f"{target.error_prefix}/{stem}.ndjson", body, tags)
    new = sum(written)
    return (
        f"{result.rows_written} rows → {len(written)} Parquet objects ({new} new) under "
        f"{target.output_prefix}/; {len(result.bad)} records quarantined; engine {result.engine}"
    )


def output_key(target: Target, partition: dict[str, str], stem: str) -> str:
    """The key of one Parquet output: ``<prefix>/year=…/month=…/<stem>.parquet``."""
    segments = [f"{name}={value}" for name, value in partition.items()]
    return "/".join([target.output_prefix, *segments, f"{stem}.parquet"])


def put_once(
    store: ObjectStore, bucket: str, key: str, data: Path | bytes, tags: dict[str, str]
) -> bool:
    """Write an output unless that key exists (a replay): True when it was written now."""
    try:
        store.put(bucket, key, data, tags=tags, if_none_match=True)
    except PreconditionFailed:
        return False
    return True


def quarantine_body(bad: list[Any], origin: dict[str, Any]) -> bytes:
    """NDJSON lines, one per bad record: its number, reason, raw text and source object."""
    import json

    lines = [
        json.dumps(
            {"record": r.number, "reason": r.reason, "raw": r.raw, "source": origin},
            ensure_ascii=False,
        )
        for r in bad
    ]
    return ("\n".join(lines) + "\n").encode()
