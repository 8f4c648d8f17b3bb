"""The console adapter: a prompt over the same core the Telegram bot uses."""

from __future__ import annotations

import logging
from typing import TextIO

from bot.core.answer import Answer, Quote
from bot.core.engine import ArticleBot
from bot.core.feedback import FeedbackError, FeedbackStore
from bot.core.followup import Turn
from bot.render.text import render_answer, render_quote, render_section, render_sections

log = logging.getLogger(__name__)

HELP = """Ask a question about the article, in Chinese or English.
Commands:
  /more         the next best passage (or the closest one, after "not covered")
  /prev /next   the paragraph before or after the one shown
  /section [N]  section N, or the section of the paragraph shown
  /sections     list the sections
  /good /bad    rate the last answer
  /new          start a new conversation (forget the previous question)
  /about        what this article is
  /help         this text
  /quit         leave (end of input works too)"""


class ConsoleAdapter:
    def __init__(
        self,
        core: ArticleBot,
        stdin: TextIO,
        stdout: TextIO,
        feedback: FeedbackStore | None = None,
    ) -> None:
        self.core = core
        self.stdin = stdin
        self.stdout = stdout
        self.feedback = feedback
        self._turn: Turn | None = None
        self._answer: Answer | None = None
        self._shown: Quote | None = None
        self._rank = 0

    def run(self) -> None:
        self._say(f"{self.core.article.title}\n{HELP}")
        while True:
            self.stdout.write("\n> ")
            self.stdout.flush()
            line = self.stdin.readline()
            if not line or line.strip() in {"/quit", "/exit"}:
                self._say("Bye.")
                return
            if line.strip():
                self._say(self.reply(line.strip()))

    def reply(self, line: str) -> str:
        command, _, argument = line.partition(" ")
        commands = {
            "/help": lambda: HELP,
            "/start": lambda: HELP,
            "/sections": lambda: render_sections(self.core.article),
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
            return f"Unknown command {command}. {HELP}"
        return self._ask(line)

    def _ask(self, question: str) -> str:
        answer = self.core.ask(question, k=5, previous=self._turn)
        self._answer, self._rank = answer, 0
        if answer.quotes or answer.closest:
            self._turn = answer.turn()
            self._shown = answer.quotes[0] if answer.quotes else None
        return render_answer(answer, self.core.article)

    def _more(self) -> str:
        answer = self._answer
        if answer is None:
            return "Ask a question first."
        if not answer.quotes:
            if answer.closest is None:
                return "There is nothing more to show."
            self._shown = answer.closest
            return f"Closest passage ({answer.closest.strength()}):\n{render_quote(answer.closest)}"
        if self._rank + 1 >= len(answer.quotes):
            return "No more passages for this question."
        self._rank += 1
        self._shown = answer.quotes[self._rank]
        return f"Next best passage ({self._rank + 1} of {len(answer.quotes)}):\n" + render_quote(
            self._shown
        )

    def _walk(self, step: int) -> str:
        if self._shown is None:
            return "Ask a question first; then /prev and /next walk through the article."
        passage = self.core.neighbour(self._shown.passage, step)
        if passage is None:
            return "That is the " + ("last" if step > 0 else "first") + " paragraph."
        simplified = bool(self._answer and self._answer.converted)
        self._shown = self.core.show(passage, simplified)
        return render_quote(self._shown)

    def _section(self, argument: str) -> str:
        count = len(self.core.sections)
        if not argument and self._shown is not None and self._shown.passage.section:
            argument = str(self._shown.passage.section)
        if not argument.isdigit():
            return f"Usage: /section N, where N is 1 to {count}."
        section = self.core.section(int(argument))
        if section is None:
            return f"There is no section {argument}: choose 1 to {count}."
        return render_section(section)

    def _new(self) -> str:
        self._turn, self._answer, self._shown = None, None, None
        return "New conversation: your next question is read on its own."

    def _vote(self, up: bool) -> str:
        answer = self._answer
        if answer is None or not answer.quotes or self._shown is None:
            return "Ask a question first; then rate the answer."
        if self.feedback is None:
            return "Feedback is not available right now; answering goes on."
        try:
            self.feedback.vote("console", answer.question, self._shown.passage.id, up)
        except FeedbackError as exc:
            log.warning("%s", exc)
            return "Feedback could not be saved right now; answering goes on."
        return "Thanks for the feedback."

    def _about(self) -> str:
        return "\n".join(f"{name}: {value}" for name, value in self.core.about())

    def _say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()
