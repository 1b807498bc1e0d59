"""Amazon S3 backend (``s3://``): the :class:`ObjectStore` contract over boto3.

With its helpers :mod:`lakeward.storage._s3_errors` (error translation) and
:mod:`lakeward.storage._s3_support` (payloads, multipart tracking, request and response
shapes), the only module that imports boto3; the loader in :mod:`lakeward.storage`
imports it only when an ``s3://`` store is opened.

Integrity: the SHA-256 of every body is computed in one pass before anything is sent;
single-part puts send it as ``ChecksumSHA256`` so S3 verifies the body, multipart
puts let S3 verify each part, and the hex digest is always stored in the user metadata
``lakeward-sha256`` so :class:`~lakeward.storage.base.ObjectBody` can verify reads.

Where S3 emulators are laxer than S3 (moto does not enforce object-lock retention
changes, nor refuse suspending versioning under object lock), the rules are also checked
here, so both the real service and the emulator refuse the same requests.
"""

from __future__ import annotations

import io
import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from lakeward.errors import (
    AccessDenied,
    BucketAlreadyExists,
    ChecksumMismatch,
    InvalidObjectState,
    InvalidRequest,
    InvalidRetention,
    NoSuchConfiguration,
    NoSuchKey,
    NoSuchVersion,
    NotFound,
    ObjectLocked,
    PreconditionFailed,
)
from lakeward.layout import validate_bucket_name, validate_key
from lakeward.storage._s3_errors import S3Target, s3_errors
from lakeward.storage._s3_support import (
    CONFIG_GETTERS,
    CONFIG_PUTTERS,
    CONFIG_REMOVERS,
    SHA256_METADATA_KEY,
    UNREMOVABLE_HINTS,
    MultipartTracker,
    Payload,
    is_restored,
    listed_object,
    lock_args,
    no_such_bucket,
    object_args,
    object_info,
    open_payload,
    version_row,
    with_sha,
    write_args,
)
from lakeward.storage._validate import check_storage_class, check_tags, clean_metadata
from lakeward.storage.base import (
    ARCHIVED_CLASSES,
    BucketConfigKind,
    DeleteResult,
    ListPage,
    ObjectBody,
    ObjectInfo,
    ObjectStore,
    PutData,
    Retention,
    VersionPage,
)

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client

__all__ = ["SHA256_METADATA_KEY", "S3ObjectStore"]

_SINGLE_REQUEST_LIMIT = 5 * 2**30  # S3 refuses PutObject / CopyObject above 5 GiB
_LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
_RESTORE_TIERS = ("Standard", "Bulk", "Expedited")


