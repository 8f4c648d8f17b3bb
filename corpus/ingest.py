"""Turn a scraped article file into an :class:`Article`.

Two input styles are accepted. The scraped plain-text style (one paragraph a line,
section headings as short unpunctuated lines followed by a subheading) is what the
bundled article uses; Markdown (``#`` title, ``##`` sections, blank-line paragraphs)
lets a user bring their own article. Structure is recognised by shape, never by
line number, so another article of either kind parses the same way.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from corpus.clean import clean_line
from corpus.model import Article, Paragraph, Section
from corpus.reading import (
    MAX_ARTICLE_BYTES,
    ArticleError,
    decode_article,
    read_article_bytes,
    short_path,
)
from corpus.sentences import sentence_spans

log = logging.getLogger(__name__)

BUNDLED_ARTICLE = Path(__file__).with_name("000_b5519ea694e741d6.txt")

# Sentence punctuation, ASCII and full-width: a heading never carries any of it.
_SENTENCE_PUNCT = re.compile(r"[。，,；;：:！!？?、─—…]")
_HEADING_MAX = 12
_SUBHEADING_MAX = 40
# "本報記者 孫立偉 潘立峰 攝" or "(記者 孟若冰 攝)" closing a paragraph: a photo credit.
_CREDIT = re.compile(
    r"\s*(?:[（(][^（()）]{1,40}?攝\s*[）)]|(?:本報)?記者[^。，,（()）]{1,40}?攝)\s*$"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
# A line ending like this introduces what follows ("近年來,天津……成果豐碩──"): on its own
# it answers nothing, and its short vector matched every vague question (issue 11).
_LEAD_IN = re.compile(r"(?:──|—|：|:)\s*$")
_FOOTER_MARK = "·"
# A paragraph longer than this is split between sentences: a quote must fit in one message
# (Telegram's is 4,096 characters) with its heading lines. The bundled article's longest
# paragraph is 417 characters; a one-line 1.9 MB article was one "paragraph" (issue 22).
MAX_PARAGRAPH_CHARS = 2_000
# The ceiling on what one article may hold, refused with that reason: indexing and serving
# cost grows with the paragraphs, and a shelf waits on an article while it is indexed.
MAX_PARAGRAPHS = 5_000
# A title is shown in /articles, attributions and button labels: a longer one is refused
# (the author can shorten it), so that no single article can break those for everyone.
MAX_TITLE_CHARS = 200
# A derived title (from a photo caption or the first paragraph) is cut to this instead.
_DERIVED_TITLE_CHARS = 80
_SIDECAR_BYTES = 100_000
_LATIN_STOP = re.compile(r"[.!?][\"'”’)]?\s+")


@dataclass
class _Draft:
    """Mutable state while walking the lines; frozen into an Article at the end."""

    title: str | None = None
    credit: str | None = None
    lead: list[str] = field(default_factory=list)
    sections: list[tuple[str, str | None, list[str]]] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    def add_paragraph(self, text: str) -> None:
        """A paragraph after a lead-in line is joined to it: one passage, quoted whole."""
        paragraphs = self.sections[-1][2] if self.sections else self.lead
        if paragraphs and _LEAD_IN.search(paragraphs[-1]):
            joiner = " " if paragraphs[-1].isascii() and text.isascii() else ""
            paragraphs[-1] = paragraphs[-1].rstrip() + joiner + text
        else:
            paragraphs.append(text)


def load_article(path: Path = BUNDLED_ARTICLE, inside: Path | None = None) -> Article:
    """The article in ``path``; with ``inside``, only if the file really lies in that folder.

    Raises :class:`ArticleError` (its ``kind`` says why) for a file that is not a regular
    file, is over :data:`MAX_ARTICLE_BYTES`, is not UTF-8 text, has an over-long title, or
    has no paragraphs or more than :data:`MAX_PARAGRAPHS`.
    """
    raw = read_article_bytes(path, MAX_ARTICLE_BYTES, inside)
    shown = short_path(path)
    text = decode_article(raw, shown)
    content_hash = hashlib.sha256(raw).hexdigest()
    if path.suffix.lower() in {".md", ".markdown"} or text.lstrip().startswith("# "):
        draft = _parse_markdown(text)
    else:
        draft = _parse_scraped(text)
    article = _freeze(draft, content_hash, fallback_title=path.stem)
    article = _with_sidecar(article, path, inside)
    _check_title(article.title, shown)
    count = sum(1 for _ in article.paragraphs())
    if not count:
        raise ArticleError(f"the article {shown} has no paragraphs to quote", "no_paragraphs")
    if count > MAX_PARAGRAPHS:
        raise ArticleError(
            f"the article {shown} has {count:,} paragraphs: an article may have "
            f"{MAX_PARAGRAPHS:,} at most",
            "too_many_paragraphs",
        )
    return article


def _check_title(title: str, shown: str) -> None:
    if len(title) > MAX_TITLE_CHARS:
        raise ArticleError(
            f"the title of {shown} is {len(title):,} characters: shorten it to "
            f"{MAX_TITLE_CHARS} at most",
            "title_too_long",
        )


def split_paragraph(text: str, limit: int = MAX_PARAGRAPH_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut between sentences.

    A sentence longer than ``limit`` is cut at the last space before it (or, in text
    without spaces, at the limit itself), so no piece is ever longer.
    """
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    start = 0  # where the piece being built begins
    end = 0  # where its last whole sentence ends
    for _, sentence_end in sentence_spans(text):
        while sentence_end - start > limit:
            cut = end if end > start else _cut(text, start, start + limit)
            pieces.append(text[start:cut].strip())
            start = end = cut
        end = sentence_end
    if text[start:].strip():
        pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


