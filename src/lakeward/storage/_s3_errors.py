"""Translation of botocore / boto3 exceptions into the lakeward error tree.

Every call the S3 backend makes to boto3 runs inside :func:`s3_errors`, which turns
whatever botocore raises into the most specific :class:`~lakeward.errors.LakeError`
(``raise translated from exc``), so no raw botocore exception leaves the backend.
Only :mod:`lakeward.storage.s3` imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from boto3.exceptions import Boto3Error
from botocore.exceptions import (
    BotoCoreError,
    CapacityNotAvailableError,
    ChecksumError,
    ClientError,
    ConfigParseError,
    ConnectionError,
    CredentialRetrievalError,
    FlexibleChecksumError,
    HTTPClientError,
    IncompleteReadError,
    LoginError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
    ValidationError,
)

from lakeward.errors import (
    AccessDenied,
    BackendUnavailable,
    BucketAlreadyExists,
    BucketNotEmpty,
    ChecksumMismatch,
    ConfigError,
    Conflict,
    InvalidBucketName,
    InvalidObjectState,
    InvalidRequest,
    InvalidRetention,
    LakeError,
    NoSuchBucket,
    NoSuchConfiguration,
    NoSuchKey,
    NoSuchVersion,
    ObjectLocked,
    PreconditionFailed,
)

__all__ = ["S3Target", "s3_errors", "translate_error"]

CONFIG_NOT_FOUND_CODES: dict[str, str] = {
    "NoSuchBucketPolicy": "bucket policy",
    "NoSuchLifecycleConfiguration": "lifecycle configuration",
    "ServerSideEncryptionConfigurationNotFoundError": "default encryption configuration",
    "NoSuchPublicAccessBlockConfiguration": "public access block",
    "ObjectLockConfigurationNotFoundError": "object lock configuration",
    "NoSuchTagSet": "tag set",
    "NoSuchCORSConfiguration": "CORS configuration",
    "NoSuchWebsiteConfiguration": "website configuration",
    "ReplicationConfigurationNotFoundError": "replication configuration",
    "OwnershipControlsNotFoundError": "ownership controls",
}
"""S3 error codes meaning "this bucket has no configuration of that kind"."""

RETRYABLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "ServiceUnavailable",
        "OperationAborted",
        "PriorRequestNotComplete",
    }
)
"""S3 error codes of transient failures: the same request may succeed later."""

CREDENTIAL_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    ProfileNotFound,
    NoRegionError,
    ConfigParseError,
    SSOError,
    TokenRetrievalError,
    LoginError,
)
_TRANSIENT_ERRORS = (
    HTTPClientError,
    ConnectionError,
    IncompleteReadError,
    CapacityNotAvailableError,
)


@dataclass(frozen=True)
class S3Target:
    """What a failed call addressed, to name it in the error message."""

    bucket: str | None = None
    key: str | None = None
    version_id: str | None = None

    def describe(self) -> str:
        """Return ``s3://bucket/key (version v)``, as much of it as is known."""
        if self.bucket is None:
            return "S3"
        text = f"s3://{self.bucket}/{self.key or ''}"
        return f"{text} (version {self.version_id})" if self.version_id else text


@dataclass(frozen=True)
class _Failure:
    """The parts of a ClientError that decide its translation."""

    code: str
    message: str
    status: int
    details: dict[str, Any]
    target: S3Target

    @property
    def where(self) -> str:
        return self.target.describe()

    @property
    def bucket(self) -> str:
        return self.target.bucket or str(self.details.get("BucketName", "?"))


@contextmanager
def s3_errors(target: S3Target | None = None, *, lock_denial: bool = False) -> Iterator[None]:
    """Run a block of boto3 calls, translating their exceptions into ``LakeError``.

    Args:
        target: The bucket, key and version the calls address (named in messages).
        lock_denial: ``AccessDenied`` means object lock refused (deleting a version).

    Raises:
        LakeError: The translation of any botocore or boto3 exception.
    """
    try:
        yield
    except (ClientError, BotoCoreError, Boto3Error) as exc:
        raise translate_error(exc, target, lock_denial=lock_denial) from exc


def translate_error(
    exc: BaseException, target: S3Target | None = None, *, lock_denial: bool = False
) -> LakeError:
    """Return the most specific ``LakeError`` for a botocore or boto3 exception.

    Args:
        exc: What boto3 raised (``ClientError``, ``BotoCoreError``, ``Boto3Error``).
        target: The bucket, key and version the failed call addressed.
        lock_denial: Treat ``AccessDenied`` as object lock refusing the request.

    Returns:
        The error to raise (``raise translate_error(exc) from exc``).

    >>> from botocore.exceptions import ClientError
    >>> err = ClientError({"Error": {"Code": "NoSuchBucket", "Message": "gone"}}, "HeadObject")
    >>> type(translate_error(err, S3Target("acme-raw", "a.csv"))).__name__
    'NoSuchBucket'
    """
    target = target or S3Target()
    if isinstance(exc, LakeError):
        return exc
    if isinstance(exc, ClientError):
        return _translate_client_error(exc, target, lock_denial=lock_denial)
    if isinstance(exc, BotoCoreError):
        return _translate_botocore_error(exc, target)
    inner = exc.__cause__ or exc.__context__
    if isinstance(inner, ClientError | BotoCoreError):
        # boto3's transfer manager wraps ClientError in S3UploadFailedError.
        return translate_error(inner, target, lock_denial=lock_denial)
    return LakeError(f"S3 transfer for {target.describe()} failed: {exc}")


