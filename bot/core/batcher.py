"""Micro-batching: concurrent questions share one encoder call, off the event loop.

Questions that arrive together are answered by one ``ask_many`` call, so the per-call
costs (a forward pass's fixed overhead, BM25 and FAISS calls, the thread hop) are paid
once per batch; with one asker it adds no delay beyond a wait of ``window`` seconds at
most. On a CPU a forward pass costs about the same per token however the tokens are
batched, so batching alone cannot use a second core: ``workers`` batches can run at
once, each encoder call on one intra-op thread. The default is one, because the core is
not checked for two threads asking at once (a shared snowball stemmer raised
IndexError under concurrent asks; it is per thread now, the rest is unaudited).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.core.answer import Answer
from bot.core.engine import ArticleBot
from bot.core.followup import Turn
from bot.core.shelf import Shelf, ShelfError

# (question, the asker's last turn, the shelf article asked (None: all), the reply's future)
_Item = tuple[str, Turn | None, str | None, "asyncio.Future[Answer]"]

log = logging.getLogger(__name__)


class Batcher:
    def __init__(
        self,
        core: ArticleBot | Shelf,
        max_batch: int = 32,
        window: float = 0.002,
        quotes: int = 3,
        workers: int = 1,
    ) -> None:
        self.core = core
        self.quotes = quotes  # passages kept per answer
        self.max_batch = max_batch
        self.window = window
        self.workers = workers
        self._queue: asyncio.Queue[_Item] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def ask(
        self, question: str, previous: Turn | None = None, article: str | None = None
    ) -> Answer:
        """The answer to ``question``; ``previous`` is the asker's last turn, for follow-ups.

        ``article`` is a shelf name to answer from (None searches the whole shelf): only
        a :class:`Shelf` has names.
        """
        if article is not None and not isinstance(self.core, Shelf):
            raise ValueError(f"a single article has no shelf names: got {article!r}")
        if article is not None and isinstance(self.core, Shelf) and article not in self.core:
            # Checked here, so that one asker's unknown name fails their question, not a batch.
            raise ShelfError(f"no article named {article!r} on the shelf", "unknown_name")
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._tasks = [
                asyncio.create_task(self._run(self._queue), name=f"batcher-{number}")
                for number in range(self.workers)
            ]
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        await self._queue.put((question, previous, article, future))
        return await future

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._queue, self._tasks = None, []

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
            questions = [q for q, _, _, _ in batch]
            previous = [p for _, p, _, _ in batch]
            articles = [a for _, _, a, _ in batch]
            try:
                answers = await asyncio.to_thread(self._answer, questions, previous, articles)
            except Exception as exc:  # one bad batch must not stop the worker
                log.exception("answering a batch of %d questions failed", len(batch))
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (*_, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(answer)

    def _answer(
        self, questions: list[str], previous: list[Turn | None], articles: list[str | None]
    ) -> list[Answer]:
        """One batch: a shelf reads each question's article; a single core has only its own."""
        if isinstance(self.core, Shelf):
            return self.core.ask_many(questions, self.quotes, previous, articles)
        return self.core.ask_many(questions, self.quotes, previous)