def _cut(text: str, start: int, end: int) -> int:
    """Where to cut a run too long for one piece: after its last Latin full stop ("."
    ends no sentence in :func:`sentence_spans`, which must not split "3.5"), else after
    its last space, else at ``end``."""
    stops = [m.end() for m in _LATIN_STOP.finditer(text, start + 1, end)]
    if stops:
        return stops[-1]
    space = text.rfind(" ", start + 1, end)
    return space + 1 if space > start else end


def _clean(draft: _Draft, line: str) -> str:
    cleaned, repairs = clean_line(line)
    draft.repairs.extend(
        f"{r.original!r} → {r.replacement!r} ({'repaired' if r.repaired else 'unreadable'})"
        for r in repairs
    )
    return cleaned


def _is_heading_shape(line: str, limit: int) -> bool:
    return 0 < len(line) <= limit and not _SENTENCE_PUNCT.search(line)


def _split_credit(line: str) -> tuple[str, str | None]:
    match = _CREDIT.search(line)
    if not match:
        return line, None
    credit = match.group(0).strip().strip("()（）").strip()
    return line[: match.start()].rstrip(), credit


def _parse_scraped(text: str) -> _Draft:
    draft = _Draft()
    lines = [line for line in (_clean(draft, raw) for raw in text.splitlines()) if line]
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(_FOOTER_MARK) or _EMAIL.search(line) or draft.footer:
            draft.footer.append(line.lstrip(_FOOTER_MARK).strip())
            i += 1
            continue
        body, credit = _split_credit(line)
        if credit:
            draft.credit = draft.credit or credit
            if draft.title is None and not draft.lead and not draft.sections:
                # A captioned photo opens the article: its caption is the best title we have.
                draft.title = _derived_title(body.rstrip("。"))
                i += 1
                continue
            line = body
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _is_heading_shape(line, _HEADING_MAX) and _is_heading_shape(nxt, _SUBHEADING_MAX):
            draft.sections.append((line, nxt, []))
            i += 2
            continue
        if line:
            draft.add_paragraph(line)
        i += 1
    return draft


