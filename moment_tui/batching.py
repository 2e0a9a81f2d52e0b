"""Handing on what arrives during one turn of the event loop, all together.

Under a burst the listener reports hundreds of deliveries a second. Whoever shows
them — ``listen`` printing lines, the console posting UI messages — does better
taking them a turn's worth at a time: one write, one message. Nothing is held past
the current turn of the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TurnBatch(Generic[T]):
    """Call it with items, from the event loop; ``deliver`` gets them as one list at
    the end of the loop's current turn (or at :meth:`flush`)."""

    def __init__(self, deliver: Callable[[list[T]], object]) -> None:
        self._deliver = deliver
        self._items: list[T] = []

    def __call__(self, item: T) -> None:
        if not self._items:
            asyncio.get_running_loop().call_soon(self.flush)
        self._items.append(item)

    def flush(self) -> None:
        if self._items:
            items, self._items = self._items, []
            self._deliver(items)
