"""Factories for Bot API update dicts, shaped like what Telegram actually sends.

Pasted JSON fixtures rot silently and hide which fields a test relies on; these builders give
every update the required fields (ids, dates, chats, ``from``), compute entities the way
Telegram does for incoming text (``bot_command``, ``mention``, ``url``, in UTF-16 offsets),
and let a test override only what it cares about. Ids come from counters, so updates built
in sequence have increasing ``update_id`` and distinct message, query and file ids.

Every builder returns a plain dict: push it into ``FakeBotApi.push_update`` or parse it with
``telegram.Update.de_json``.
"""

from __future__ import annotations

import copy
import itertools
import re
import time
from typing import Any, Literal

JSONDict = dict[str, Any]

BOT_ID = 123456
"""The bot's user id; matches the id in ``fake_bot_api.DEFAULT_TOKEN``."""
BOT_USERNAME = "test_article_bot"

_update_ids = itertools.count(100_000)
_message_ids = itertools.count(1)
_user_ids = itertools.count(1_000_001)
_group_ids = itertools.count(1)
_query_ids = itertools.count(4_000_000_000_000_000_001)
_file_numbers = itertools.count(1)
_chat_instances = itertools.count(7_000_000_000_000_000_001)

# TDLib's recognisers (MessageEntity.cpp), reduced to ASCII word characters.
_BOT_COMMAND = re.compile(
    r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])", re.ASCII
)
_MENTION = re.compile(r"(?<!\w)@[A-Za-z0-9_]{2,32}(?!\w)")
_URL = re.compile(r"(?<![\w@])https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'}]", re.IGNORECASE)


def _now() -> int:
    return int(time.time())


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def detect_entities(text: str) -> list[JSONDict]:
    """The entities Telegram attaches to incoming text: bot_command, mention and url.

    Offsets and lengths are UTF-16 code units, as the Bot API sends them.
    """
    found: list[tuple[int, int, str]] = []
    for kind, pattern in (("bot_command", _BOT_COMMAND), ("mention", _MENTION), ("url", _URL)):
        for match in pattern.finditer(text):
            if any(start <= match.start() < end for start, end, _ in found):
                continue  # e.g. the @bot in /start@bot is part of the command
            found.append((match.start(), match.end(), kind))
    found.sort()
    return [
        {"type": kind, "offset": _utf16(text[:start]), "length": _utf16(text[start:end])}
        for start, end, kind in found
    ]


# ---- users and chats -------------------------------------------------------------------------


def user(
    first_name: str = "Alice",
    *,
    user_id: int | None = None,
    username: str | None = None,
    last_name: str | None = None,
    language_code: str | None = "en",
    is_bot: bool = False,
    is_premium: bool | None = None,
) -> JSONDict:
    """A User; a fresh id each call unless ``user_id`` is given."""
    built: JSONDict = {
        "id": next(_user_ids) if user_id is None else user_id,
        "is_bot": is_bot,
        "first_name": first_name,
    }
    optional = {
        "last_name": last_name,
        "username": username,
        "language_code": language_code,
        "is_premium": is_premium,
    }
    built.update({k: v for k, v in optional.items() if v is not None})
    return built


def bot_user(*, user_id: int = BOT_ID, username: str = BOT_USERNAME) -> JSONDict:
    """The bot itself, as the ``from`` of messages it sent."""
    return {"id": user_id, "is_bot": True, "first_name": "Article Bot", "username": username}


DEFAULT_USER: JSONDict = user("Alice", user_id=1_000_000, username="alice")
"""The sender used when a test does not care who sends; stable so chats stay the same."""


def private_chat(of: JSONDict | None = None) -> JSONDict:
    """The private chat with a user (its id equals the user's id)."""
    owner = DEFAULT_USER if of is None else of
    chat: JSONDict = {"id": owner["id"], "type": "private", "first_name": owner["first_name"]}
    for key in ("last_name", "username"):
        if key in owner:
            chat[key] = owner[key]
    return chat


def group_chat(
    title: str = "Test group",
    *,
    chat_id: int | None = None,
    kind: Literal["group", "supergroup"] = "supergroup",
    username: str | None = None,
    is_forum: bool | None = None,
) -> JSONDict:
    """A group chat; supergroup ids have Telegram's ``-100`` prefix."""
    if chat_id is None:
        number = next(_group_ids)
        chat_id = -(1_001_000_000_000 + number) if kind == "supergroup" else -(400_000 + number)
    chat: JSONDict = {"id": chat_id, "type": kind, "title": title}
    if username is not None:
        chat["username"] = username
    if is_forum is not None:
        chat["is_forum"] = is_forum
    return chat


def channel_chat(title: str = "Test channel", *, chat_id: int | None = None) -> JSONDict:
    """A channel chat."""
    if chat_id is None:
        chat_id = -(1_002_000_000_000 + next(_group_ids))
    return {"id": chat_id, "type": "channel", "title": title}


