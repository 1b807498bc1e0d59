"""Object commands with awscli-style ``s3://`` URIs: ls, cp, cat, rm, versions, tag."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from lakeward.cli._common import (
    JsonOption,
    handle_errors,
    human_size,
    out,
    parse_pairs,
    print_json,
    print_table,
    state,
)
from lakeward.errors import InvalidRequest
from lakeward.lake import Lake
from lakeward.layout import S3Uri
from lakeward.storage import ObjectInfo
from lakeward.storage.ops import download, iter_objects, iter_versions, local_files, relative_key

VersionOption = typer.Option(None, "--version-id", help="Act on this version, not the latest.")
RecursiveOption = typer.Option(False, "--recursive", "-r", help="Act on every key under a prefix.")


def register(app: typer.Typer) -> None:
    """Add the object commands to ``app``."""
    for command in (ls, cp, cat, rm, versions, tag):
        app.command()(command)


@handle_errors
def ls(
    ctx: typer.Context,
    uri: Annotated[
        str | None, typer.Argument(help="s3://BUCKET[/PREFIX]; none lists buckets.")
    ] = None,
    recursive: bool = RecursiveOption,
    as_json: bool = JsonOption,
) -> None:
    """List buckets, or the keys and folders under s3://BUCKET/PREFIX."""
    lake = state(ctx).lake()
    if uri is None:
        names = lake.store.list_buckets()
        if as_json:
            print_json([{"bucket": n} for n in names])
        for name in [] if as_json else names:
            out.print(f"s3://{name}", markup=False)
        return
    target = lake.resolve(uri)
    prefixes, objects = _all_pages(lake, target, None if recursive else "/")
    if as_json:
        print_json({"prefixes": prefixes, "objects": objects})
        return
    for prefix in prefixes:
        out.print(f"{'PRE':>30} {prefix}", markup=False)
    for obj in objects:
        when = obj.last_modified.strftime("%Y-%m-%d %H:%M:%S")
        out.print(f"{when} {obj.size:>10} {obj.key}", markup=False)


def _all_pages(
    lake: Lake, target: S3Uri, delimiter: str | None
) -> tuple[list[str], list[ObjectInfo]]:
    prefixes: list[str] = []
    objects: list[ObjectInfo] = []
    token = None
    while True:
        page = lake.store.list(target.bucket, target.key, delimiter=delimiter, token=token)
        prefixes += page.common_prefixes
        objects += page.objects
        if not page.is_truncated:
            return prefixes, objects
        token = page.next_token


@handle_errors
def cp(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="A local path, '-' for stdin, or s3://BUCKET/KEY.")],
    destination: Annotated[
        str, typer.Argument(help="A local path, '-' for stdout, or s3://BUCKET/KEY.")
    ],
    recursive: bool = RecursiveOption,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="KEY=VALUE tag (repeatable).")
    ] = None,
    metadata: Annotated[
        list[str] | None, typer.Option("--metadata", help="KEY=VALUE user metadata (repeatable).")
    ] = None,
    content_type: Annotated[
        str | None, typer.Option(help="MIME type (guessed from the key).")
    ] = None,
    storage_class: Annotated[
        str | None, typer.Option(help="STANDARD, STANDARD_IA, GLACIER, …")
    ] = None,
    if_none_match: Annotated[
        bool, typer.Option("--if-none-match", help="Refuse to overwrite an existing key.")
    ] = False,
    version_id: str | None = VersionOption,
) -> None:
    """Copy a local file to the lake, the lake to a local file, or lake to lake."""
    lake = state(ctx).lake()
    options = WriteOptions(
        tags=parse_pairs(tag or [], "--tag") or None,
        metadata=parse_pairs(metadata or [], "--metadata") or None,
        content_type=content_type,
        if_none_match=if_none_match,
        storage_class=storage_class,
    )
    src_s3, dst_s3 = source.startswith("s3://"), destination.startswith("s3://")
    if not src_s3 and not dst_s3:
        raise InvalidRequest(
            "one side of cp must be an s3:// URI (use the shell's cp for local files)"
        )
    if recursive:
        _copy_tree(lake, source, destination, options)
    elif src_s3 and dst_s3:
        _copy_in_lake(lake, lake.resolve(source), lake.resolve(destination), options, version_id)
    elif dst_s3:
        _upload(lake, source, lake.resolve(destination), options)
    else:
        _download(lake, lake.resolve(source), destination, version_id)


