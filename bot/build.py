"""Wire article, encoder and index into a core. Called from the composition root and tests."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings
from bot.core.engine import ArticleBot
from bot.core.shelf import Shelf, ShelfError
from corpus.ingest import ArticleError, load_article
from corpus.model import Article
from embeddings.encoder import Encoder, load_encoder
from embeddings.passages import passages_of
from embeddings.retrieval import Retriever
from embeddings.store import FORMAT_VERSION, MANIFEST_FILE, load_or_build

log = logging.getLogger(__name__)


def build_core(settings: Settings) -> ArticleBot:
    """The one article of ``settings.article``: what the tools and most tests need."""
    encoder = load_encoder(settings.model, settings.data_dir)
    return _core(load_article(settings.article), encoder, settings.index_dir, settings)


@dataclass
class Deferred:
    """Folder articles left off the shelf at start because their index is not built yet.

    Indexing one can take minutes; the Telegram bot serves what is ready at once and
    indexes these in the background (a later ``shelf.reload()`` with :attr:`active` off).
    """

    active: bool = True
    paths: list[Path] = field(default_factory=list)


def build_shelf(settings: Settings, deferred: Deferred | None = None) -> Shelf:
    """Every configured article on one shelf, sharing one loaded encoder.

    A file named on its own (``--article``, ``ARTICLE_PATH``, the bundled default) must
    load: its error stops the start, as with one article. A file in ``ARTICLES_DIR`` that
    cannot be used is logged and left out, so one bad file does not take the others down;
    with ``deferred``, so is one whose index would have to be built first (noted there).
    """
    encoder = load_encoder(settings.model, settings.data_dir)

    def load(path: Path, name: str, inside: Path | None) -> ArticleBot:
        article = load_article(path, inside)
        index_dir = settings.shelf_index_dir(name)
        waits = deferred is not None and deferred.active and inside is not None
        if waits and not _index_current(index_dir, article, encoder):
            assert deferred is not None
            deferred.paths.append(path)
            raise ArticleError("not indexed yet: it is indexed after the start")
        return _core(article, encoder, index_dir, settings)

    shelf = Shelf(load, settings.articles_dir)
    for path in settings.shelf_files:
        try:
            shelf.add(path)
        except ShelfError as exc:
            raise ArticleError(str(exc)) from exc
    shelf.reload()  # the directory's articles
    if not len(shelf):
        # An empty ARTICLES_DIR (say, waiting for uploads) still answers from the default.
        log.warning("no article in %s: serving %s", settings.articles_dir, settings.article)
        shelf.add(settings.article)
    return shelf


def _core(article: Article, encoder: Encoder, index_dir: Path, settings: Settings) -> ArticleBot:
    stored = load_or_build(index_dir, article.content_hash, passages_of(article), encoder)
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


def _index_current(index_dir: Path, article: Article, encoder: Encoder) -> bool:
    """Does the manifest say this index was built for this article, model and format?
    (The full check, file hashes included, is ``load_or_build``'s when it loads it.)"""
    try:
        manifest = json.loads((index_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and (
        manifest.get("format") == FORMAT_VERSION
        and manifest.get("article_sha256") == article.content_hash
        and manifest.get("model") == encoder.model_id
    )


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
