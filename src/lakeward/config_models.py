"""The pydantic models of ``lakeward.yaml`` and the rules that concern one section alone.

The models hold the structure (types, allowed keys, defaults) and the lookups the rest of
lakeward uses (``LakeConfig.physical_bucket`` …). The rules here cover guardrails, lifecycle
rules and a dataset's own fields; rules relating sections to each other live in
:mod:`lakeward.config`. Load a configuration with :func:`lakeward.config.load_config` (or
``config_from_dict``), not ``LakeConfig.model_validate``: the loader also runs every rule and
points each problem at its line in the file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationInfo,
    field_validator,
)

from lakeward.errors import ConfigError

__all__ = [
    "BUDGET_SCOPES",
    "ROLE_PERMISSIONS",
    "TIME_PARTITIONS",
    "AccessLogging",
    "AwsBackend",
    "Backend",
    "BucketConfig",
    "Budget",
    "CatalogSection",
    "Column",
    "DatasetConfig",
    "Encryption",
    "Guardrails",
    "GuardrailsOverride",
    "LakeConfig",
    "LakeSection",
    "LifecycleRule",
    "LocalBackend",
    "ObjectLock",
    "Problem",
    "RoleAccess",
    "RoleConfig",
    "Route",
    "Transition",
    "Workgroup",
    "suggest",
]


TIME_PARTITIONS = ("ingest_date", "year", "month", "day", "hour")
"""Partition names lakeward fills from the ingest time; they need no declared column."""
DEFAULT_ROOT = Path(".lake")
_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$")


def suggest(word: str, options: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the option closest to ``word``, or ``""``.

    Args:
        word: What the user wrote.
        options: The accepted spellings.

    Returns:
        A suffix to append to an error message (empty when nothing is close).

    >>> suggest("zonez", ["zones", "tags"])
    "; did you mean 'zones'?"
    """
    by_lower = {option.lower(): option for option in options}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[match[0]]!r}?" if match else ""


@dataclass(frozen=True)
class Problem:
    """One problem found in the configuration, at a yaml path like ``buckets.lake.zones[0]``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def _slug(value: str) -> str:
    if not _SLUG_RE.fullmatch(value):
        raise ValueError(
            f"{value!r} must be 1-30 lowercase letters, digits or '-', starting and ending "
            "with a letter or digit (it becomes part of every bucket name)"
        )
    return value


def _tag_values(value: Any) -> Any:
    # YAML reads `Enabled: true` as a bool; a tag value is always text.
    if isinstance(value, Mapping):
        return {k: str(v).lower() if isinstance(v, bool) else v for k, v in value.items()}
    return value


def _account_id(value: str) -> str:
    if not re.fullmatch(r"\d{12}", value):
        raise ValueError(f"{value!r} is not an AWS account id: write its 12 digits, in quotes")
    return value


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL: write it like https://s3.example.com")
    return value


Slug = Annotated[str, AfterValidator(_slug)]
Tags = Annotated[dict[str, str], BeforeValidator(_tag_values)]


def resolve_path(value: Path, base_dir: Path | None) -> Path:
    """Expand ``~`` and make ``value`` absolute against ``base_dir`` (cwd when None).

    Args:
        value: The path as written.
        base_dir: The directory relative paths are relative to.

    Returns:
        An absolute, normalized path.
    """
    path = value.expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return path.resolve()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)


class LakeSection(_Model):
    """The ``lake:`` section: the project's identity, used in every physical name."""

    name: Slug = "lake"
    environment: Slug = "dev"
    team: str | None = None
    tags: Tags = Field(default_factory=dict)
    account_id: Annotated[str, AfterValidator(_account_id)] = "000000000000"
    """The AWS account (12 digits) that owns the lake's roles: it appears in their ARNs."""


class LocalBackend(_Model):
    """The embedded local backend: files and SQLite under ``root``."""

    type: Literal["local"] = "local"
    root: Path = Field(default=DEFAULT_ROOT, validate_default=True)

    @field_validator("root")
    @classmethod
    def _resolve_root(cls, value: Path, info: ValidationInfo) -> Path:
        base = (info.context or {}).get("base_dir")
        return resolve_path(value, Path(base) if base else None)

    def store_uri(self) -> str:
        """Return the object store URI, ``local://<absolute root>``."""
        return f"local://{self.root.as_posix()}"

    def store_options(self) -> dict[str, Any]:
        """Return the options for the object store loader (none for local)."""
        return {}


