"""lakeward.yaml: loading, layering, and every validation rule with its yaml path."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakeward.config import (
    AwsBackend,
    LakeConfig,
    LocalBackend,
    check_config,
    config_from_dict,
    load_config,
    parse_overrides,
)
from lakeward.errors import ConfigError
from lakeward.starter import starter_yaml

BASE: dict[str, Any] = {
    "lake": {"name": "acme", "environment": "dev"},
    "buckets": {
        "lake": {"zones": ["raw", "processed", "curated", "analytics", "archive"]},
        "logs": {"zones": ["logs"]},
    },
    "datasets": {
        "open_payments": {
            "zone": "raw",
            "domain": "healthcare",
            "source": "cms",
            "owner": "payments-team@example.com",
            "partition_by": ["year"],
            "columns": [{"name": "a", "type": "string"}, {"name": "b", "type": "int"}],
        }
    },
}


def write(tmp_path: Path, text: str, name: str = "lakeward.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def with_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """BASE with dotted keys set (a value of ... deletes the key)."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        if value is ...:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    return info.value.problems


def assert_problem(problems: list[str], path: str, fragment: str) -> None:
    matching = [p for p in problems if p.startswith(f"{path}: ") and fragment in p]
    assert matching, f"no problem at {path!r} containing {fragment!r} in:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- loading


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.config_path is None
    assert (config.lake.name, config.lake.environment) == ("lake", "dev")
    assert isinstance(config.backend, LocalBackend)
    assert config.backend.root == (tmp_path / ".lake").resolve()
    assert config.backend.store_uri() == f"local://{(tmp_path / '.lake').resolve().as_posix()}"
    assert config.backend.store_options() == {}
    assert config.physical_bucket("lake") == "lake-dev-lake"
    assert config.bucket_for_zone("logs") == "logs"
    assert config.guardrails.versioning and config.guardrails.block_public_access
    assert config.guardrails.encryption.type == "SSE-S3"
    assert config.datasets == {}


def test_finds_lakeward_yaml_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "lake: {name: found}\n")
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.lake.name == "found"
    assert config.config_path == path.resolve()


def test_lakeward_config_env_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "lake: {name: fromenv}\n", name="conf/other.yaml")
    config = load_config(environ={"LAKEWARD_CONFIG": str(path)})
    assert config.lake.name == "fromenv"
    assert config.config_path == path.resolve()


def test_directory_path_means_its_lakeward_yaml(tmp_path: Path) -> None:
    write(tmp_path, "lake: {name: indir}\n")
    assert load_config(tmp_path, environ={}).lake.name == "indir"


@pytest.mark.parametrize("via_env", [False, True], ids=["argument", "LAKEWARD_CONFIG"])
def test_missing_config_file_suggests_init(tmp_path: Path, via_env: bool) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        if via_env:
            load_config(environ={"LAKEWARD_CONFIG": str(missing)})
        else:
            load_config(missing, environ={})
    assert "no such config file" in info.value.message
    assert "lakeward init" in info.value.message
    if via_env:
        assert "LAKEWARD_CONFIG" in info.value.message


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "# nothing yet\n"), environ={})
    assert config.lake.name == "lake"


def test_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a mapping of sections"):
        load_config(write(tmp_path, "- a\n- b\n"), environ={})


# --------------------------------------------------------------------------- starter


@pytest.mark.parametrize("backend", ["local", "aws"])
def test_starter_parses_and_validates(tmp_path: Path, backend: str) -> None:
    text = starter_yaml("acme", "prod", backend)
    path = write(tmp_path, text)
    overrides = {"backend.region": "us-east-1"} if backend == "aws" else None
    config = load_config(path, overrides=overrides, environ={})
    assert check_config(config) == []
    assert set(config.buckets) == {"lake", "logs"}
    assert config.buckets["lake"].zones == ["raw", "processed", "curated", "analytics", "archive"]
    assert config.physical_bucket("logs") == "acme-prod-logs"
    assert config.guardrails.access_logging.enabled
    assert config.guardrails.access_logging.target_bucket == "logs"
    assert not config.effective_guardrails("logs").access_logging.enabled
    (rule,) = config.buckets["lake"].lifecycle
    assert rule.filter_prefix == "raw/"
    assert [(t.days, t.storage_class) for t in rule.transitions] == [
        (30, "STANDARD_IA"),
        (90, "GLACIER"),
    ]
    assert config.dataset_bucket("open_payments") == "lake"
    if backend == "aws":
        assert isinstance(config.backend, AwsBackend)
        assert config.backend.store_uri() == "s3://"
        assert config.backend.store_options() == {"region": "us-east-1"}
    else:
        assert isinstance(config.backend, LocalBackend)
        assert config.backend.root == (tmp_path / ".lake").resolve()