def _translate_client_error(exc: ClientError, target: S3Target, *, lock_denial: bool) -> LakeError:
    error: dict[str, Any] = dict(exc.response.get("Error", {}))
    meta: dict[str, Any] = dict(exc.response.get("ResponseMetadata", {}))
    failure = _Failure(
        code=str(error.get("Code", "")),
        message=str(error.get("Message", "")),
        status=int(meta.get("HTTPStatusCode", 0) or 0),
        details=error,
        target=target,
    )
    if lock_denial and target.version_id and failure.code in ("AccessDenied", "403"):
        return _object_locked(failure)
    handler = _HANDLERS.get(failure.code)
    if handler is not None:
        return handler(failure)
    if failure.code in CONFIG_NOT_FOUND_CODES:
        return _no_such_configuration(failure)
    if failure.code in RETRYABLE_CODES or failure.status >= 500 or failure.code.startswith("5"):
        return _unavailable(failure)
    return LakeError(
        f"S3 refused the request for {failure.where}: {failure.code or failure.status} "
        f"{failure.message}".rstrip()
    )


def _translate_botocore_error(exc: BotoCoreError, target: S3Target) -> LakeError:
    where = target.describe()
    if isinstance(exc, _TRANSIENT_ERRORS):
        return BackendUnavailable(
            f"cannot reach S3 for {where} ({exc}): check the network, region and "
            "endpoint_url, then retry"
        )
    if isinstance(exc, CREDENTIAL_ERRORS):
        return ConfigError(
            [
                f"aws credentials: {exc}; set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY) and AWS_REGION, or run `aws configure`"
            ],
            source="aws",
        )
    if isinstance(exc, ChecksumError | FlexibleChecksumError):
        return ChecksumMismatch(
            f"the body of {where} failed its checksum in transit ({exc}): read it again; "
            "if it keeps failing the stored object may be damaged"
        )
    if isinstance(exc, ParamValidationError | ValidationError):
        return InvalidRequest(f"invalid request for {where}: {exc}")
    return LakeError(f"S3 client error for {where}: {exc}")


# -- one message per error code ----------------------------------------------------------


def transport_error(exc: BaseException, what: str) -> LakeError | None:
    """Translate a botocore failure that carries no AWS error code, or None if it has one.

    Network failures are retryable (``BackendUnavailable``); missing credentials become a
    ``ConfigError`` saying how to set them; rejected parameters an ``InvalidRequest``. Used
    by every AWS module (S3, SQS, DynamoDB, Glue) so they explain these alike.
    """
    if isinstance(exc, HTTPClientError | ConnectionError):
        return BackendUnavailable(
            f"cannot reach AWS for {what} ({exc}): check the network, region and endpoint_url, "
            "then retry"
        )
    if isinstance(exc, CREDENTIAL_ERRORS):
        return ConfigError(
            [
                f"aws credentials: {exc}; set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY) and AWS_REGION (or backend.region), or run `aws configure`"
            ],
            source="aws",
        )
    if isinstance(exc, ParamValidationError):
        return InvalidRequest(f"invalid request for {what}: {exc}")
    return None


def _no_such_bucket(f: _Failure) -> LakeError:
    return NoSuchBucket(
        f"bucket {f.bucket!r} does not exist: create it with `lakeward init` or check the name"
    )


def _no_such_key(f: _Failure) -> LakeError:
    return NoSuchKey(
        f"{f.where} does not exist (never written, or its latest version is a delete "
        "marker): check the key and list the prefix to see what is there"
    )


def _no_such_version(f: _Failure) -> LakeError:
    return NoSuchVersion(
        f"{f.where} does not exist: no version of this key has that id; "
        "list the key's versions to find a valid one"
    )


def _not_found(f: _Failure) -> LakeError:
    # HEAD responses have no body, so S3 says only "404": tell what was addressed.
    if f.target.version_id:
        return _no_such_version(f)
    if f.target.key:
        return _no_such_key(f)
    return _no_such_bucket(f)


def _bad_request(f: _Failure) -> LakeError:
    # HEAD with a malformed version id answers a bare 400.
    if f.target.version_id:
        return NoSuchVersion(
            f"{f.where} does not exist: the version id is unknown or malformed; "
            "list the key's versions to find a valid one"
        )
    return _invalid_request(f)


def _bucket_exists(f: _Failure) -> LakeError:
    if f.code == "BucketAlreadyOwnedByYou":
        return BucketAlreadyExists(
            f"bucket {f.bucket!r} already exists in your account: use it, or delete it first"
        )
    return BucketAlreadyExists(
        f"bucket {f.bucket!r} already exists and is owned by another AWS account: bucket "
        "names are global, choose another (e.g. prefix it with your project and env)"
    )


