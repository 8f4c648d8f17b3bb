"""An article as indexed: its passages, their vectors and what the refusal rule measured.

Made once per article (:func:`index_article`: the encoder's work, minutes on a long
article) and then only stored and read back, by whichever passage store holds the shelf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from embeddings.bridges import BridgeTables, build_tables
from embeddings.calibration import off_topic_reference
from embeddings.dictionary import Dictionary
from embeddings.encoder import Encoder
from embeddings.passages import Passage
from embeddings.vectorcache import cached_vectors


@dataclass(frozen=True, eq=False)
class IndexedArticle:
    """One article as indexed: everything a retriever needs to rank and refuse within it.

    ``sentence_vectors`` follow the passages in order, each passage's sentences in turn;
    ``word_vectors`` follow ``bridges.words``. Compared by value (:meth:`same_as`), not
    with ``==``: arrays have no single truth value.
    """

    name: str  # the shelf's name for the article (its file's stem)
    content_hash: str  # sha256 of the article as ingested: a changed article is re-indexed
    model: str  # the encoder that made the vectors
    passages: tuple[Passage, ...]
    paragraph_vectors: np.ndarray  # (passages, dimension), normalised float32
    sentence_vectors: np.ndarray  # (sentences, dimension)
    bridges: BridgeTables
    word_vectors: np.ndarray  # (len(bridges.words), dimension)
    # What generic off-topic questions score against this article (embeddings/calibration.py).
    calibration: dict[str, float] = field(default_factory=dict)
    # Kept with the passages so a shelf listed from the store (an archive no process holds in
    # files) can name and date the article: :func:`embeddings.passages.article_of`.
    title: str = ""
    date: str | None = None

    @property
    def dimension(self) -> int:
        return int(self.paragraph_vectors.shape[1])

    def sentence_counts(self) -> list[int]:
        return [len(p.sentences) for p in self.passages]

    def summary(self) -> StoredArticle:
        return StoredArticle(
            self.name, self.content_hash, self.model, len(self.passages), self.title, self.date
        )

    def same_as(self, other: IndexedArticle) -> bool:
        """Equal in every field, vectors compared exactly."""
        return (
            self.summary() == other.summary()
            and self.passages == other.passages
            and self.bridges == other.bridges
            and self.calibration == other.calibration
            and all(
                a.shape == b.shape and np.array_equal(a, b)
                for a, b in (
                    (self.paragraph_vectors, other.paragraph_vectors),
                    (self.sentence_vectors, other.sentence_vectors),
                    (self.word_vectors, other.word_vectors),
                )
            )
        )


@dataclass(frozen=True)
class StoredArticle:
    """One line of :meth:`PassageStore.articles`: what was indexed, without its data."""

    name: str
    content_hash: str
    model: str
    passages: int
    title: str = ""
    date: str | None = None


def index_article(
    name: str,
    content_hash: str,
    passages: list[Passage],
    encoder: Encoder,
    dictionary: Dictionary,
) -> IndexedArticle:
    """Embed the paragraphs, their sentences and the article's dictionary words; measure the
    off-topic reference. The same work whichever store keeps the result.

    The words and the off-topic questions embed alike in every article: their vectors come
    from the data directory's cache beside the dictionary (``embeddings/vectorcache.py``).
    """
    paragraph_vectors, sentence_vectors = _text_vectors(
        encoder, [p.text for p in passages], [s for p in passages for s in p.sentence_texts()]
    )
    bridges = build_tables([p.lexical_text() for p in passages], dictionary)
    model, folder = encoder.model_id, dictionary.folder
    word_vectors = cached_vectors(
        folder, model, "passage", list(bridges.words), encoder.encode_passages
    ).reshape(len(bridges.words), encoder.dimension)
    calibration = off_topic_reference(
        lambda questions: cached_vectors(folder, model, "query", questions, encoder.encode_queries),
        paragraph_vectors,
        sentence_vectors,
        [len(p.sentences) for p in passages],
    )
    return IndexedArticle(
        name,
        content_hash,
        encoder.model_id,
        tuple(passages),
        paragraph_vectors,
        sentence_vectors,
        bridges,
        word_vectors,
        calibration,
    )


def _text_vectors(
    encoder: Encoder, paragraphs: list[str], sentences: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Paragraph and sentence vectors from one encoder call over the distinct texts.

    A one-sentence paragraph is its own sentence: in the bundled article 12 of 45 sentences,
    37% of the sentence pass's text, were embedded twice. One call also lets the encoder
    batch paragraphs and sentences of like length together.
    """
    texts = list(dict.fromkeys(paragraphs + sentences))
    vectors = encoder.encode_passages(texts)
    row = {text: i for i, text in enumerate(texts)}
    return (
        vectors[[row[t] for t in paragraphs]].reshape(len(paragraphs), -1),
        vectors[[row[t] for t in sentences]].reshape(len(sentences), -1),
    )
