"""Group commit: many callers' writes of one kind, flushed together in one statement.

Each kind of write (store MO, answer MO, record a send...) has one :class:`GroupCommit`. A
caller adds its item and waits; one flusher takes everything waiting (up to ``max_items``)
and writes it in one round trip, so a busy gateway pays one commit for a whole batch while
an idle one pays no wait at all: items that arrive during a flush form the next batch.
``wait`` (seconds, usually 0) lets a flush linger for more items when latency is cheaper
than commits. A failed flush fails every caller of that batch with the same error. A caller
that stops waiting (cancelled) loses only its answer: its item is still written with the
rest (no ``asyncio.shield`` per call, which cost more than the rest of an add together).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        flush: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        max_items: int,
        wait: float = 0.0,
    ) -> None:
        self._flush = flush
        self._max = max_items
        self._wait = wait
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.flushes = 0  # for benchmarks: items / flushes is the mean batch size
        self.items = 0

    async def add(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._run())
        return await future  # a caller that gives up cancels only its own answer

    async def add_many(self, items: Sequence[Item]) -> list[Result]:
        if not items:
            return []
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in items]
        self._pending.extend(zip(items, futures, strict=True))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._run())
        return list(await asyncio.gather(*futures))

    async def _run(self) -> None:
        while self._pending:
            if self._wait > 0 and len(self._pending) < self._max:
                await asyncio.sleep(self._wait)
            batch, self._pending = self._pending[: self._max], self._pending[self._max :]
            try:
                results = await self._flush([item for item, _ in batch])
            except Exception as exc:  # every caller of the batch learns of it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.flushes += 1
            self.items += len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