# ---- messages --------------------------------------------------------------------------------


def _quoted(reply_to: JSONDict | None) -> JSONDict | None:
    """Accept a message or an update carrying one; Telegram nests replies only one level."""
    if reply_to is None:
        return None
    original = reply_to.get("message") or reply_to.get("channel_post") or reply_to
    quoted = copy.deepcopy(original)
    quoted.pop("reply_to_message", None)
    return quoted


def message(
    text: str | None = None,
    *,
    chat: JSONDict | None = None,
    from_user: JSONDict | None = None,
    reply_to: JSONDict | None = None,
    entities: list[JSONDict] | None = None,
    message_id: int | None = None,
    date: int | None = None,
    **fields: Any,
) -> JSONDict:
    """A Message dict (not an update). Extra keyword fields are copied in as they are.

    ``entities=None`` computes Telegram's automatic entities; pass ``[]`` for none.
    Without a chat, the message is in the private chat of ``from_user``.
    """
    sender = DEFAULT_USER if from_user is None else from_user
    built: JSONDict = {
        "message_id": next(_message_ids) if message_id is None else message_id,
        "from": copy.deepcopy(sender),
        "chat": private_chat(sender) if chat is None else copy.deepcopy(chat),
        "date": _now() if date is None else date,
    }
    quoted = _quoted(reply_to)
    if quoted is not None:
        built["reply_to_message"] = quoted
    if text is not None:
        built["text"] = text
        detected = detect_entities(text) if entities is None else entities
        if detected:
            built["entities"] = detected
    built.update(fields)
    return built


_build_message = message  # for builders whose ``message`` parameter shadows the function


def _update(kind: str, payload: JSONDict, update_id: int | None) -> JSONDict:
    return {"update_id": next(_update_ids) if update_id is None else update_id, kind: payload}


def message_update(
    text: str = "hello",
    *,
    chat: JSONDict | None = None,
    from_user: JSONDict | None = None,
    reply_to: JSONDict | None = None,
    entities: list[JSONDict] | None = None,
    update_id: int | None = None,
    **fields: Any,
) -> JSONDict:
    """An update with a text message; ``/commands`` and ``@mentions`` get their entities."""
    built = message(
        text, chat=chat, from_user=from_user, reply_to=reply_to, entities=entities, **fields
    )
    return _update("message", built, update_id)


def edited_message_update(
    text: str = "hello (edited)",
    *,
    original: JSONDict | None = None,
    update_id: int | None = None,
    **fields: Any,
) -> JSONDict:
    """An ``edited_message`` update; keeps the original's id, chat and sender if given."""
    if original is not None:
        edited = copy.deepcopy(original.get("message") or original)
        edited["text"] = text
        detected = detect_entities(text)
        if detected:
            edited["entities"] = detected
        else:
            edited.pop("entities", None)
        edited.update(fields)
    else:
        edited = message(text, **fields)
    edited["edit_date"] = max(_now(), int(edited["date"]) + 1)
    return _update("edited_message", edited, update_id)


def channel_post_update(
    text: str = "channel news",
    *,
    chat: JSONDict | None = None,
    update_id: int | None = None,
    **fields: Any,
) -> JSONDict:
    """A ``channel_post``: sent on behalf of the channel, so ``sender_chat`` and no ``from``."""
    channel = channel_chat() if chat is None else chat
    post = message(text, chat=channel, **fields)
    post.pop("from")
    post["sender_chat"] = channel
    return _update("channel_post", post, update_id)


def _file_ids(prefix: str) -> JSONDict:
    number = next(_file_numbers)
    return {"file_id": f"{prefix}-file-{number}", "file_unique_id": f"{prefix}U{number}"}


def _media_update(
    content: JSONDict,
    caption: str | None,
    *,
    chat: JSONDict | None,
    from_user: JSONDict | None,
    update_id: int | None,
    fields: JSONDict,
) -> JSONDict:
    extra = dict(content)
    if caption is not None:
        extra["caption"] = caption
        detected = detect_entities(caption)
        if detected:
            extra["caption_entities"] = detected
    built = message(None, chat=chat, from_user=from_user, **extra, **fields)
    return _update("message", built, update_id)


def sticker_update(
    emoji: str = "👍",
    *,
    set_name: str | None = "TestStickers",
    chat: JSONDict | None = None,
    from_user: JSONDict | None = None,
    update_id: int | None = None,
    **fields: Any,
) -> JSONDict:
    """A message with a regular static sticker."""
    sticker: JSONDict = {
        **_file_ids("sticker"),
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
        "file_size": 23_456,
    }
    if set_name is not None:
        sticker["set_name"] = set_name
    return _media_update(
        {"sticker": sticker},
        None,
        chat=chat,
        from_user=from_user,
        update_id=update_id,
        fields=fields,
    )


