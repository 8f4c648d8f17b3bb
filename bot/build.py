"""Wire article, encoder and index into a core. Called from the composition root and tests."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from bot.config import Settings
from bot.core.engine import ArticleBot
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
    retriever = Retriever.from_stored(stored, encoder)
    facts = {"Index": f"format {stored.manifest['format']}, {stored.manifest['index_type']}"}
    figures = _last_eval(settings.data_dir / "eval.json")
    if figures:
        facts["Gold set (last eval)"] = figures
    return ArticleBot(article, retriever, facts=facts)


def _last_eval(path: Path) -> str | None:
    """The held-out figures of the last `python -m bot eval` run, if there was one."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        overall = report["heldout_minmax"]["overall"]
        refusal = report["heldout_minmax"]["refusal"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (
        f"Hit@1 {overall['hit@1']:.2f}, Hit@3 {overall['hit@3']:.2f}, "
        f"refused {refusal['recall']:.0%} of unanswerable (held-out)"
    )