class AwsBackend(_Model):
    """The AWS backend: S3, SQS, Glue and Athena through boto3."""

    type: Literal["aws"] = "aws"
    region: str | None = None
    profile: str | None = None
    endpoint_url: Annotated[str | None, AfterValidator(_http_url)] = None

    def store_uri(self) -> str:
        """Return the object store URI, ``s3://``."""
        return "s3://"

    def store_options(self) -> dict[str, Any]:
        """Return ``region``/``profile``/``endpoint_url`` for the S3 store (only those set)."""
        options = {"region": self.region, "profile": self.profile}
        options["endpoint_url"] = self.endpoint_url
        return {key: value for key, value in options.items() if value is not None}


def _backend_tag(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("type", "local"))
    return str(getattr(value, "type", "local"))


def _local_default() -> Any:
    # A mapping, not a model, so the default root is resolved with the loader's context.
    return {"type": "local"}


Backend = Annotated[
    Annotated[LocalBackend, Tag("local")] | Annotated[AwsBackend, Tag("aws")],
    Discriminator(_backend_tag),
]
"""Either backend, chosen by ``type`` (``local`` when omitted)."""


class Encryption(_Model):
    """Default server-side encryption of a bucket."""

    type: Literal["SSE-S3", "SSE-KMS"] = "SSE-S3"
    kms_key_id: str | None = None


class ObjectLock(_Model):
    """Object lock (WORM) and its default retention."""

    enabled: bool = False
    mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    days: int | None = None
    years: int | None = None


class AccessLogging(_Model):
    """Server access logging into another (logical) bucket of the lake."""

    enabled: bool = False
    target_bucket: str = "logs"
    prefix: str = "s3-access/"


class Guardrails(_Model):
    """The security settings every bucket gets unless it overrides them."""

    encryption: Encryption = Field(default_factory=Encryption)
    versioning: bool = True
    object_lock: ObjectLock = Field(default_factory=ObjectLock)
    block_public_access: bool = True
    https_only: bool = True
    access_logging: AccessLogging = Field(default_factory=AccessLogging)


class GuardrailsOverride(_Model):
    """A bucket's partial override of the top-level guardrails (deep-merged)."""

    encryption: Encryption | None = None
    versioning: bool | None = None
    object_lock: ObjectLock | None = None
    block_public_access: bool | None = None
    https_only: bool | None = None
    access_logging: AccessLogging | None = None

    def apply(self, base: Guardrails) -> Guardrails:
        """Return ``base`` with the keys this override sets replaced.

        Args:
            base: The top-level guardrails.

        Returns:
            The effective guardrails of the bucket.
        """
        merged = _deep_merge(base.model_dump(), self.model_dump(exclude_unset=True))
        return Guardrails.model_validate(merged)


def _deep_merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        elif value is not None or not isinstance(out.get(key), dict):
            out[key] = value
    return out


class Transition(_Model):
    """A lifecycle transition to a colder storage class after ``days``."""

    days: int
    storage_class: str


class LifecycleRule(_Model):
    """One S3 lifecycle rule; ``zone: raw`` is shorthand for ``prefix: raw/``."""

    id: str
    prefix: str | None = None
    zone: str | None = None
    tags: Tags = Field(default_factory=dict)
    object_size_greater_than: int | None = None
    object_size_less_than: int | None = None
    transitions: list[Transition] = Field(default_factory=list)
    expiration_days: int | None = None
    noncurrent_transitions: list[Transition] = Field(default_factory=list)
    noncurrent_expiration_days: int | None = None
    noncurrent_newer_versions: int | None = None
    """Noncurrent versions kept whatever their age (S3's ``NewerNoncurrentVersions``)."""
    abort_incomplete_multipart_days: int | None = None
    enabled: bool = True

    @property
    def filter_prefix(self) -> str:
        """The key prefix the rule applies to (``""`` for the whole bucket)."""
        if self.zone:
            return f"{self.zone}/"
        return self.prefix or ""


class BucketConfig(_Model):
    """One bucket of the lake; each of its zones is a top-level key prefix."""

    name: str | None = None
    zones: list[str] = Field(default_factory=list)
    guardrails: GuardrailsOverride = Field(default_factory=GuardrailsOverride)
    tags: Tags = Field(default_factory=dict)
    lifecycle: list[LifecycleRule] = Field(default_factory=list)


