"""Wire article, encoder and index into a core. Called from the composition root and tests."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.config import Settings
from bot.core.archive import Archive
from bot.core.engine import ArticleBot
from bot.core.shelf import Records, Shelf, ShelfError
from corpus.ingest import ArticleError, load_article
from corpus.model import Article
from embeddings.dictionary import load_dictionary
from embeddings.encoder import Encoder, load_encoder
from embeddings.errors import IndexStoreError
from embeddings.indexed import index_article
from embeddings.passages import passages_of
from embeddings.passagestore.interface import IndexedArticle, PassageStore, StoredArticle
from embeddings.passagestore.local import LocalStore
from embeddings.retrieval import Retriever
from embeddings.store import DICTIONARY_DIR, FORMAT_VERSION

log = logging.getLogger(__name__)


def build_core(settings: Settings) -> ArticleBot:
    """The one article of ``settings.article``: what the tools and most tests need."""
    encoder = load_encoder(settings.model, settings.data_dir)
    article = load_article(settings.article)
    store = open_store(settings)
    try:  # one article needs its store only to be read (or indexed into) once
        return _core(article, settings.article.stem, encoder, store, settings)
    finally:
        store.close()


def open_store(settings: Settings) -> PassageStore:
    """Where the shelf's passages are kept: PostgreSQL with pgvector when ``DATABASE_URL`` is
    set, else the index directories of the data directory. Raises :class:`IndexStoreError`
    with one line (unreachable, no pgvector) rather than starting without a shelf."""
    if settings.database_url:
        # Imported only here: psycopg costs a start without a database 0.14 s.
        from embeddings.passagestore.postgres import PostgresStore

        return PostgresStore(settings.database_url)
    return LocalStore(_indexes(settings))


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
    store = open_store(settings)
    indexed: dict[str, StoredArticle] | None = None  # what the store holds, read once
    archive = settings.shelf == "store"

    def load(path: Path, name: str, inside: Path | None) -> ArticleBot:
        nonlocal indexed
        article = load_article(path, inside)
        if deferred is not None and deferred.active and inside is not None and not archive:
            if indexed is None:
                indexed = {a.name: a for a in store.articles()}
            if not _index_current(indexed.get(name), article, encoder):
                deferred.paths.append(path)
                raise ArticleError("not indexed yet: it is indexed after the start")
        return _core(article, name, encoder, store, settings)

    def reopen(article: Article, name: str) -> ArticleBot:
        found = store.get(name)
        if found is None or not _index_current(found.summary(), article, encoder):
            # Never indexed here: another process may have stored a newer version of it.
            raise IndexStoreError(f"the store holds no current index of {name!r} (reload)")
        return _retrieving(article, found, encoder, store, settings)

    shelf = Shelf(
        load,
        settings.articles_dir,
        store=store,
        open=reopen,
        cores=settings.shelf_cores,
        encoder=encoder,
        catalog=Archive(store) if archive else Records(),
    )
    if archive:
        return _archive(shelf, settings)
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


def _archive(shelf: Shelf, settings: Settings) -> Shelf:
    """``SHELF=store``: the shelf is every article the store holds, listed from it; nothing
    is read per article at the start. Files named on their own (``--article``) are indexed
    into the store first; ``ARTICLES_DIR`` is only where admins' uploads are saved (a
    folder is put into the store with ``python -m bot ingest``). An empty store still
    answers: the default article is indexed into it, as for an empty ``ARTICLES_DIR``."""
    for path in settings.articles:
        try:
            shelf.add(path)
        except ShelfError as exc:
            raise ArticleError(str(exc)) from exc
    if not len(shelf):
        log.warning("the passage store holds no article: serving %s", settings.article)
        shelf.add(settings.article)
    return shelf


def _core(
    article: Article, name: str, encoder: Encoder, store: PassageStore, settings: Settings
) -> ArticleBot:
    indexed, rebuilt = ensure_indexed(article, name, encoder, store, settings)
    log.info(
        "ready: %s (%d passages, model %s, index %s)",
        article.title,
        len(indexed.passages),
        encoder.model_id,
        "rebuilt" if rebuilt else "reused",
    )
    return _retrieving(article, indexed, encoder, store, settings)


def _retrieving(
    article: Article,
    indexed: IndexedArticle,
    encoder: Encoder,
    store: PassageStore,
    settings: Settings,
) -> ArticleBot:
    """The core answering from an article's stored index."""
    dictionary = load_dictionary(_indexes(settings) / DICTIONARY_DIR)
    retriever = Retriever.from_indexed(indexed, encoder, dictionary=dictionary)
    facts = {"Index": f"{type(store).__name__}, format {FORMAT_VERSION}"}
    figures = _last_eval(settings.data_dir / "eval.json")
    if figures:
        facts["Gold set (last eval)"] = figures
    return ArticleBot(article, retriever, facts=facts)


def ensure_indexed(
    article: Article, name: str, encoder: Encoder, store: PassageStore, settings: Settings
) -> tuple[IndexedArticle, bool]:
    """The article as the store holds it, indexed (and stored) now if it is not, or stale.

    A database store missing an article takes it from the data directory's own index when
    that one is current: moving a shelf to PostgreSQL (or starting a replica on a warm data
    directory) copies vectors instead of encoding every article again.
    """
    passages = passages_of(article)

    def current(found: IndexedArticle | None) -> bool:
        return (
            found is not None
            and _index_current(found.summary(), article, encoder)
            and found.dimension == encoder.dimension
            and list(found.passages) == passages
        )

    def named(found: IndexedArticle) -> IndexedArticle:
        """With the article's title and date, which a shelf listed from the store shows
        (an index stored before they were kept gets them here, without encoding again)."""
        return replace(found, title=article.title, date=article.date)

    found = store.get(name)
    if found is not None and current(found):
        if (found.title, found.date) != (article.title, article.date):
            found = named(found)
            store.put(found)
        return found, False
    if not isinstance(store, LocalStore):
        local = LocalStore(_indexes(settings)).get(name)
        if local is not None and current(local):
            store.put(named(local))
            log.info("%s: copied from %s into the store", name, _indexes(settings) / name)
            return named(local), False
    dictionary = load_dictionary(_indexes(settings) / DICTIONARY_DIR)
    fresh = named(index_article(name, article.content_hash, passages, encoder, dictionary))
    store.put(fresh)
    return fresh, True


def _index_current(stored: StoredArticle | None, article: Article, encoder: Encoder) -> bool:
    """Was the stored article indexed from this text with this model? (A local index's files
    are checked against their hashes when it is read.)"""
    return (
        stored is not None
        and stored.content_hash == article.content_hash
        and stored.model == encoder.model_id
    )


def _indexes(settings: Settings) -> Path:
    """The data directory's folder of index directories (and of the dictionary's tables)."""
    return settings.index_dir.parent


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
