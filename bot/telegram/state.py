"""What every handler reaches through its context: the shelf and the adapter's state.

PTB's ``bot_data`` holds one :class:`Services`; :class:`BotContext` (``examples/
contexttypesbot.py``) gives handlers typed access to it instead of string keys.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.core.batcher import Batcher
from bot.core.engine import ArticleBot
from bot.core.postgres import PostgresStore
from bot.core.shelf import Shelf
from bot.core.stores import Feedback
from bot.telegram.indexing import ShelfJobs
from bot.telegram.limits import RateLimit
from bot.telegram.liveness import Liveness
from bot.telegram.recent import Recent

SERVICES = "services"


@dataclass(frozen=True)
class TelegramOptions:
    questions_per_minute: int = 20
    remembered_chats: int = 10_000  # chats told "not allowed" that are remembered
    heartbeat: Path | None = None  # liveness record; `python -m bot health` reads it
    allowed_chat_ids: frozenset[int] | None = None  # None: every chat
    send_retries: int = 3  # retries of a call that failed without delivering
    retry_backoff: float = 1.0  # seconds before the first retry; doubled each time
    read_timeout: float | None = None  # seconds to wait for Telegram's answer; None: PTB's
    flood_limits: bool = True  # keep Telegram's outgoing rate limits (off only to measure)
    webhook: bool = False  # served by webhook: Telegram's reachability is probed instead
    language: str | None = None  # one reply language for every chat; None: each reader's
    state_file: Path | None = None  # chats' state across restarts (SQLite); None: in memory
    journal: Path | None = None  # updates received and handled (SQLite); None: not kept
    admin_chat_ids: frozenset[int] = frozenset()  # may add articles (documents) and /reload
    uploads: Path | None = None  # where admins' documents are saved; None: uploads refused
    index_after_start: tuple[str, ...] = ()  # folder articles left off at start, to index
    question_log_days: float | None = 180  # questions older than this are dropped; None: kept


CHOSEN = "article"  # chat_data: the shelf article the chat chose with /articles
QUOTED = "last_article"  # chat_data: the article its last answer quoted


@dataclass
class Services:
    """The shelf and everything the handlers remember between updates."""

    shelf: Shelf
    batcher: Batcher
    options: TelegramOptions = field(default_factory=TelegramOptions)
    feedback: Feedback | None = None
    # Several replicas (DATABASE_URL): chat state and handled updates here, shared by all.
    shared: PostgresStore | None = None
    limits: RateLimit = field(init=False)
    turned_away: Recent[int, bool] = field(init=False)  # chats told "not allowed" once
    liveness: Liveness | None = field(init=False)
    feedback_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    shelf_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    shelf_jobs: ShelfJobs = field(init=False, default_factory=ShelfJobs)  # a stop cancels

    def __post_init__(self) -> None:
        options = self.options
        self.limits = RateLimit(options.questions_per_minute)
        self.turned_away = Recent(options.remembered_chats)
        self.liveness = Liveness(options.heartbeat) if options.heartbeat is not None else None

    def chosen(self, chat_data: dict[str, Any] | None) -> str | None:
        """The article the chat chose, while it is still on the shelf; None: all of them."""
        name = (chat_data or {}).get(CHOSEN)
        return name if isinstance(name, str) and name in self.shelf else None

    def current(self, chat_data: dict[str, Any] | None) -> ArticleBot:
        """The article commands speak of: the chosen one, else the one last quoted, else
        the first on the shelf."""
        for name in (self.chosen(chat_data), (chat_data or {}).get(QUOTED)):
            bot = self.shelf.get(name) if isinstance(name, str) else None
            if bot is not None:
                return bot
        return self.shelf.first()[1]

    def article_of(self, name: str | None) -> ArticleBot:
        """The article a quote names (the first on the shelf for an unnamed one)."""
        bot = self.shelf.get(name) if name else None
        return bot if bot is not None else self.shelf.first()[1]

    def is_admin(self, chat_id: int | None) -> bool:
        return chat_id is not None and chat_id in self.options.admin_chat_ids


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context every handler receives, with the adapter's services typed."""

    @property
    def services(self) -> Services:
        services: Services = self.bot_data[SERVICES]
        return services


CONTEXT_TYPES = ContextTypes(context=BotContext)


def install(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    app.bot_data[SERVICES] = services
