"""Key conventions: validation of bucket names and keys, S3 URIs, Hive partitions, zones.

Keys are S3 keys: arbitrary UTF-8 up to 1024 bytes. They are never joined onto a file
path without :func:`view_parts`, which refuses anything that could escape a directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lakeward.errors import InvalidBucketName, InvalidKey, InvalidRequest

__all__ = [
    "MAX_KEY_BYTES",
    "ZONES",
    "S3Uri",
    "hive_segment",
    "parse_s3_uri",
    "validate_bucket_name",
    "validate_key",
    "view_parts",
]

MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255
ZONES = ("raw", "processed", "curated", "analytics", "archive", "logs")
"""The zones a bucket may hold, each a top-level key prefix (``raw/…``)."""

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_HIVE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate_bucket_name(name: str) -> str:
    """Return ``name`` if it follows the S3 general-purpose bucket naming rules.

    Raises:
        InvalidBucketName: With the rule that was broken.

    >>> validate_bucket_name("acme-dev-raw")
    'acme-dev-raw'
    """
    problem = _bucket_name_problem(name)
    if problem:
        raise InvalidBucketName(
            f"invalid bucket name {name!r}: {problem} (S3 names are 3-63 characters of "
            "lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)"
        )
    return name


def _bucket_name_problem(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        return f"length {len(name)} is outside 3-63"
    if not _BUCKET_RE.match(name):
        return "only lowercase letters, digits, '.' and '-' are allowed"
    if ".." in name or ".-" in name or "-." in name:
        return "adjacent '.' and '-' are not allowed"
    if _IP_RE.match(name):
        return "it looks like an IP address"
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        return "the prefix or suffix is reserved by AWS"
    return None


def validate_key(key: str) -> str:
    """Return ``key`` if S3 can store it: non-empty UTF-8, ≤ 1024 bytes, no NUL.

    Path-like content (``..``, a leading ``/``) is allowed: it is an S3 key, not a path.

    Raises:
        InvalidKey: With what is wrong and the limit.

    >>> validate_key("a/../../etc/passwd")
    'a/../../etc/passwd'
    """
    if not isinstance(key, str) or not key:
        raise InvalidKey("object key must be a non-empty string")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidKey(
            f"object key {key!r} is not valid UTF-8 (it holds a lone surrogate at "
            f"position {exc.start}); keys must be UTF-8 text"
        ) from exc
    if size > MAX_KEY_BYTES:
        raise InvalidKey(
            f"object key is {size} bytes of UTF-8; S3 allows at most {MAX_KEY_BYTES}: "
            f"shorten it (it starts {key[:40]!r})"
        )
    if "\x00" in key:
        raise InvalidKey(f"object key {key!r} contains a NUL character, which S3 cannot list")
    return key


def view_parts(key: str) -> tuple[str, ...] | None:
    """Split a key into path segments for the hardlink view, or ``None`` if it can't be a path.

    A key stays out of the view when a segment is empty (``a//b``, ``/a``, ``a/``), is ``.``
    or ``..``, or is longer than 255 bytes. Such keys remain fully served by the API.

    >>> view_parts("raw/x/y.csv")
    ('raw', 'x', 'y.csv')
    >>> view_parts("a/../../etc/passwd") is None
    True
    """
    parts = tuple(key.split("/"))
    for part in parts:
        if part in ("", ".", "..") or len(part.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return None
    return parts


@dataclass(frozen=True)
class S3Uri:
    """A parsed ``s3://bucket/key`` address."""

    bucket: str
    key: str = ""

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_uri(uri: str) -> S3Uri:
    """Parse ``s3://bucket[/key]`` like awscli does (the key keeps every character).

    Raises:
        InvalidRequest: The string is not an ``s3://`` URI.

    >>> parse_s3_uri("s3://acme-dev-lake/raw/a b.csv")
    S3Uri(bucket='acme-dev-lake', key='raw/a b.csv')
    """
    if not uri.startswith("s3://"):
        raise InvalidRequest(f"{uri!r} is not an S3 URI: write it as s3://BUCKET/KEY")
    rest = uri[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise InvalidRequest(f"{uri!r} names no bucket: write it as s3://BUCKET/KEY")
    return S3Uri(bucket=bucket, key=key)


def hive_segment(name: str, value: str) -> str:
    """Render one Hive partition segment ``name=value``.

    Raises:
        InvalidRequest: The name is not an identifier or the value holds ``/``.

    >>> hive_segment("year", "2023")
    'year=2023'
    """
    if not _HIVE_NAME_RE.match(name):
        raise InvalidRequest(
            f"partition name {name!r} must be an identifier ([A-Za-z_][A-Za-z0-9_]*)"
        )
    if "/" in value or not value:
        raise InvalidRequest(
            f"partition value {value!r} for {name!r} must be non-empty, without '/'"
        )
    return f"{name}={value}"
