"""The console adapter: a prompt over the same core the Telegram bot uses."""

from __future__ import annotations

from typing import TextIO

from bot.core import ArticleBot
from bot.render_text import render_answer, render_section, render_sections

HELP = """Ask a question about the article, in Chinese or English.
Commands:
  /sections     list the sections
  /section N    show section N
  /about        what this article is
  /help         this text
  /quit         leave (end of input works too)"""


class ConsoleAdapter:
    def __init__(self, core: ArticleBot, stdin: TextIO, stdout: TextIO) -> None:
        self.core = core
        self.stdin = stdin
        self.stdout = stdout

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
        if command in {"/help", "/start"}:
            return HELP
        if command == "/sections":
            return render_sections(self.core.article)
        if command == "/section":
            return self._section(argument.strip())
        if command == "/about":
            return self._about()
        if command.startswith("/"):
            return f"Unknown command {command}. {HELP}"
        return render_answer(self.core.ask(line), self.core.article)

    def _section(self, argument: str) -> str:
        count = len(self.core.sections)
        if not argument.isdigit():
            return f"Usage: /section N, where N is 1 to {count}."
        section = self.core.section(int(argument))
        if section is None:
            return f"There is no section {argument}: choose 1 to {count}."
        return render_section(section)

    def _about(self) -> str:
        article = self.core.article
        count = sum(1 for _ in article.paragraphs())
        source = article.source or "unknown"
        return (
            f"{article.title}\nSource: {source}\nParagraphs: {count}\n"
            f"Model: {self.core.retriever.encoder.model_id}"
        )

    def _say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()
