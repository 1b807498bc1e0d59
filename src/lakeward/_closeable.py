"""``Closeable``: ``close()`` and the context-manager protocol that calls it, written once."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closeable:
    """A resource used as ``with thing: ...``; subclasses override :meth:`close`."""

    def close(self) -> None:
        """Release what this object holds (nothing by default)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
