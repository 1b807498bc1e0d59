"""The one exception tree of lakeward.

Every error lakeward raises on purpose is a :class:`LakeError`. Each class says what
happened; each message says what to do about it. ``retryable`` tells a worker whether
trying the same thing again can succeed (transient) or not (terminal).

::

    LakeError
    ├── ConfigError                 lakeward.yaml / env / args are invalid (lists every problem)
    ├── NotSupported                the backend cannot do this (e.g. doctor on aws)
    ├── InvalidRequest              a request S3 itself would refuse (400)
    │   ├── InvalidKey              key not UTF-8, empty, > 1024 bytes, or holds NUL
    │   ├── InvalidBucketName       bucket name breaks the S3 naming rules
    │   ├── PolicyError             an IAM policy document is malformed (names the statement)
    │   └── InvalidRetention        object-lock retention that cannot be set this way
    ├── NotFound
    │   ├── NoSuchBucket
    │   ├── NoSuchKey
    │   ├── NoSuchVersion
    │   ├── NoSuchConfiguration     bucket has no such configuration (policy, lifecycle, …)
    │   ├── NoSuchDatabase          catalog database
    │   └── NoSuchTable             catalog table (the message suggests close names)
    ├── Conflict
    │   ├── BucketAlreadyExists
    │   ├── BucketNotEmpty
    │   ├── PreconditionFailed      conditional put lost: the key already exists
    │   └── AlreadyExists           catalog database, table or partition exists already
    ├── AccessDenied
    │   ├── ObjectLocked            retention or legal hold protects this version
    │   └── QuotaExceeded           a limit in lakeward.yaml refuses the request
    │       └── BytesScannedCutoff  a query would scan more than its workgroup's cutoff
    ├── InvalidObjectState          archived object read before restore; delete marker read
    ├── ChecksumMismatch            body does not match its SHA-256 (BadDigest)
    ├── StorageFull                 the lake root's disk is full
    ├── LakeCorrupted               lake files inconsistent with the database (run doctor)
    └── BackendUnavailable          transient backend failure (retryable)
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "AlreadyExists",
    "BackendUnavailable",
    "BucketAlreadyExists",
    "BucketNotEmpty",
    "BytesScannedCutoff",
    "ChecksumMismatch",
    "ConfigError",
    "Conflict",
    "InvalidBucketName",
    "InvalidKey",
    "InvalidObjectState",
    "InvalidRequest",
    "InvalidRetention",
    "LakeCorrupted",
    "LakeError",
    "NoSuchBucket",
    "NoSuchConfiguration",
    "NoSuchDatabase",
    "NoSuchKey",
    "NoSuchTable",
    "NoSuchVersion",
    "NotFound",
    "NotSupported",
    "ObjectLocked",
    "PolicyError",
    "PreconditionFailed",
    "QuotaExceeded",
    "StorageFull",
]


class LakeError(Exception):
    """Root of every error lakeward raises on purpose.

    Attributes:
        retryable: True when the same operation may succeed if tried again.
    """

    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(LakeError):
    """The configuration is invalid.

    Attributes:
        problems: One ``"yaml.path: what is wrong"`` string per problem found.
    """

    def __init__(self, problems: list[str], source: str = "lakeward.yaml") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{source}: {count} {noun}:\n{lines}")


class NotSupported(LakeError):
    """The chosen backend cannot perform this operation."""


class InvalidRequest(LakeError):
    """A request that S3 would refuse as malformed."""


class InvalidKey(InvalidRequest):
    """An object key that S3 cannot store."""


class InvalidBucketName(InvalidRequest):
    """A bucket name that breaks the S3 bucket naming rules."""


class PolicyError(InvalidRequest):
    """An IAM policy document that cannot be evaluated: the message names the statement."""


class InvalidRetention(InvalidRequest):
    """An object-lock retention or legal hold that cannot be applied."""


class NotFound(LakeError):
    """Something addressed by name does not exist."""


class NoSuchBucket(NotFound):
    """The bucket does not exist."""


class NoSuchKey(NotFound):
    """The key has no current version (never written, or deleted)."""


class NoSuchVersion(NotFound):
    """The version id does not exist for this key."""


class NoSuchConfiguration(NotFound):
    """The bucket has no configuration of this kind."""


class NoSuchDatabase(NotFound):
    """The catalog has no such database."""


class NoSuchTable(NotFound):
    """The catalog has no such table."""


class Conflict(LakeError):
    """The request conflicts with the current state."""


class BucketAlreadyExists(Conflict):
    """A bucket with this name exists already."""


class BucketNotEmpty(Conflict):
    """The bucket still holds objects or versions."""


class PreconditionFailed(Conflict):
    """A conditional write failed because the key already exists."""


class AlreadyExists(Conflict):
    """A catalog database, table or partition with this name exists already."""


class AccessDenied(LakeError):
    """The request is not allowed."""


class ObjectLocked(AccessDenied):
    """Object-lock retention or a legal hold protects this object version."""


class QuotaExceeded(AccessDenied):
    """A limit declared in lakeward.yaml refuses the request."""


class BytesScannedCutoff(QuotaExceeded):
    """A query's estimated bytes scanned exceed its workgroup's ``bytes_scanned_cutoff``."""

    def __init__(self, message: str, *, workgroup: str, estimated_bytes: int, cutoff: int) -> None:
        super().__init__(message)
        self.workgroup = workgroup
        self.estimated_bytes = estimated_bytes
        self.cutoff = cutoff


class InvalidObjectState(LakeError):
    """The object is in a state that forbids this operation (archived, delete marker)."""


class ChecksumMismatch(LakeError):
    """Data does not match its recorded or declared SHA-256."""


class StorageFull(LakeError):
    """The disk under the lake root is full."""


class LakeCorrupted(LakeError):
    """Lake files do not match the database; ``lakeward doctor --repair`` may fix it."""


class BackendUnavailable(LakeError):
    """A transient backend failure (throttling, timeout, lock contention)."""

    retryable = True
