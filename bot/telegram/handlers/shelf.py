"""The shelf in Telegram: ``/articles`` to choose, and for admins documents and ``/reload``.

An admin (``ADMIN_CHAT_IDS``) sends a ``.txt``/``.md`` document in a private chat: it is
size-checked before download, saved under a name of its own in the uploads folder (so it
can never overwrite an article already there), ingested and indexed off the event loop
while a progress message stands, and put on the shelf. A file the shelf refuses is
deleted again and the admin is told why; the shelf is unchanged. Anyone else's document
gets the usual "please type your question".
"""

from __future__ import annotations

import logging
import os
import re
from functools import partial
from pathlib import Path

from telegram import Bot, Message, Update
from telegram.error import TelegramError

from bot.core.shelf import MAX_ARTICLE_BYTES, SUFFIXES, Reloaded, ShelfError
from bot.messages import Messages
from bot.render.html import esc
from bot.telegram import indexing, keyboards
from bot.telegram.handlers.questions import on_non_text
from bot.telegram.language import speak
from bot.telegram.sending import reply
from bot.telegram.state import BotContext, Services
from corpus.ingest import MAX_PARAGRAPHS, MAX_TITLE_CHARS

log = logging.getLogger(__name__)


async def on_articles(update: Update, context: BotContext) -> None:
    say, services = speak(update, context), context.services
    chosen = services.chosen(context.chat_data)
    text, markup = keyboards.articles_page(services, say, chosen, page=0)
    await reply(update, [text], markup)


async def on_document(update: Update, context: BotContext) -> None:
    services, message = context.services, update.message
    chat = update.effective_chat
    if message is None or message.document is None or chat is None:
        return
    if not services.is_admin(chat.id) or services.options.uploads is None:
        await on_non_text(update, context)  # a reader's file: "please type your question"
        return
    say, document = speak(update, context), message.document
    name = Path(document.file_name or "article.txt").name
    if Path(name).suffix.lower() not in SUFFIXES:
        await reply(update, [esc(say.upload_wrong_type.format(suffixes=" / ".join(SUFFIXES)))])
        return
    if document.file_size is not None and document.file_size > MAX_ARTICLE_BYTES:
        await reply(update, [esc(say.upload_too_big.format(limit=f"{MAX_ARTICLE_BYTES:,}"))])
        return
    busy = [say.shelf_busy] if services.shelf_lock.locked() else []  # it waits its turn
    waiting = "\n".join([say.upload_indexing.format(name=name), *busy])
    progress = await message.reply_text(waiting)
    try:
        # Reserved before the download: a second upload of the same name in flight
        # meanwhile gets a name of its own instead of overwriting this one.
        target = _reserve(services.options.uploads, name)
    except OSError as exc:
        log.error("upload %s from admin %s: cannot save it: %s", name, chat.id, exc)
        await _edit(progress, say.upload_failed.format(name=name, why=say.upload_unreadable))
        return
    try:
        telegram_file = await document.get_file()
        content = bytes(await telegram_file.download_as_bytearray())
    except (TelegramError, OSError) as exc:
        target.unlink(missing_ok=True)
        log.warning("upload %s from admin %s: download failed: %s", name, chat.id, exc)
        await _edit(progress, say.upload_failed.format(name=name, why=say.upload_download_failed))
        return
    if len(content) > MAX_ARTICLE_BYTES:  # the declared size was missing or wrong
        target.unlink(missing_ok=True)
        await _edit(progress, say.upload_too_big.format(limit=f"{MAX_ARTICLE_BYTES:,}"))
        return
    try:
        # Until the shelf has it (or refused it): a stop meanwhile leaves the mark, and
        # the next start discards the upload that its replayed update brings again.
        indexing.marker(target).touch()
        target.write_bytes(content)
        shelved = await services.shelf_jobs.run(partial(_shelve, services, target))
    except (ShelfError, OSError) as exc:
        target.unlink(missing_ok=True)
        indexing.marker(target).unlink(missing_ok=True)
        log.warning("upload %s from admin %s refused: %s", name, chat.id, exc)
        await _edit(progress, _refusal(say, name, exc))
        return
    indexing.marker(target).unlink(missing_ok=True)
    bot = services.article_of(shelved)
    done = say.upload_done.format(
        title=bot.article.title, paragraphs=len(bot.retriever.passages), count=len(services.shelf)
    )
    await _edit(progress, done)


