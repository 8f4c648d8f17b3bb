"""The embeddings layer's own exceptions, so callers never catch torch or faiss types."""


class EmbeddingError(Exception):
    """The encoder model cannot be prepared or loaded."""


class IndexStoreError(Exception):
    """The index directory cannot be written or read."""