class Column(_Model):
    """One declared column of a dataset."""

    name: str
    type: str = "string"
    pii: bool = False
    description: str = ""


Format = Literal["csv", "json", "ndjson", "parquet", "avro", "orc", "text", "binary"]
Compression = Literal["gzip", "bz2", "zstd", "snappy"]
Classification = Literal["public", "internal", "confidential", "restricted"]


class DatasetConfig(_Model):
    """A dataset: where its files land, what they hold and who answers for them."""

    bucket: str | None = None
    zone: str = "raw"
    domain: str
    source: str
    format: Format = "csv"
    compression: Compression | None = None
    prefix: str | None = None
    """Key prefix of the dataset's objects; default ``<zone>/<domain>/<source>``."""
    partition_by: list[str] = Field(default_factory=lambda: ["ingest_date"])
    """Hive partitions under the prefix; default ``[ingest_date]``, ``[]`` for none."""
    columns: list[Column] = Field(default_factory=list)
    timestamp_field: str | None = None
    owner: str
    classification: Classification = "internal"
    tags: Tags = Field(default_factory=dict)
    allow_versions: bool = False
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        """The names of the declared columns, in order."""
        return [column.name for column in self.columns]

    @property
    def key_prefix(self) -> str:
        """Where the dataset's objects go, without a trailing ``/`` (e.g. ``raw/hr/ats``)."""
        return (self.prefix or f"{self.zone}/{self.domain}/{self.source}").strip("/")


EVENT_NAMES = (
    "ObjectCreated:*",
    "ObjectCreated:Put",
    "ObjectCreated:Copy",
    "ObjectCreated:CompleteMultipartUpload",
    "ObjectRemoved:*",
    "ObjectRemoved:Delete",
    "ObjectRemoved:DeleteMarkerCreated",
    "ObjectTagging:*",
    "ObjectTagging:Put",
    "ObjectRestore:*",
    "ObjectRestore:Post",
    "ObjectRestore:Completed",
    "LifecycleExpiration:*",
    "LifecycleExpiration:Delete",
    "LifecycleExpiration:DeleteMarkerCreated",
    "LifecycleTransition",
)
"""Event names a route may listen to (S3's, with ``*`` for a whole family)."""

HandlerName = Literal["copy", "to_parquet", "catalog"]


class Route(_Model):
    """An event route: object events of a bucket (prefix, suffix, names) → one handler."""

    bucket: str
    prefix: str = ""
    suffix: str = ""
    events: list[str] = Field(default_factory=lambda: ["ObjectCreated:*"])
    handler: HandlerName
    options: dict[str, Any] = Field(default_factory=dict)
    max_attempts: int = Field(default=5, ge=1, le=100)
    visibility_timeout_s: float = Field(default=60.0, gt=0)
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=300.0, ge=0)

    def wants(self, key: str, event_name: str) -> bool:
        """Whether an event on ``key`` (in this route's bucket) goes to this route."""
        if not (key.startswith(self.prefix) and key.endswith(self.suffix)):
            return False
        return any(
            event_name == pattern
            or (pattern.endswith(":*") and event_name.startswith(pattern[:-1]))
            for pattern in self.events
        )


class CatalogSection(_Model):
    """Where tables are registered: the catalog database (Glue on aws lakes)."""

    database: str | None = None
    """Default ``<lake.name>_<lake.environment>`` (dashes become underscores)."""


class Workgroup(_Model):
    """A query workgroup (like Athena's): limits and history for the queries run in it."""

    bytes_scanned_cutoff: int | None = Field(default=None, gt=0)
    """Refuse a query whose estimated bytes scanned exceed this (bytes)."""
    description: str = ""


BUDGET_SCOPES = ("lake", "bucket", "zone", "workgroup")
"""What a budget may cover: the whole lake, or one ``bucket:``, ``zone:`` or ``workgroup:``."""


class Budget(_Model):
    """A cost budget (like AWS Budgets): an amount per period over a scope, with alerts."""

    amount_usd: float = Field(gt=0)
    period: Literal["monthly"] = "monthly"
    scope: str = "lake"
    """``lake``, ``bucket:<logical>``, ``zone:<zone>`` or ``workgroup:<name>``."""
    alerts: list[float] = Field(default_factory=lambda: [50.0, 80.0, 100.0])
    """Percentages of ``amount_usd``: ``warning`` below 100, ``breach`` at 100 or more."""

    @property
    def scope_parts(self) -> tuple[str, str | None]:
        """The scope split into its kind and name, e.g. ``("bucket", "lake")``."""
        kind, sep, name = self.scope.partition(":")
        return kind.strip(), name.strip() if sep else None