def test_starter_comments_every_section() -> None:
    lines = starter_yaml().splitlines()
    for section in ("lake:", "backend:", "guardrails:", "buckets:", "datasets:"):
        index = lines.index(section)
        assert lines[index - 1].startswith("#"), f"{section} has no comment above it"


def test_starter_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigError) as info:
        starter_yaml("Acme Corp", "dev", "locl")
    assert any(p.startswith("lake.name: ") for p in info.value.problems)
    assert any("did you mean" in p and "backend" in p for p in info.value.problems)


# --------------------------------------------------------------------------- layering


def test_env_overrides_with_yaml_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    environ = {
        "LAKEWARD_LAKE__ENVIRONMENT": "prod",
        "LAKEWARD_GUARDRAILS__VERSIONING": "false",
        "LAKEWARD_GUARDRAILS__OBJECT_LOCK__DAYS": "30",
        "LAKEWARD_BACKEND__TYPE": "aws",
        "LAKEWARD_BACKEND__REGION": "eu-west-1",
        "LAKEWARD_LOG_LEVEL": "debug",  # no "__": not a config override
        "OTHER__THING": "ignored",
    }
    config = load_config(environ=environ)
    assert config.lake.environment == "prod"
    assert config.guardrails.versioning is False
    assert config.guardrails.object_lock.days == 30
    assert isinstance(config.backend, AwsBackend)
    assert config.backend.store_options() == {"region": "eu-west-1"}


def test_overrides_beat_env_beat_file(tmp_path: Path) -> None:
    path = write(tmp_path, "lake: {name: acme, environment: file, team: filet}\n")
    env = {"LAKEWARD_LAKE__ENVIRONMENT": "env", "LAKEWARD_LAKE__TEAM": "envt"}
    config = load_config(path, overrides={"lake.environment": "arg"}, environ=env)
    assert (config.lake.environment, config.lake.team) == ("arg", "envt")
    assert load_config(path, environ=env).lake.environment == "env"
    assert load_config(path, environ={}).lake.environment == "file"
    assert config.lake.name == "acme"


def test_relative_root_resolves_against_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "backend: {type: local, root: ./data}\n", name="project/lakeward.yaml")
    monkeypatch.chdir(tmp_path)
    config = load_config(path, environ={})
    assert config.backend.store_uri() == f"local://{(tmp_path / 'project' / 'data').resolve()}"


def test_relative_root_from_overrides_resolves_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "lake: {name: acme}\n", name="project/lakeward.yaml")
    monkeypatch.chdir(tmp_path)
    config = load_config(path, overrides={"backend.root": "here"}, environ={})
    assert isinstance(config.backend, LocalBackend)
    assert config.backend.root == (tmp_path / "here").resolve()


def test_root_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config(write(tmp_path, "backend: {root: ~/lakes/x}\n"), environ={})
    assert isinstance(config.backend, LocalBackend)
    assert config.backend.root == (tmp_path / "lakes" / "x").resolve()


def test_parse_overrides() -> None:
    assert parse_overrides(["backend.root=/x", "guardrails.versioning=false", "a.b=30"]) == {
        "backend.root": "/x",
        "guardrails.versioning": False,
        "a.b": 30,
    }
    with pytest.raises(ConfigError) as info:
        parse_overrides(["novalue", "=x", "a..b=1", "ok.key=1"])
    assert len(info.value.problems) == 3


