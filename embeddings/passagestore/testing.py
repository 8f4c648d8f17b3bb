"""The contract every passage store keeps, as tests any store's test module inherits.

Haystack ships its document stores' tests the same way (``haystack.testing.document_store``):
a class of tests with no ``Test`` prefix, so pytest collects it only through a subclass
that says which store to test::

    class TestMyStore(PassageStoreContract):
        @pytest.fixture
        def store(self, tmp_path) -> Iterator[PassageStore]:
            yield MyStore(...)  # empty, of its own

The articles are made here with seeded random unit vectors of the model's dimension and
real text (Chinese and English), so the same test means the same thing for every store;
that real questions through the real encoder rank alike in every store is tested beside the
stores themselves (tests/test_passage_store.py). Needs pytest (the ``dev`` extra).
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from embeddings.bridges import BridgeTables
from embeddings.passages import Passage
from embeddings.passagestore.interface import IndexedArticle, PassageStore, StoredArticle

DIMENSION = 384  # multilingual-e5-small's, the one the PostgreSQL schema holds

# Three small articles; each text says something the others do not (names, numbers).
TEXTS = {
    "lighthouse": (
        "The lighthouse at Harbour Bay was lit in 1852. Its first lamp burned whale oil.",
        "Margaret Lowe was the last keeper. She retired in 1969.",
        "灯塔在1852年点亮。第一盏灯烧鲸油。",
    ),
    "railway": (
        "The rack railway climbs Mount Elden. The train takes forty minutes to the summit.",
        "Tickets cost twelve francs. 登山铁路每天八点发车。",
    ),
    "tea": (
        "The old tea market of Linshui opens at six in the morning.",
        "茶市几点开门？茶市早上六点开门，中午关门。",
        "Oolong and pu'er are sold by weight.",
        "The market hall was rebuilt in 1998 after a fire.",
    ),
}


def _unit(rows: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _spans(text: str) -> tuple[tuple[int, int], ...]:
    """Sentence spans at each full stop (English or Chinese): enough for a contract."""
    spans, start = [], 0
    for i, ch in enumerate(text):
        if ch in ".。？" and i + 1 - start > 1:
            spans.append((start, i + 1))
            start = i + 1
            while start < len(text) and text[start] == " ":
                start += 1
    if start < len(text):
        spans.append((start, len(text)))
    return tuple(spans)


def make_article(name: str, texts: tuple[str, ...], seed: int) -> IndexedArticle:
    """An article of ``texts``, one passage each, with vectors made from ``seed``."""
    passages = tuple(
        Passage(
            id=f"{name}-p{i}",
            text=text,
            position=i,
            section=1 if i > 1 else None,
            heading="Visiting" if i > 1 else None,
            subheading=None,
            sentences=_spans(text),
        )
        for i, text in enumerate(texts, start=1)
    )
    sentences = sum(len(p.sentences) for p in passages)
    words = ("灯塔", "茶市")[: seed % 3]
    return IndexedArticle(
        name=name,
        content_hash=f"{seed:064x}",
        model="intfloat/multilingual-e5-small",
        passages=passages,
        paragraph_vectors=_unit(len(passages), seed),
        sentence_vectors=_unit(sentences, seed + 1000),
        bridges=BridgeTables(
            words=words,
            stems={"lighthous": (0,)} if words else {},
            syllables=tuple((("deng", "ta"),) for _ in passages),
        ),
        word_vectors=_unit(len(words), seed + 2000),
        calibration={"offtopic_dense": 0.78 + seed / 1000, "offtopic_dense_cross": 0.71},
        title=f"Notes on the {name}",
        date="2026-12-05" if seed % 2 else None,
    )


def shelf() -> dict[str, IndexedArticle]:
    """The three articles of :data:`TEXTS`, seeded 1, 2 and 3 in that order."""
    return {
        name: make_article(name, texts, seed)
        for seed, (name, texts) in enumerate(TEXTS.items(), start=1)
    }


def _cosines(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    return np.asarray(vectors @ query, dtype=np.float64)


class PassageStoreContract:
    """What every :class:`PassageStore` does. Subclasses provide ``store``: an empty store."""

    @pytest.fixture
    def store(self) -> PassageStore:
        raise NotImplementedError("a store's test class provides an empty store")

    @pytest.fixture
    def filled(self, store: PassageStore) -> PassageStore:
        for article in shelf().values():
            store.put(article)
        return store

    # Writing and reading.

    def test_an_empty_store_holds_nothing_and_finds_nothing(self, store: PassageStore) -> None:
        assert store.articles() == []
        assert store.get("lighthouse") is None
        assert store.remove("lighthouse") is False
        assert store.dense(_unit(2, 7), 5) == [[], []]
        assert store.lexical("lighthouse", 5) == []

    def test_an_article_comes_back_exactly_as_it_was_put(self, store: PassageStore) -> None:
        article = make_article("lighthouse", TEXTS["lighthouse"], 2)
        store.put(article)
        back = store.get("lighthouse")
        assert back is not None and back.same_as(article)
        assert back.word_vectors.shape == (2, DIMENSION)

    def test_articles_lists_what_each_was_indexed_from(self, filled: PassageStore) -> None:
        articles = shelf()
        assert sorted(filled.articles(), key=lambda a: a.name) == sorted(
            (a.summary() for a in articles.values()), key=lambda a: a.name
        )
        tea = StoredArticle(
            "tea", f"{3:064x}", articles["tea"].model, 4, "Notes on the tea", "2026-12-05"
        )
        assert tea in filled.articles()

    def test_put_replaces_an_article_whole(self, filled: PassageStore) -> None:
        shorter = make_article("tea", TEXTS["tea"][:2], 9)
        filled.put(shorter)
        back = filled.get("tea")
        assert back is not None and back.same_as(shorter)
        assert {a.name: a.passages for a in filled.articles()}["tea"] == 2
        # No passage of the old version is found any more.
        found = filled.dense(make_article("tea", TEXTS["tea"], 3).paragraph_vectors, 20)
        assert all((m.article, m.position) != ("tea", 4) for row in found for m in row)
        assert filled.lexical("rebuilt 1998 fire", 5) == []

    def test_remove_takes_one_article_and_leaves_the_others(self, filled: PassageStore) -> None:
        assert filled.remove("railway") is True
        assert filled.remove("railway") is False
        assert filled.get("railway") is None
        assert sorted(a.name for a in filled.articles()) == ["lighthouse", "tea"]
        rows = filled.dense(_unit(3, 11), 20)
        assert all(m.article != "railway" for row in rows for m in row)
        assert filled.lexical("rack railway Elden", 5) == []
        assert filled.get("tea") is not None

    def test_an_outline_is_the_summary_and_the_passages(self, filled: PassageStore) -> None:
        tea = shelf()["tea"]
        assert filled.outline("tea") == (tea.summary(), tea.passages)
        assert filled.outline("coffee") is None

    def test_the_listing_pages_the_articles_by_name(self, filled: PassageStore) -> None:
        names = ["lighthouse", "railway", "tea"]
        assert filled.count() == 3
        assert [a.name for a in filled.listing(0, 2)] == names[:2]
        assert [a.name for a in filled.listing(2, None)] == names[2:]
        assert [a.name for a in filled.listing(1, 1)] == ["railway"]
        assert filled.listing(3, 5) == [] and filled.listing(-4, 1)[0].name == "lighthouse"
        assert filled.listing(0, None) == filled.articles()
        assert filled.listing(0, 1) == [shelf()["lighthouse"].summary()]  # title and date too
        filled.remove("lighthouse")
        assert filled.count() == 2 and filled.listing(0, 1)[0].name == "railway"

    def test_holders_name_every_article_with_a_passage_of_that_id(
        self, filled: PassageStore
    ) -> None:
        assert filled.holders("tea-p2") == ["tea"]
        assert filled.holders("tea-p9") == [] and filled.holders("") == []
        filled.put(replace(shelf()["tea"], name="afternoon-tea"))  # the same paragraphs
        assert filled.holders("tea-p2") == ["afternoon-tea", "tea"]
        filled.remove("tea")
        assert filled.holders("tea-p2") == ["afternoon-tea"]

    # Dense search.

    def test_dense_finds_the_closest_paragraphs_over_the_whole_shelf(
        self, filled: PassageStore
    ) -> None:
        articles = shelf()
        # Each query is one stored paragraph: it must come first, with its own cosine, 1.
        queries = np.stack(
            [articles["railway"].paragraph_vectors[1], articles["tea"].paragraph_vectors[2]]
        )
        rows = filled.dense(queries, 4)
        assert [(r[0].article, r[0].position) for r in rows] == [("railway", 2), ("tea", 3)]
        for query, row in zip(queries, rows, strict=True):
            assert len(row) == 4
            assert row[0].score == pytest.approx(1.0, abs=1e-4)
            scores = [m.score for m in row]
            assert scores == sorted(scores, reverse=True)
            every = {
                (name, p.position): float(a.paragraph_vectors[i] @ query)
                for name, a in articles.items()
                for i, p in enumerate(a.passages)
            }
            # Exactly the best four of all nine, with their cosines.
            best = sorted(every.values(), reverse=True)[:4]
            assert scores == pytest.approx(best, abs=1e-4)
            for m in row:
                assert m.score == pytest.approx(every[(m.article, m.position)], abs=1e-4)

    def test_dense_within_some_articles_keeps_to_them_and_keeps_k(
        self, filled: PassageStore
    ) -> None:
        articles = shelf()
        query = articles["railway"].paragraph_vectors[:1]
        only_tea = filled.dense(query, 3, articles=["tea"])[0]
        assert len(only_tea) == 3 and {m.article for m in only_tea} == {"tea"}
        expected = sorted(_cosines(articles["tea"].paragraph_vectors, query[0]), reverse=True)[:3]
        assert [m.score for m in only_tea] == pytest.approx(expected, abs=1e-4)
        two = filled.dense(query, 10, articles={"tea", "lighthouse"})[0]
        assert len(two) == 7 and {m.article for m in two} == {"tea", "lighthouse"}
        assert filled.dense(query, 3, articles=["nothing-here"]) == [[]]
        assert filled.dense(query, 3, articles=[]) == [[]]

    def test_dense_over_sentences_names_the_paragraph_that_holds_them(
        self, filled: PassageStore
    ) -> None:
        tea = shelf()["tea"]
        # The tea article's third sentence belongs to its second passage (the first has one).
        assert [len(p.sentences) for p in tea.passages][:2] == [1, 2]
        row = filled.dense(tea.sentence_vectors[2:3], 2, level="sentence")[0]
        assert (row[0].article, row[0].position) == ("tea", 2)
        assert row[0].score == pytest.approx(1.0, abs=1e-4)

    # Lexical search.

    def test_lexical_finds_the_passage_that_names_the_thing(self, filled: PassageStore) -> None:
        top = filled.lexical("When did Margaret Lowe retire?", 3)
        assert (top[0].article, top[0].position) == ("lighthouse", 2)
        chinese = filled.lexical("茶市几点开门", 3)
        assert (chinese[0].article, chinese[0].position) == ("tea", 2)
        scores = [m.score for m in chinese]
        assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)

    def test_lexical_within_some_articles_and_for_unknown_words(
        self, filled: PassageStore
    ) -> None:
        within = filled.lexical("1852 灯塔 six", 5, articles=["tea"])
        assert within and {m.article for m in within} == {"tea"}
        assert within[0].position == 1  # "six in the morning"
        assert filled.lexical("zyzzyva quokka", 5) == []
        assert filled.lexical("", 5) == []
        assert len(filled.lexical("the", 2)) == 2

    # Several writers.

    def test_writers_of_different_articles_at_once_leave_every_article_whole(
        self, store: PassageStore
    ) -> None:
        articles = [make_article(f"a{i}", TEXTS["tea"], 20 + i) for i in range(6)]
        errors: list[BaseException] = []

        def write(article: IndexedArticle) -> None:
            try:
                for _ in range(2):  # a replace racing the others too
                    store.put(article)
            except BaseException as exc:  # reported below, on the test's own thread
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(a,)) for a in articles]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(a.name for a in store.articles()) == [a.name for a in articles]
        for article in articles:
            back = store.get(article.name)
            assert back is not None and back.same_as(article)
        rows = store.dense(articles[3].paragraph_vectors[:1], 1)
        assert (rows[0][0].article, rows[0][0].position) == ("a3", 1)