def _parse_markdown(text: str) -> _Draft:
    draft = _Draft()
    block: list[str] = []

    def flush() -> None:
        if block:
            joiner = " " if all(part.isascii() for part in block) else ""
            draft.add_paragraph(_clean(draft, joiner.join(block)))
            block.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
            continue
        heading = re.match(r"^(#{1,3})\s+(.*?)\s*#*$", line)
        if heading:
            flush()
            level, title = len(heading.group(1)), _clean(draft, heading.group(2))
            if level > 1:  # a heading is shown with every answer under it: never a wall
                title = _shortened(title, MAX_TITLE_CHARS)
            if level == 1 and draft.title is None:
                draft.title = title
            elif level == 2 or not draft.sections:
                draft.sections.append((title, None, []))
            elif draft.sections[-1][1] is None and not draft.sections[-1][2]:
                name, _, paragraphs = draft.sections[-1]
                draft.sections[-1] = (name, title, paragraphs)
            continue
        block.append(line)
    flush()
    return draft


def _paragraph_id(text: str, taken: set[str]) -> str:
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()
    pid = f"p{digest[:8]}"
    n = 2
    while pid in taken:  # the same paragraph twice: keep both, ids still stable
        pid = f"p{digest[:8]}-{n}"
        n += 1
    taken.add(pid)
    return pid


def _freeze(draft: _Draft, content_hash: str, fallback_title: str) -> Article:
    taken: set[str] = set()
    position = 0

    def make(texts: list[str], section: int | None) -> tuple[Paragraph, ...]:
        nonlocal position
        out = []
        for text in (piece for whole in texts for piece in split_paragraph(whole)):
            position += 1
            out.append(Paragraph(_paragraph_id(text, taken), text, position, section))
        return tuple(out)

    lead = make(draft.lead, None)
    sections = tuple(
        Section(number, heading, subheading, make(texts, number))
        for number, (heading, subheading, texts) in enumerate(draft.sections, start=1)
    )
    names = (_source_name(line) for line in draft.footer)
    source = next((name for name in names if name and "[…]" not in name), None)
    return Article(
        title=draft.title or (draft.lead[0][:40] if draft.lead else _derived_title(fallback_title)),
        lead=lead,
        sections=sections,
        content_hash=content_hash,
        source=source,
        credit=draft.credit,
        footer=tuple(draft.footer),
        repairs=tuple(draft.repairs),
    )


def _derived_title(text: str) -> str:
    """A title the article did not state: cut, never refused (the author wrote none)."""
    return _shortened(text, _DERIVED_TITLE_CHARS)


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _with_sidecar(article: Article, path: Path, inside: Path | None) -> Article:
    """Facts the text lacks (date, source, suggested questions) from ``<article>.toml``.

    Read by the same rules as the article: a sidecar linking out of the folder is refused.
    """
    sidecar = path.with_suffix(".toml")
    if not sidecar.is_file():
        return article
    shown = short_path(sidecar)
    try:
        raw = read_article_bytes(sidecar, _SIDECAR_BYTES, inside)
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ArticleError(f"cannot read the article's sidecar {shown}: {exc}", "sidecar") from exc
    except ArticleError as exc:
        raise ArticleError(f"the article's sidecar: {exc}", "sidecar") from exc
    questions = data.get("suggested_questions", [])
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        raise ArticleError(f"{shown}: suggested_questions must be a list of strings", "sidecar")
    return replace(
        article,
        title=str(data.get("title", article.title)),
        source=str(data.get("source", article.source or "")) or None,
        date=str(data["date"]) if "date" in data else None,
        suggested_questions=tuple(questions),
    )


def _source_name(footer_line: str) -> str | None:
    """The copyright line names the publishing site in quotes: 來源為“北方網”."""
    match = re.search(r"來源為\s*[“\"]([^”\"]+)[”\"]", footer_line)
    return match.group(1) if match else None