@dataclass(frozen=True)
class WriteOptions:
    """What cp's options ask of every object it writes."""

    tags: dict[str, str] | None = None
    metadata: dict[str, str] | None = None
    content_type: str | None = None
    if_none_match: bool = False
    storage_class: str | None = None

    def put_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`ObjectStore.put`."""
        kwargs = {k: v for k, v in asdict(self).items() if v is not None}
        kwargs.setdefault("storage_class", "STANDARD")
        return kwargs


def _upload(lake: Lake, source: str, target: S3Uri, options: WriteOptions) -> None:
    if source == "-":
        data: bytes | Path = sys.stdin.buffer.read()
    else:
        data = Path(source)
        if not data.exists():
            raise InvalidRequest(f"{source} does not exist")
        if data.is_dir():
            raise InvalidRequest(f"{source} is a folder: add --recursive to copy it")
    key = target.key
    if not key or key.endswith("/"):
        key += Path(source).name if source != "-" else "stdin"
    info = lake.store.put(target.bucket, key, data, **options.put_kwargs())
    out.print(
        f"upload: {source} to s3://{target.bucket}/{key} ({human_size(info.size)}, "
        f"sha256 {info.sha256[:12]}…, version {info.version_id})",
        markup=False,
    )


def _download(lake: Lake, source: S3Uri, destination: str, version_id: str | None) -> None:
    if destination == "-":
        _cat(lake, source, version_id)
        return
    target = Path(destination)
    if destination.endswith(("/", "\\")) or target.is_dir():
        target = target / source.key.rsplit("/", 1)[-1]
    info = download(lake.store, source.bucket, source.key, target, version_id=version_id)
    out.print(
        f"download: s3://{source.bucket}/{source.key} to {target} "
        f"({human_size(info.size)}, sha256 verified)",
        markup=False,
    )


def _copy_in_lake(
    lake: Lake, source: S3Uri, target: S3Uri, options: WriteOptions, version_id: str | None
) -> None:
    key = target.key
    if not key or key.endswith("/"):
        key += source.key.rsplit("/", 1)[-1]
    lake.store.copy(
        source.bucket,
        source.key,
        target.bucket,
        key,
        src_version_id=version_id,
        metadata=options.metadata,
        tags=options.tags,
        storage_class=options.storage_class,
    )
    out.print(
        f"copy: s3://{source.bucket}/{source.key} to s3://{target.bucket}/{key}", markup=False
    )


def _copy_tree(lake: Lake, source: str, destination: str, options: WriteOptions) -> None:
    if destination.startswith("s3://") and not source.startswith("s3://"):
        root = Path(source)
        if not root.is_dir():
            raise InvalidRequest(f"{source} is not a folder: --recursive copies folders")
        target = lake.resolve(destination)
        files = list(local_files(root))
        with Progress(transient=True, console=out, disable=len(files) < 2) as progress:
            task = progress.add_task("uploading", total=len(files))
            for path in files:
                key = relative_key(target.key, root, path)
                lake.store.put(target.bucket, key, path, **options.put_kwargs())
                progress.advance(task)
        out.print(f"uploaded {len(files)} files to s3://{target.bucket}/{target.key}", markup=False)
        return
    src = lake.resolve(source)
    objects = list(iter_objects(lake.store, src.bucket, src.key))
    with Progress(transient=True, console=out, disable=len(objects) < 2) as progress:
        task = progress.add_task("copying", total=len(objects))
        for obj in objects:
            rest = obj.key[len(src.key) :].lstrip("/")
            if destination.startswith("s3://"):
                dst = lake.resolve(destination)
                prefix = dst.key if not dst.key or dst.key.endswith("/") else dst.key + "/"
                lake.store.copy(src.bucket, obj.key, dst.bucket, prefix + rest)
            else:
                download(lake.store, src.bucket, obj.key, _safe_local_path(Path(destination), rest))
            progress.advance(task)
    out.print(f"copied {len(objects)} objects from s3://{src.bucket}/{src.key}", markup=False)


def _safe_local_path(root: Path, key_rest: str) -> Path:
    """Map a key under a prefix to a path under ``root``, refusing keys that would escape it."""
    parts = [p for p in key_rest.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise InvalidRequest(
            f"key part {key_rest!r} cannot be a local path (empty, '.' or '..' segments): "
            "copy it by its full key instead"
        )
    return root.joinpath(*parts)


def _cat(lake: Lake, source: S3Uri, version_id: str | None) -> None:
    with lake.store.get(source.bucket, source.key, version_id=version_id) as body:
        for chunk in body.iter_chunks():
            sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()


@handle_errors
def cat(
    ctx: typer.Context,
    uri: Annotated[str, typer.Argument(help="s3://BUCKET/KEY")],
    version_id: str | None = VersionOption,
) -> None:
    """Write an object's body to stdout (verified against its SHA-256)."""
    lake = state(ctx).lake()
    _cat(lake, lake.resolve(uri), version_id)


