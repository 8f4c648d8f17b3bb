"""Wording both renderers share: what the core reports as a level, said in words."""

from __future__ import annotations

from bot.core.answer import About, Answer, Quote
from bot.messages import DEFAULT, Messages


def strength(quote: Quote, say: Messages = DEFAULT) -> str:
    """How close a refused question's nearest passage came, in words."""
    return {"fair": say.match_fair, "weak": say.match_weak}.get(
        quote.strength(), say.match_very_weak
    )


def about_rows(about: About, say: Messages = DEFAULT) -> list[tuple[str, str]]:
    """``/about`` as label/value rows, in order; each renderer lays them out."""
    count = say.about_paragraph_count.format(paragraphs=about.paragraphs, sections=about.sections)
    rows = [
        (say.about_title, about.title),
        (say.about_source, about.source or say.unknown),
        (say.about_date, about.date or say.unknown),
        (say.about_paragraphs, count),
        (say.about_hash, about.content_hash),
        (say.about_model, say.about_model_value.format(model=about.model)),
    ]
    return rows + list(about.facts)


def refusal_sentence(answer: Answer, say: Messages = DEFAULT) -> str:
    """The refusal's first sentence: names what the article lacks when the core found it,
    the question's terms first, else the type of answer the closest passage does not hold."""
    if answer.missing:
        terms = say.term_separator.join(say.term.format(term=t) for t in answer.missing)
        return say.not_mentioned.format(terms=terms)
    if answer.absent in say.answer_types:
        return say.not_given.format(what=say.answer_types[answer.absent])
    return say.not_covered
