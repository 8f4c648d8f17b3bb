"""Questions about the article as a whole: "这篇文章讲了什么？", "What is this article about?".

No single paragraph answers them, and retrieval quotes an arbitrary one; the honest
answer is the lead paragraph and the section headings. Only whole questions of these
shapes count: "这部分讲了什么" asks about one section and "What does the article say
about X?" about one thing, so both are searched as usual.
"""

from __future__ import annotations

import re

from embeddings.normalize import normalize

_ARTICLE = r"(?:这篇|本篇|该|此)?(?:文章|本文|全文|这篇|报道|新闻)"
_PATTERNS = (
    re.compile(
        rf"^(?:请问)?{_ARTICLE}(?:主要|大概|一共)?(?:讲|说|写|谈|介绍|报道)(?:了|的是)?"
        r"(?:什么|啥|些什么|哪些(?:内容|事情?)?|什么内容)(?:内容)?(?:呢|啊)?$"
    ),
    re.compile(
        rf"^{_ARTICLE}的?(?:主要内容|大意|主题|要点|结构|概要|摘要|中心思想)是?(?:什么|啥)?$"
    ),
    re.compile(
        rf"^(?:{_ARTICLE})?(?:有|分为?|分成|包括)(?:哪些|哪几个|几个)(?:部分|章节|小节|板块)$"
    ),
    re.compile(rf"^(?:概括|总结|简述)一?下?{_ARTICLE}(?:的内容)?$"),
    re.compile(
        r"^(?:so |and )?what(?:'s| is) (?:this|the) (?:article|text|story|piece|report) about$"
    ),
    re.compile(
        r"^what does (?:this|the) (?:article|text|story|piece) (?:say|cover|talk about|discuss)$"
    ),
    re.compile(
        r"^(?:can you |could you |please )?(?:summari[sz]e|give me an overview of|give me a "
        r"summary of) (?:this|the) (?:article|text|story|piece)(?: for me)?(?: please)?$"
    ),
    re.compile(
        r"^what are (?:the )?(?:main points|sections|parts|key points) of (?:this|the) "
        r"(?:article|text|story|piece)$"
    ),
    re.compile(r"^what (?:sections|parts) does (?:this|the) (?:article|text) have$"),
)


def is_overview(question: str) -> bool:
    """Whether the whole question asks what the article is about or how it is divided."""
    text = re.sub(r"[\s?？!！。.,，]+$", "", normalize(question)).strip()
    text = re.sub(r"\s+", " ", text)
    return any(pattern.match(text) for pattern in _PATTERNS)
