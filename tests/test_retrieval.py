"""Retrieval through the real index, checked against a brute-force reference."""

from __future__ import annotations

import numpy as np

from bot.core.engine import ArticleBot
from embeddings.retrieval import UNSURE, FusionConfig, fuse, fuse_cross, top_margin


def test_dense_scores_match_brute_force(core: ArticleBot) -> None:
    retriever = core.retriever
    encoder = retriever.encoder
    paragraphs = encoder.encode_passages([p.text for p in retriever.passages])
    questions = ["天津数字化综合发展水平在全国排第几？", "How many people registered on 津心辦?"]
    queries = encoder.encode_queries(questions)
    best_sentence = np.stack(
        [
            (queries @ encoder.encode_passages(p.sentence_texts()).T).max(axis=1)
            for p in retriever.passages
        ],
        axis=1,
    )
    reference = (queries @ paragraphs.T + best_sentence) / 2
    got = retriever.dense_scores(queries)
    np.testing.assert_allclose(got, reference, atol=1e-4)
    assert (np.argsort(-got, axis=1)[:, :3] == np.argsort(-reference, axis=1)[:, :3]).all()


def test_fusion_is_a_weighted_sum_of_normalised_scores() -> None:
    dense = np.array([0.9, 0.8, 0.7], dtype=np.float32)
    lexical = np.array([0.0, 10.0, 5.0], dtype=np.float32)
    fused = fuse(dense, lexical, FusionConfig(method="minmax", dense_weight=0.5))
    np.testing.assert_allclose(fused, [0.5, 0.75, 0.25], atol=1e-6)
    rrf = fuse(dense, lexical, FusionConfig(method="rrf", dense_weight=0.5))
    assert rrf.argmax() == 1


def test_done_when_question_quotes_seventh_under_digital_tianjin(core: ArticleBot) -> None:
    answer = core.ask("天津数字化综合发展水平在全国排第几？")
    assert answer.answered
    best = answer.quotes[0]
    assert "第七" in best.text
    assert best.passage.heading == "數字天津"
    assert best.passage.subheading == "體悟網絡文明建設的“獲”與“得”"


def test_names_and_numbers_are_found(core: ArticleBot) -> None:
    cases = {
        "津心办累计注册人数是多少？": "1880萬",
        "津治通上报了多少起文明事件？": "974萬",
        "Who is 林宸旭?": "林宸旭",
        "全國第一檔網絡法治節目叫什麼？": "天津網絡法治時間",
    }
    for question, needle in cases.items():
        answer = core.ask(question)
        assert answer.answered, question
        assert needle in answer.quotes[0].passage.text, question


def test_off_topic_questions_are_declined_with_the_closest_passage(core: ArticleBot) -> None:
    off_topic = [
        *("明天北京天气怎么样？", "狗不理包子怎么做？", "谁赢了2018年世界杯？"),
        *("量子力学是什么？", "推荐一部好看的电影", "What's the capital of France?"),
    ]
    for question in off_topic:
        answer = core.ask(question)
        assert answer.kind.value == "not_covered", question
        assert answer.quotes == ()
        assert answer.closest is not None
        assert answer.closest.passage == core.retriever.search(question, k=1)[0].passage


def test_greetings_and_chit_chat_are_not_searched(core: ArticleBot) -> None:
    for text in ["你好", "謝謝你！", "thanks, that's helpful", "who are you?", "在吗"]:
        assert core.ask(text).kind.value == "greeting", text
    assert core.ask("你好，津心办有多少注册用户？").answered


def test_an_english_question_is_embedded_with_the_articles_own_words(core: ArticleBot) -> None:
    """e5 matches Chinese to Chinese better than English to Chinese: the article's words for
    an English question's content words and names go into the text that is embedded."""
    retriever = core.retriever
    assert retriever.bridges is not None
    expanded = retriever.bridges.expanded
    for asked in ("What is Jinxinban?", "What is Jin Xin Ban?"):
        said = expanded(asked)
        assert said.startswith(asked) and "津心办" in said
    assert "注册" in expanded("How many people registered?")
    for unchanged in ("津心办是什么？", "What is it?"):
        assert expanded(unchanged) == unchanged


def test_an_unsure_english_ranking_is_decided_by_the_expansion(core: ArticleBot) -> None:
    """Only the dense row of an English question whose best two passages are close is
    replaced, by the cosine of its expansion; a Chinese question's signals are None."""
    retriever = core.retriever
    assert retriever.bridges is not None
    asked = ["What is Jinxinban?", "天津数字化综合发展水平在全国排第几？"]
    dense = retriever.dense_scores(retriever.encoder.encode_queries(asked))
    plain = retriever.cross_signals(asked[0], dense[0])
    english, chinese = retriever.signals_many(asked, dense)
    assert chinese is None and plain is not None and english is not None
    np.testing.assert_allclose(english[1:], plain[1:])
    if top_margin(fuse_cross(plain, retriever.fusion)) < UNSURE:
        expanded = retriever.encoder.encode_queries([retriever.bridges.expanded(asked[0])])
        np.testing.assert_allclose(english[0], retriever.dense_scores(expanded)[0], atol=1e-5)
    else:
        np.testing.assert_allclose(english[0], plain[0])
    kept, _ = retriever.signals_many(asked, dense, expand=[False, False])
    assert kept is not None
    np.testing.assert_allclose(kept, plain)
