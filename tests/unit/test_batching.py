"""TurnBatch: what arrives in one turn of the event loop is handed on together."""

from __future__ import annotations

import asyncio

from moment_tui.batching import TurnBatch


async def test_items_of_one_turn_arrive_as_one_list_in_order() -> None:
    got: list[list[int]] = []
    batch: TurnBatch[int] = TurnBatch(got.append)
    for i in range(5):
        batch(i)
    assert got == []  # not before the turn ends
    await asyncio.sleep(0)
    assert got == [[0, 1, 2, 3, 4]]
    batch(5)
    await asyncio.sleep(0)
    batch(6)
    batch(7)
    await asyncio.sleep(0)
    assert got == [[0, 1, 2, 3, 4], [5], [6, 7]]


async def test_flush_hands_on_at_once_and_never_twice() -> None:
    got: list[list[str]] = []
    batch: TurnBatch[str] = TurnBatch(got.append)
    batch("a")
    batch.flush()
    assert got == [["a"]]
    await asyncio.sleep(0)  # the scheduled flush finds nothing left
    assert got == [["a"]]
    batch.flush()
    assert got == [["a"]]
