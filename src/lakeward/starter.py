"""The commented starter ``lakeward.yaml`` that ``lakeward init`` writes."""

from __future__ import annotations

from string import Template

from pydantic import ValidationError

from lakeward.config_models import LakeSection, suggest
from lakeward.errors import ConfigError

__all__ = ["BACKENDS", "starter_yaml"]

BACKENDS = ("local", "aws")
"""The backends a starter file can be written for."""

_LOCAL = """\
backend:
  type: local                    # local: an embedded lake on this machine (files + SQLite)
  root: ./.lake                  # where it lives; relative to this file, ~ allowed
  # For AWS instead:  type: aws, region: us-east-1 (and optionally profile, endpoint_url)"""

_AWS = """\
backend:
  type: aws                      # aws: S3, SQS, Glue and Athena through boto3
  region: us-east-1              # required: the region of every resource
  # profile: default             # an AWS CLI profile; omit for the default credential chain
  # endpoint_url: http://localhost:4566   # an S3-compatible endpoint (LocalStack, MinIO)"""

_TEMPLATE = Template("""\
# lakeward.yaml: the whole data lake, declared in one file.
# `lakeward plan` shows what would change and `lakeward apply` makes it so.
# Override any value without editing this file:
#   environment:  LAKEWARD_<SECTION>__<KEY>=value   e.g. LAKEWARD_LAKE__ENVIRONMENT=prod
#   command line: --set <section>.<key>=value       e.g. --set backend.root=/data/lake

# The project. name and environment are part of every physical name: the bucket `lake`
# below becomes "$name-$environment-lake".
lake:
  name: $name
  environment: $environment
  team: data-platform            # optional: tags every resource with Team
  tags:                          # extra tags on every resource (buckets, queues, tables)
    CostCenter: "0000"

# Where the lake lives.
$backend

# Security defaults for every bucket. A bucket may override any of them under
# buckets.<bucket>.guardrails; the override is merged key by key.
guardrails:
  encryption:
    type: SSE-S3                 # SSE-S3 or SSE-KMS (datasets classified restricted need SSE-KMS)
    kms_key_id: null             # SSE-KMS only; null means the AWS-managed aws/s3 key
  versioning: true               # keep every version: overwrites and deletes stay recoverable
  object_lock:                   # WORM retention for immutable data (needs versioning)
    enabled: false
    mode: GOVERNANCE             # GOVERNANCE (bypass with permission) or COMPLIANCE (no one can)
    days: null                   # default retention: days or years, not both
    years: null
  block_public_access: true      # never serve objects to the public
  https_only: true               # the bucket policy denies every request not made over TLS
  access_logging:                # server access logs, written into another bucket of the lake
    enabled: true
    target_bucket: logs          # a bucket name from `buckets:` below
    prefix: s3-access/

# The buckets. Each holds zones, and each zone is a top-level key prefix (raw/, processed/ ...):
#   raw: files exactly as they arrived (immutable)   processed: cleaned, typed Parquet
#   curated: Iceberg tables   analytics: exports   archive: cold copies   logs: logs
# A zone lives in exactly one bucket.
buckets:
  lake:
    # name: acme-lake-prod       # optional: set the physical name yourself
    zones: [raw, processed, curated, analytics, archive]
    tags: {}                     # extra tags on this bucket
    lifecycle:                   # move ageing data to cheaper storage classes
      - id: raw-to-glacier
        zone: raw                # the raw/ prefix (or write prefix: some/prefix/)
        transitions:
          - {days: 30, storage_class: STANDARD_IA}   # the IA tiers need at least 30 days
          - {days: 90, storage_class: GLACIER}       # reading needs a restore first
        # expiration_days: 3650  # delete after ten years
  logs:
    zones: [logs]
    guardrails:
      access_logging:
        enabled: false           # the log bucket does not log into itself

# The datasets: where files land, what they hold and who answers for them. Files land under
# <zone>/<domain>/<source>/ingest_date=YYYY-MM-DD/ and carry the object tags Owner,
# Classification, Domain and Dataset.
datasets:
  open_payments:
    zone: raw                    # stored in the bucket holding this zone (or set bucket: lake)
    domain: healthcare
    source: cms
    format: csv                  # csv, json, ndjson, parquet, avro, orc, text or binary
    compression: null            # null, gzip, bz2, zstd or snappy
    partition_by: [year]         # declared columns or ingest_date, year, month, day, hour
    columns:                     # optional schema; leave it out to have it inferred
      - {name: record_id, type: bigint, description: Payment record id}
      - {name: physician_name, type: string, pii: true}
      - {name: company, type: string}
      - {name: amount_usd, type: "decimal(12,2)"}
      - {name: payment_date, type: date}
      - {name: year, type: int}
    timestamp_field: payment_date
    owner: data-team@example.com
    classification: confidential # public, internal, confidential or restricted
    tags: {}                     # up to 6 extra object tags
    allow_versions: false        # raw is immutable: a different file under the same key is refused
    description: CMS Open Payments general payments, one CSV per program year.
""")


def starter_yaml(name: str = "lake", environment: str = "dev", backend: str = "local") -> str:
    """Return a commented starter ``lakeward.yaml`` that validates as written.

    Args:
        name: The project name (``lake.name``): 1-30 of ``[a-z0-9-]``.
        environment: The environment (``lake.environment``), e.g. ``dev`` or ``prod``.
        backend: ``local`` or ``aws`` (the aws file uses region us-east-1; change it).

    Returns:
        The YAML text.

    Raises:
        ConfigError: The name, environment or backend is not valid.
    """
    problems = _argument_problems(name, environment, backend)
    if problems:
        raise ConfigError(problems, source="lakeward init")
    block = _AWS if backend == "aws" else _LOCAL
    return _TEMPLATE.substitute(name=name, environment=environment, backend=block)


def _argument_problems(name: str, environment: str, backend: str) -> list[str]:
    problems: list[str] = []
    try:
        LakeSection(name=name, environment=environment)
    except ValidationError as exc:
        for error in exc.errors():
            reason = error.get("ctx", {}).get("error", error["msg"])
            problems.append(f"lake.{error['loc'][0]}: {reason}")
    if backend not in BACKENDS:
        hint = suggest(backend, BACKENDS)
        problems.append(f"backend.type: unknown backend {backend!r}: use local or aws{hint}")
    return problems
