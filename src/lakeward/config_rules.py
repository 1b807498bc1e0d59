"""Rules that look inside one section of ``lakeward.yaml``: tags, lifecycle, datasets.

The loader in :mod:`lakeward.config` runs them after the models in
:mod:`lakeward.config_models` validate, together with the rules that cross sections.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence

from lakeward.config_models import (
    BUDGET_SCOPES,
    EVENT_NAMES,
    ROLE_PERMISSIONS,
    TIME_PARTITIONS,
    BucketConfig,
    Column,
    DatasetConfig,
    LakeConfig,
    LifecycleRule,
    Problem,
    RoleAccess,
    Route,
    Transition,
    suggest,
)
from lakeward.governance._lifecycle_validate import transition_step_problems

_BUCKET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

# ----------------------------------------------------------------- rules within one section


_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
STORAGE_CLASS_RANK = {
    "STANDARD_IA": 1,
    "ONEZONE_IA": 1,
    "INTELLIGENT_TIERING": 1,
    "GLACIER_IR": 2,
    "GLACIER": 3,
    "DEEP_ARCHIVE": 4,
}
DATASET_TAG_KEYS = ("Owner", "Classification", "Domain", "Dataset", "PII")
MAX_DATASET_TAGS = 10 - len(DATASET_TAG_KEYS)
_SIMPLE_TYPES = (
    "string", "varchar", "char", "tinyint", "smallint", "int", "integer", "bigint", "float",
    "double", "boolean", "date", "timestamp", "binary", "decimal",
)  # fmt: skip
_DECIMAL_RE = re.compile(r"^decimal\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$")
_SIZED_RE = re.compile(r"^(?:var)?char\(\s*[1-9]\d*\s*\)$")
_COMPLEX_RE = re.compile(r"^(?:array|map|struct)<.+>$")


def tag_problems(
    tags: Mapping[str, str],
    path: str,
    *,
    reserved: Sequence[str],
    limit: int | None = None,
    why: str = "",
) -> Iterator[Problem]:
    """Check user tags: count, key/value lengths, reserved and ``aws:`` keys.

    Args:
        tags: The tags as declared.
        path: Their yaml path, e.g. ``datasets.x.tags``.
        reserved: Keys lakeward sets itself (compared case-insensitively).
        limit: The most tags allowed, if limited.
        why: Explains the limit in the message.

    Yields:
        One problem per broken rule.
    """
    if limit is not None and len(tags) > limit:
        yield Problem(path, f"{len(tags)} tags; at most {limit} are allowed{why}")
    taken = {key.lower() for key in reserved}
    for key, value in tags.items():
        step = f"{path}.{key}"
        if not key or len(key) > 128:
            yield Problem(step, f"tag keys must be 1-128 characters (this one has {len(key)})")
        if len(value) > 256:
            yield Problem(
                step, f"tag values may have at most 256 characters (this one has {len(value)})"
            )
        if key.lower() in taken:
            yield Problem(
                step, f"tag key {key!r} is reserved: lakeward sets {', '.join(reserved)} itself"
            )
        if key.lower().startswith("aws:"):
            yield Problem(step, "tag keys starting with 'aws:' are reserved by AWS")


_ACTIONS = (
    "transitions",
    "expiration_days",
    "noncurrent_transitions",
    "noncurrent_expiration_days",
    "abort_incomplete_multipart_days",
)


def lifecycle_problems(bucket_path: str, bucket: BucketConfig) -> Iterator[Problem]:
    """Check a bucket's lifecycle rules: ids, filters, actions, transitions.

    Args:
        bucket_path: The bucket's yaml path, e.g. ``buckets.lake``.
        bucket: The bucket.

    Yields:
        One problem per broken rule.
    """
    first: dict[str, int] = {}
    for index, rule in enumerate(bucket.lifecycle):
        path = f"{bucket_path}.lifecycle[{index}]"
        if not rule.id or len(rule.id) > 255:
            yield Problem(
                f"{path}.id", f"rule ids are 1-255 characters (this one has {len(rule.id)})"
            )
        elif rule.id in first:
            yield Problem(
                f"{path}.id",
                f"duplicate rule id {rule.id!r} (also lifecycle[{first[rule.id]}]): "
                "ids must be unique within a bucket",
            )
        first.setdefault(rule.id, index)
        yield from _rule_filter_problems(rule, path, bucket.zones)
        yield from _rule_action_problems(rule, path)


def _rule_filter_problems(rule: LifecycleRule, path: str, zones: list[str]) -> Iterator[Problem]:
    if rule.prefix is not None and rule.zone is not None:
        yield Problem(
            f"{path}.zone",
            f"set prefix or zone, not both (zone {rule.zone!r} means prefix '{rule.zone}/')",
        )
    if rule.zone is not None and rule.zone not in zones:
        yield Problem(
            f"{path}.zone",
            f"zone {rule.zone!r} is not one of this bucket's zones "
            f"({', '.join(zones) or 'none'}){suggest(rule.zone, zones)}",
        )
    low, high = rule.object_size_greater_than, rule.object_size_less_than
    for key, value in (("object_size_greater_than", low), ("object_size_less_than", high)):
        if value is not None and value < 0:
            yield Problem(f"{path}.{key}", f"must be 0 or more bytes (got {value})")
    if low is not None and high is not None and high <= low:
        yield Problem(
            f"{path}.object_size_less_than",
            f"must be greater than object_size_greater_than ({low}), or the rule matches nothing",
        )


def _rule_action_problems(rule: LifecycleRule, path: str) -> Iterator[Problem]:
    if all(getattr(rule, action) in (None, []) for action in _ACTIONS):
        yield Problem(path, f"the rule does nothing: add at least one of {', '.join(_ACTIONS)}")
    for key in ("expiration_days", "noncurrent_expiration_days", "abort_incomplete_multipart_days"):
        value = getattr(rule, key)
        if value is not None and value < 1:
            yield Problem(f"{path}.{key}", f"must be 1 or more days (got {value})")
    yield from _newer_versions_problems(rule, path)
    yield from _transition_problems(
        rule.transitions, f"{path}.transitions", rule.expiration_days, f"{path}.expiration_days"
    )
    yield from _transition_problems(
        rule.noncurrent_transitions,
        f"{path}.noncurrent_transitions",
        rule.noncurrent_expiration_days,
        f"{path}.noncurrent_expiration_days",
    )


def _newer_versions_problems(rule: LifecycleRule, path: str) -> Iterator[Problem]:
    kept = rule.noncurrent_newer_versions
    if kept is None:
        return
    if not 1 <= kept <= 100:
        yield Problem(
            f"{path}.noncurrent_newer_versions", f"S3 keeps 1 to 100 versions (got {kept})"
        )
    if rule.noncurrent_expiration_days is None:
        yield Problem(
            f"{path}.noncurrent_newer_versions",
            "set noncurrent_expiration_days too: S3 deletes the versions beyond these once "
            "they have been noncurrent that many days",
        )


def _transition_problems(
    transitions: list[Transition], path: str, expiration: int | None, expiration_path: str
) -> Iterator[Problem]:
    # One implementation of S3's rules for yaml and S3 shapes: lakeward.governance.lifecycle.
    steps = [(transition.days, transition.storage_class) for transition in transitions]
    for problem in transition_step_problems(steps, expiration):
        if problem.index is None:
            yield Problem(expiration_path, problem.message)
        else:
            yield Problem(f"{path}[{problem.index}].{problem.field}", problem.message)


def _dataset_text_problems(dataset: DatasetConfig, path: str) -> Iterator[Problem]:
    if not dataset.owner:
        yield Problem(f"{path}.owner", "name who answers for the data (a team or an e-mail)")
    for key, value in (("domain", dataset.domain), ("source", dataset.source)):
        if not _SEGMENT_RE.fullmatch(value) or value in (".", ".."):
            yield Problem(
                f"{path}.{key}",
                f"{value!r} must be letters, digits, '_', '-' or '.' "
                "(it becomes a key segment: raw/<domain>/<source>/...)",
            )


def _column_problems(columns: list[Column], path: str) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for index, column in enumerate(columns):
        step = f"{path}.columns[{index}]"
        if not _IDENT_RE.fullmatch(column.name):
            yield Problem(
                f"{step}.name", f"{column.name!r} is not an identifier ([A-Za-z_][A-Za-z0-9_]*)"
            )
        key = column.name.lower()
        if key in first:
            yield Problem(
                f"{step}.name",
                f"duplicate column {column.name!r} (also columns[{first[key]}]; names are "
                "case-insensitive in Athena): remove or rename one",
            )
        first.setdefault(key, index)
        problem = _type_problem(column.type)
        if problem:
            yield Problem(f"{step}.type", problem)


def _type_problem(text: str) -> str | None:
    kind = text.strip().lower()
    if kind in _SIMPLE_TYPES or _SIZED_RE.fullmatch(kind) or _COMPLEX_RE.fullmatch(kind):
        return None
    match = _DECIMAL_RE.fullmatch(kind)
    if match:
        precision, scale = int(match[1]), int(match[2] or 0)
        if 1 <= precision <= 38 and scale <= precision:
            return None
        return f"{text!r} is out of range: decimal(p,s) needs p in 1-38 and s <= p"
    return (
        f"unknown column type {text!r} (use string, int, bigint, double, decimal(p,s), boolean, "
        f"date, timestamp, ...){suggest(kind, _SIMPLE_TYPES)}"
    )


def _unknown_column(name: str, declared: list[str], *, partitions: bool) -> str:
    options = [*declared, *TIME_PARTITIONS] if partitions else declared
    time = f"; time partitions: {', '.join(TIME_PARTITIONS)}" if partitions else ""
    listed = ", ".join(declared)
    return f"unknown column {name!r} (declared columns: {listed}{time}){suggest(name, options)}"


def _partition_problems(dataset: DatasetConfig, path: str) -> Iterator[Problem]:
    declared = dataset.column_names
    first: dict[str, int] = {}
    for index, part in enumerate(dataset.partition_by):
        step = f"{path}.partition_by[{index}]"
        if not _IDENT_RE.fullmatch(part):
            yield Problem(
                step,
                f"{part!r} is not an identifier ([A-Za-z_][A-Za-z0-9_]*), as partitions must be",
            )
        elif part in first:
            yield Problem(step, f"duplicate partition {part!r} (also partition_by[{first[part]}])")
        elif declared and part not in declared and part not in TIME_PARTITIONS:
            yield Problem(step, _unknown_column(part, declared, partitions=True))
        first.setdefault(part, index)


def _prefix_problems(dataset: DatasetConfig, path: str) -> Iterator[Problem]:
    if dataset.prefix is None:
        return
    prefix = dataset.prefix.strip("/")
    parts = prefix.split("/")
    if any(part in ("", ".", "..") for part in parts):
        yield Problem(
            f"{path}.prefix", f"prefix {dataset.prefix!r} has an empty, '.' or '..' segment"
        )
    elif parts[0] != dataset.zone:
        yield Problem(
            f"{path}.prefix",
            f"prefix {dataset.prefix!r} must start with the dataset's zone "
            f"({dataset.zone!r}), e.g. {dataset.zone}/{prefix}",
        )


def _timestamp_problems(dataset: DatasetConfig, path: str) -> Iterator[Problem]:
    name = dataset.timestamp_field
    if name is None:
        return
    declared = dataset.column_names
    if not _IDENT_RE.fullmatch(name):
        yield Problem(f"{path}.timestamp_field", f"{name!r} is not an identifier")
    elif declared and name not in declared:
        yield Problem(f"{path}.timestamp_field", _unknown_column(name, declared, partitions=False))


def dataset_problems(dataset: DatasetConfig, path: str) -> Iterator[Problem]:
    """Check one dataset on its own: names, columns, partitions, timestamp field, tags.

    Args:
        dataset: The dataset.
        path: Its yaml path, e.g. ``datasets.open_payments``.

    Yields:
        One problem per broken rule.
    """
    yield from _dataset_text_problems(dataset, path)
    yield from _column_problems(dataset.columns, path)
    yield from _partition_problems(dataset, path)
    yield from _prefix_problems(dataset, path)
    yield from _timestamp_problems(dataset, path)
    yield from tag_problems(
        dataset.tags,
        f"{path}.tags",
        reserved=DATASET_TAG_KEYS,
        limit=MAX_DATASET_TAGS,
        why=f" (lakeward adds {', '.join(DATASET_TAG_KEYS)}; S3 allows 10 per object)",
    )


# ----------------------------------------------------------------- event routes

_ROUTE_OPTIONS: dict[str, dict[str, type]] = {
    "copy": {
        "destination_bucket": str,
        "destination_prefix": str,
        "log_table": str,
        "strip_prefix": bool,
    },
    "to_parquet": {
        "dataset": str,
        "anonymize": dict,
        "salt_env": str,
        "output_prefix": str,
        "error_prefix": str,
        "engine": str,
    },
    "catalog": {
        "dataset": str,
        "table": str,
        "location_prefix": str,
        "format": str,
        "partition_keys": list,
    },
}
_REQUIRED_OPTIONS = {
    "copy": ("destination_bucket",),
    "to_parquet": ("dataset",),
    "catalog": ("dataset",),
}


def route_problems(config: LakeConfig) -> Iterator[Problem]:
    """Check every route: events, bucket, handler options, and copies that would loop."""
    for name, route in config.routes.items():
        path = f"routes.{name}"
        for index, event in enumerate(route.events):
            if event not in EVENT_NAMES:
                yield Problem(
                    f"{path}.events[{index}]",
                    f"unknown event {event!r} (known: {', '.join(EVENT_NAMES)}){suggest(event, EVENT_NAMES)}",
                )
        if route.backoff_max_s < route.backoff_base_s:
            yield Problem(f"{path}.backoff_max_s", "must be at least backoff_base_s")
        yield from _bucket_reference(config, route.bucket, f"{path}.bucket")
        yield from _option_problems(config, name, route)


def _engine_problems(engine: object, path: str) -> Iterator[Problem]:
    from lakeward.events.convert import ENGINES

    if isinstance(engine, str) and engine not in ENGINES:
        yield Problem(
            path,
            f"unknown engine {engine!r} (allowed: {', '.join(ENGINES)}){suggest(engine, ENGINES)}",
        )


def _bucket_reference(config: LakeConfig, name: str, path: str) -> Iterator[Problem]:
    if name in config.buckets:
        return
    if _BUCKET_NAME_RE.fullmatch(name):
        return  # a physical bucket outside this lake (e.g. a public landing bucket)
    yield Problem(
        path,
        f"{name!r} is neither a bucket of this lake{suggest(name, config.buckets)} nor a valid bucket name",
    )


def _option_problems(config: LakeConfig, name: str, route: Route) -> Iterator[Problem]:
    path = f"routes.{name}.options"
    allowed = _ROUTE_OPTIONS[route.handler]
    for key, value in route.options.items():
        if key not in allowed:
            yield Problem(
                f"{path}.{key}",
                f"unknown option for the {route.handler} handler (allowed: {', '.join(allowed)}){suggest(key, allowed)}",
            )
        elif not isinstance(value, allowed[key]):
            yield Problem(
                f"{path}.{key}",
                f"must be a {allowed[key].__name__ if isinstance(allowed[key], type) else allowed[key]}",
            )
    for key in _REQUIRED_OPTIONS[route.handler]:
        if key not in route.options:
            yield Problem(path, f"the {route.handler} handler needs options.{key}")
    if route.handler == "copy" and isinstance(route.options.get("destination_bucket"), str):
        yield from _copy_problems(config, name, route)
    dataset = route.options.get("dataset")
    if isinstance(dataset, str) and dataset not in config.datasets:
        yield Problem(
            f"{path}.dataset", f"unknown dataset {dataset!r}{suggest(dataset, config.datasets)}"
        )
    if route.handler == "to_parquet":
        yield from _engine_problems(route.options.get("engine"), f"{path}.engine")
    if route.handler == "to_parquet" and isinstance(dataset, str) and dataset in config.datasets:
        fmt = config.datasets[dataset].format
        if fmt not in ("json", "ndjson", "csv"):
            yield Problem(
                f"{path}.dataset",
                f"to_parquet converts json, ndjson or csv; dataset {dataset!r} is {fmt}",
            )


def _copy_problems(config: LakeConfig, name: str, route: Route) -> Iterator[Problem]:
    path = f"routes.{name}.options"
    destination = route.options["destination_bucket"]
    yield from _bucket_reference(config, destination, f"{path}.destination_bucket")
    table = route.options.get("log_table", "copy_log")
    if isinstance(table, str) and not _IDENT_RE.fullmatch(table):
        yield Problem(f"{path}.log_table", f"{table!r} must be an identifier, e.g. copy_log")
    same_bucket = config.resolve_bucket(destination) == config.resolve_bucket(route.bucket)
    prefix = route.options.get("destination_prefix", "")
    if same_bucket and isinstance(prefix, str) and prefix.startswith(route.prefix):
        yield Problem(
            f"{path}.destination_prefix",
            f"copies into {prefix!r} of the same bucket, which this route watches ({route.prefix!r}): "
            "every copy would trigger another copy; choose a destination outside the route's prefix",
        )


# ----------------------------------------------------------------- budgets


def budget_problems(config: LakeConfig) -> Iterator[Problem]:
    """Check every budget: its scope names something declared, its alerts are percentages."""
    for name, budget in config.budgets.items():
        path = f"budgets.{name}"
        kind, target = budget.scope_parts
        yield from _budget_scope_problems(config, kind, target, f"{path}.scope")
        for index, threshold in enumerate(budget.alerts):
            if not 0 < threshold <= 1000:
                yield Problem(
                    f"{path}.alerts[{index}]",
                    f"{threshold:g} is not a percentage of the budget: use a number above 0, at most 1000 (e.g. 80)",
                )
        if len(set(budget.alerts)) != len(budget.alerts):
            yield Problem(f"{path}.alerts", "lists a threshold twice")


def _budget_scope_problems(
    config: LakeConfig, kind: str, target: str | None, path: str
) -> Iterator[Problem]:
    if kind not in BUDGET_SCOPES:
        yield Problem(
            path,
            f"unknown scope {kind!r}: write lake, bucket:<name>, zone:<zone> or "
            f"workgroup:<name>{suggest(kind, BUDGET_SCOPES)}",
        )
        return
    if kind == "lake":
        if target is not None:
            yield Problem(path, "the lake scope takes no name: write just 'lake'")
        return
    known = {
        "bucket": list(config.buckets),
        "zone": sorted({zone for bucket in config.buckets.values() for zone in bucket.zones}),
        "workgroup": list(config.workgroups),
    }[kind]
    if not target:
        yield Problem(path, f"name the {kind}: write {kind}:<name> (declared: {', '.join(known)})")
    elif target not in known:
        yield Problem(
            path,
            f"unknown {kind} {target!r} (declared: {', '.join(known) or 'none'})"
            f"{suggest(target, known)}",
        )


# ----------------------------------------------------------------- IAM roles

_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
_SID_RE = re.compile(r"^[A-Za-z0-9]*$")
_ACTION_RE = re.compile(r"^(\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$")
_STATEMENT_KEYS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition")


def role_problems(config: LakeConfig) -> Iterator[Problem]:
    """Check every role: its IAM name, its access entries and its extra statements."""
    seen: dict[str, str] = {}
    for name in config.roles:
        path = f"roles.{name}"
        physical = config.physical_role(name)
        if not _ROLE_NAME_RE.fullmatch(physical):
            yield Problem(
                path,
                f"IAM role name {physical!r} must be 1-64 letters, digits or +=,.@_- "
                f"(set {path}.name to a shorter one)",
            )
        if physical in seen:
            yield Problem(
                path, f"IAM role name {physical!r} is also the name of roles.{seen[physical]}"
            )
        seen.setdefault(physical, name)
        if not config.roles[name].access and not config.roles[name].statements:
            yield Problem(path, "the role grants nothing: give it access entries or statements")
        for index, access in enumerate(config.roles[name].access):
            yield from _access_problems(config, access, f"{path}.access[{index}]")
        for index, statement in enumerate(config.roles[name].statements):
            step = f"{path}.statements[{index}]"
            found = list(_statement_problems(statement, step))
            yield from found or _evaluator_problems(statement, step)


def _access_problems(config: LakeConfig, access: RoleAccess, path: str) -> Iterator[Problem]:
    bucket = config.buckets.get(access.bucket)
    if bucket is None:
        known = ", ".join(config.buckets) or "none"
        yield Problem(
            f"{path}.bucket",
            f"unknown bucket {access.bucket!r} (declared: {known}){suggest(access.bucket, config.buckets)}",
        )
    if access.zone is not None and access.prefix is not None:
        yield Problem(f"{path}.zone", "set zone or prefix, not both")
    if access.zone is not None and bucket is not None and access.zone not in bucket.zones:
        holder = config.bucket_for_zone(access.zone)
        where = (
            f"; it is a zone of bucket {holder!r}" if holder else suggest(access.zone, bucket.zones)
        )
        yield Problem(
            f"{path}.zone",
            f"zone {access.zone!r} is not one of bucket {access.bucket!r}'s zones "
            f"({', '.join(bucket.zones) or 'none'}){where}",
        )
    if access.prefix is not None:
        yield from _role_prefix_problems(access.prefix, f"{path}.prefix")
    if not access.permissions:
        yield Problem(f"{path}.permissions", f"grant at least one of {', '.join(ROLE_PERMISSIONS)}")
    for index, permission in enumerate(access.permissions):
        if permission not in ROLE_PERMISSIONS:
            yield Problem(
                f"{path}.permissions[{index}]",
                f"unknown permission {permission!r} (use {', '.join(ROLE_PERMISSIONS)})"
                f"{suggest(permission, ROLE_PERMISSIONS)}",
            )


def _role_prefix_problems(prefix: str, path: str) -> Iterator[Problem]:
    parts = prefix.strip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        yield Problem(path, f"prefix {prefix!r} has an empty, '.' or '..' segment")
    elif any(char in prefix for char in "*?$"):
        yield Problem(
            path,
            f"prefix {prefix!r} may not hold '*', '?' or '$' (they are IAM wildcards/variables)",
        )
    elif not prefix.endswith("/"):
        yield Problem(
            path, f"end the prefix with '/' ({prefix}/) so it grants a folder, not a name"
        )


def _statement_problems(statement: Mapping[str, object], path: str) -> Iterator[Problem]:
    for key in statement:
        if key not in _STATEMENT_KEYS:
            hint = " (a role's own policy names no Principal)" if key == "Principal" else ""
            yield Problem(
                f"{path}.{key}",
                f"unknown statement key{hint}; allowed: {', '.join(_STATEMENT_KEYS)}"
                f"{suggest(key, _STATEMENT_KEYS)}",
            )
    if statement.get("Effect") not in ("Allow", "Deny"):
        yield Problem(f"{path}.Effect", "must be Allow or Deny")
    sid = statement.get("Sid", "")
    if not isinstance(sid, str) or not _SID_RE.fullmatch(sid):
        yield Problem(f"{path}.Sid", "a Sid holds only letters and digits")
    yield from _pair_problems(statement, path, "Action", "NotAction", _action_problem)
    yield from _pair_problems(statement, path, "Resource", "NotResource", _resource_problem)
    condition = statement.get("Condition")
    if condition is not None and not (
        isinstance(condition, Mapping) and all(isinstance(v, Mapping) for v in condition.values())
    ):
        yield Problem(
            f"{path}.Condition",
            "must map operators to keys to values, e.g. {StringLike: {s3:prefix: [raw/*]}}",
        )


def _pair_problems(
    statement: Mapping[str, object],
    path: str,
    key: str,
    not_key: str,
    check: Callable[[str], str | None],
) -> Iterator[Problem]:
    present = [k for k in (key, not_key) if k in statement]
    if len(present) != 1:
        yield Problem(path, f"a statement needs exactly one of {key} and {not_key}")
        return
    value = statement[present[0]]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        yield Problem(f"{path}.{present[0]}", "must be a string or a non-empty list of strings")
        return
    for item in values:
        problem = check(item) if isinstance(item, str) else "must be a string"
        if problem:
            yield Problem(f"{path}.{present[0]}", problem)


def _action_problem(action: str) -> str | None:
    if _ACTION_RE.fullmatch(action):
        return None
    return f"{action!r} is not an action like s3:GetObject (service:Name, wildcards * and ?)"


def _resource_problem(resource: str) -> str | None:
    if resource == "*" or resource.startswith("arn:"):
        return None
    return f"{resource!r} is not an ARN like arn:aws:s3:::bucket/prefix/* (or *)"


def _evaluator_problems(statement: Mapping[str, object], path: str) -> Iterator[Problem]:
    """What the policy evaluator refuses in a statement (condition operators and values)."""
    from lakeward.errors import PolicyError
    from lakeward.governance.policy_eval import parse_policy

    try:
        document = {"Version": "2012-10-17", "Statement": [dict(statement)]}
        parse_policy(document, name=path, kind="identity")
    except PolicyError as exc:
        yield Problem(path, exc.message)
