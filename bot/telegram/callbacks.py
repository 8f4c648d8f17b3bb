"""Button data: each kind one small class with its wire format, pack and parse together.

Like aiogram's ``CallbackData``: a button is ``PREFIX:field:field``, all ASCII, at most 64
bytes (Telegram's limit), validated field by field on the way out and by one anchored
pattern on the way in — the same pattern its ``CallbackQueryHandler`` is registered with.
Nothing the user typed is in it: answers are referred to by a short key into the
chat's own data, passages by their stable id. These formats are a contract with every
message already sent: buttons under old messages must keep working, so change none.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import ClassVar, Self, get_type_hints

MAX_BYTES = 64

KEY = r"[0-9a-z]{1,12}"  # an answer the chat remembers (bot.telegram.remembered)
PASSAGE = r"[0-9A-Za-z_-]{1,40}"  # a passage's stable id
DIGIT = r"[0-9]"


class CallbackData:
    """Base of the button kinds: subclasses are frozen dataclasses with FORMAT per field."""

    PREFIX: ClassVar[str]  # "" when the first field tells the kind (walk: p or n)
    FORMAT: ClassVar[tuple[str, ...]]  # one regex per field, in field order
    PATTERN: ClassVar[re.Pattern[str]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        parts = ([re.escape(cls.PREFIX)] if cls.PREFIX else []) + [f"({f})" for f in cls.FORMAT]
        cls.PATTERN = re.compile("^" + ":".join(parts) + "$")

    def pack(self) -> str:
        values = [str(getattr(self, f.name)) for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        data = ":".join(([self.PREFIX] if self.PREFIX else []) + values)
        if not self.PATTERN.fullmatch(data) or len(data.encode()) > MAX_BYTES:
            raise ValueError(f"not valid callback data: {data!r}")  # only a bug gets here
        return data

    @classmethod
    def parse(cls, match: re.Match[str]) -> Self:
        """From the match of :attr:`PATTERN` (PTB puts it in ``context.matches``)."""
        hints = get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        values = {n: hints[n](v) for n, v in zip(names, match.groups(), strict=True)}
        return cls(**values)


@dataclass(frozen=True)
class More(CallbackData):
    """The next best passage of an answer."""

    PREFIX = "m"
    FORMAT = (KEY, DIGIT)
    key: str
    rank: int


@dataclass(frozen=True)
class ShowAnyway(CallbackData):
    """A refusal's closest passage, quoted on request."""

    PREFIX = "c"
    FORMAT = (KEY,)
    key: str


@dataclass(frozen=True)
class Vote(CallbackData):
    """👍 (u) or 👎 (d) on one of an answer's passages."""

    PREFIX = "v"
    FORMAT = (KEY, DIGIT, "[ud]")
    key: str
    rank: int
    vote: str


@dataclass(frozen=True)
class Walk(CallbackData):
    """The previous (p) or next (n) paragraph; s = quoted in Simplified, o = original."""

    PREFIX = ""
    FORMAT = ("[pn]", PASSAGE, "[so]")
    direction: str
    passage_id: str
    script: str


@dataclass(frozen=True)
class WholeSection(CallbackData):
    """A whole section, as a new message."""

    PREFIX = "w"
    FORMAT = ("[0-9]{1,3}",)
    number: int


@dataclass(frozen=True)
class SectionPage(CallbackData):
    """A page of a section, edited in place."""

    PREFIX = "s"
    FORMAT = ("[0-9]{1,3}", "[0-9]{1,3}")
    number: int
    page: int


@dataclass(frozen=True)
class Suggested(CallbackData):
    """A suggested question from the article's sidecar, by its place there."""

    PREFIX = "q"
    FORMAT = ("[0-9]{1,2}",)
    index: int


@dataclass(frozen=True)
class Language(CallbackData):
    """``/language``: the chat's reply language, or ``auto`` to follow its questions."""

    PREFIX = "l"
    FORMAT = ("en|zh-Hans|zh-Hant|auto",)
    language: str


@dataclass(frozen=True)
class SectionOf(CallbackData):
    """The whole section a passage sits in: on a shelf of several, it names its article."""

    PREFIX = "t"
    FORMAT = (PASSAGE,)
    passage_id: str


@dataclass(frozen=True)
class UseArticle(CallbackData):
    """``/articles``: answer from article N of the shelf; 0 searches them all again."""

    PREFIX = "a"
    FORMAT = ("[0-9]{1,3}",)
    number: int


@dataclass(frozen=True)
class ArticlesPage(CallbackData):
    """``/articles`` on a long shelf: another page of the list, edited in place."""

    PREFIX = "r"
    FORMAT = ("[0-9]{1,3}",)
    page: int


KINDS: tuple[type[CallbackData], ...] = (
    More,
    ShowAnyway,
    Vote,
    Walk,
    WholeSection,
    SectionPage,
    Suggested,
    Language,
    SectionOf,
    UseArticle,
    ArticlesPage,
)
