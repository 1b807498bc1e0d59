"""Load and validate ``lakeward.yaml``.

Layers, highest first: explicit overrides (``--set KEY=VALUE``) > ``LAKEWARD_<SECTION>__<KEY>``
environment variables > the file > defaults. Validation runs in two passes: the pydantic models
of :mod:`lakeward.config_models` check the structure, then the rules below check how the parts
fit together. Every problem is collected (never just the first) as
``"<yaml.path> (line N): what is wrong and how to fix it"``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from lakeward.config_models import (
    TIME_PARTITIONS,
    AccessLogging,
    AwsBackend,
    Backend,
    BucketConfig,
    Column,
    DatasetConfig,
    Encryption,
    Guardrails,
    GuardrailsOverride,
    LakeConfig,
    LakeSection,
    LifecycleRule,
    LocalBackend,
    ObjectLock,
    Problem,
    Transition,
    suggest,
)
from lakeward.config_rules import (
    budget_problems,
    dataset_problems,
    lifecycle_problems,
    role_problems,
    route_problems,
    tag_problems,
)
from lakeward.errors import ConfigError, InvalidBucketName
from lakeward.layout import ZONES, validate_bucket_name

__all__ = [
    "TIME_PARTITIONS",
    "AccessLogging",
    "AwsBackend",
    "Backend",
    "BucketConfig",
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
    "Transition",
    "check_config",
    "config_from_dict",
    "load_config",
    "parse_overrides",
]


CONFIG_ENV = "LAKEWARD_CONFIG"
"""Environment variable naming the config file."""
ENV_PREFIX = "LAKEWARD_"
DEFAULT_FILE = "lakeward.yaml"
_DATASET_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_LOGICAL_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
RESOURCE_TAG_KEYS = ("Project", "Environment", "Team", "ManagedBy")


# --------------------------------------------------------------------------- loading


def load_config(
    path: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LakeConfig:
    """Load, layer and validate the lake configuration.

    The file is ``path``, else ``$LAKEWARD_CONFIG``, else ``./lakeward.yaml`` if it exists,
    else none (all defaults). ``LAKEWARD_<SECTION>__<KEY>[__<SUB>…]`` variables override the
    file and ``overrides`` override both. A relative ``backend.root`` resolves against the
    file's directory (against the cwd when it came from the environment or overrides).
    Variable names are lower-cased, so give mixed-case keys as a YAML value instead:
    ``LAKEWARD_LAKE__TAGS='{CostCenter: "42"}'``.

    Args:
        path: The config file (or a directory holding ``lakeward.yaml``).
        overrides: Dotted keys to values, e.g. ``{"backend.root": "/x"}``; highest priority.
        environ: The environment to read (``os.environ`` when None).

    Returns:
        The validated configuration; ``config_path`` says which file it came from.

    Raises:
        ConfigError: The file is missing or unreadable, or the configuration has problems
            (all of them are listed, each with its yaml path and line or origin).
    """
    env = os.environ if environ is None else environ
    file = _locate(path, env)
    source = str(file) if file else "lakeward configuration"
    data, sources, early = _read_file(file, source) if file else ({}, _Sources(), [])
    early += _apply_env(data, env, sources)
    early += _apply_overrides(data, overrides or {}, sources)
    from_args = any(key in sources.origins for key in ("backend", "backend.root"))
    base_dir = file.parent if file and not from_args else Path.cwd()
    config = _validate(data, base_dir=base_dir, source=source, sources=sources, early=early)
    config._config_path = file
    return config


def config_from_dict(
    data: Mapping[str, Any], *, base_dir: str | Path | None = None, source: str = "configuration"
) -> LakeConfig:
    """Validate a configuration given as a mapping (the parsed yaml), with every check.

    Args:
        data: The configuration, shaped like ``lakeward.yaml``.
        base_dir: What a relative ``backend.root`` is relative to (cwd when None).
        source: Names the configuration in error messages.

    Returns:
        The validated configuration.

    Raises:
        ConfigError: Listing every problem.
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    return _validate(dict(data), base_dir=base, source=source, sources=_Sources(), early=[])


