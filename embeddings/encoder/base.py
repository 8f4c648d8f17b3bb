"""What every encoder backend shares: the ``Encoder`` protocol, the query cache, token states.

The backends (``onnx_runtime``, ``sentence_transformer``) import only this module and
``load`` imports them, so imports point one way: load → backends → base.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

# e5's prompts, as the converter writes them into the model (convert._PROMPTS).
PROMPTS = {"query": "query: ", "passage": "passage: "}
# Query vectors kept by exact text: 1.5 KB each, so the default holds ~1.5 MB.
QUERY_CACHE_SIZE = 1024
# One intra-op thread (torch and ONNX Runtime alike): with two, every matrix product waits
# for both cores, so any other busy thread (the bot's own event loop, another process)
# stalls it. Measured on 2 cores with other work running, one asker through the core
# (torch): 48 questions/s, p99 29 ms with one thread; 19 questions/s, p99 975 ms with two.
# Only a quiet machine's single-question p50 is better with two: `python -m bot bench`
# shows both.
THREADS = 1

TextKind = Literal["query", "passage"]


class QueryCache:
    """A small LRU of query vectors keyed by the exact (cleaned) text.

    Chats repeat questions verbatim (the example in /start, a button's text, the same
    question from many users after a post links the bot); a hit costs microseconds
    where the encoder costs milliseconds. Bounded so a flood of unique questions
    cannot grow memory; locked because thread-pool callers may share one encoder.
    """

    def __init__(self, capacity: int = QUERY_CACHE_SIZE) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        # Counted so the benchmark (and an operator) can say how often the cache answers.
        self.hits = 0
        self.misses = 0

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            vector = self._items.get(text)
            if vector is None:
                self.misses += 1
            else:
                self.hits += 1
                self._items.move_to_end(text)
            return vector

    def put(self, text: str, vector: np.ndarray) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._items[text] = vector.copy()  # a row view would pin its whole batch
            self._items.move_to_end(text)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class TokenStates:
    """One text's final hidden states from the same forward pass as its sentence vector.

    For heads that read e5's tokens rather than its pooled vector (a sparse "latent terms"
    head max-pools per-token features over the content tokens). ``states`` has a row per
    token the model saw: ``<s>``, the prompt prefix, the text, ``</s>``; padding removed.
    """

    token_ids: np.ndarray  # (tokens,) int64
    states: np.ndarray  # (tokens, dimension) float32, the last hidden state
    prefix_tokens: int  # leading rows that are <s> and the "query: "/"passage: " prompt

    @property
    def content(self) -> np.ndarray:
        """The rows of the text itself: no <s>, no prompt prefix, no </s>."""
        return self.states[self.prefix_tokens : len(self.states) - 1]


class Encoder(Protocol):
    """What retrieval needs from a model; two backends, chosen by ``load.load_encoder``.

    ``model_id`` names the model and its numerics in index manifests, so that vectors from
    another model (or a quantisation that moves them) force a rebuild.
    """

    model_id: str
    query_cache: QueryCache
    # A question's missing terms, encoded as passages for the refusal evidence: the same
    # terms are checked against every article a shelf shortlists for the question.
    term_cache: QueryCache

    @property
    def dimension(self) -> int: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Normalised vectors for questions ("query: " prefix); repeats come from the cache."""
        ...

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Normalised vectors for passages ("passage: " prefix)."""
        ...

    def encode_with_token_states(
        self, texts: list[str], kind: TextKind
    ) -> tuple[np.ndarray, list[TokenStates]]:
        """Normalised sentence vectors and each text's token states, from one forward pass."""
        ...


def prefix_tokens(count: Callable[[str], int], prompt: str) -> int:
    """How many leading tokens are ``<s>`` and the prompt, given a token counter.

    Not the prompt's own count: alone, its trailing space becomes a "▁" token, which in
    front of a text merges into the text's first piece.
    """
    return count(prompt + "a") - count("a") + 1


def cached_queries(
    cache: QueryCache, texts: list[str], encode: Callable[[list[str]], np.ndarray], dim: int
) -> np.ndarray:
    """Query vectors in the callers' order: cached ones reused, the rest encoded in one call."""
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    known = {t: v for t in set(texts) if (v := cache.get(t)) is not None}
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        for text, vector in zip(missing, encode(missing), strict=True):
            cache.put(text, vector)
            known[text] = vector
    return np.ascontiguousarray(np.stack([known[t] for t in texts]), dtype=np.float32)