@handle_errors
def rm(
    ctx: typer.Context,
    uri: Annotated[str, typer.Argument(help="s3://BUCKET/KEY or, with --recursive, a prefix.")],
    recursive: bool = RecursiveOption,
    version_id: str | None = VersionOption,
    all_versions: Annotated[
        bool,
        typer.Option(
            "--all-versions", help="With -r: delete every version and marker, not just add markers."
        ),
    ] = False,
    bypass_governance: Annotated[
        bool,
        typer.Option("--bypass-governance", help="Delete versions under GOVERNANCE retention."),
    ] = False,
) -> None:
    """Delete an object (a delete marker when versioned), one version, or a prefix."""
    lake = state(ctx).lake()
    target = lake.resolve(uri)
    if not recursive:
        result = lake.store.delete(
            target.bucket, target.key, version_id=version_id, bypass_governance=bypass_governance
        )
        what = (
            "delete marker " + str(result.version_id)
            if result.delete_marker and not version_id
            else "deleted"
        )
        out.print(f"delete: s3://{target.bucket}/{target.key} ({what})", markup=False)
        return
    victims: list[tuple[str, str | None]]
    if all_versions:
        victims = [
            (v.key, v.version_id) for v in iter_versions(lake.store, target.bucket, target.key)
        ]
    else:
        victims = [(o.key, None) for o in iter_objects(lake.store, target.bucket, target.key)]
    for key, vid in victims:
        lake.store.delete(target.bucket, key, version_id=vid, bypass_governance=bypass_governance)
    out.print(
        f"deleted {len(victims)} {'versions' if all_versions else 'objects'} under "
        f"s3://{target.bucket}/{target.key}",
        markup=False,
    )


@handle_errors
def versions(
    ctx: typer.Context,
    uri: Annotated[str, typer.Argument(help="s3://BUCKET[/PREFIX]")],
    as_json: bool = JsonOption,
) -> None:
    """List every version and delete marker under a key or prefix, newest first."""
    lake = state(ctx).lake()
    target = lake.resolve(uri)
    rows = list(iter_versions(lake.store, target.bucket, target.key))
    if as_json:
        print_json(rows)
        return
    print_table(
        f"versions of s3://{target.bucket}/{target.key}",
        ["key", "version", "latest", "kind", "size", "modified", "class"],
        [
            (
                v.key,
                v.version_id,
                "yes" if v.is_latest else "",
                "delete marker" if v.is_delete_marker else "object",
                v.size,
                v.last_modified.strftime("%Y-%m-%d %H:%M:%S"),
                v.storage_class,
            )
            for v in rows
        ],
    )


@handle_errors
def tag(
    ctx: typer.Context,
    uri: Annotated[str, typer.Argument(help="s3://BUCKET/KEY")],
    pairs: Annotated[
        list[str] | None, typer.Argument(help="KEY=VALUE tags to set; none shows the tags.")
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="Tag key to remove (repeatable).")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace all tags instead of merging.")
    ] = False,
    version_id: str | None = VersionOption,
    as_json: bool = JsonOption,
) -> None:
    """Show an object's tags, or set, merge and remove them."""
    lake = state(ctx).lake()
    target = lake.resolve(uri)
    tags = lake.store.get_tags(target.bucket, target.key, version_id=version_id)
    new = parse_pairs(pairs or [], "tag")
    if new or remove or replace:
        tags = new if replace else {**tags, **new}
        for key in remove or []:
            tags.pop(key, None)
        lake.store.put_tags(target.bucket, target.key, tags, version_id=version_id)
    if as_json:
        print_json(tags)
        return
    for key, value in sorted(tags.items()):
        out.print(f"{key}={value}", markup=False)
