"""Sentence embeddings for questions and passages, with the e5 prefixes applied by name.

The package keeps its backends beside one shared base, the way sentence-transformers keeps
``backend/`` beside its model: ``base`` (the ``Encoder`` protocol, the query cache, token
states), one module per backend (``onnx_runtime`` serves the bundled model with no torch in
the process, ``sentence_transformer`` runs any other model), and ``load``, which picks one.
Imports point one way, load → backends → base; ``lint-imports`` keeps it so. Callers import
from here.
"""

from embeddings.encoder.base import (
    THREADS,
    Encoder,
    QueryCache,
    TextKind,
    TokenStates,
)
from embeddings.encoder.load import (
    DEFAULT_MODEL,
    load_encoder,
    model_path,
    onnx_path,
    prefetch,
)

__all__ = [
    "DEFAULT_MODEL",
    "THREADS",
    "Encoder",
    "QueryCache",
    "TextKind",
    "TokenStates",
    "load_encoder",
    "model_path",
    "onnx_path",
    "prefetch",
]