def test_problem_from_env_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    environ = {"LAKEWARD_BACKEND__TYPE": "aws", "LAKEWARD_BACKEND__REGION": "moon"}
    with pytest.raises(ConfigError) as info:
        load_config(environ=environ)
    assert info.value.problems == [
        "backend.region (from LAKEWARD_BACKEND__REGION): 'moon' is not an AWS region name "
        "like us-east-1"
    ]


def test_problem_from_override_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "lake: {name: acme}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides={"lake.environment": "PROD"}, environ={})
    (problem,) = info.value.problems
    assert problem.startswith("lake.environment (from override): 'PROD' must be 1-30 lowercase")


def test_unknown_env_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config(environ={"LAKEWARD_BUCKET__LAKE__NAME": "x"})
    (problem,) = info.value.problems
    assert problem.startswith("bucket (from LAKEWARD_BUCKET__LAKE__NAME): unknown key 'bucket'")
    assert "did you mean 'buckets'?" in problem


# --------------------------------------------------------------------------- file errors


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "lake:\n  name: acme\n  tags: [a, b\nbackend: {}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    (problem,) = info.value.problems
    assert problem.startswith("line 4, column 8: YAML syntax error")
    assert info.value.source == str(path.resolve())


def test_unknown_key_did_you_mean_with_line(tmp_path: Path) -> None:
    text = """\
    lake:
      name: acme
    buckets:
      lake:
        zonez: [raw]
    """
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    assert info.value.problems == [
        "buckets.lake.zonez (line 5): unknown key 'zonez'; did you mean 'zones'? "
        "(allowed keys: name, zones, guardrails, tags, lifecycle)"
    ]


def test_unknown_column_in_partition_with_line(tmp_path: Path) -> None:
    text = """\
    lake: {name: acme}
    datasets:
      open_payments:
        domain: healthcare
        source: cms
        owner: payments-team@example.com
        columns:
          - {name: a, type: string}
          - {name: b, type: int}
        partition_by:
          - yeer
    """
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    assert info.value.problems == [
        "datasets.open_payments.partition_by[0] (line 11): unknown column 'yeer' (declared "
        "columns: a, b; time partitions: ingest_date, year, month, day, hour); "
        "did you mean 'year'?"
    ]


def test_missing_key_uses_closest_ancestor_line(tmp_path: Path) -> None:
    text = """\
    datasets:

      sales:
        domain: retail
        source: pos
    """
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    assert info.value.problems == [
        "datasets.sales.owner (line 3): required key 'owner' is missing: add `owner: <value>` "
        "under datasets.sales"
    ]


def test_structural_errors_become_readable(tmp_path: Path) -> None:
    text = """\
    backend: {type: gcs}
    guardrails:
      versioning: maybe
      encryption: {type: SSE-KSM}
    buckets:
      lake: [raw]
    """
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    problems = sorted(info.value.problems)
    assert len(problems) == 4
    assert problems[0].startswith("backend.type (line 1): unknown backend type 'gcs'")
    assert problems[1].startswith("buckets.lake (line 6): expected a mapping")
    assert problems[2] == (
        "guardrails.encryption.type (line 4): 'SSE-KSM' is not allowed: use one of SSE-S3, "
        "SSE-KMS; did you mean 'SSE-KMS'?"
    )
    assert problems[3].startswith("guardrails.versioning (line 3): input should be a valid bool")


def test_key_of_the_other_backend_is_unknown() -> None:
    problems = problems_of(with_changes({"backend": {"type": "aws", "root": "./x"}}))
    assert_problem(problems, "backend.root", "unknown key 'root'")


def test_duplicate_yaml_keys_are_reported(tmp_path: Path) -> None:
    text = """\
    lake:
      name: acme
      name: other
    """
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    assert info.value.problems[0].startswith(
        "lake.name (line 3): duplicate key 'name' (first at line 2)"
    )


# --------------------------------------------------------------------------- semantic rules


