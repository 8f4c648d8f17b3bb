"""All configuration, read once and validated at start-up by the composition root.

Environment variables (and the CLI flags that override them) are documented in
the README's configuration table; keep the two in step.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_cache_dir

from bot.core.cores import DEFAULT_CORES
from corpus.ingest import BUNDLED_ARTICLE
from corpus.reading import short_path
from embeddings.encoder import DEFAULT_MODEL

# BotFather tokens look like 123456789:AA...; the shape check catches paste errors early.
_TOKEN = re.compile(r"^\d{3,12}:[A-Za-z0-9_-]{30,}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and never holds a secret."""


@dataclass(frozen=True)
class Settings:
    # The one article of tools that take one (eval, bench, build_core), and the shelf's
    # article when nothing else is configured: ARTICLE_PATH, else the bundled article.
    article: Path = BUNDLED_ARTICLE
    # The shelf (bot.build.build_shelf): every .txt/.md in ARTICLES_DIR, plus the files
    # named by --article. Neither given: ``article`` alone.
    articles_dir: Path | None = None
    articles: tuple[Path, ...] = ()
    data_dir: Path = field(default_factory=lambda: Path(user_cache_dir("article-bot")))
    model: str = DEFAULT_MODEL
    log_level: str = "WARNING"
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_base_url: str | None = None
    questions_per_minute: int = 20
    # Chats the Telegram bot serves; None serves everyone (see the README on the rest).
    allowed_chat_ids: frozenset[int] | None = None
    # Private chats (users) who may add articles by sending a document, and /reload.
    admin_chat_ids: frozenset[int] = frozenset()
    # Several replicas: chat state, handled updates, votes and the question log in this
    # PostgreSQL database (libpq URL) instead of the data directory's SQLite files.
    database_url: str | None = field(default=None, repr=False)
    # Questions older than this many days leave the question log (at each start).
    question_log_days: int = 180
    # Articles' cores kept in memory at most; the others are built from the store when needed.
    shelf_cores: int = DEFAULT_CORES
    # SHELF: "files" (the articles above) or "store": every article the passage store holds,
    # listed from it (bot/core/archive.py): a newsroom's archive in PostgreSQL, which
    # `python -m bot ingest` fills and several bots serve without the files.
    shelf: str = "files"

    @property
    def uploads_dir(self) -> Path:
        """Where admins' documents are saved: ARTICLES_DIR, else the data directory's own."""
        return self.articles_dir or self.data_dir / "articles"

    @property
    def heartbeat_file(self) -> Path:
        return self.data_dir / "telegram.heartbeat"

    @property
    def index_dir(self) -> Path:
        return self.shelf_index_dir(self.article.stem)

    def shelf_index_dir(self, name: str) -> Path:
        """One index directory (and manifest) per shelf article, by its shelf name."""
        return self.data_dir / "indexes" / name

    @property
    def shelf_files(self) -> tuple[Path, ...]:
        """The files always on the shelf; ARTICLES_DIR adds its own at every (re)load."""
        if self.articles or self.articles_dir is not None:
            return self.articles
        return (self.article,)


# What SHELF may say: a shelf of files, or the passage store's whole listing.
SHELVES = ("files", "store")

# Settings that are text: environment variable → (field, how its value is read).
_TEXTS: dict[str, tuple[str, Callable[[str], str]]] = {
    "EMBEDDING_MODEL": ("model", str),
    "LOG_LEVEL": ("log_level", str.upper),
    "TELEGRAM_BOT_TOKEN": ("telegram_token", str.strip),
    "TELEGRAM_API_BASE_URL": ("telegram_api_base_url", str),
    "SHELF": ("shelf", lambda value: value.strip().lower()),
}

# Settings that are a positive whole number: environment variable → field.
_POSITIVE_INTS = {
    "QUESTIONS_PER_MINUTE": "questions_per_minute",
    "QUESTION_LOG_DAYS": "question_log_days",
    "SHELF_CORES": "shelf_cores",
}


