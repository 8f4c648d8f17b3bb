"""The article as the rest of the bot sees it: cleaned text, structure and provenance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Paragraph:
    """One quotable paragraph.

    ``id`` is derived from the cleaned text, not from the position, so references
    (gold sets, feedback, callback data) survive edits elsewhere in the article.
    ``position`` is 1-based over all quotable paragraphs, in reading order.
    """

    id: str
    text: str
    position: int
    section: int | None  # 1-based section number; None for the lead


@dataclass(frozen=True)
class Section:
    number: int  # 1-based
    heading: str
    subheading: str | None
    paragraphs: tuple[Paragraph, ...]


@dataclass(frozen=True)
class Article:
    title: str
    lead: tuple[Paragraph, ...]
    sections: tuple[Section, ...]
    content_hash: str  # sha256 of the raw file bytes: the index is keyed on it
    source: str | None = None
    credit: str | None = None  # photo credit: metadata, never quoted
    footer: tuple[str, ...] = ()  # copyright and report lines: metadata, never quoted
    repairs: tuple[str, ...] = field(default=(), compare=False)  # human-readable cleaning log
    date: str | None = None
    suggested_questions: tuple[str, ...] = ()  # from the sidecar file, for /start buttons

    def paragraphs(self) -> Iterator[Paragraph]:
        yield from self.lead
        for section in self.sections:
            yield from section.paragraphs

    def section_of(self, paragraph: Paragraph) -> Section | None:
        if paragraph.section is None:
            return None
        return self.sections[paragraph.section - 1]
