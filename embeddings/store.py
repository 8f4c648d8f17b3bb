"""The index directory: FAISS file, passages and a manifest that says what they were built from.

Like txtai's ``ann/`` metadata, the manifest is the contract: a different article,
model or dimension, or a file whose hash does not match, means the directory is
stale, and it is rebuilt rather than trusted.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from filelock import FileLock

from embeddings.bridges import BridgeTables
from embeddings.dictionary import Dictionary, load_dictionary
from embeddings.encoder import Encoder
from embeddings.errors import IndexStoreError
from embeddings.files import atomic_write
from embeddings.indexed import IndexedArticle, index_article
from embeddings.passages import Passage

log = logging.getLogger(__name__)

FORMAT_VERSION = 8  # 8: a stem's translations likeliest first (bridges.build_tables)
INDEX_FILE = "index.faiss"
SENTENCES_FILE = "sentences.faiss"
PASSAGES_FILE = "passages.json"
MANIFEST_FILE = "manifest.json"
# The article's slice of the bilingual dictionary and its pinyin (embeddings/bridges.py).
BRIDGES_FILE = "bridges.json"
# One vector per dictionary word of the article: "is this missing term a synonym of one?"
WORDS_FILE = "words.npy"
_HASHED = (INDEX_FILE, SENTENCES_FILE, PASSAGES_FILE, BRIDGES_FILE, WORDS_FILE)
# The dictionary's derived tables, shared by every article indexed beside it.
DICTIONARY_DIR = ".cedict"
# Exact search is both faster and exact below this size (see `python -m bot bench`).
HNSW_MIN_VECTORS = 50_000


@dataclass
class StoredIndex:
    article: IndexedArticle
    manifest: dict[str, object]
    rebuilt: bool
    dictionary: Dictionary  # shared by every article of the process

    @property
    def passages(self) -> list[Passage]:
        return list(self.article.passages)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stamp(path: Path) -> list[int]:
    """Size and modification time: a file that still has those it had when it was written
    and hashed is not hashed again at every start (a damaged or replaced one changes them)."""
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def make_faiss_index(vectors: np.ndarray) -> faiss.Index:
    """Inner product over normalised vectors is cosine similarity."""
    dim = vectors.shape[1]
    index: faiss.Index
    if len(vectors) >= HNSW_MIN_VECTORS:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 128
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index


def _expected(article_hash: str, encoder: Encoder) -> dict[str, object]:
    return {
        "format": FORMAT_VERSION,
        "article_sha256": article_hash,
        "model": encoder.model_id,
        "dimension": encoder.dimension,
    }


def _vectors(path: Path) -> np.ndarray:
    """The vectors a FAISS file holds (flat or HNSW storage: both keep them whole)."""
    index = faiss.read_index(str(path))
    return np.asarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32).reshape(
        index.ntotal, index.d
    )


def read_index(
    directory: Path, expected: dict[str, object] | None = None
) -> tuple[IndexedArticle, dict[str, object]] | None:
    """The article stored in ``directory`` and its manifest, or None with the reason logged:
    missing, stale (unlike ``expected``, or an older format), damaged or inconsistent."""
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.exists():
        log.info("no index in %s yet: building it", directory)
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        wanted = expected or {"format": FORMAT_VERSION}
        stale = [
            f"{k} {manifest.get(k)!r} → {v!r}" for k, v in wanted.items() if manifest.get(k) != v
        ]
        if stale:
            log.info("index in %s is stale (%s): rebuilding", directory, "; ".join(stale))
            return None
        stamps = manifest.get("stamps", {})
        for name in _HASHED:
            if _stamp(directory / name) == stamps.get(name):
                continue  # untouched since it was written and hashed
            if _sha256(directory / name) != manifest.get("sha256", {}).get(name):
                log.warning("index file %s is damaged (hash mismatch): rebuilding", name)
                return None
        paragraphs = _vectors(directory / INDEX_FILE)
        sentences = _vectors(directory / SENTENCES_FILE)
        raw = json.loads((directory / PASSAGES_FILE).read_text(encoding="utf-8"))
        passages = tuple(Passage.from_json(item) for item in raw)
        bridges = BridgeTables.from_json(
            json.loads((directory / BRIDGES_FILE).read_text(encoding="utf-8"))
        )
        # Mapped, not read: a shelf touches an article's word vectors only when a question
        # about it has a missing term to compare (the pages are the file's, shared and cheap).
        word_vectors = np.load(directory / WORDS_FILE, mmap_mode="r", allow_pickle=False)
        article = IndexedArticle(
            directory.name,
            str(manifest["article_sha256"]),
            str(manifest["model"]),
            passages,
            paragraphs,
            sentences,
            bridges,
            word_vectors,
            {str(k): float(v) for k, v in manifest.get("calibration", {}).items()},
            str(manifest.get("title", "")),  # absent from indexes written before 5 Dec 2026
            optional_text(manifest.get("date")),
        )
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, AttributeError) as exc:
        log.warning("index in %s is unreadable (%s): rebuilding", directory, exc)
        return None
    dimension = paragraphs.shape[1]
    if (
        len(paragraphs) != len(passages)
        or len(sentences) != sum(article.sentence_counts())
        or dimension != manifest.get("dimension")
        or len(bridges.syllables) != len(passages)
        or word_vectors.shape != (len(bridges.words), dimension)
    ):
        log.warning("index in %s does not match its passages: rebuilding", directory)
        return None
    return article, manifest


def optional_text(value: object) -> str | None:
    """A manifest's optional string (the article's date): None stays None."""
    return None if value is None else str(value)


def write_index(directory: Path, article: IndexedArticle) -> dict[str, object]:
    """Write ``article`` into ``directory`` file by file, the manifest last; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    index = make_faiss_index(article.paragraph_vectors)
    sentences = make_faiss_index(article.sentence_vectors)
    atomic_write(directory / INDEX_FILE, faiss.serialize_index(index).tobytes())
    atomic_write(directory / SENTENCES_FILE, faiss.serialize_index(sentences).tobytes())
    payload = json.dumps([p.to_json() for p in article.passages], ensure_ascii=False, indent=1)
    atomic_write(directory / PASSAGES_FILE, payload.encode("utf-8"))
    tables = json.dumps(article.bridges.to_json(), ensure_ascii=False, separators=(",", ":"))
    atomic_write(directory / BRIDGES_FILE, tables.encode("utf-8"))
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(article.word_vectors, dtype=np.float32))
    atomic_write(directory / WORDS_FILE, buffer.getvalue())
    manifest = {
        "format": FORMAT_VERSION,
        "article_sha256": article.content_hash,
        "model": article.model,
        "dimension": article.dimension,
        "count": len(article.passages),
        "sentences": sentences.ntotal,
        "index_type": type(index).__name__,
        # What off-topic questions score against this article: the refusal rule's reference.
        "calibration": article.calibration,
        "title": article.title,
        "date": article.date,
        "sha256": {name: _sha256(directory / name) for name in _HASHED},
        "stamps": {name: _stamp(directory / name) for name in _HASHED},
    }
    # The manifest goes last: a crash before this line leaves a directory that reads as stale.
    atomic_write(directory / MANIFEST_FILE, json.dumps(manifest, indent=1).encode("utf-8"))
    log.info("built the index of %d passages in %s", len(article.passages), directory)
    return manifest


def load_or_build(
    directory: Path, article_hash: str, passages: list[Passage], encoder: Encoder
) -> StoredIndex:
    expected = _expected(article_hash, encoder)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with FileLock(str(directory / ".lock")):
            dictionary = load_dictionary(directory.parent / DICTIONARY_DIR)
            found = read_index(directory, expected)
            if found is not None and list(found[0].passages) == passages:
                return StoredIndex(found[0], found[1], False, dictionary)
            article = index_article(directory.name, article_hash, passages, encoder, dictionary)
            return StoredIndex(article, write_index(directory, article), True, dictionary)
    except OSError as exc:
        raise IndexStoreError(f"cannot write the index in {directory}: {exc}") from exc
