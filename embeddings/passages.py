"""The retrieval unit: a paragraph together with where it sits in the article."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from corpus.model import Article
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