SEMANTIC_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "bad physical name",
        {"buckets.lake.name": "Bad_Bucket"},
        "buckets.lake.name",
        "invalid bucket name 'Bad_Bucket'",
    ),
    (
        "derived name too long",
        {"lake.name": "a" * 30, "lake.environment": "b" * 30},
        "buckets.lake",
        "set buckets.lake.name",
    ),
    (
        "physical name reused",
        {"buckets.logs.name": "acme-dev-lake"},
        "buckets.logs.name",
        "'acme-dev-lake' is also used by bucket 'lake'",
    ),
    (
        "bad logical name",
        {"buckets.Big": {"zones": []}},
        "buckets.Big",
        "logical bucket names are lowercase",
    ),
    (
        "unknown zone",
        {"buckets.logs.zones": ["logz"]},
        "buckets.logs.zones[0]",
        "unknown zone 'logz' (zones: raw, processed, curated, analytics, archive, logs); "
        "did you mean 'logs'?",
    ),
    (
        "zone twice in a bucket",
        {"buckets.logs.zones": ["logs", "logs"]},
        "buckets.logs.zones[1]",
        "listed twice",
    ),
    (
        "zone in two buckets",
        {"buckets.logs.zones": ["logs", "raw"]},
        "buckets.logs.zones[1]",
        "zone 'raw' is already in bucket 'lake'",
    ),
    (
        "dataset bucket unknown",
        {"datasets.open_payments.bucket": "lakee"},
        "datasets.open_payments.bucket",
        "unknown bucket 'lakee' (declared: lake, logs); did you mean 'lake'?",
    ),
    (
        "dataset bucket lacks zone",
        {"datasets.open_payments.bucket": "logs"},
        "datasets.open_payments.zone",
        "bucket 'logs' holds no zone 'raw'",
    ),
    (
        "no bucket holds zone",
        {"buckets.lake.zones": ["processed"]},
        "datasets.open_payments.zone",
        "no bucket holds zone 'raw'",
    ),
    (
        "dataset zone unknown",
        {"datasets.open_payments.zone": "rwa"},
        "datasets.open_payments.zone",
        "did you mean 'raw'?",
    ),
    (
        "partition not identifier",
        {"datasets.open_payments.partition_by": ["a-b"]},
        "datasets.open_payments.partition_by[0]",
        "is not an identifier",
    ),
    (
        "partition twice",
        {"datasets.open_payments.partition_by": ["year", "year"]},
        "datasets.open_payments.partition_by[1]",
        "duplicate partition 'year'",
    ),
    (
        "unknown partition column",
        {"datasets.open_payments.partition_by": ["c"]},
        "datasets.open_payments.partition_by[0]",
        "unknown column 'c' (declared columns: a, b; "
        "time partitions: ingest_date, year, month, day, hour)",
    ),
    (
        "duplicate column",
        {"datasets.open_payments.columns": [{"name": "a"}, {"name": "A"}]},
        "datasets.open_payments.columns[1].name",
        "duplicate column 'A'",
    ),
    (
        "bad column type",
        {"datasets.open_payments.columns": [{"name": "a", "type": "strin"}]},
        "datasets.open_payments.columns[0].type",
        "did you mean 'string'?",
    ),
    (
        "decimal out of range",
        {"datasets.open_payments.columns": [{"name": "a", "type": "decimal(39,2)"}]},
        "datasets.open_payments.columns[0].type",
        "out of range",
    ),
    (
        "timestamp field undeclared",
        {"datasets.open_payments.timestamp_field": "ts"},
        "datasets.open_payments.timestamp_field",
        "unknown column 'ts' (declared columns: a, b)",
    ),
    (
        "bad dataset name",
        {"datasets.OpenPayments": BASE["datasets"]["open_payments"]},
        "datasets.OpenPayments",
        "dataset names are lowercase",
    ),
    (
        "domain with slash",
        {"datasets.open_payments.domain": "health/care"},
        "datasets.open_payments.domain",
        "key segment",
    ),
    (
        "empty owner",
        {"datasets.open_payments.owner": "  "},
        "datasets.open_payments.owner",
        "who answers for the data",
    ),
    (
        "restricted without kms",
        {"datasets.open_payments.classification": "restricted"},
        "datasets.open_payments.classification",
        "dataset 'open_payments' is restricted, so its bucket 'lake' must encrypt with SSE-KMS "
        "(it uses SSE-S3): set buckets.lake.guardrails.encryption.type: SSE-KMS",
    ),
    (
        "too many dataset tags",
        {"datasets.open_payments.tags": {f"k{i}": "v" for i in range(6)}},
        "datasets.open_payments.tags",
        "6 tags; at most 5 are allowed",
    ),
    (
        "reserved dataset tag",
        {"datasets.open_payments.tags": {"owner": "x"}},
        "datasets.open_payments.tags.owner",
        "is reserved",
    ),
    (
        "tag key too long",
        {"datasets.open_payments.tags": {"k" * 129: "v"}},
        f"datasets.open_payments.tags.{'k' * 129}",
        "1-128 characters",
    ),
    (
        "tag value too long",
        {"datasets.open_payments.tags": {"k": "v" * 257}},
        "datasets.open_payments.tags.k",
        "at most 256 characters",
    ),
    ("reserved lake tag", {"lake.tags": {"ManagedBy": "me"}}, "lake.tags.ManagedBy", "is reserved"),
    (
        "aws tag prefix",
        {"buckets.lake.tags": {"aws:x": "y"}},
        "buckets.lake.tags.aws:x",
        "reserved by AWS",
    ),
    (
        "object lock without versioning",
        {"guardrails.versioning": False, "guardrails.object_lock": {"enabled": True}},
        "guardrails.object_lock.enabled",
        "object lock needs versioning",
    ),
    (
        "object lock days and years",
        {"guardrails.object_lock": {"days": 1, "years": 1}},
        "guardrails.object_lock.years",
        "not both",
    ),
    (
        "object lock days not positive",
        {"guardrails.object_lock": {"days": 0}},
        "guardrails.object_lock.days",
        "positive",
    ),
    (
        "object lock years not positive",
        {"guardrails.object_lock": {"years": -1}},
        "guardrails.object_lock.years",
        "positive",
    ),
    (
        "bucket override disables versioning",
        {
            "guardrails.object_lock": {"enabled": True},
            "buckets.lake.guardrails": {"versioning": False},
        },
        "buckets.lake.guardrails.object_lock.enabled",
        "object lock needs versioning",
    ),
    (
        "kms key with SSE-S3",
        {"guardrails.encryption": {"kms_key_id": "alias/x"}},
        "guardrails.encryption.kms_key_id",
        "only used with SSE-KMS",
    ),
    (
        "access log target unknown",
        {"guardrails.access_logging": {"enabled": True, "target_bucket": "log"}},
        "guardrails.access_logging.target_bucket",
        "unknown bucket 'log'",
    ),
    (
        "access log into itself",
        {"guardrails.access_logging": {"enabled": True}},
        "buckets.logs.guardrails.access_logging.target_bucket",
        "into itself",
    ),
    (
        "aws without region",
        {"backend": {"type": "aws"}},
        "backend.region",
        "the aws backend needs a region",
    ),
]