def check_config(config: LakeConfig) -> list[str]:
    """Return every semantic problem of an already structurally valid configuration.

    Args:
        config: The configuration to check.

    Returns:
        ``"yaml.path: problem"`` strings; empty when the configuration is sound.
    """
    return [str(problem) for problem in _semantic_problems(config)]


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """Parse repeatable ``--set KEY=VALUE`` arguments into ``load_config`` overrides.

    Values are read as YAML scalars, so ``true`` is a bool and ``30`` an int.

    Args:
        items: Strings like ``"backend.root=/x"``.

    Returns:
        Dotted keys to parsed values.

    Raises:
        ConfigError: An item is not ``KEY=VALUE`` with a dotted key.

    >>> parse_overrides(["lake.environment=prod", "guardrails.versioning=false"])
    {'lake.environment': 'prod', 'guardrails.versioning': False}
    """
    parsed: dict[str, Any] = {}
    problems: list[str] = []
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not _dotted_key_ok(key):
            problems.append(
                f"--set {item!r}: write KEY=VALUE with a dotted key, e.g. backend.root=./lake"
            )
            continue
        parsed[key] = _parse_value(value.strip())
    if problems:
        raise ConfigError(problems, source="--set")
    return parsed


def _dotted_key_ok(key: str) -> bool:
    return bool(key) and all(part.strip() for part in key.split("."))


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _locate(path: str | Path | None, environ: Mapping[str, str]) -> Path | None:
    if path is not None:
        return _existing(Path(path), "")
    if environ.get(CONFIG_ENV):
        return _existing(Path(environ[CONFIG_ENV]), f" (from {CONFIG_ENV})")
    default = Path(DEFAULT_FILE)
    return default.resolve() if default.is_file() else None


def _existing(path: Path, origin: str) -> Path:
    path = path.expanduser()
    if path.is_dir():
        path = path / DEFAULT_FILE
    if not path.is_file():
        problem = (
            f"{path}{origin}: no such config file; create one with `lakeward init` "
            "or point to an existing lakeward.yaml"
        )
        raise ConfigError([problem], source=str(path))
    return path.resolve()


def _read_file(path: Path, source: str) -> tuple[dict[str, Any], _Sources, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read the config file: {exc}"], source=source) from exc
    return _parse_yaml(text, source)


def _validate(
    data: dict[str, Any], *, base_dir: Path, source: str, sources: _Sources, early: list[Problem]
) -> LakeConfig:
    try:
        config = LakeConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = [*early, *map(_pydantic_problem, exc.errors())]
        raise ConfigError([sources.render(p) for p in problems], source=source) from exc
    problems = [*early, *_semantic_problems(config)]
    if problems:
        raise ConfigError([sources.render(p) for p in problems], source=source)
    return config


# --------------------------------------------------------------------------- sources


@dataclass
class _Sources:
    """Where values came from: file lines by yaml path, and env/override origins."""

    lines: dict[str, int] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def render(self, problem: Problem) -> str:
        if not problem.path:
            return problem.message
        origin = self._origin(problem.path)
        if origin:
            return f"{problem.path} (from {origin}): {problem.message}"
        line = next((self.lines[p] for p in _ancestors(problem.path) if p in self.lines), None)
        where = f" (line {line})" if line else ""
        return f"{problem.path}{where}: {problem.message}"

    def _origin(self, path: str) -> str | None:
        for ancestor in _ancestors(path):
            if ancestor in self.origins:
                return self.origins[ancestor]
        if path in self.lines:
            return None
        below = (o for p, o in self.origins.items() if p.startswith((f"{path}.", f"{path}[")))
        return next(below, None)


def _ancestors(path: str) -> list[str]:
    out: list[str] = []
    while path:
        out.append(path)
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return out


def _parse_yaml(text: str, source: str) -> tuple[dict[str, Any], _Sources, list[Problem]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_syntax_problem(exc)], source=source) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([f"YAML syntax error: {exc}"], source=source) from exc
    if data is None:
        return {}, _Sources(), []
    if not isinstance(data, dict):
        problem = (
            f"line 1: the file must be a mapping of sections (lake, backend, guardrails, "
            f"buckets, datasets), not a {type(data).__name__}"
        )
        raise ConfigError([problem], source=source)
    sources = _Sources()
    duplicates = list(_index_node(node, "", sources.lines))
    return data, sources, duplicates