def from_env(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from the environment, then CLI overrides (None means "not given")."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    if env.get("ARTICLE_PATH"):
        values["article"] = Path(env["ARTICLE_PATH"])
    if env.get("ARTICLES_DIR"):
        values["articles_dir"] = Path(env["ARTICLES_DIR"])
    if env.get("ARTICLE_BOT_DATA_DIR"):
        values["data_dir"] = Path(env["ARTICLE_BOT_DATA_DIR"])
    for name, (key, read) in _TEXTS.items():
        if env.get(name):
            values[key] = read(env[name])
    for name, key in _POSITIVE_INTS.items():
        if env.get(name):
            values[key] = _positive_int(name, env)
    if env.get("ALLOWED_CHAT_IDS", "").strip():
        values["allowed_chat_ids"] = _chat_ids("ALLOWED_CHAT_IDS", env)
    if env.get("ADMIN_CHAT_IDS", "").strip():
        values["admin_chat_ids"] = _chat_ids("ADMIN_CHAT_IDS", env)
    if env.get("DATABASE_URL", "").strip():
        values["database_url"] = _database_url(env["DATABASE_URL"].strip())
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings(**values)  # type: ignore[arg-type]
    _validate(settings)
    return settings


def _positive_int(name: str, env: Mapping[str, str]) -> int:
    raw = env[name]
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a positive whole number: got {raw!r}")
    return int(raw)


def _database_url(url: str) -> str:
    """A libpq URL; checked for its shape only (the server is asked at start)."""
    if not re.match(r"^postgres(ql)?://", url):
        raise ConfigError(
            "DATABASE_URL must be a PostgreSQL URL such as postgresql://user:password@host/db"
        )
    return url


def _chat_ids(name: str, env: Mapping[str, str]) -> frozenset[int]:
    """Comma-separated chat ids: users' ids for private chats, negative ones for groups."""
    ids = set()
    for item in (piece.strip() for piece in env[name].split(",")):
        if not item:
            continue
        if not re.fullmatch(r"-?\d{1,20}", item):
            raise ConfigError(f"{name} must be chat ids separated by commas: got {item!r}")
        ids.add(int(item))
    if not ids:
        raise ConfigError(f"{name} is set but lists no chat id")
    return frozenset(ids)


def _validate(settings: Settings) -> None:
    for article in (settings.article, *settings.articles):
        if not _is(article, Path.is_file, "article file"):
            raise ConfigError(f"article file not found: {short_path(article)}")
    directory = settings.articles_dir
    if directory is not None and not _is(directory, Path.is_dir, "ARTICLES_DIR"):
        raise ConfigError(f"ARTICLES_DIR is not a directory: {short_path(directory)}")
    if settings.shelf not in SHELVES:
        raise ConfigError(f"SHELF must be one of {', '.join(SHELVES)}: got {settings.shelf!r}")
    if settings.log_level not in logging.getLevelNamesMapping():
        raise ConfigError(
            f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR: got {settings.log_level!r}"
        )
    data_dir = settings.data_dir
    if _is(data_dir, Path.exists, "data directory") and not data_dir.is_dir():
        raise ConfigError(f"data directory is not a directory: {short_path(data_dir)}")


def _is(path: Path, test: Callable[[Path], bool], what: str) -> bool:
    """``test(path)``, but a path the system cannot even look at (too long, a link loop,
    no permission) is a one-line configuration error, not a traceback."""
    try:
        return test(path)
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"{what} {short_path(path)}: {why}") from exc


def require_telegram_token(settings: Settings) -> str:
    token = settings.telegram_token
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set (get one from @BotFather, put it in .env)")
    if not _TOKEN.match(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is malformed: expected digits, a colon, then the secret"
        )
    return token


# Telegram allows 1-256 characters A-Z, a-z, 0-9, _ and - in a webhook secret token.
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")


def require_webhook_secret(given: str | None, env: Mapping[str, str] | None = None) -> str:
    """Webhook mode refuses to start without a secret: anyone could post fake updates."""
    env = os.environ if env is None else env
    secret = given or env.get("TELEGRAM_WEBHOOK_SECRET", "")
    if not secret:
        raise ConfigError("webhook mode needs a secret: --secret-token or TELEGRAM_WEBHOOK_SECRET")
    if not _SECRET.match(secret):
        raise ConfigError("the webhook secret must be 16-256 characters of A-Z, a-z, 0-9, _ or -")
    return secret