ROLE_PERMISSIONS = ("read", "write", "tag", "delete")
"""Permissions a role's ``access`` entry may grant (``read`` and ``write`` imply listing)."""


class RoleAccess(_Model):
    """What a role may do in one bucket: under a zone or a prefix, or the whole bucket."""

    bucket: str
    zone: str | None = None
    prefix: str | None = None
    """A key prefix such as ``raw/open-payments/`` (use ``zone`` or ``prefix``, not both)."""
    permissions: list[str]
    """``read``, ``write``, ``tag``, ``delete``; ``read``/``write`` also let the role list."""

    @property
    def key_prefix(self) -> str:
        """The key prefix granted, ending in ``/`` (``""`` for the whole bucket)."""
        if self.zone:
            return f"{self.zone}/"
        return self.prefix.lstrip("/") if self.prefix else ""


RoleService = Literal["ec2", "lambda", "glue"]
"""AWS services a role can trust (``assumed_by``)."""


def _default_services() -> list[RoleService]:
    return ["ec2"]


class RoleConfig(_Model):
    """An IAM role: who may assume it and the least-privilege access it gets."""

    name: str | None = None
    """Physical role name; default ``{lake.name}-{lake.environment}-{role}``."""
    description: str = ""
    assumed_by: list[RoleService] = Field(default_factory=_default_services)
    """AWS services that may assume the role (its trust policy)."""
    access: list[RoleAccess] = Field(default_factory=list)
    statements: list[dict[str, Any]] = Field(default_factory=list)
    """Extra IAM policy statements, appended as written (an escape hatch; validated)."""


def _default_workgroups() -> dict[str, Workgroup]:
    return {"primary": Workgroup(description="the default workgroup")}


def _default_buckets() -> dict[str, BucketConfig]:
    return {
        "lake": BucketConfig(zones=["raw", "processed", "curated", "analytics", "archive"]),
        "logs": BucketConfig(zones=["logs"]),
    }


