"""Per-article reference for the refusal rule, measured at index time.

How high e5's best cosine runs depends on the article: on unseen Wikipedia-style
articles answerable and off-topic questions separated well but both sat above the
thresholds tuned on the bundled article. So the rule reads the best dense score
relative to what generic off-topic questions score against *this* article; the
reference is measured once when the index is built and kept in its manifest.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Generic questions no news article of this kind answers, in the three languages readers
# use. Deliberately about nothing in particular: they measure the article's floor.
OFF_TOPIC = (
    "今天晚上吃什么好？",
    "怎么做红烧肉？",
    "明天会下雨吗？",
    "最好看的电影是哪部？",
    "苹果手机多少钱一部？",
    "如何学好英语语法？",
    "猫为什么喜欢睡觉？",
    "世界上最高的山是哪座？",
    "股票什么时候涨？",
    "周末去哪里旅游好？",
    "怎样才能减肥成功？",
    "足球比赛几点开始？",
    "今晚的月亮圓不圓？",
    "哪裡可以買到便宜的機票？",
    "颱風什麼時候登陸？",
    "怎麼煮一碗好吃的牛肉麵？",
    "這首歌的歌手是誰？",
    "籃球總決賽誰贏了？",
    "學鋼琴要多久？",
    "哪種咖啡最好喝？",
    "What should I cook for dinner tonight?",
    "Will it rain tomorrow?",
    "Who won the basketball finals?",
    "How do I fix a flat bicycle tyre?",
    "What is the best movie of all time?",
    "How much does a new phone cost?",
    "Why do cats sleep so much?",
    "How tall is the highest mountain in the world?",
    "When will the stock market go up?",
    "Where should I go on holiday this summer?",
    "How can I learn to play the guitar?",
    "What time does the football match start?",
)


def _best_dense(
    queries: np.ndarray, paragraphs: np.ndarray, sentences: np.ndarray, first: np.ndarray
) -> np.ndarray:
    """The retriever's dense score of the best passage: mean of paragraph and best sentence."""
    per_sentence = queries @ sentences.T
    best_sentence = np.maximum.reduceat(per_sentence, first, axis=1)
    return np.asarray(((queries @ paragraphs.T + best_sentence) / 2).max(axis=1))


def off_topic_reference(
    encode_queries: Callable[[list[str]], np.ndarray],
    paragraphs: np.ndarray,
    sentences: np.ndarray,
    counts: list[int],
) -> dict[str, float]:
    """Median best dense score of the off-topic questions: Chinese ones and English ones."""
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)

    def median(questions: list[str]) -> float:
        vectors = encode_queries(questions)
        return round(float(np.median(_best_dense(vectors, paragraphs, sentences, first))), 4)

    return {
        "offtopic_dense": median([q for q in OFF_TOPIC if not q.isascii()]),
        "offtopic_dense_cross": median([q for q in OFF_TOPIC if q.isascii()]),
    }