LIFECYCLE_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "unknown storage class",
        {"transitions": [{"days": 30, "storage_class": "GLACEIR"}]},
        "transitions[0].storage_class",
        "did you mean 'GLACIER'?",
    ),
    (
        "IA before 30 days",
        {"transitions": [{"days": 29, "storage_class": "STANDARD_IA"}]},
        "transitions[0].days",
        "STANDARD_IA needs days >= 30",
    ),
    (
        "one-zone IA before 30 days",
        {"noncurrent_transitions": [{"days": 7, "storage_class": "ONEZONE_IA"}]},
        "noncurrent_transitions[0].days",
        "ONEZONE_IA needs days >= 30",
    ),
    (
        "days not increasing",
        {
            "transitions": [
                {"days": 90, "storage_class": "GLACIER_IR"},
                {"days": 60, "storage_class": "GLACIER"},
            ]
        },
        "transitions[1].days",
        "increasing days",
    ),
    (
        "back to a warmer class",
        {
            "transitions": [
                {"days": 60, "storage_class": "GLACIER"},
                {"days": 90, "storage_class": "STANDARD_IA"},
            ]
        },
        "transitions[1].storage_class",
        "cannot go back from GLACIER to the warmer STANDARD_IA",
    ),
    (
        "same class twice",
        {
            "transitions": [
                {"days": 60, "storage_class": "GLACIER"},
                {"days": 90, "storage_class": "GLACIER"},
            ]
        },
        "transitions[1].storage_class",
        "already moves objects to GLACIER",
    ),
    (
        "expiration before transition",
        {"transitions": [{"days": 90, "storage_class": "GLACIER"}], "expiration_days": 90},
        "expiration_days",
        "greater than every transition's days",
    ),
    (
        "noncurrent expiration before transition",
        {
            "noncurrent_transitions": [{"days": 30, "storage_class": "GLACIER"}],
            "noncurrent_expiration_days": 10,
        },
        "noncurrent_expiration_days",
        "greater than every transition's days",
    ),
    (
        "newer noncurrent versions out of range",
        {"noncurrent_expiration_days": 10, "noncurrent_newer_versions": 101},
        "noncurrent_newer_versions",
        "S3 keeps 1 to 100 versions (got 101)",
    ),
    (
        "newer noncurrent versions without days",
        {"expiration_days": 10, "noncurrent_newer_versions": 3},
        "noncurrent_newer_versions",
        "set noncurrent_expiration_days too",
    ),
    ("no action", {"transitions": []}, "", "the rule does nothing"),
    ("prefix and zone", {"prefix": "raw/"}, "zone", "prefix or zone, not both"),
    (
        "zone not in bucket",
        {"zone": "logs"},
        "zone",
        "zone 'logs' is not one of this bucket's zones",
    ),
    ("id too long", {"id": "x" * 256}, "id", "1-255 characters"),
    (
        "abort days",
        {"abort_incomplete_multipart_days": 0},
        "abort_incomplete_multipart_days",
        "1 or more days",
    ),
    (
        "size filter empty",
        {"object_size_greater_than": 10, "object_size_less_than": 5},
        "object_size_less_than",
        "matches nothing",
    ),
]