class S3ObjectStore(ObjectStore):
    """S3 semantics on Amazon S3 (or an S3-compatible endpoint) through a boto3 client.

    Args:
        client: A boto3 S3 client; the store does not close a client it was given.
        multipart_threshold: Bodies larger than this go up as multipart uploads.
        multipart_chunksize: Part size of multipart uploads (at least 5 MiB on S3).

    >>> import boto3
    >>> store = S3ObjectStore(boto3.client("s3", region_name="us-east-1"))
    >>> store.scheme
    's3'
    """

    scheme = "s3"

    def __init__(
        self,
        client: S3Client,
        *,
        multipart_threshold: int = 64 * 2**20,
        multipart_chunksize: int = 16 * 2**20,
    ) -> None:
        self._client = client
        self._owns_client = False
        self._multipart_limit = min(multipart_threshold, _SINGLE_REQUEST_LIMIT)
        # Whatever reaches the transfer manager goes up in parts: the tracker needs them.
        self._transfer = TransferConfig(
            multipart_threshold=self._multipart_limit, multipart_chunksize=multipart_chunksize
        )
        self._multipart = MultipartTracker(client, f"lakeward-{id(self)}")

    @classmethod
    def from_uri(
        cls,
        rest: str,
        *,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        client: S3Client | None = None,
        multipart_threshold: int = 64 * 2**20,
        multipart_chunksize: int = 16 * 2**20,
        **_ignored: Any,
    ) -> S3ObjectStore:
        """Open a store for ``s3://`` (what follows the scheme is not used).

        Args:
            rest: The URI after ``s3://``; buckets are named on each call instead.
            region: AWS region (else the profile's or ``AWS_REGION``).
            profile: Named profile from ``~/.aws/config``.
            endpoint_url: An S3-compatible endpoint; path-style addressing is used then.
            client: A ready boto3 S3 client (tests, moto); the other settings are ignored.
            multipart_threshold: Bodies larger than this are uploaded in parts.
            multipart_chunksize: Size of each part.
            **_ignored: Settings meant for other backends.

        Returns:
            The store; close it (or use ``with``) when done.

        Raises:
            ConfigError: The profile does not exist or the AWS configuration is invalid.
        """
        owns = client is None
        if client is None:
            client = _make_client(region=region, profile=profile, endpoint_url=endpoint_url)
        store = cls(
            client,
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
        )
        store._owns_client = owns
        return store

    def close(self) -> None:
        """Release the hooks on the client, and the client if this store created it."""
        self._multipart.detach()
        if self._owns_client:
            self._client.close()

    # -- buckets -------------------------------------------------------------------------
    def create_bucket(self, bucket: str, *, object_lock: bool = False) -> None:
        """Create a bucket (in the client's region); see :meth:`ObjectStore.create_bucket`."""
        validate_bucket_name(bucket)
        # us-east-1 answers 200 OK to re-creating a bucket you own: ask first.
        if self.bucket_exists(bucket):
            raise BucketAlreadyExists(
                f"bucket {bucket!r} already exists: use it, or choose another name "
                "(bucket names are global across AWS accounts)"
            )
        kwargs: dict[str, Any] = {"Bucket": bucket}
        region = self._client.meta.region_name
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        if object_lock:
            kwargs["ObjectLockEnabledForBucket"] = True
        with s3_errors(S3Target(bucket)):
            self._client.create_bucket(**kwargs)

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket."""
        with s3_errors(S3Target(bucket)):
            self._client.delete_bucket(Bucket=bucket)

    def list_buckets(self) -> list[str]:
        """Return the names of all buckets the credentials can see, sorted."""
        names: list[str] = []
        kwargs: dict[str, Any] = {}
        with s3_errors():
            while True:
                response = self._client.list_buckets(**kwargs)
                names.extend(b["Name"] for b in response.get("Buckets", []) if "Name" in b)
                token = response.get("ContinuationToken")
                if not token:
                    return sorted(names)
                kwargs["ContinuationToken"] = token

    def bucket_exists(self, bucket: str) -> bool:
        """Return whether the bucket exists (also when it belongs to another account)."""
        try:
            with s3_errors(S3Target(bucket)):
                self._client.head_bucket(Bucket=bucket)
        except NotFound:
            return False
        except AccessDenied:
            return True  # 403: it exists, but not for these credentials
        return True

    def get_bucket_config(self, bucket: str, kind: BucketConfigKind) -> dict[str, Any]:
        """Return one kind of bucket configuration in boto3's request shape."""
        with s3_errors(S3Target(bucket)):
            value = CONFIG_GETTERS[kind](self._client, bucket)
        if not value and kind is not BucketConfigKind.VERSIONING:
            # Logging and notifications answer an empty document when nothing is set.
            raise NoSuchConfiguration(
                f"bucket {bucket!r} has no {kind.value} configuration: set one before reading it"
            )
        return value

    def put_bucket_config(
        self, bucket: str, kind: BucketConfigKind, value: dict[str, Any] | None
    ) -> None:
        """Set, or with ``None`` remove, one kind of bucket configuration."""
        if value is None:
            remover = CONFIG_REMOVERS.get(kind)
            if remover is None:
                raise InvalidRequest(
                    f"the {kind.value} configuration of bucket {bucket!r} cannot be removed on "
                    f"S3, only changed: put {UNREMOVABLE_HINTS[kind]} instead"
                )
            with s3_errors(S3Target(bucket)):
                remover(self._client, bucket)
            return
        if kind is BucketConfigKind.VERSIONING and value.get("Status") != "Enabled":
            self._refuse_unversioning_under_lock(bucket)
        with s3_errors(S3Target(bucket)):
            CONFIG_PUTTERS[kind](self._client, bucket, value)

    def _refuse_unversioning_under_lock(self, bucket: str) -> None:
        # S3 refuses this itself (InvalidBucketState); moto does not, so check here too.
        try:
            lock = self.get_bucket_config(bucket, BucketConfigKind.OBJECT_LOCK)
        except NoSuchConfiguration:
            return
        if lock.get("ObjectLockEnabled") == "Enabled":
            raise InvalidRequest(
                f"bucket {bucket!r} has object lock, so its versioning cannot be suspended: "
                "object lock needs versioning for as long as the bucket exists"
            )

    # -- objects: writing ----------------------------------------------------------------
    def put(
        self,
        bucket: str,
        key: str,
        data: PutData,
        *,
        metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        content_type: str | None = None,
        if_none_match: bool = False,
        checksum_sha256: str | None = None,
        storage_class: str = "STANDARD",
        retention: Retention | None = None,
        legal_hold: bool = False,
    ) -> ObjectInfo:
        """Store a new version of ``key``; see :meth:`ObjectStore.put`."""
        validate_key(key)
        target = S3Target(bucket, key)
        check_storage_class(storage_class)
        metadata, tags = clean_metadata(metadata), check_tags(tags)
        if retention is not None:
            _check_retention_value(retention, target)
        with open_payload(data) as payload:
            if checksum_sha256 is not None and checksum_sha256.lower() != payload.sha256:
                raise ChecksumMismatch(
                    f"the body for {target.describe()} has SHA-256 {payload.sha256}, not the "
                    f"expected {checksum_sha256}: nothing was uploaded; check the source data"
                )
            args = write_args(key, payload.sha256, metadata, tags, content_type, storage_class)
            args.update(lock_args(retention, legal_hold=legal_hold))
            if payload.size > self._multipart_limit:
                version_id = self._put_multipart(target, payload, args, if_none_match)
            else:
                version_id = self._put_single(target, payload, args, if_none_match)
        info = self.head(bucket, key, version_id=version_id)
        if (retention and not info.retention) or (legal_hold and not info.legal_hold):
            info = self._apply_lock(info, retention, legal_hold=legal_hold)
        return info

    def _apply_lock(
        self, info: ObjectInfo, retention: Retention | None, *, legal_hold: bool
    ) -> ObjectInfo:
        # S3 applies object-lock settings given to CreateMultipartUpload; moto drops them.
        args = object_args(info.bucket, info.key, info.version_id)
        with s3_errors(S3Target(info.bucket, info.key, info.version_id)):
            if retention is not None:
                lock = {"Mode": retention.mode, "RetainUntilDate": retention.retain_until}
                self._client.put_object_retention(Retention=cast(Any, lock), **args)
            if legal_hold:
                self._client.put_object_legal_hold(LegalHold={"Status": "ON"}, **args)
        return self.head(info.bucket, info.key, version_id=info.version_id)

    def _put_single(
        self, target: S3Target, payload: Payload, args: dict[str, Any], if_none_match: bool
    ) -> str | None:
        if if_none_match:
            args["IfNoneMatch"] = "*"
        with s3_errors(target):
            response = self._client.put_object(
                Bucket=cast(str, target.bucket),
                Key=cast(str, target.key),
                Body=payload.stream,
                ContentLength=payload.size,
                # The algorithm header too: S3 wants it (or Content-MD5) under object lock.
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=payload.sha256_base64,
                **args,
            )
        return response.get("VersionId")

    def _put_multipart(
        self, target: S3Target, payload: Payload, args: dict[str, Any], if_none_match: bool
    ) -> str | None:
        bucket, key = cast(str, target.bucket), cast(str, target.key)
        if if_none_match:
            # Fail before uploading gigabytes; If-None-Match is also sent on the final
            # CompleteMultipartUpload, which closes the race with a concurrent writer.
            try:
                self.head(bucket, key)
            except NoSuchKey:
                pass
            else:
                raise PreconditionFailed(
                    f"{target.describe()} already exists: the conditional put "
                    "(If-None-Match: *) did not overwrite it; read it or write another key"
                )
        with s3_errors(target), self._multipart.expect(if_none_match=if_none_match) as upload:
            # S3 verifies each part's SHA-256; a whole-object SHA-256 exists only for one part.
            extra = {**args, "ChecksumAlgorithm": "SHA256"}
            extra["Metadata"] = {**args["Metadata"], **upload.marker}
            self._client.upload_fileobj(
                payload.stream, bucket, key, ExtraArgs=extra, Config=self._transfer
            )
        return upload.version_id

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        src_version_id: str | None = None,
        metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        storage_class: str | None = None,
    ) -> ObjectInfo:
        """Copy one version to a new key; see :meth:`ObjectStore.copy`."""
        validate_key(dst_key)
        source = self.head(src_bucket, src_key, version_id=src_version_id)
        copy_source: dict[str, str] = {"Bucket": src_bucket, "Key": src_key}
        if src_version_id:
            copy_source["VersionId"] = src_version_id
        args: dict[str, Any] = {}
        if metadata is not None:
            args["MetadataDirective"] = "REPLACE"
            args["Metadata"] = with_sha(clean_metadata(metadata), source.sha256)
            args["ContentType"] = source.content_type
        if tags is not None:
            args["TaggingDirective"] = "REPLACE"
            args["Tagging"] = urllib.parse.urlencode(check_tags(tags))
        if storage_class is not None:
            args["StorageClass"] = check_storage_class(storage_class)
        target = S3Target(dst_bucket, dst_key)
        if source.size > _SINGLE_REQUEST_LIMIT:
            version_id = self._copy_multipart(source, copy_source, target, args)
        else:
            with s3_errors(target):
                response = self._client.copy_object(
                    CopySource=cast(Any, copy_source), Bucket=dst_bucket, Key=dst_key, **args
                )
            version_id = response.get("VersionId")
        return self.head(dst_bucket, dst_key, version_id=version_id)

    def _copy_multipart(
        self,
        source: ObjectInfo,
        copy_source: dict[str, str],
        target: S3Target,
        args: dict[str, Any],
    ) -> str | None:
        # Older transfer managers copy neither metadata nor tags: always replace explicitly.
        extra = dict(args)
        if "MetadataDirective" not in extra:
            extra["MetadataDirective"] = "REPLACE"
            extra["Metadata"] = with_sha(source.metadata, source.sha256)
            extra["ContentType"] = source.content_type
        if "TaggingDirective" not in extra:
            tags = self.get_tags(source.bucket, source.key, version_id=copy_source.get("VersionId"))
            if tags:
                extra["TaggingDirective"] = "REPLACE"
                extra["Tagging"] = urllib.parse.urlencode(tags)
        bucket, key = cast(str, target.bucket), cast(str, target.key)
        with s3_errors(target), self._multipart.expect(if_none_match=False) as upload:
            extra["Metadata"] = {**extra["Metadata"], **upload.marker}
            self._client.copy(
                cast(Any, copy_source), bucket, key, ExtraArgs=extra, Config=self._transfer
            )
        return upload.version_id

    def delete(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> DeleteResult:
        """Delete the current version (a marker when versioned) or one version."""
        validate_key(key)
        kwargs = object_args(bucket, key, version_id)
        if bypass_governance:
            # Only ever send "true": moto treats any header value, even "false", as a bypass.
            kwargs["BypassGovernanceRetention"] = True
        with s3_errors(S3Target(bucket, key, version_id), lock_denial=True):
            response = self._client.delete_object(**kwargs)
        return DeleteResult(
            version_id=response.get("VersionId"),
            delete_marker=bool(response.get("DeleteMarker", False)),
        )

    # -- objects: reading ----------------------------------------------------------------
    def head(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:
        """Return the metadata of the current (or given) version."""
        validate_key(key)
        return object_info(bucket, key, self._head_response(bucket, key, version_id))

    def _head_response(self, bucket: str, key: str, version_id: str | None) -> Mapping[str, Any]:
        kwargs = object_args(bucket, key, version_id)
        try:
            with s3_errors(S3Target(bucket, key, version_id)):
                return self._client.head_object(ChecksumMode="ENABLED", **kwargs)
        except (NoSuchKey, NoSuchVersion) as exc:
            if version_id == "null" and isinstance(exc, NoSuchVersion):
                return self._head_null_version(bucket, key)
            # A HEAD 404 has no body: it may as well mean that the bucket is missing.
            if not self.bucket_exists(bucket):
                raise no_such_bucket(bucket) from exc
            raise

    def _head_null_version(self, bucket: str, key: str) -> Mapping[str, Any]:
        # moto answers HEAD ?versionId=null with 400 where S3 answers 200; GET works on both.
        with s3_errors(S3Target(bucket, key, "null")):
            response = self._client.get_object(Bucket=bucket, Key=key, VersionId="null")
            response["Body"].close()
        return response

    def get(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectBody:
        """Open the body of the current (or given) version; see :meth:`ObjectStore.get`."""
        validate_key(key)
        target = S3Target(bucket, key, version_id)
        try:
            with s3_errors(target):
                response = self._client.get_object(
                    ChecksumMode="ENABLED", **object_args(bucket, key, version_id)
                )
        except NoSuchVersion:
            if version_id:
                # S3 answers 405 for a delete marker's id, moto NoSuchVersion: HEAD tells.
                self._head_response(bucket, key, version_id)
            raise
        info = object_info(bucket, key, response)
        if info.storage_class in ARCHIVED_CLASSES and not is_restored(info):
            response["Body"].close()
            raise InvalidObjectState(
                f"{target.describe()} is in {info.storage_class} and not restored: run "
                "`lakeward restore` on it and read it once the restore has completed"
            )
        stream = _TranslatingStream(response["Body"], target)
        return ObjectBody(info, cast(IO[bytes], stream))

    def list(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        start_after: str | None = None,
        max_keys: int = 1000,
        token: str | None = None,
    ) -> ListPage:
        """List current versions in UTF-8 byte order, one page at a time."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        if start_after:
            kwargs["StartAfter"] = start_after
        if token:
            kwargs["ContinuationToken"] = token
        with s3_errors(S3Target(bucket)):
            response = self._client.list_objects_v2(**kwargs)
        return ListPage(
            objects=[listed_object(bucket, item) for item in response.get("Contents", [])],
            common_prefixes=[p["Prefix"] for p in response.get("CommonPrefixes", [])],
            is_truncated=bool(response.get("IsTruncated", False)),
            next_token=response.get("NextContinuationToken"),
        )

    def list_versions(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        max_keys: int = 1000,
        key_marker: str | None = None,
        version_id_marker: str | None = None,
    ) -> VersionPage:
        """List every version and delete marker, by key, newest first within a key."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        if key_marker:
            kwargs["KeyMarker"] = key_marker
            if version_id_marker:
                kwargs["VersionIdMarker"] = version_id_marker
        with s3_errors(S3Target(bucket)):
            response = self._client.list_object_versions(**kwargs)
        rows = [version_row(item, marker=False) for item in response.get("Versions", [])]
        rows += [version_row(item, marker=True) for item in response.get("DeleteMarkers", [])]
        # boto3 returns versions and delete markers as two lists: restore S3's single order.
        rows.sort(key=lambda v: (v.key.encode(), not v.is_latest, -v.last_modified.timestamp()))
        return VersionPage(
            versions=rows,
            common_prefixes=[p["Prefix"] for p in response.get("CommonPrefixes", [])],
            is_truncated=bool(response.get("IsTruncated", False)),
            next_key_marker=response.get("NextKeyMarker") or None,
            next_version_id_marker=response.get("NextVersionIdMarker") or None,
        )

    # -- tags, object lock, restore -------------------------------------------------------
    def get_tags(self, bucket: str, key: str, *, version_id: str | None = None) -> dict[str, str]:
        """Return the tags of the current (or given) version."""
        validate_key(key)
        with s3_errors(S3Target(bucket, key, version_id)):
            response = self._client.get_object_tagging(**object_args(bucket, key, version_id))
        return {tag["Key"]: tag["Value"] for tag in response.get("TagSet", [])}

    def put_tags(
        self, bucket: str, key: str, tags: dict[str, str], *, version_id: str | None = None
    ) -> None:
        """Replace the tags of the current (or given) version."""
        validate_key(key)
        tag_set = [{"Key": k, "Value": v} for k, v in check_tags(tags).items()]
        with s3_errors(S3Target(bucket, key, version_id)):
            self._client.put_object_tagging(
                Tagging={"TagSet": cast(Any, tag_set)}, **object_args(bucket, key, version_id)
            )

    def put_retention(
        self,
        bucket: str,
        key: str,
        retention: Retention | None,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> None:
        """Set, extend, shorten or remove retention with the AWS rules."""
        target = S3Target(bucket, key, version_id)
        if retention is not None:
            _check_retention_value(retention, target)
        # S3 enforces these rules itself; moto does not, so they are checked here as well.
        current = self.head(bucket, key, version_id=version_id).retention
        _check_retention_change(current, retention, bypass_governance, target)
        kwargs = object_args(bucket, key, version_id)
        if bypass_governance:
            kwargs["BypassGovernanceRetention"] = True
        value: dict[str, Any] = {}
        if retention is not None:
            value = {"Mode": retention.mode, "RetainUntilDate": retention.retain_until}
        with s3_errors(target, lock_denial=True):
            self._client.put_object_retention(Retention=cast(Any, value), **kwargs)

    def put_legal_hold(
        self, bucket: str, key: str, on: bool, *, version_id: str | None = None
    ) -> None:
        """Place or lift a legal hold (independent of retention)."""
        validate_key(key)
        with s3_errors(S3Target(bucket, key, version_id)):
            self._client.put_object_legal_hold(
                LegalHold={"Status": "ON" if on else "OFF"},
                **object_args(bucket, key, version_id),
            )

    def restore(
        self,
        bucket: str,
        key: str,
        *,
        days: int,
        tier: str = "Standard",
        version_id: str | None = None,
    ) -> None:
        """Request a temporary readable copy of an archived version."""
        target = S3Target(bucket, key, version_id)
        if days < 1 or tier not in _RESTORE_TIERS:
            raise InvalidRequest(
                f"cannot restore {target.describe()} for {days} day(s) at tier {tier!r}: "
                f"days must be at least 1 and the tier one of {', '.join(_RESTORE_TIERS)}"
            )
        info = self.head(bucket, key, version_id=version_id)
        if info.storage_class not in ARCHIVED_CLASSES:
            raise InvalidObjectState(
                f"{target.describe()} is in {info.storage_class}, which is readable without a "
                f"restore: only {' and '.join(sorted(ARCHIVED_CLASSES))} objects need one"
            )
        request = {"Days": days, "GlacierJobParameters": {"Tier": tier}}
        with s3_errors(target):
            try:
                self._client.restore_object(
                    RestoreRequest=cast(Any, request), **object_args(bucket, key, version_id)
                )
            except ClientError as exc:
                # A restore already running is what was asked for.
                if exc.response.get("Error", {}).get("Code") != "RestoreAlreadyInProgress":
                    raise


# -- client, response bodies, retention rules ----------------------------------------


def _make_client(*, region: str | None, profile: str | None, endpoint_url: str | None) -> S3Client:
    s3_settings: dict[str, Any] = {"addressing_style": "path"} if endpoint_url else {}
    config = Config(
        retries={"mode": "adaptive", "max_attempts": 10},
        s3=cast(Any, s3_settings) or None,
    )
    with s3_errors():
        session = boto3.Session(profile_name=profile, region_name=region)
        return session.client("s3", endpoint_url=endpoint_url, config=config)


class _TranslatingStream(io.RawIOBase):
    """A response body whose read errors arrive as ``LakeError`` (not botocore's)."""

    def __init__(self, body: StreamingBody, target: S3Target) -> None:
        super().__init__()
        self._body = body
        self._target = target

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        with s3_errors(self._target):
            return self._body.read(None if size is None or size < 0 else size)

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _check_retention_value(retention: Retention, target: S3Target) -> None:
    if retention.mode not in _LOCK_MODES:
        raise InvalidRetention(
            f"retention mode {retention.mode!r} for {target.describe()} is not one of "
            f"{', '.join(_LOCK_MODES)}"
        )
    until = retention.retain_until
    if until.tzinfo is None or until <= datetime.now(UTC):
        raise InvalidRetention(
            f"retain-until date {until.isoformat()} for {target.describe()} must be a "
            "timezone-aware instant in the future"
        )


def _check_retention_change(
    current: Retention | None, new: Retention | None, bypass: bool, target: S3Target
) -> None:
    """Refuse what S3 refuses: weakening COMPLIANCE, or GOVERNANCE without bypass."""
    if current is None or current.retain_until <= datetime.now(UTC):
        return
    keeps = (
        new is not None and new.mode == current.mode and new.retain_until >= current.retain_until
    )
    if keeps or (current.mode == "GOVERNANCE" and bypass):
        return
    hint = (
        "COMPLIANCE retention can only be extended, never shortened, changed or removed"
        if current.mode == "COMPLIANCE"
        else "pass bypass_governance=True (--bypass-governance) to shorten, change or remove "
        "GOVERNANCE retention"
    )
    raise ObjectLocked(
        f"{target.describe()} is under {current.mode} retention until "
        f"{current.retain_until.isoformat()}: {hint}"
    )
