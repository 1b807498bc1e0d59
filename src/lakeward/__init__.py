"""lakeward: a governed S3 data lake(house) as code.

>>> import lakeward
>>> lakeward.__version__ >= "0.1"
True

Heavy modules (boto3, duckdb, pyarrow, pydantic) load only when first used, so
``import lakeward`` stays fast.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from lakeward import errors
from lakeward.errors import ConfigError, LakeError

if TYPE_CHECKING:
    from lakeward.lake import BucketStatus, Lake, load_lake

try:
    __version__ = version("lakeward")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = [
    "BucketStatus",
    "ConfigError",
    "Lake",
    "LakeError",
    "__version__",
    "errors",
    "load_lake",
]

_LAZY = {"Lake", "load_lake", "BucketStatus"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from lakeward import lake

        return getattr(lake, name)
    raise AttributeError(f"module 'lakeward' has no attribute {name!r}")
