"""Sentence boundaries: the unit that is embedded on its own and highlighted in a quote."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[^。！？!?；;]*(?:[。！？!?；;]+[”」』\"]?|$)")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences; a closing quote stays with its sentence."""
    spans = []
    for match in _SENTENCE_END.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        if end > start:
            spans.append((start, end))
    return spans