def _bucket_not_empty(f: _Failure) -> LakeError:
    return BucketNotEmpty(
        f"bucket {f.bucket!r} still holds objects, versions or delete markers: delete every "
        "version of every key before deleting the bucket"
    )


def _precondition_failed(f: _Failure) -> LakeError:
    return PreconditionFailed(
        f"{f.where} already exists: the conditional put (If-None-Match: *) did not "
        "overwrite it; read the existing object or write under another key"
    )


def _conflict(f: _Failure) -> LakeError:
    return Conflict(f"{f.where}: a conflicting request is in progress ({f.message}); retry it")


def _access_denied(f: _Failure) -> LakeError:
    return AccessDenied(
        f"access denied to {f.where}: the credentials in use lack permission for this "
        "operation; check their IAM policy and the bucket policy"
    )


def _object_locked(f: _Failure) -> LakeError:
    return ObjectLocked(
        f"{f.where} is protected by object-lock retention or a legal hold, which refused "
        "the change: COMPLIANCE retention and legal holds cannot be bypassed (lift the hold "
        "first); for GOVERNANCE retention pass bypass_governance=True (--bypass-governance)"
    )


def _invalid_object_state(f: _Failure) -> LakeError:
    storage_class = str(f.details.get("StorageClass", "an archive storage class"))
    return InvalidObjectState(
        f"{f.where} is in {storage_class} and cannot be read before it is restored: run "
        "`lakeward restore` on it and read it once the restore has completed"
    )


def _delete_marker(f: _Failure) -> LakeError:
    return InvalidObjectState(
        f"{f.where} is a delete marker, which has no body or metadata: name a version "
        "that holds data"
    )


def _checksum_mismatch(f: _Failure) -> LakeError:
    return ChecksumMismatch(
        f"S3 received a body for {f.where} that does not match its checksum ({f.code}): the "
        "data changed in transit or while being read; read the source again and retry"
    )


def _invalid_bucket_name(f: _Failure) -> LakeError:
    return InvalidBucketName(
        f"invalid bucket name {f.bucket!r}: {f.message} (S3 names are 3-63 characters of "
        "lowercase letters, digits, '.' and '-')"
    )


def _invalid_request(f: _Failure) -> LakeError:
    # S3: "Bucket is missing Object Lock Configuration"; moto: "...ObjectLockConfiguration".
    if "missingobjectlockconfiguration" in f.message.lower().replace(" ", ""):
        return InvalidRetention(
            f"bucket {f.bucket!r} has no object lock, so {f.where} cannot carry retention or "
            "a legal hold: create the bucket with object lock (object_lock=True)"
        )
    return InvalidRequest(f"S3 refused the request for {f.where}: {f.message or f.code}")


def _unavailable(f: _Failure) -> LakeError:
    return BackendUnavailable(
        f"S3 is unavailable or throttling ({f.code or f.status}: {f.message}) while "
        f"accessing {f.where}: retry later"
    )


_HANDLERS: dict[str, Callable[[_Failure], LakeError]] = {
    "NoSuchBucket": _no_such_bucket,
    "NoSuchKey": _no_such_key,
    "NoSuchVersion": _no_such_version,
    "404": _not_found,
    "NotFound": _not_found,
    "400": _bad_request,
    "BucketAlreadyExists": _bucket_exists,
    "BucketAlreadyOwnedByYou": _bucket_exists,
    "BucketNotEmpty": _bucket_not_empty,
    "PreconditionFailed": _precondition_failed,
    "412": _precondition_failed,
    "409": _conflict,
    "ConditionalRequestConflict": _conflict,
    "AccessDenied": _access_denied,
    "403": _access_denied,
    "AllAccessDisabled": _access_denied,
    "InvalidObjectState": _invalid_object_state,
    "ObjectNotInActiveTierError": _invalid_object_state,
    "MethodNotAllowed": _delete_marker,
    "405": _delete_marker,
    "BadDigest": _checksum_mismatch,
    "XAmzContentSHA256Mismatch": _checksum_mismatch,
    "InvalidDigest": _checksum_mismatch,
    "InvalidBucketName": _invalid_bucket_name,
    "InvalidRequest": _invalid_request,
    "InvalidArgument": _invalid_request,
    "InvalidBucketState": _invalid_request,
    "InvalidBucket": _invalid_request,
    "MalformedXML": _invalid_request,
    "MalformedPolicy": _invalid_request,
    "InvalidTag": _invalid_request,
    "InvalidStorageClass": _invalid_request,
    "EntityTooLarge": _invalid_request,
    "KeyTooLongError": _invalid_request,
    "MissingUploadObjectWithObjectLockHeaders": _invalid_request,
    "InvalidTargetBucketForLogging": _invalid_request,
    "MetadataTooLarge": _invalid_request,
    "BadRequest": _invalid_request,
}


def _no_such_configuration(f: _Failure) -> LakeError:
    what = CONFIG_NOT_FOUND_CODES.get(f.code, "configuration")
    return NoSuchConfiguration(
        f"bucket {f.bucket!r} has no {what}: set one (e.g. in lakeward.yaml) before reading it"
    )
