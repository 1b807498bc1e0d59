"""Object storage: the :class:`ObjectStore` interface and the loader that picks a backend.

Backends register under a URI scheme and are imported only when used::

    store = open_store("local://./.lake")            # embedded: files + SQLite
    store = open_store("s3://", region="eu-west-1")   # AWS through boto3
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from lakeward.errors import ConfigError
from lakeward.storage.base import (
    ARCHIVED_CLASSES,
    STORAGE_CLASSES,
    BucketConfigKind,
    DeleteResult,
    ListPage,
    ObjectBody,
    ObjectInfo,
    ObjectStore,
    ObjectVersion,
    PutRequest,
    Retention,
    VersionPage,
)

__all__ = [
    "ARCHIVED_CLASSES",
    "STORAGE_CLASSES",
    "BucketConfigKind",
    "DeleteResult",
    "ListPage",
    "ObjectBody",
    "ObjectInfo",
    "ObjectStore",
    "ObjectVersion",
    "PutRequest",
    "Retention",
    "VersionPage",
    "open_store",
]

_BACKENDS: dict[str, str] = {
    "local": "lakeward.storage.local:LocalObjectStore",
    "s3": "lakeward.storage.s3:S3ObjectStore",
}


def open_store(uri: str, **options: Any) -> ObjectStore:
    """Open the object store a URI names.

    Args:
        uri: ``local://<root>`` (relative or absolute path) or ``s3://``.
        **options: Backend settings (``region``, ``profile``, ``endpoint_url``, ``client``
            for s3).

    Returns:
        An open :class:`ObjectStore`; close it (or use ``with``) when done.

    Raises:
        ConfigError: The scheme names no known backend.
    """
    scheme, sep, rest = uri.partition("://")
    if not sep:
        scheme, rest = "local", uri
    target = _BACKENDS.get(scheme)
    if target is None:
        hint = difflib.get_close_matches(scheme, list(_BACKENDS), n=1)
        did_you_mean = f"; did you mean {hint[0]}://?" if hint else ""
        raise ConfigError(
            [
                f"backend: unknown storage scheme {scheme!r} (known: {', '.join(_BACKENDS)}){did_you_mean}"
            ]
        )
    module_name, _, class_name = target.partition(":")
    backend_cls = getattr(importlib.import_module(module_name), class_name)
    store: ObjectStore = backend_cls.from_uri(rest, **options)
    return store
