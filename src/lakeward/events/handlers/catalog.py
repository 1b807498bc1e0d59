"""The ``catalog`` handler: where new partitions will be registered as objects land (M4).

Routes may point at it now; until the catalog exists it acknowledges events without
doing anything, and says so in its outcome.
"""

from __future__ import annotations

from lakeward.events.handlers import HandlerContext
from lakeward.events.model import Event


def handle(context: HandlerContext, event: Event) -> str:
    """Acknowledge the event; the catalog that will register partitions is not built yet."""
    return f"catalog: nothing registered for s3://{event.bucket}/{event.key} (the catalog arrives in M4)"
