"""Micro-batching: concurrent questions share one encoder call, off the event loop.

Encoding 32 questions at once costs little more than encoding one, so under load the
bot answers many chats for the price of a few; with one asker it adds no delay
beyond a wait of ``window`` seconds at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.core.answer import Answer
from bot.core.engine import ArticleBot
from bot.core.followup import Turn

_Item = tuple[str, Turn | None, "asyncio.Future[Answer]"]

log = logging.getLogger(__name__)


class Batcher:
    def __init__(
        self, core: ArticleBot, max_batch: int = 32, window: float = 0.002, quotes: int = 3
    ) -> None:
        self.core = core
        self.quotes = quotes  # passages kept per answer
        self.max_batch = max_batch
        self.window = window
        self._queue: asyncio.Queue[_Item] | None = None
        self._worker: asyncio.Task[None] | None = None

    async def ask(self, question: str, previous: Turn | None = None) -> Answer:
        """The answer to ``question``; ``previous`` is the asker's last turn, for follow-ups."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run(self._queue), name="batcher")
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        await self._queue.put((question, previous, future))
        return await future

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._queue, self._worker = None, None

    async def _run(self, queue: asyncio.Queue[_Item]) -> None:
        while True:
            batch = [await queue.get()]
            deadline = asyncio.get_running_loop().time() + self.window
            while len(batch) < self.max_batch:
                timeout = deadline - asyncio.get_running_loop().time()
                try:
                    batch.append(await asyncio.wait_for(queue.get(), max(timeout, 0)))
                except TimeoutError:
                    break
            questions = [q for q, _, _ in batch]
            previous = [p for _, p, _ in batch]
            try:
                answers = await asyncio.to_thread(
                    self.core.ask_many, questions, self.quotes, previous
                )
            except Exception as exc:  # one bad batch must not stop the worker
                log.exception("answering a batch of %d questions failed", len(batch))
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, _, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(answer)
