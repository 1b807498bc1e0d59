"""Request checks both backends apply before touching storage, so both fail alike."""

from __future__ import annotations

from lakeward.errors import InvalidRequest
from lakeward.storage.base import STORAGE_CLASSES

MAX_TAGS = 10
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_METADATA_BYTES = 2048


def check_storage_class(storage_class: str) -> str:
    """Return ``storage_class`` if S3 knows it.

    Raises:
        InvalidRequest: Unknown class, with the known ones.
    """
    if storage_class not in STORAGE_CLASSES:
        raise InvalidRequest(
            f"unknown storage class {storage_class!r}: use one of {', '.join(STORAGE_CLASSES)}"
        )
    return storage_class


def check_tags(tags: dict[str, str] | None) -> dict[str, str]:
    """Return the tags if S3 accepts them (≤ 10, key ≤ 128, value ≤ 256 characters).

    Raises:
        InvalidRequest: A limit is broken; the message names the tag.
    """
    tags = dict(tags or {})
    if len(tags) > MAX_TAGS:
        raise InvalidRequest(f"{len(tags)} tags given; S3 allows at most {MAX_TAGS} per object")
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_KEY:
            raise InvalidRequest(f"tag key {key!r} must be 1-{MAX_TAG_KEY} characters")
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise InvalidRequest(
                f"tag {key!r}: value must be a string of at most {MAX_TAG_VALUE} characters"
            )
    return tags


def clean_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """Return user metadata with lower-cased keys, as S3 stores it.

    Raises:
        InvalidRequest: Non-ASCII keys, non-string values, or more than 2 KB in total.
    """
    cleaned: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not key.isascii() or not key.strip():
            raise InvalidRequest(f"metadata key {key!r} must be non-empty ASCII")
        if not isinstance(value, str):
            raise InvalidRequest(
                f"metadata {key!r}: value must be a string, got {type(value).__name__}"
            )
        cleaned[key.strip().lower()] = value
    size = sum(len(k.encode()) + len(v.encode()) for k, v in cleaned.items())
    if size > MAX_METADATA_BYTES:
        raise InvalidRequest(
            f"user metadata is {size} bytes; S3 allows at most {MAX_METADATA_BYTES}"
        )
    return cleaned