@pytest.mark.parametrize(
    ("changes", "path", "fragment"),
    [pytest.param(c, p, f, id=name) for name, c, p, f in SEMANTIC_CASES],
)
def test_semantic_rule(changes: dict[str, Any], path: str, fragment: str) -> None:
    assert_problem(problems_of(with_changes(changes)), path, fragment)


@pytest.mark.parametrize(
    ("rule_changes", "path", "fragment"),
    [pytest.param(c, p, f, id=name) for name, c, p, f in LIFECYCLE_CASES],
)
def test_lifecycle_rule(rule_changes: dict[str, Any], path: str, fragment: str) -> None:
    transitions = [{"days": 30, "storage_class": "STANDARD_IA"}]
    rule: dict[str, Any] = {"id": "raw-rule", "zone": "raw", "transitions": transitions}
    rule |= rule_changes
    data = with_changes({"buckets.lake.lifecycle": [rule]})
    full_path = "buckets.lake.lifecycle[0]" + (f".{path}" if path else "")
    assert_problem(problems_of(data), full_path, fragment)


def test_duplicate_lifecycle_ids() -> None:
    rule = {"id": "same", "expiration_days": 10}
    problems = problems_of(with_changes({"buckets.lake.lifecycle": [rule, rule]}))
    assert_problem(problems, "buckets.lake.lifecycle[1].id", "duplicate rule id 'same'")


def test_valid_variants_pass() -> None:
    data = with_changes(
        {
            "guardrails.access_logging": {"enabled": True},
            "guardrails.object_lock": {"enabled": True, "mode": "COMPLIANCE", "years": 7},
            "buckets.logs.guardrails": {"access_logging": {"enabled": False}},
            "buckets.lake.guardrails": {"encryption": {"type": "SSE-KMS"}},
            "buckets.lake.lifecycle": [
                {
                    "id": "tiering",
                    "prefix": "processed/",
                    "transitions": [
                        {"days": 0, "storage_class": "INTELLIGENT_TIERING"},
                        {"days": 120, "storage_class": "GLACIER_IR"},
                        {"days": 365, "storage_class": "DEEP_ARCHIVE"},
                    ],
                    "expiration_days": 3650,
                    "noncurrent_expiration_days": 30,
                }
            ],
            "datasets.open_payments.classification": "restricted",
            "datasets.open_payments.partition_by": ["a", "ingest_date", "year"],
            "datasets.open_payments.timestamp_field": "b",
            "datasets.open_payments.tags": {"Project-Code": 42, "Sensitive": True},
        }
    )
    config = config_from_dict(data)
    assert check_config(config) == []
    assert config.dataset("open_payments").tags == {"Project-Code": "42", "Sensitive": "true"}
    lake = config.effective_guardrails("lake")
    assert (lake.encryption.type, lake.object_lock.years, lake.versioning) == ("SSE-KMS", 7, True)
    assert config.effective_guardrails("logs").encryption.type == "SSE-S3"


