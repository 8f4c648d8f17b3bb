"""The console adapter: a prompt over the same core the Telegram bot uses."""

from __future__ import annotations

import logging
from typing import TextIO

from bot.core.answer import Answer, Quote
from bot.core.engine import ArticleBot
from bot.core.feedback import FeedbackError, FeedbackStore
from bot.core.followup import Turn
from bot.core.shelf import Shelf
from bot.messages import CATALOGS, DEFAULT, Messages, language_of
from bot.render.common import strength
from bot.render.text import (
    render_about,
    render_answer,
    render_quote,
    render_section,
    render_sections,
)

log = logging.getLogger(__name__)

# Lines of one /articles page: a terminal screen's worth, however large the shelf.
ARTICLES_PER_PAGE = 50


class ConsoleAdapter:
    """One reader at a terminal: a shelf of articles, or a single core handed over as one."""

    def __init__(
        self,
        core: ArticleBot | Shelf,
        stdin: TextIO,
        stdout: TextIO,
        feedback: FeedbackStore | None = None,
        language: str | None = None,
    ) -> None:
        self.shelf = core if isinstance(core, Shelf) else Shelf.of(core)
        # The article ``/use N`` chose; None searches the whole shelf.
        self.chosen: str | None = None
        # A fixed language (``--lang``), or None: each reply follows the question's script,
        # and commands the last question's.
        self.language = language
        self.say: Messages = CATALOGS[language] if language else DEFAULT
        self.stdin = stdin
        self.stdout = stdout
        self.feedback = feedback
        self._turn: Turn | None = None
        self._answer: Answer | None = None
        self._shown: Quote | None = None
        self._rank = 0

    def run(self, first: str | None = None) -> None:
        """The session; ``first`` is a line already read (typed while the model loaded)."""
        if len(self.shelf) > 1:
            intro = self.say.shelf_intro.format(count=len(self.shelf))
        else:
            intro = self.shelf.first()[1].article.title
        self._say(f"{intro}\n{self.say.console_help}")
        while True:
            if first is None:
                self.stdout.write("\n> ")
                self.stdout.flush()
                line = self.stdin.readline()
            else:
                line, first = first, None
            if not line or line.strip() in {"/quit", "/exit"}:
                self._say(self.say.bye)
                return
            if line.strip():
                self._say(self.reply(line.strip()))

    def reply(self, line: str) -> str:
        command, _, argument = line.partition(" ")
        commands = {
            "/help": lambda: self.say.console_help,
            "/start": lambda: self.say.console_help,
            "/sections": lambda: render_sections(self._current()[1].article, self.say),
            "/articles": lambda: self._articles(argument.strip()),
            "/use": lambda: self._use(argument.strip()),
            "/section": lambda: self._section(argument.strip()),
            "/about": self._about,
            "/more": self._more,
            "/next": lambda: self._walk(1),
            "/prev": lambda: self._walk(-1),
            "/new": self._new,
            "/good": lambda: self._vote(up=True),
            "/bad": lambda: self._vote(up=False),
        }
        if command in commands:
            return commands[command]()
        if command.startswith("/"):
            return f"{self.say.unknown_command.format(command=command)} {self.say.console_help}"
        return self._ask(line)

    def _ask(self, question: str) -> str:
        if self.language is None:
            self.say = CATALOGS[language_of(question)]
        answer = self.shelf.ask(question, k=5, previous=self._turn, article=self.chosen)
        self._answer, self._rank = answer, 0
        if answer.quotes or answer.closest:
            self._turn = answer.turn()
            self._shown = answer.quotes[0] if answer.quotes else None
        return render_answer(answer, self.say)

    def _more(self) -> str:
        answer = self._answer
        if answer is None:
            return self.say.ask_first
        if not answer.quotes:
            if answer.closest is None:
                return self.say.nothing_more
            self._shown = answer.closest
            lead = self.say.closest_shown.format(strength=strength(answer.closest, self.say))
            return f"{lead}\n{render_quote(answer.closest, self.say)}"
        if self._rank + 1 >= len(answer.quotes):
            return self.say.no_more
        self._rank += 1
        self._shown = answer.quotes[self._rank]
        lead = self.say.next_best.format(rank=self._rank + 1, count=len(answer.quotes))
        return f"{lead}\n{render_quote(self._shown, self.say)}"

    def _walk(self, step: int) -> str:
        if self._shown is None:
            return self.say.walk_first
        name, bot = self._current()
        passage = bot.neighbour(self._shown.passage, step)
        if passage is None:
            return self.say.last_paragraph if step > 0 else self.say.first_paragraph
        simplified = bool(self._answer and self._answer.converted)
        self._shown = self.shelf.show(name, passage, simplified)
        return render_quote(self._shown, self.say)

    def _section(self, argument: str) -> str:
        core = self._current()[1]
        count = len(core.sections)
        if not argument and self._shown is not None and self._shown.passage.section:
            argument = str(self._shown.passage.section)
        if not argument.isdigit():
            return self.say.section_usage.format(count=count)
        section = core.section(int(argument))
        if section is None:
            return self.say.no_such_section.format(number=argument, count=count)
        return render_section(section)

    def _new(self) -> str:
        self._turn, self._answer, self._shown = None, None, None
        return self.say.new_conversation

    def _vote(self, up: bool) -> str:
        answer = self._answer
        if answer is None or not answer.quotes or self._shown is None:
            return self.say.vote_first
        if self.feedback is None:
            return self.say.feedback_off
        try:
            self.feedback.vote("console", answer.question, self._shown.passage.id, up)
        except FeedbackError as exc:
            log.warning("%s", exc)
            return self.say.feedback_failed
        return self.say.thanks

    def _about(self) -> str:
        return render_about(self._current()[1].about(), self.say)

    def _current(self) -> tuple[str, ArticleBot]:
        """The article commands read: the one chosen, else the one last shown, else the first."""
        shown = self._shown.article if self._shown else None
        for name in (self.chosen, shown):
            bot = self.shelf.get(name) if name else None
            if name and bot:
                return name, bot
        return self.shelf.first()

    def _articles(self, argument: str = "") -> str:
        """``/articles [N]``: page N of the shelf (a shelf that is an archive has thousands)."""
        say = self.say
        total = len(self.shelf)
        pages = max(1, -(-total // ARTICLES_PER_PAGE))
        page = min(int(argument), pages) if argument.isdigit() and int(argument) > 0 else 1
        lines = [say.articles_heading]
        for entry in self.shelf.entries((page - 1) * ARTICLES_PER_PAGE, ARTICLES_PER_PAGE):
            if entry.date:
                line = say.article_line.format(
                    number=entry.number,
                    title=entry.title,
                    date=entry.date,
                    paragraphs=entry.paragraphs,
                )
            else:
                line = say.article_line_undated.format(
                    number=entry.number, title=entry.title, paragraphs=entry.paragraphs
                )
            lines.append(("→ " if entry.name == self.chosen else "  ") + line)
        if pages > 1:
            lines.append(say.articles_page.format(page=page, pages=pages, count=total))
            if page < pages:
                lines.append(say.articles_more.format(next=page + 1))
        chosen = self.shelf.article(self.chosen) if self.chosen else None
        lines.append(say.articles_chosen.format(title=chosen.title) if chosen else say.articles_all)
        return "\n".join(lines)

    def _use(self, argument: str) -> str:
        """``/use N`` sends questions to article N; ``/use`` or ``/use all`` to every article."""
        count = len(self.shelf)
        if argument in {"", "all"}:
            self.chosen = None
            return self.say.use_all.format(count=count)
        name = self.shelf.by_number(int(argument)) if argument.isdigit() else None
        article = self.shelf.article(name) if name else None
        if name is None or article is None:
            return self.say.use_usage.format(count=count)
        self.chosen = name
        self._turn, self._answer, self._shown = None, None, None  # "it" meant another article
        return self.say.use_chosen.format(title=article.title)

    def _say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()