def photo_update(
    caption: str | None = None,
    *,
    chat: JSONDict | None = None,
    from_user: JSONDict | None = None,
    update_id: int | None = None,
    **fields: Any,
) -> JSONDict:
    """A photo message: Telegram sends several sizes of one picture, smallest first."""
    number = next(_file_numbers)
    sizes = [
        {
            "file_id": f"photo-file-{number}-{width}",
            "file_unique_id": f"photoU{number}x{width}",
            "width": width,
            "height": width * 3 // 4,
            "file_size": width * 60,
        }
        for width in (90, 320, 1280)
    ]
    return _media_update(
        {"photo": sizes},
        caption,
        chat=chat,
        from_user=from_user,
        update_id=update_id,
        fields=fields,
    )


def voice_update(
    duration: int = 3,
    *,
    caption: str | None = None,
    chat: JSONDict | None = None,
    from_user: JSONDict | None = None,
    update_id: int | None = None,
    **fields: Any,
) -> JSONDict:
    """A voice note (OGG/Opus, as Telegram clients record them)."""
    voice = {
        **_file_ids("voice"),
        "duration": duration,
        "mime_type": "audio/ogg",
        "file_size": duration * 4_000,
    }
    return _media_update(
        {"voice": voice},
        caption,
        chat=chat,
        from_user=from_user,
        update_id=update_id,
        fields=fields,
    )


def document_update(
    file_name: str = "notes.pdf",
    *,
    mime_type: str = "application/pdf",
    file_size: int = 48_213,
    caption: str | None = None,
    chat: JSONDict | None = None,
    from_user: JSONDict | None = None,
    update_id: int | None = None,
    **fields: Any,
) -> JSONDict:
    """A document (a file sent without compression)."""
    document = {
        **_file_ids("document"),
        "file_name": file_name,
        "mime_type": mime_type,
        "file_size": file_size,
    }
    return _media_update(
        {"document": document},
        caption,
        chat=chat,
        from_user=from_user,
        update_id=update_id,
        fields=fields,
    )


def location_update(
    latitude: float = 25.0330,
    longitude: float = 121.5654,
    *,
    chat: JSONDict | None = None,
    from_user: JSONDict | None = None,
    update_id: int | None = None,
    **fields: Any,
) -> JSONDict:
    """A static location message."""
    location = {"latitude": latitude, "longitude": longitude}
    return _media_update(
        {"location": location},
        None,
        chat=chat,
        from_user=from_user,
        update_id=update_id,
        fields=fields,
    )


# ---- queries ---------------------------------------------------------------------------------


def inline_keyboard(*rows: list[tuple[str, str]]) -> JSONDict:
    """An InlineKeyboardMarkup of callback buttons: ``inline_keyboard([("Yes", "y")])``."""
    return {
        "inline_keyboard": [
            [{"text": text, "callback_data": data} for text, data in row] for row in rows
        ]
    }


def callback_query_update(
    data: str = "button",
    *,
    message: JSONDict | None = None,
    from_user: JSONDict | None = None,
    chat_instance: str | None = None,
    query_id: str | None = None,
    update_id: int | None = None,
) -> JSONDict:
    """A button press. Without ``message``, the pressed button is on a fresh bot message.

    ``message`` may be a Message or a result the bot got back from sendMessage.
    """
    presser = DEFAULT_USER if from_user is None else from_user
    if message is None:
        message = _build_message(
            "Choose:",
            from_user=bot_user(),
            chat=private_chat(presser),
            entities=[],
            reply_markup=inline_keyboard([(data, data)]),
        )
    query: JSONDict = {
        "id": str(next(_query_ids)) if query_id is None else query_id,
        "from": presser,
        "message": copy.deepcopy(message),
        "chat_instance": str(next(_chat_instances)) if chat_instance is None else chat_instance,
        "data": data,
    }
    return _update("callback_query", query, update_id)


def inline_query_update(
    query: str = "",
    *,
    from_user: JSONDict | None = None,
    offset: str = "",
    chat_type: str | None = "sender",
    location: JSONDict | None = None,
    query_id: str | None = None,
    update_id: int | None = None,
) -> JSONDict:
    """An inline query (``@bot query`` typed in any chat)."""
    inline: JSONDict = {
        "id": str(next(_query_ids)) if query_id is None else query_id,
        "from": DEFAULT_USER if from_user is None else from_user,
        "query": query,
        "offset": offset,
    }
    if chat_type is not None:
        inline["chat_type"] = chat_type
    if location is not None:
        inline["location"] = location
    return _update("inline_query", inline, update_id)


__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "DEFAULT_USER",
    "bot_user",
    "callback_query_update",
    "channel_chat",
    "channel_post_update",
    "detect_entities",
    "document_update",
    "edited_message_update",
    "group_chat",
    "inline_keyboard",
    "inline_query_update",
    "location_update",
    "message",
    "message_update",
    "photo_update",
    "private_chat",
    "sticker_update",
    "user",
    "voice_update",
]