def _syntax_problem(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    what = "; ".join(part for part in (exc.context, exc.problem) if part)
    return f"{where}YAML syntax error: {what} (check the indentation and quoting there)"


def _index_node(node: yaml.Node | None, path: str, lines: dict[str, int]) -> Iterator[Problem]:
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            lines[child] = key_node.start_mark.line + 1
            if key in first:
                yield Problem(
                    child,
                    f"duplicate key {key!r} (first at line {first[key]}); YAML would silently "
                    "keep only the last one: remove or merge them",
                )
            first.setdefault(key, lines[child])
            yield from _index_node(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = f"{path}[{index}]"
            lines[child] = item.start_mark.line + 1
            yield from _index_node(item, child, lines)


def _apply_env(
    data: dict[str, Any], environ: Mapping[str, str], sources: _Sources
) -> list[Problem]:
    problems: list[Problem] = []
    for name in sorted(environ):
        rest = name[len(ENV_PREFIX) :]
        if not name.startswith(ENV_PREFIX) or "__" not in rest:
            continue
        keys = rest.lower().split("__")
        if not all(keys):
            problems.append(
                Problem(name, "not a config override: write LAKEWARD_<SECTION>__<KEY>[__<SUB>...]")
            )
            continue
        _set_path(data, keys, _parse_value(environ[name]))
        sources.origins[".".join(keys)] = name
    return problems


def _apply_overrides(
    data: dict[str, Any], overrides: Mapping[str, Any], sources: _Sources
) -> list[Problem]:
    problems: list[Problem] = []
    for key, value in overrides.items():
        if not _dotted_key_ok(key):
            problems.append(Problem(repr(key), "not a dotted config key like backend.root"))
            continue
        keys = [part.strip() for part in key.split(".")]
        _set_path(data, keys, value)
        sources.origins[".".join(keys)] = "override"
    return problems


def _set_path(data: dict[str, Any], keys: Sequence[str], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value


# --------------------------------------------------------------------------- pydantic errors


def _pydantic_problem(error: ErrorDetails) -> Problem:
    # The loc becomes a yaml path (backend tags dropped); the message says what to write.
    loc: tuple[int | str, ...] = tuple(error["loc"])
    path, _ = _walk(loc)
    if error["type"] == "union_tag_invalid":
        path += ".type"
    handler = _HANDLERS.get(error["type"], _generic_message)
    return Problem(path, handler(error, loc))


def _walk(loc: tuple[int | str, ...]) -> tuple[str, Any]:
    """Follow ``loc`` through the model annotations: (yaml path, annotation reached)."""
    annotation: Any = LakeConfig
    path = ""
    for segment in loc:
        annotation, shown = _step(_unwrap(annotation), segment)
        path += shown if path or not shown.startswith(".") else shown[1:]
    return path, _unwrap(annotation)


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
            continue
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if origin not in (Union, UnionType) or len(args) != 1:
            return annotation
        annotation = args[0]


def _step(annotation: Any, segment: int | str) -> tuple[Any, str]:
    if segment == "[key]":
        return None, ""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        info = annotation.model_fields.get(segment) if isinstance(segment, str) else None
        return (info.annotation if info else None), f".{segment}"
    origin = get_origin(annotation)
    if origin is list:
        return get_args(annotation)[0], f"[{segment}]"
    if origin is dict:
        return get_args(annotation)[1], f".{segment}"
    if origin in (Union, UnionType):
        for arg in map(_unwrap, get_args(annotation)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                type_field = arg.model_fields.get("type")
                if type_field is not None and type_field.default == segment:
                    return arg, ""
    return None, f"[{segment}]" if isinstance(segment, int) else f".{segment}"


def _show(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _missing_message(error: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    parent, _ = _walk(loc[:-1])
    where = f" under {parent}" if parent else ""
    return f"required key {str(loc[-1])!r} is missing: add `{loc[-1]!s}: <value>`{where}"


def _extra_message(error: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    _, parent = _walk(loc[:-1])
    key = str(loc[-1])
    if not (isinstance(parent, type) and issubclass(parent, BaseModel)):
        return f"unknown key {key!r}"
    allowed = list(parent.model_fields)
    return f"unknown key {key!r}{suggest(key, allowed)} (allowed keys: {', '.join(allowed)})"


def _literal_message(error: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    expected = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
    got = error["input"]
    hint = suggest(str(got), expected) if isinstance(got, str) else ""
    return f"{_show(got)} is not allowed: use one of {', '.join(expected)}{hint}"


def _tag_message(error: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    tag = str(error.get("ctx", {}).get("tag", ""))
    return f"unknown backend type {tag!r}: use one of local, aws{suggest(tag, ['local', 'aws'])}"


def _value_message(error: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    return str(error.get("ctx", {}).get("error", error["msg"]))


def _mapping_message(error: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    return f"expected a mapping (indented `key: value` lines), got {_show(error['input'])}"


def _list_message(error: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    return f"expected a list (`- item` lines or [a, b]), got {_show(error['input'])}"


def _generic_message(error: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    message = str(error["msg"])
    return f"{message[:1].lower()}{message[1:]} (got {_show(error['input'])})"


_HANDLERS: dict[str, Callable[[ErrorDetails, tuple[int | str, ...]], str]] = {
    "missing": _missing_message,
    "extra_forbidden": _extra_message,
    "literal_error": _literal_message,
    "union_tag_invalid": _tag_message,
    "value_error": _value_message,
    "model_type": _mapping_message,
    "model_attributes_type": _mapping_message,
    "dict_type": _mapping_message,
    "list_type": _list_message,
}


# --------------------------------------------------------------------------- semantic checks


def _semantic_problems(config: LakeConfig) -> list[Problem]:
    checks = (
        _check_lake,
        _check_backend,
        _check_guardrails,
        _check_buckets,
        _check_datasets,
        route_problems,
        role_problems,
        budget_problems,
    )
    return [problem for check in checks for problem in check(config)]


def _check_lake(config: LakeConfig) -> Iterator[Problem]:
    yield from tag_problems(config.lake.tags, "lake.tags", reserved=RESOURCE_TAG_KEYS)


def _check_backend(config: LakeConfig) -> Iterator[Problem]:
    backend = config.backend
    if not isinstance(backend, AwsBackend):
        return
    if not backend.region:
        yield Problem(
            "backend.region",
            "the aws backend needs a region: set backend.region (e.g. us-east-1) "
            "or LAKEWARD_BACKEND__REGION",
        )
    elif not _REGION_RE.fullmatch(backend.region):
        yield Problem(
            "backend.region", f"{backend.region!r} is not an AWS region name like us-east-1"
        )


def _check_guardrails(config: LakeConfig) -> Iterator[Problem]:
    logical = list(config.buckets)
    top = list(_guardrail_problems(config.guardrails, logical))
    yield from (Problem(f"guardrails.{p.path}", p.message) for p in top)
    for name in config.buckets:
        effective = config.effective_guardrails(name)
        prefix = f"buckets.{name}.guardrails."
        for problem in _guardrail_problems(effective, logical):
            if problem not in top:  # reported once, where it is written
                yield Problem(prefix + problem.path, problem.message)
        if effective.access_logging.enabled and effective.access_logging.target_bucket == name:
            yield Problem(
                f"{prefix}access_logging.target_bucket",
                f"bucket {name!r} would write its access logs into itself (every log write "
                f"logs again): set {prefix}access_logging.enabled: false or another target_bucket",
            )


def _guardrail_problems(guardrails: Guardrails, buckets: Sequence[str]) -> Iterator[Problem]:
    encryption = guardrails.encryption
    if encryption.kms_key_id and encryption.type != "SSE-KMS":
        yield Problem(
            "encryption.kms_key_id",
            "a KMS key is only used with SSE-KMS: set encryption.type: SSE-KMS or remove it",
        )
    yield from _object_lock_problems(guardrails)
    target = guardrails.access_logging.target_bucket
    if guardrails.access_logging.enabled and target not in buckets:
        yield Problem(
            "access_logging.target_bucket",
            f"unknown bucket {target!r}: name a logical bucket of this lake "
            f"(declared: {', '.join(buckets) or 'none'}){suggest(target, buckets)}",
        )


def _object_lock_problems(guardrails: Guardrails) -> Iterator[Problem]:
    lock = guardrails.object_lock
    if lock.enabled and not guardrails.versioning:
        yield Problem(
            "object_lock.enabled",
            "object lock needs versioning: set versioning: true (or object_lock.enabled: false)",
        )
    if lock.days is not None and lock.years is not None:
        yield Problem("object_lock.years", "set days or years for the retention, not both")
    for unit, value in (("days", lock.days), ("years", lock.years)):
        if value is not None and value <= 0:
            yield Problem(
                f"object_lock.{unit}", f"must be a positive number of {unit} (got {value})"
            )


def _check_buckets(config: LakeConfig) -> Iterator[Problem]:
    physical: dict[str, str] = {}
    holders: dict[str, str] = {}
    for name, bucket in config.buckets.items():
        path = f"buckets.{name}"
        if not _LOGICAL_RE.fullmatch(name):
            yield Problem(
                path,
                "logical bucket names are lowercase letters, digits and '-' "
                "(they become part of the physical name): rename it",
            )
        yield from _physical_name_problems(config, name, physical)
        yield from _zone_problems(name, bucket, holders)
        yield from tag_problems(bucket.tags, f"{path}.tags", reserved=RESOURCE_TAG_KEYS)
        yield from lifecycle_problems(path, bucket)


def _physical_name_problems(
    config: LakeConfig, name: str, seen: dict[str, str]
) -> Iterator[Problem]:
    explicit = config.buckets[name].name is not None
    physical = config.physical_bucket(name)
    path = f"buckets.{name}.name" if explicit else f"buckets.{name}"
    try:
        validate_bucket_name(physical)
    except InvalidBucketName as exc:
        fix = (
            ""
            if explicit
            else f"; it is derived as <lake.name>-<lake.environment>-{name}: shorten those "
            f"or set buckets.{name}.name"
        )
        yield Problem(path, exc.message + fix)
    if physical in seen:
        yield Problem(
            path,
            f"physical name {physical!r} is also used by bucket {seen[physical]!r}: "
            f"set a distinct buckets.{name}.name",
        )
    seen.setdefault(physical, name)


def _zone_problems(name: str, bucket: BucketConfig, holders: dict[str, str]) -> Iterator[Problem]:
    listed: set[str] = set()
    for index, zone in enumerate(bucket.zones):
        path = f"buckets.{name}.zones[{index}]"
        if zone not in ZONES:
            yield Problem(
                path, f"unknown zone {zone!r} (zones: {', '.join(ZONES)}){suggest(zone, ZONES)}"
            )
        elif zone in listed:
            yield Problem(path, f"zone {zone!r} is listed twice: remove one")
        elif zone in holders:
            yield Problem(
                path,
                f"zone {zone!r} is already in bucket {holders[zone]!r}; a zone lives in exactly "
                "one bucket: remove it from one of them",
            )
        listed.add(zone)
        holders.setdefault(zone, name)


def _check_datasets(config: LakeConfig) -> Iterator[Problem]:
    for name, dataset in config.datasets.items():
        path = f"datasets.{name}"
        if not _DATASET_RE.fullmatch(name):
            yield Problem(
                path,
                "dataset names are lowercase letters, digits and '_', starting with a letter "
                f"(they become table names): rename {name!r}",
            )
        yield from dataset_problems(dataset, path)
        yield from _dataset_place_problems(config, name, dataset)
        yield from _classification_problems(config, name, dataset)


def _dataset_place_problems(
    config: LakeConfig, name: str, dataset: DatasetConfig
) -> Iterator[Problem]:
    path, zone = f"datasets.{name}", dataset.zone
    if zone not in ZONES:
        yield Problem(
            f"{path}.zone",
            f"unknown zone {zone!r} (zones: {', '.join(ZONES)}){suggest(zone, ZONES)}",
        )
        return
    if dataset.bucket is None:
        holders = [b for b, bucket in config.buckets.items() if zone in bucket.zones]
        if not holders:
            yield Problem(
                f"{path}.zone",
                f"no bucket holds zone {zone!r}: add it to a bucket's zones "
                f"(buckets.<bucket>.zones) or set {path}.bucket",
            )
        return
    bucket = config.buckets.get(dataset.bucket)
    if bucket is None:
        known = list(config.buckets)
        yield Problem(
            f"{path}.bucket",
            f"unknown bucket {dataset.bucket!r} (declared: {', '.join(known) or 'none'})"
            f"{suggest(dataset.bucket, known)}",
        )
    elif zone not in bucket.zones:
        yield Problem(
            f"{path}.zone",
            f"bucket {dataset.bucket!r} holds no zone {zone!r} (its zones: "
            f"{', '.join(bucket.zones) or 'none'}): add {zone} to buckets.{dataset.bucket}.zones "
            f"or change {path}.bucket",
        )


def _classification_problems(
    config: LakeConfig, name: str, dataset: DatasetConfig
) -> Iterator[Problem]:
    if dataset.classification != "restricted":
        return
    logical = dataset.bucket or config.bucket_for_zone(dataset.zone)
    if logical is None or logical not in config.buckets:
        return
    encryption = config.effective_guardrails(logical).encryption.type
    if encryption != "SSE-KMS":
        yield Problem(
            f"datasets.{name}.classification",
            f"dataset {name!r} is restricted, so its bucket {logical!r} must encrypt with "
            f"SSE-KMS (it uses {encryption}): set buckets.{logical}.guardrails.encryption.type: "
            "SSE-KMS",
        )
