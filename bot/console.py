"""The console adapter: a prompt over the same core the Telegram bot uses."""

from __future__ import annotations

import logging
from typing import TextIO

from bot.core.answer import Answer, Quote
from bot.core.engine import ArticleBot
from bot.core.feedback import FeedbackError, FeedbackStore
from bot.core.followup import Turn
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

class ConsoleAdapter:
    def __init__(
        self,
        core: ArticleBot,
        stdin: TextIO,
        stdout: TextIO,
        feedback: FeedbackStore | None = None,
        language: str | None = None,
    ) -> None:
        self.core = core
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

    def run(self) -> None:
        self._say(f"{self.core.article.title}\n{self.say.console_help}")
        while True:
            self.stdout.write("\n> ")
            self.stdout.flush()
            line = self.stdin.readline()
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
            "/sections": lambda: render_sections(self.core.article, self.say),
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
        answer = self.core.ask(question, k=5, previous=self._turn)
        self._answer, self._rank = answer, 0
        if answer.quotes or answer.closest:
            self._turn = answer.turn()
            self._shown = answer.quotes[0] if answer.quotes else None
        return render_answer(answer, self.core.article, self.say)

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
        passage = self.core.neighbour(self._shown.passage, step)
        if passage is None:
            return self.say.last_paragraph if step > 0 else self.say.first_paragraph
        simplified = bool(self._answer and self._answer.converted)
        self._shown = self.core.show(passage, simplified)
        return render_quote(self._shown, self.say)

    def _section(self, argument: str) -> str:
        count = len(self.core.sections)
        if not argument and self._shown is not None and self._shown.passage.section:
            argument = str(self._shown.passage.section)
        if not argument.isdigit():
            return self.say.section_usage.format(count=count)
        section = self.core.section(int(argument))
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
        return render_about(self.core.about(), self.say)

    def _say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()