async def on_reload(update: Update, context: BotContext) -> None:
    say, services = speak(update, context), context.services
    chat = update.effective_chat
    if not services.is_admin(chat.id if chat is not None else None):
        await reply(update, [esc(say.admins_only)])
        return
    if services.shelf_lock.locked():  # an upload is being indexed: say why this waits
        await reply(update, [esc(say.shelf_busy)])
    try:
        changed = await services.shelf_jobs.run(partial(_reload, services))
    except ShelfError as exc:
        await reply(update, [esc(str(exc))])
        return
    await reply(update, [esc(line) for line in _reloaded(say, changed, len(services.shelf))])


async def index_after_start(bot: Bot, services: Services, say: Messages) -> None:
    """Index the folder articles the start left off (``bot.build.Deferred``), telling the
    admins before and after; the shelf answers from what it has meanwhile."""
    names = ", ".join(services.options.index_after_start)
    await _tell_admins(bot, services, [say.indexing_at_start.format(names=names)])
    try:
        changed = await services.shelf_jobs.run(partial(_reload, services))
    except ShelfError as exc:
        log.error("indexing after the start failed: %s", exc)
        await _tell_admins(bot, services, [str(exc)])
        return
    await _tell_admins(bot, services, _reloaded(say, changed, len(services.shelf)))


async def _tell_admins(bot: Bot, services: Services, lines: list[str]) -> None:
    for chat_id in sorted(services.options.admin_chat_ids):
        try:
            await bot.send_message(chat_id, "\n".join(lines))
        except TelegramError as exc:  # an admin who never opened the chat: the log says it
            log.warning("could not tell admin %s: %s", chat_id, exc)


def _reloaded(say: Messages, changed: Reloaded, count: int) -> list[str]:
    """The report of a reload: the counts, then one line per file that failed."""
    text = say.reloaded.format(
        added=len(changed.added),
        updated=len(changed.updated),
        removed=len(changed.removed),
        failed=len(changed.failed),
        count=count,
    )
    return [text, *(f"{path}: {why}" for path, why in changed.failed)]


def _shelve(services: Services, path: Path) -> str:
    with services.shelf_lock:  # one indexing at a time: two would fight over the cores
        return services.shelf.add(path)


def _reload(services: Services) -> Reloaded:
    with services.shelf_lock:
        return services.shelf.reload()


def _refusal(say: Messages, name: str, exc: Exception) -> str:
    """Why the shelf refused an upload, in the admin's language, saying what to do."""
    kind = exc.kind if isinstance(exc, ShelfError) else "unreadable"
    if kind == "too_large":  # the declared size was missing or wrong, and the read caught it
        return say.upload_too_big.format(limit=f"{MAX_ARTICLE_BYTES:,}")
    why = {
        "empty": say.upload_empty,
        "utf16": say.upload_utf16,
        "gbk": say.upload_gbk,
        "not_utf8": say.upload_not_utf8,
        "binary": say.upload_binary,
        "title_too_long": say.upload_title_too_long.format(limit=MAX_TITLE_CHARS),
        "too_many_paragraphs": say.upload_too_many_paragraphs.format(limit=f"{MAX_PARAGRAPHS:,}"),
    }.get(kind, say.upload_unreadable)
    return say.upload_failed.format(name=name, why=why)


# A saved name's stem is cut to this: the file system allows 255 bytes, CJK takes 3 each.
_STEM_CHARS = 60


def _reserve(folder: Path, name: str) -> Path:
    """``name`` in ``folder``, made safe and made new, and created empty at once (``O_EXCL``),
    so no other upload, however close in time, can be given the same file."""
    stem = re.sub(r"[^0-9A-Za-z_\-\u3400-\u9fff]+", "-", Path(name).stem).strip("-")
    stem = stem[:_STEM_CHARS].strip("-") or "article"
    suffix = Path(name).suffix.lower()
    folder.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        candidate = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            n += 1
            continue
        return candidate


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except TelegramError as exc:
        log.info("could not update the progress message: %s", exc)
