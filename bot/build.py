"""Wire article, encoder and index into a core. Called from the composition root and tests."""

from __future__ import annotations

import logging

from bot.config import Settings
from bot.core import ArticleBot
from corpus.ingest import load_article
from embeddings.encoder import load_encoder
from embeddings.passages import passages_of
from embeddings.retrieval import Retriever
from embeddings.store import load_or_build

log = logging.getLogger(__name__)


def build_core(settings: Settings) -> ArticleBot:
    article = load_article(settings.article)
    encoder = load_encoder(settings.model, settings.data_dir)
    stored = load_or_build(settings.index_dir, article.content_hash, passages_of(article), encoder)
    log.info(
        "ready: %s (%d passages, model %s, index %s)",
        article.title,
        len(stored.passages),
        encoder.model_id,
        "rebuilt" if stored.rebuilt else "reused",
    )
    retriever = Retriever(stored.passages, stored.index, stored.sentences, encoder)
    return ArticleBot(article, retriever)
