"""The retrieval unit: a paragraph together with where it sits in the article."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from corpus.model import Article


@dataclass(frozen=True)
class Passage:
    id: str
    text: str
    position: int  # 1-based over the article's quotable paragraphs
    section: int | None
    heading: str | None
    subheading: str | None

    def embedding_text(self) -> str:
        """Heading and subheading travel with the text: questions often name the section."""
        if self.heading is None:
            return self.text
        title = f"{self.heading} {self.subheading}" if self.subheading else self.heading
        return f"{title}\n{self.text}"

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Passage:
        return cls(**data)  # type: ignore[arg-type]


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
            )
        )
    return out
