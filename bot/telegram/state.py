"""What every handler reaches through its context: the core and the adapter's bounded state.

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
from bot.core.feedback import FeedbackStore
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


@dataclass
class Services:
    """The core and everything the handlers remember between updates."""

    core: ArticleBot
    batcher: Batcher
    options: TelegramOptions = field(default_factory=TelegramOptions)
    feedback: FeedbackStore | None = None
    limits: RateLimit = field(init=False)
    turned_away: Recent[int, bool] = field(init=False)  # chats told "not allowed" once
    liveness: Liveness | None = field(init=False)
    total: int = field(init=False)  # paragraphs in the article, for "Paragraph N of M"
    feedback_lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        options = self.options
        self.limits = RateLimit(options.questions_per_minute)
        self.turned_away = Recent(options.remembered_chats)
        self.liveness = Liveness(options.heartbeat) if options.heartbeat is not None else None
        self.total = sum(1 for _ in self.core.article.paragraphs())


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context every handler receives, with the adapter's services typed."""

    @property
    def services(self) -> Services:
        services: Services = self.bot_data[SERVICES]
        return services


CONTEXT_TYPES = ContextTypes(context=BotContext)


def install(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    app.bot_data[SERVICES] = services
