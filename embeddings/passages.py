"""The retrieval unit: a paragraph together with where it sits in the article."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from corpus.model import Article, Paragraph, Section
from corpus.sentences import sentence_spans


@dataclass(frozen=True)
class Passage:
    id: str
    text: str
    position: int  # 1-based over the article's quotable paragraphs
    section: int | None
    heading: str | None
    subheading: str | None
    sentences: tuple[tuple[int, int], ...]  # spans in ``text``, each embedded on its own

    def sentence_texts(self) -> list[str]:
        return [self.text[a:b] for a, b in self.sentences]

    def lexical_text(self) -> str:
        """Heading and subheading join the words: questions often name the section.

        (For the embeddings they hurt: measured on the gold set, the paragraph alone
        ranks better, so dense vectors see the text only.)
        """
        title = " ".join(t for t in (self.heading, self.subheading) if t)
        return f"{title}\n{self.text}" if title else self.text

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Passage:
        fields = dict(data)
        fields["sentences"] = tuple(tuple(span) for span in fields["sentences"])  # type: ignore[attr-defined]
        return cls(**fields)  # type: ignore[arg-type]


def passages_of(article: Article) -> list[Passage]:
    out = []
    for paragraph in article.paragraphs():
        section = article.section_of(paragraph)
        out.append(
            Passage(
                id=paragraph.id,
                text=paragraph.text,
                position=paragraph.position,
                section=paragraph.section,
                heading=section.heading if section else None,
                subheading=section.subheading if section else None,
                sentences=tuple(sentence_spans(paragraph.text)) or ((0, len(paragraph.text)),),
            )
        )
    return out


def article_of(
    passages: Sequence[Passage], title: str, content_hash: str, date: str | None = None
) -> Article:
    """The article back from its stored passages (:func:`passages_of` undone): what a shelf
    listed from its store answers from without the article's file. What the passages do not
    keep stays with the file: the source, photo credit, footer and suggested questions; a
    section without a quotable paragraph keeps its number, without its heading."""
    lead = tuple(Paragraph(p.id, p.text, p.position, None) for p in passages if p.section is None)
    by_section: dict[int, list[Passage]] = {}
    for p in passages:
        if p.section is not None:
            by_section.setdefault(p.section, []).append(p)
    sections = []
    for number in range(1, max(by_section, default=0) + 1):
        held = by_section.get(number, [])
        sections.append(
            Section(
                number,
                (held[0].heading or "") if held else "",
                held[0].subheading if held else None,
                tuple(Paragraph(p.id, p.text, p.position, number) for p in held),
            )
        )
    return Article(title, lead, tuple(sections), content_hash, date=date)