def test_every_problem_is_listed() -> None:
    data = with_changes(
        {
            "buckets.logs.zones": ["logs", "raw"],
            "datasets.open_payments.partition_by": ["yeer"],
            "datasets.open_payments.classification": "restricted",
            "guardrails.object_lock": {"days": 1, "years": 1},
            "backend": {"type": "aws"},
        }
    )
    problems = problems_of(data)
    for path in (
        "buckets.logs.zones[1]",
        "datasets.open_payments.partition_by[0]",
        "datasets.open_payments.classification",
        "guardrails.object_lock.years",
        "backend.region",
    ):
        assert any(p.startswith(f"{path}: ") for p in problems), path
    assert len(problems) == 5


def test_problems_in_a_file_carry_lines(tmp_path: Path) -> None:
    text = yaml.safe_dump(with_changes({"buckets.logs.zones": ["logs", "raw"]}), sort_keys=False)
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    (problem,) = info.value.problems
    line = len(text.splitlines()) - text.splitlines()[::-1].index("    - raw")
    assert problem.startswith(f"buckets.logs.zones[1] (line {line}): zone 'raw' is already in")


# --------------------------------------------------------------------------- helpers


def test_lookups() -> None:
    config = config_from_dict(
        with_changes({"lake.team": "data-platform", "lake.tags": {"CostCenter": 42}})
    )
    assert config.physical_bucket("lake") == "acme-dev-lake"
    assert config.resolve_bucket("lake") == "acme-dev-lake"
    assert config.resolve_bucket("some-physical-bucket") == "some-physical-bucket"
    assert config.bucket_for_zone("processed") == "lake"
    assert config.bucket_for_zone("nowhere") is None
    assert config.dataset_bucket("open_payments") == "lake"
    assert config.resource_tags() == {
        "Project": "acme",
        "Environment": "dev",
        "Team": "data-platform",
        "ManagedBy": "lakeward",
        "CostCenter": "42",
    }
    assert config.dataset_tags("open_payments") == {
        "Owner": "payments-team@example.com",
        "Classification": "internal",
        "Domain": "healthcare",
        "Dataset": "open_payments",
    }


def test_unknown_dataset_suggests() -> None:
    config = config_from_dict(BASE)
    with pytest.raises(ConfigError, match="did you mean 'open_payments'"):
        config.dataset("open_payment")
    with pytest.raises(ConfigError, match="unknown bucket 'lakes'"):
        config.physical_bucket("lakes")


def test_physical_name_override() -> None:
    config = config_from_dict(with_changes({"buckets.lake.name": "my-own-bucket"}))
    assert config.resolve_bucket("lake") == "my-own-bucket"


def test_aws_store_options() -> None:
    backend = {"type": "aws", "region": "us-east-1", "profile": "p"}
    backend |= {"endpoint_url": "http://localhost:4566"}
    config = config_from_dict(with_changes({"backend": backend}))
    assert config.backend.store_uri() == "s3://"
    assert config.backend.store_options() == {
        "region": "us-east-1",
        "profile": "p",
        "endpoint_url": "http://localhost:4566",
    }
    problems = problems_of(with_changes({"backend": {"type": "aws", "endpoint_url": "ftp://x"}}))
    assert_problem(problems, "backend.endpoint_url", "not an http(s) URL")


def test_default_model_is_valid() -> None:
    assert check_config(LakeConfig()) == []


def test_local_root_is_the_local_backends_root_and_none_on_aws(tmp_path: Path) -> None:
    local = load_config(environ={}, overrides={"backend.root": str(tmp_path / "lake")})
    assert local.local_root == (tmp_path / "lake").resolve()
    aws = config_from_dict({"backend": {"type": "aws", "region": "us-east-1"}})
    assert aws.local_root is None
