"""adapters.pg_batch.GroupCommit: concurrent writes flushed together, each caller answered."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from adapters.pg_batch import GroupCommit


class Flushes:
    """A flush that records its batches and can be held open or made to fail."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_next = False

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise OSError("database went away")
        return [item * 10 for item in items]


async def test_writes_made_while_a_flush_runs_go_together_in_the_next() -> None:
    flushes = Flushes()
    group = GroupCommit(flushes, max_items=100)
    flushes.gate.clear()
    first = asyncio.create_task(group.add(1))
    await asyncio.sleep(0)  # the first flush starts, with one item
    later = [asyncio.create_task(group.add(n)) for n in range(2, 7)]
    many = asyncio.create_task(group.add_many([7, 8]))
    await asyncio.sleep(0)
    flushes.gate.set()

    assert await first == 10
    assert [await t for t in later] == [20, 30, 40, 50, 60]
    assert await many == [70, 80]
    assert flushes.batches == [[1], [2, 3, 4, 5, 6, 7, 8]]


async def test_a_caller_that_gives_up_does_not_stop_the_write_or_the_others() -> None:
    flushes = Flushes()
    group = GroupCommit(flushes, max_items=100)
    flushes.gate.clear()
    impatient = asyncio.create_task(group.add(1))
    patient = asyncio.create_task(group.add(2))
    await asyncio.sleep(0)
    impatient.cancel()
    flushes.gate.set()

    assert await patient == 20
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert flushes.batches == [[1, 2]]  # its item was written all the same
    await group.close()


async def test_a_failed_flush_fails_its_whole_batch_and_the_next_batch_goes_on() -> None:
    flushes = Flushes()
    group = GroupCommit(flushes, max_items=2)
    flushes.fail_next = True

    results = await asyncio.gather(*(group.add(n) for n in (1, 2, 3)), return_exceptions=True)

    assert [type(r) for r in results[:2]] == [OSError, OSError]
    assert results[2] == 30
    assert flushes.batches == [[1, 2], [3]]
