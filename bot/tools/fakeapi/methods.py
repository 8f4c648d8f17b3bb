"""The Bot API methods the bot calls, each as Telegram answers it; the rest answer 404.

Registered by name (case-insensitive, as Telegram matches them) in :data:`METHODS`; each
takes the bot's state and the call's params, returns the ``result`` or raises ``ApiError``.
The dispatcher runs them with the server's lock held.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from bot.tools.fakeapi.records import JSONDict, bad_request
from bot.tools.fakeapi.state import BotState, formatted, inline_markup

Method = Callable[[BotState, JSONDict], Any]
METHODS: dict[str, tuple[str, Method]] = {}

MAX_INLINE_RESULTS = 50
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


def method(name: str) -> Callable[[Method], Method]:
    """Register an implementation under its Bot API name."""

    def register(func: Method) -> Method:
        METHODS[name.lower()] = (name, func)
        return func

    return register


@method("getMe")
def get_me(state: BotState, params: JSONDict) -> Any:
    return {
        **state.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": True,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("getUpdates")
def get_updates(state: BotState, params: JSONDict) -> Any:
    offset = int(params.get("offset") or 0)
    limit = min(max(int(params.get("limit") or 100), 1), 100)
    timeout = max(0.0, float(params.get("timeout") or 0))
    return state.updates.poll(offset, limit, timeout, params.get("allowed_updates"))


@method("setWebhook")
def set_webhook(state: BotState, params: JSONDict) -> Any:
    return state.updates.set_webhook(params)


@method("deleteWebhook")
def delete_webhook(state: BotState, params: JSONDict) -> Any:
    return state.updates.delete_webhook(params)


@method("getWebhookInfo")
def get_webhook_info(state: BotState, params: JSONDict) -> Any:
    return state.updates.webhook_info()


@method("setMyCommands")
def set_my_commands(state: BotState, params: JSONDict) -> Any:
    commands = params.get("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands")
    for command in commands:
        name = str(command.get("command", "")) if isinstance(command, dict) else ""
        if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description") or "")) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
    state.commands[scope, str(params.get("language_code") or "")] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    return True


@method("sendMessage")
def send_message(state: BotState, params: JSONDict) -> Any:
    chat = state.messages.chat(params)
    text, entities = formatted(params.get("text"), params.get("parse_mode"), params.get("entities"))
    return state.messages.new(chat, params, text=text, entities=entities)


@method("editMessageText")
def edit_message_text(state: BotState, params: JSONDict) -> Any:
    text, entities = formatted(params.get("text"), params.get("parse_mode"), params.get("entities"))
    markup = inline_markup(params.get("reply_markup"))
    if params.get("inline_message_id"):
        return True
    return state.messages.edit(params, {"text": text, "entities": entities, "reply_markup": markup})


@method("answerCallbackQuery")
def answer_callback_query(state: BotState, params: JSONDict) -> Any:
    query_id = str(params.get("callback_query_id") or "")
    if not query_id or query_id in state.answered_queries:
        raise bad_request(_QUERY_TOO_OLD)
    state.answered_queries.add(query_id)
    return True


@method("answerInlineQuery")
def answer_inline_query(state: BotState, params: JSONDict) -> Any:
    query_id = str(params.get("inline_query_id") or "")
    if not query_id or query_id in state.answered_queries:
        raise bad_request(_QUERY_TOO_OLD)
    results = params.get("results")
    if not isinstance(results, list):
        raise bad_request("can't parse inline query results JSON object")
    if len(results) > MAX_INLINE_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in results:
        result_id = str(result.get("id", "")) if isinstance(result, dict) else ""
        if not 1 <= len(result_id.encode()) <= 64:
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        content = result.get("input_message_content")
        if isinstance(content, dict) and "message_text" in content:
            formatted(content["message_text"], content.get("parse_mode"), content.get("entities"))
        inline_markup(result.get("reply_markup"))
    state.answered_queries.add(query_id)
    return True


@method("sendChatAction")
def send_chat_action(state: BotState, params: JSONDict) -> Any:
    state.messages.chat(params)
    if params.get("action") not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


@method("getFile")
def get_file(state: BotState, params: JSONDict) -> Any:
    file_id = str(params.get("file_id", ""))
    if file_id not in state.uploads:
        raise bad_request("invalid file_id")
    return {
        "file_id": file_id,
        "file_unique_id": f"u-{file_id}",
        "file_size": len(state.uploads[file_id]),
        "file_path": f"documents/{file_id}",
    }
