"""Any sentence-transformers model on torch: custom ``EMBEDDING_MODEL``s, and the reference.

torch, transformers and sentence-transformers are imported only when a model is loaded
(seconds, ~830 MB resident), so importing this module costs nothing and the served bundled
model (``onnx_runtime``) never pulls them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from embeddings.encoder.base import (
    PROMPTS,
    QueryCache,
    TextKind,
    TokenStates,
    cached_queries,
    prefix_tokens,
)
from embeddings.errors import EmbeddingError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


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
    term_cache: QueryCache = field(default_factory=QueryCache, repr=False, compare=False)

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
        prefix = prefix_tokens(lambda text: len(tokenize(text)["input_ids"]), PROMPTS[kind])
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


def load_sentence_transformer(spec: str, path: str, threads: int) -> SentenceTransformerEncoder:
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
