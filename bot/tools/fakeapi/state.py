"""The Bot API's state as one bot sees it: chats and their messages, the update queue and
the webhook, commands, answered queries, uploaded files.

Every method here runs with the server's lock held (the dispatcher takes it around each
Bot API method), so none of them locks again; only the webhook delivery loop, which runs on
a thread of its own, takes it itself.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from bot.tools.fakeapi.html import EntityParseError, parse_html, trim
from bot.tools.fakeapi.records import ApiError, JSONDict, Ok, bad_request, normalize_chat_id
from bot.tools.fakeapi.wire import LOOPBACK_HOSTS, post_json

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_WEBHOOK_CONNECTIONS = 40  # setWebhook's default max_connections; a larger one is capped here
# How long a delivery waits for the bot's answer before it is tried again: a replica answers
# after handling the update, which under 40 concurrent deliveries on a loaded machine can
# take longer than 5 s (with 5 s, an update still being handled was delivered again).
WEBHOOK_TIMEOUT = 60.0

# Update types Telegram delivers when a bot never passed ``allowed_updates``.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


def _copy(value: JSONDict) -> JSONDict:
    return json.loads(json.dumps(value))


class Messages:
    """Chats and their messages, with Telegram's ids, formatting and length rules."""

    def __init__(self, bot_user: JSONDict) -> None:
        self.bot_user = bot_user
        self._chats: dict[int | str, JSONDict] = {}
        self._messages: dict[tuple[int | str, int], JSONDict] = {}
        self._next_id: dict[int | str, int] = {}

    def history(self, chat_id: int | str) -> list[JSONDict]:
        key = normalize_chat_id(chat_id)
        found = [m for (c, _), m in self._messages.items() if c == key]
        return sorted((_copy(m) for m in found), key=lambda m: m["message_id"])

    def get(self, chat_id: int | str, message_id: int) -> JSONDict | None:
        found = self._messages.get((normalize_chat_id(chat_id), int(message_id)))
        return _copy(found) if found else None

    def store(self, message: JSONDict) -> None:
        """A message that reached the bot (pushed in an update): replies and edits find it."""
        chat = message["chat"]
        chat_id = normalize_chat_id(chat["id"])
        self._chats.setdefault(chat_id, chat)
        if chat.get("username"):
            self._chats.setdefault(f"@{chat['username']}", chat)
        message_id = int(message["message_id"])
        self._next_id[chat_id] = max(self._next_id.get(chat_id, 1), message_id + 1)
        self._messages[(chat_id, message_id)] = _copy(message)

    def chat(self, params: JSONDict) -> JSONDict:
        """The chat a call names, made up the way Telegram would show it if never seen."""
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        chat_id = normalize_chat_id(raw)
        if chat_id in self._chats:
            return self._chats[chat_id]
        if isinstance(chat_id, str):
            if not chat_id.startswith("@"):
                raise bad_request("chat not found")
            chat: JSONDict = {
                "id": -1001000000000 - len(self._chats),
                "type": "channel",
                "title": chat_id[1:],
                "username": chat_id[1:],
            }
            self._chats[chat["id"]] = chat
        elif chat_id > 0:
            chat = {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        elif str(chat_id).startswith("-100"):
            chat = {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
        else:
            chat = {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}
        self._chats[chat_id] = chat
        return chat

    def new(self, chat: JSONDict, params: JSONDict, **content: Any) -> JSONDict:
        """Store and return a message from the bot; validation comes first so a refused
        send, like on Telegram, does not use up a message id."""
        reply_to = self._reply_to(chat, params)
        markup = inline_markup(params.get("reply_markup"))
        chat_id = normalize_chat_id(chat["id"])
        message_id = self._next_id.get(chat_id, 1)
        self._next_id[chat_id] = message_id + 1
        message: JSONDict = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": chat,
            "date": int(time.time()),
        }
        if chat.get("type") == "channel":
            message.pop("from")
            message["sender_chat"] = chat
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update({k: v for k, v in content.items() if v not in (None, [])})
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat_id, message_id)] = message
        return _copy(message)

    def edit(self, params: JSONDict, new: JSONDict) -> JSONDict:
        """Apply an edit to one of the bot's messages, refused as Telegram refuses it."""
        chat = self.chat(params)
        message = self._messages.get(
            (normalize_chat_id(chat["id"]), int(params.get("message_id") or 0))
        )
        if message is None:
            raise bad_request("message to edit not found")
        sender = message.get("from") or {}
        if sender.get("id") != self.bot_user["id"] and message["chat"].get("type") != "channel":
            raise bad_request("message can't be edited")
        if "text" in new and "text" not in message:
            raise bad_request("there is no text in the message to edit")

        def normal(value: Any) -> Any:
            return value if value not in (None, []) else None

        if all(normal(message.get(k)) == normal(v) for k, v in new.items()):
            raise bad_request(_NOT_MODIFIED)
        for key, value in new.items():
            if normal(value) is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())
        return _copy(message)

    def _reply_to(self, chat: JSONDict, params: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply"))
            chat_key = normalize_chat_id(reply.get("chat_id", chat["id"]))
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
            allow_missing = bool(params.get("allow_sending_without_reply"))
            chat_key = normalize_chat_id(chat["id"])
        else:
            return None
        target = self._messages.get((chat_key, int(message_id or 0)))
        if target is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        nested = _copy(target)
        nested.pop("reply_to_message", None)
        return nested


def formatted(text: Any, parse_mode: Any, entities: Any) -> tuple[str, list[JSONDict]]:
    """A message text after parse_mode, trimming and the length limit, as Telegram checks."""
    text = "" if text is None else str(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("strings must be encoded in UTF-8") from None
    mode = str(parse_mode or "").lower()
    parsed: list[JSONDict] = []
    if mode == "html":
        try:
            text, parsed = parse_html(text)
        except EntityParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
    elif mode not in ("", "markdown", "markdownv2"):
        raise bad_request("unsupported parse_mode")
    elif isinstance(entities, list):
        parsed = [dict(e) for e in entities if isinstance(e, dict)]
    text, parsed = trim(text, parsed)
    if not text:
        raise bad_request("message text is empty")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise bad_request("message is too long")
    return text, parsed


def inline_markup(value: Any) -> JSONDict | None:
    """Validate a reply_markup; returns it only if Telegram would echo it (inline ones)."""
    if not isinstance(value, dict):
        return None
    rows = value.get("inline_keyboard")
    if rows is None:
        return None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("BUTTON_TEXT_INVALID")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
            if not button.keys() - {"text"}:
                raise bad_request("text buttons are unallowed in the inline keyboard")
    return value


class Updates:
    """The updates waiting for the bot, by getUpdates or by webhook, confirmed by offset."""

    def __init__(self, cond: threading.Condition) -> None:
        self._cond = cond
        self.queue: list[JSONDict] = []
        self.last_id = 0
        self.allowed: frozenset[str] | None = None
        self.webhook: JSONDict | None = None
        self._retry_at: dict[object, float] = {}  # chat -> when its update is tried again
        self._delivering: set[object] = set()  # chats with an update being POSTed
        self.stopping = False  # the server is stopping: long polls answer at once
        self._poll_generation = 0

    def push(self, update: JSONDict) -> JSONDict:
        queued = _copy(update)
        given = queued.get("update_id")
        if not isinstance(given, int) or given <= self.last_id:
            queued["update_id"] = self.last_id + 1
        self.last_id = queued["update_id"]
        self.queue.append(queued)
        self._cond.notify_all()
        return queued

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def poll(self, offset: int, limit: int, timeout: float, allowed: Any) -> list[JSONDict]:
        """Long poll: answers as soon as an update is queued, at ``timeout``, or on stop."""
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self.allow(allowed)
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()  # a newer poll supersedes an older one, as on Telegram
        deadline = time.monotonic() + timeout
        while True:
            self._confirm(offset)
            ready = [u for u in self.queue if self._is_allowed(u)]
            if len(ready) != len(self.queue):  # Telegram never stores unwanted types
                self.queue = ready
            if ready or self.stopping:
                return ready[:limit]
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._cond.wait(remaining)

    def allow(self, allowed: Any) -> None:
        if isinstance(allowed, list):
            self.allowed = frozenset(allowed) if allowed else None

    def set_webhook(self, params: JSONDict) -> Ok:
        url = str(params.get("url") or "")
        if not url:
            return self.delete_webhook(params)
        host = urllib.parse.urlsplit(url).hostname
        if not url.startswith("https://") and host not in LOOPBACK_HOSTS:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self.queue.clear()
        self.allow(params.get("allowed_updates"))
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": int(params.get("max_connections") or 40),
            "ip_address": params.get("ip_address") or "127.0.0.1",
        }
        self._retry_at.clear()
        self._cond.notify_all()
        return Ok(True, "Webhook was set")

    def delete_webhook(self, params: JSONDict) -> Ok:
        if params.get("drop_pending_updates"):
            self.queue.clear()
        existed = self.webhook is not None
        self.webhook = None
        return Ok(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    def webhook_info(self) -> JSONDict:
        info: JSONDict = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.queue),
        }
        if self.webhook:
            info.update(
                {k: v for k, v in self.webhook.items() if k != "secret_token" and v is not None}
            )
        if self.allowed is not None:
            info["allowed_updates"] = sorted(self.allowed)
        return info

    def deliver_webhooks(self) -> None:
        """Telegram's side of webhook mode: POST queued updates until the bot answers 2xx.

        As Telegram does: one update per chat at a time, in order (a chat's next update waits
        until the one before got its 2xx; a failed one is retried after 0.2 s), chats in
        parallel up to the webhook's ``max_connections``. Runs until the server stops.
        """
        workers = [
            threading.Thread(target=self._delivery_worker, name=f"webhook-{n}", daemon=True)
            for n in range(MAX_WEBHOOK_CONNECTIONS)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _delivery_worker(self) -> None:
        while True:
            with self._cond:
                update = self._next_delivery()
                while update is None and not self.stopping:
                    self._cond.wait(0.2)
                    update = self._next_delivery()
                if update is None or self.webhook is None:
                    return
                chat = _chat_key(update)
                self._delivering.add(chat)
                url = self.webhook["url"]
                secret = self.webhook.get("secret_token")
            try:
                status, reason = post_json(url, update, secret, WEBHOOK_TIMEOUT)
            finally:
                with self._cond:
                    self._delivering.discard(chat)
                    self._cond.notify_all()
            with self._cond:
                if 200 <= status < 300:
                    self.queue = [u for u in self.queue if u is not update]
                    self._retry_at.pop(chat, None)
                elif self.webhook is not None:
                    self.webhook["last_error_date"] = int(time.time())
                    self.webhook["last_error_message"] = reason
                    self._retry_at[chat] = time.monotonic() + 0.2
                self._cond.notify_all()

    def _next_delivery(self) -> JSONDict | None:
        """The oldest update of a chat with nothing in delivery and no retry pending."""
        if self.stopping or self.webhook is None:
            return None
        if len(self._delivering) >= int(self.webhook.get("max_connections") or 40):
            return None
        now, seen = time.monotonic(), set()
        for update in self.queue:
            chat = _chat_key(update)
            if chat in seen:
                continue
            seen.add(chat)
            if chat not in self._delivering and self._retry_at.get(chat, 0.0) <= now:
                return update
        return None

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self.queue = [u for u in self.queue if u["update_id"] >= offset]
        elif offset < 0:
            self.queue = self.queue[offset:]

    def _is_allowed(self, update: JSONDict) -> bool:
        kinds = update.keys() - {"update_id"}
        if self.allowed is None:
            return not kinds & _DEFAULT_EXCLUDED_UPDATES
        return bool(kinds & self.allowed)


@dataclass
class BotState:
    """Everything the Bot API methods read and change, for one bot."""

    bot_user: JSONDict
    cond: threading.Condition
    messages: Messages = field(init=False)
    updates: Updates = field(init=False)
    commands: dict[tuple[str, str], list[JSONDict]] = field(default_factory=dict)
    answered_queries: set[str] = field(default_factory=set)
    uploads: dict[str, bytes] = field(default_factory=dict)  # file_id -> its bytes

    def __post_init__(self) -> None:
        self.messages = Messages(self.bot_user)
        self.updates = Updates(self.cond)

    def receive(self, update: JSONDict) -> JSONDict:
        """Queue an update; the messages in it are stored, so replies and edits find them."""
        queued = self.updates.push(update)
        for key, value in queued.items():
            if not isinstance(value, dict):
                continue
            message = value.get("message") if key == "callback_query" else value
            if isinstance(message, dict) and {"message_id", "chat", "date"} <= message.keys():
                self.messages.store(message)
        return queued


def _chat_key(update: JSONDict) -> object:
    """The chat an update belongs to (Telegram delivers a chat's updates one at a time)."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return chat["id"]
        sender = value.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return sender["id"]
    return None