class LakeConfig(_Model):
    """The whole ``lakeward.yaml``, validated, with the lookups the rest of lakeward uses."""

    lake: LakeSection = Field(default_factory=LakeSection)
    backend: Backend = Field(default_factory=_local_default, validate_default=True)
    guardrails: Guardrails = Field(default_factory=Guardrails)
    buckets: dict[str, BucketConfig] = Field(default_factory=_default_buckets)
    datasets: dict[str, DatasetConfig] = Field(default_factory=dict)
    routes: dict[str, Route] = Field(default_factory=dict)
    catalog: CatalogSection = Field(default_factory=CatalogSection)
    workgroups: dict[str, Workgroup] = Field(default_factory=_default_workgroups)
    roles: dict[str, RoleConfig] = Field(default_factory=dict)
    budgets: dict[str, Budget] = Field(default_factory=dict)
    _config_path: Path | None = PrivateAttr(default=None)

    @property
    def config_path(self) -> Path | None:
        """The file this configuration was read from, or None (defaults and env only)."""
        return self._config_path

    def _lookup_error(
        self, section: str, kind: str, name: str, known: Iterable[str]
    ) -> ConfigError:
        names = sorted(known)
        listed = ", ".join(names) or "none"
        problem = f"{section}: unknown {kind} {name!r} (declared: {listed}){suggest(name, names)}"
        return ConfigError([problem], source=str(self._config_path or "lakeward.yaml"))

    def bucket(self, logical: str) -> BucketConfig:
        """Return the bucket declared under ``buckets.<logical>``.

        Raises:
            ConfigError: No bucket has that logical name.
        """
        try:
            return self.buckets[logical]
        except KeyError:
            raise self._lookup_error("buckets", "bucket", logical, self.buckets) from None

    def physical_bucket(self, logical: str) -> str:
        """Return the physical (S3) name of a logical bucket.

        The default is ``{lake.name}-{lake.environment}-{logical}``; ``buckets.<b>.name``
        overrides it.

        Raises:
            ConfigError: No bucket has that logical name.
        """
        bucket = self.bucket(logical)
        return bucket.name or f"{self.lake.name}-{self.lake.environment}-{logical}"

    def resolve_bucket(self, name: str) -> str:
        """Map a logical bucket name to its physical name; any other name passes through."""
        return self.physical_bucket(name) if name in self.buckets else name

    def bucket_for_zone(self, zone: str) -> str | None:
        """Return the logical bucket holding ``zone``, or None if no bucket does."""
        return next((name for name, b in self.buckets.items() if zone in b.zones), None)

    @property
    def local_root(self) -> Path | None:
        """The root folder of a local lake (absolute), or None for a lake on AWS."""
        return self.backend.root if isinstance(self.backend, LocalBackend) else None

    @property
    def logs_bucket(self) -> str | None:
        """The physical bucket of the lake's logs, or None when there is none.

        ``buckets.logs`` if declared, else the bucket holding zone ``logs``.
        """
        logical = "logs" if "logs" in self.buckets else self.bucket_for_zone("logs")
        return self.physical_bucket(logical) if logical is not None else None

    def effective_guardrails(self, logical: str) -> Guardrails:
        """Return the top-level guardrails with the bucket's overrides applied.

        Raises:
            ConfigError: No bucket has that logical name.
        """
        return self.bucket(logical).guardrails.apply(self.guardrails)

    def dataset(self, name: str) -> DatasetConfig:
        """Return the dataset declared under ``datasets.<name>``.

        Raises:
            ConfigError: No such dataset (the message suggests the closest name).
        """
        try:
            return self.datasets[name]
        except KeyError:
            raise self._lookup_error("datasets", "dataset", name, self.datasets) from None

    def dataset_bucket(self, name: str) -> str:
        """Return the logical bucket a dataset lives in.

        Raises:
            ConfigError: Unknown dataset, or no bucket holds its zone.
        """
        dataset = self.dataset(name)
        logical = dataset.bucket or self.bucket_for_zone(dataset.zone)
        if logical is None:
            problem = (
                f"datasets.{name}.zone: no bucket holds zone {dataset.zone!r}: add it to a "
                f"bucket's zones or set datasets.{name}.bucket"
            )
            raise ConfigError([problem], source=str(self._config_path or "lakeward.yaml"))
        return logical

    def role(self, name: str) -> RoleConfig:
        """Return the role declared under ``roles.<name>``.

        Raises:
            ConfigError: No such role (the message suggests the closest name).
        """
        try:
            return self.roles[name]
        except KeyError:
            raise self._lookup_error("roles", "role", name, self.roles) from None

    def physical_role(self, name: str) -> str:
        """Return the IAM name of a role: ``roles.<r>.name`` or ``{name}-{environment}-{role}``.

        Raises:
            ConfigError: No such role.
        """
        return self.role(name).name or f"{self.lake.name}-{self.lake.environment}-{name}"

    @property
    def catalog_database(self) -> str:
        """The catalog database of this lake (``catalog.database``, else ``<name>_<env>``)."""
        default = f"{self.lake.name}_{self.lake.environment}".replace("-", "_")
        return (self.catalog.database or default).lower()

    def routes_for(self, bucket: str, key: str, event_name: str) -> list[str]:
        """Names of the routes an event on ``s3://bucket/key`` goes to (physical bucket)."""
        return [
            name
            for name, route in self.routes.items()
            if self.resolve_bucket(route.bucket) == bucket and route.wants(key, event_name)
        ]

    def resource_tags(self) -> dict[str, str]:
        """Return the tags of every resource: Project, Environment, Team, ManagedBy, lake.tags."""
        tags = {"Project": self.lake.name, "Environment": self.lake.environment}
        if self.lake.team:
            tags["Team"] = self.lake.team
        tags["ManagedBy"] = "lakeward"
        return {**tags, **self.lake.tags}

    def bucket_tags(self, logical: str) -> dict[str, str]:
        """Return the tags of a bucket: :meth:`resource_tags` plus ``buckets.<b>.tags``."""
        return {**self.resource_tags(), **self.bucket(logical).tags}

    def dataset_tags(self, name: str) -> dict[str, str]:
        """Return a dataset's object tags: its tags + Owner, Classification, Domain, Dataset."""
        dataset = self.dataset(name)
        return {
            **dataset.tags,
            "Owner": dataset.owner,
            "Classification": dataset.classification,
            "Domain": dataset.domain,
            "Dataset": name,
        }
