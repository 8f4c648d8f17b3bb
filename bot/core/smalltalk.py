"""Recognise greetings, thanks and questions about the bot itself: answered, never searched.

Searching "thanks, that's helpful" would quote whichever paragraph is least unlike
it; a reader deserves a greeting and a hint instead.
"""

from __future__ import annotations

import re

from embeddings.normalize import normalize

_CHINESE_OPENERS = (
    "你好", "您好", "嗨", "哈喽", "哈啰", "在吗", "在不在", "早上好", "晚上好", "下午好",
    "谢谢", "多谢", "感谢", "再见", "拜拜", "好的", "明白了", "知道了",
)  # fmt: skip
_CHINESE_FILLER = set("你您啊呀哦啦了哈呢吗嘛的大家机器人")
_ABOUT_BOT = ("你是谁", "你是什么", "你能做什么", "你会什么", "你叫什么")
_ENGLISH_OPENERS = {"hi", "hello", "hey", "yo", "hiya", "thanks", "thank", "thx", "cheers", "bye",
                    "goodbye", "ok", "okay", "great", "cool", "morning", "evening",
                    "good"}  # fmt: skip
_ENGLISH_FILLER = {
    "you", "so", "much", "very", "a", "lot", "that", "that's", "thats", "is", "was", "it",
    "helpful", "great", "good", "nice", "there", "again", "all", "bot", "morning", "evening",
    "afternoon", "night", "day", "for", "the", "help", "answer", "info", "see", "ya",
}  # fmt: skip
_ABOUT_BOT_EN = ("who are you", "what are you", "what can you do", "are you a bot")
_PUNCT = re.compile(r"[^\w\s']+", re.UNICODE)


def is_smalltalk(question: str) -> bool:
    text = _PUNCT.sub(" ", normalize(question)).strip()
    if not text:
        return False
    if any(text.startswith(p) for p in _ABOUT_BOT_EN) or any(p in text for p in _ABOUT_BOT):
        return len(text) <= 30
    words = text.split()
    if words[0] in _ENGLISH_OPENERS:
        return all(w in _ENGLISH_OPENERS or w in _ENGLISH_FILLER for w in words[1:])
    compact = text.replace(" ", "")
    stripped = True
    while compact and stripped:
        stripped = False
        for opener in _CHINESE_OPENERS:
            if compact.startswith(opener):
                compact, stripped = compact[len(opener) :], True
    return len(compact) < len(text.replace(" ", "")) and all(c in _CHINESE_FILLER for c in compact)
