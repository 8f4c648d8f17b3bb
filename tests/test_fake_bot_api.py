"""Proves FakeBotApi and the factories against the real python-telegram-bot.

The fake is only worth having if PTB cannot tell it from Telegram, so these tests drive a real
``Application`` (polling and webhook), a real ``Bot`` and raw HTTP against it, and check the
error mapping PTB applies to the fake's failures. pytest runs with ``-W error`` and without
pytest-asyncio, so each async scenario runs inside ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import html
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import (
    DEFAULT_TOKEN,
    FakeBotApi,
    parse_html,
    parse_request_params,
    utf16_len,
)
from tests.helpers.telegram import without_proxies

JSONDict = dict[str, Any]


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy may route 127.0.0.1 traffic off the machine."""
    without_proxies(monkeypatch)


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as fake:
        yield fake


# ---- helpers ---------------------------------------------------------------------------------


def build_app(api: FakeBotApi) -> Application:
    """The production wiring with only the server address swapped; handler errors are kept."""
    app = Application.builder().token(api.token).base_url(api.base_url).build()
    app.bot_data["errors"] = []

    async def keep_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        context.bot_data["errors"].append(context.error)

    app.add_error_handler(keep_error)
    return app


@contextlib.asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:
    """Run ``app`` with polling for the block, then shut it down the documented way."""
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
    assert app.bot_data["errors"] == []


@contextlib.asynccontextmanager
async def webhook_mode(app: Application, port: int, **webhook: Any) -> AsyncIterator[Application]:
    """Run ``app`` on PTB's own webhook server at ``127.0.0.1:port/hook`` for the block."""
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(listen="127.0.0.1", port=port, url_path="hook", **webhook)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def echo_html(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    await message.reply_html(f"<b>{html.escape(message.text)}</b>")


def raw_call(
    api: FakeBotApi,
    method: str,
    params: JSONDict | None = None,
    *,
    encoding: str = "json",
    token: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, JSONDict]:
    """One Bot API request without PTB, to pin down the wire format itself."""
    url = f"{api.base_url}{token or api.token}/{method}"
    params = params or {}
    # Form and query values are encoded like PTB does: strings raw, everything else as JSON.
    fields = urllib.parse.urlencode(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    )
    if encoding == "json":
        data, ctype = json.dumps(params).encode(), "application/json"
    elif encoding == "form":
        data, ctype = fields.encode(), "application/x-www-form-urlencoded"
    else:
        url, data, ctype = f"{url}?{fields}", None, ""
    request = urllib.request.Request(url, data=data, headers={"Content-Type": ctype})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- end to end through Application ------------------------------------------------------------


def test_polling_echo_reaches_the_fake_and_shuts_down_cleanly(api: FakeBotApi) -> None:
    pushed = api.push_update(f.message_update("1 < 2 & 😀"))
    chat_id = pushed["message"]["chat"]["id"]

    async def scenario() -> float:
        app = build_app(api)
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo_html))
        async with polling(app):
            await api.wait_for_async("sendMessage")
            stopping = time.monotonic()
        return time.monotonic() - stopping

    shutdown_seconds = asyncio.run(scenario())

    [params] = api.sent_messages(chat_id)
    assert params["chat_id"] == chat_id
    assert params["parse_mode"] == "HTML"
    assert params["text"] == "<b>1 &lt; 2 &amp; 😀</b>"
    reply = api.chat_history(chat_id)[-1]
    assert reply["from"]["id"] == int(DEFAULT_TOKEN.split(":")[0])
    assert reply["text"] == "1 < 2 & 😀"
    assert reply["entities"] == [{"type": "bold", "offset": 0, "length": 10}]  # 😀 is 2 units
    methods = [call.method for call in api.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"]
    assert api.pending_updates == []  # PTB's last getUpdates confirmed the offset
    assert shutdown_seconds < 2.0


def test_commands_callbacks_and_inline_queries_round_trip(api: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
        await update.effective_message.reply_text("Ask me.", reply_markup=keyboard)

    async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data == "more:1"
        await query.answer("ok")
        await query.edit_message_text("<i>Expanded</i>", parse_mode=ParseMode.HTML)

    async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.inline_query is not None
        content = InputTextMessageContent("<b>answer</b>", parse_mode=ParseMode.HTML)
        result = InlineQueryResultArticle("a1", "Answer", content)
        await update.inline_query.answer([result], cache_time=0)

    async def scenario() -> None:
        app = build_app(api)
        app.add_handler(CommandHandler("start", start))
        app.add_handler(CallbackQueryHandler(more))
        app.add_handler(InlineQueryHandler(inline))
        async with polling(app):
            api.push_update(f.message_update(f"/start@{api.bot_user['username']}"))
            await api.wait_for_async("sendMessage")
            menu = api.chat_history(f.DEFAULT_USER["id"])[-1]
            assert menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "more:1"
            api.push_update(f.callback_query_update("more:1", message=menu))
            await api.wait_for_async("editMessageText")
            api.push_update(f.inline_query_update("capital of France"))
            await api.wait_for_async("answerInlineQuery")

    asyncio.run(scenario())

    [answer] = api.calls_to("answerCallbackQuery")
    assert answer["text"] == "ok"
    edited = api.chat_history(f.DEFAULT_USER["id"])[-1]
    assert edited["text"] == "Expanded"
    assert edited["entities"] == [{"type": "italic", "offset": 0, "length": 8}]
    assert "reply_markup" not in edited  # an edit without markup removes the keyboard
    assert "edit_date" in edited
    [inline_answer] = api.calls_to("answerInlineQuery")
    assert inline_answer["results"][0]["id"] == "a1"


def test_polling_survives_broken_get_updates_answers(api: FakeBotApi) -> None:
    api.inject("getUpdates", error_code=None, malformed=True)
    api.inject("getUpdates", error_code=502, malformed=True)
    api.push_update(f.message_update("still there?"))

    async def scenario() -> None:
        app = build_app(api)
        app.add_handler(MessageHandler(filters.TEXT, echo_html))
        async with polling(app):
            await api.wait_for_async("sendMessage", timeout=15)

    asyncio.run(scenario())
    statuses = [e.status for e in api.exchanges if e.method == "getUpdates"]
    assert statuses[:3] == [200, 502, 200]
    assert api.pending_faults == []


def test_webhook_mode_with_post_webhook(api: FakeBotApi) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/hook"

    async def scenario() -> tuple[int, int]:
        app = build_app(api)
        app.add_handler(MessageHandler(filters.TEXT, echo_html))
        async with webhook_mode(app, port, webhook_url=hook, secret_token="s3cret"):
            wrong = await api.post_webhook_async(hook, f.message_update("x"), "nope")
            right = await api.post_webhook_async(hook, f.message_update("hi"), "s3cret")
            await api.wait_for_async("sendMessage")
        return wrong, right

    wrong, right = asyncio.run(scenario())
    assert (wrong, right) == (403, 200)
    assert api.webhook is not None and api.webhook["url"] == hook
    assert [p["text"] for p in api.sent_messages()] == ["<b>hi</b>"]
    status, body = raw_call(api, "getUpdates")
    assert status == 409 and "webhook is active" in body["description"]


def test_webhook_mode_with_automatic_delivery() -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/hook"

    async def scenario(api: FakeBotApi) -> None:
        app = build_app(api)
        app.add_handler(MessageHandler(filters.TEXT, echo_html))
        async with webhook_mode(app, port, webhook_url=hook):
            api.push_update(f.message_update("delivered"))
            await api.wait_for_async("sendMessage")
            # The reply goes out before the webhook's 200 (answer-before-200): the update
            # leaves the queue when that 200 reaches the fake, a moment later.
            for _ in range(500):
                if not api.pending_updates:
                    break
                await asyncio.sleep(0.02)

    with FakeBotApi(deliver_webhooks=True) as api:
        asyncio.run(scenario(api))
        assert api.pending_updates == []
        assert api.sent_messages()[0]["text"] == "<b>delivered</b>"


# ---- errors as PTB sees them ----------------------------------------------------------------


def test_flood_control_surfaces_as_retry_after(api: FakeBotApi) -> None:
    api.inject("sendMessage", error_code=429, retry_after=7)

    async def scenario() -> tuple[RetryAfter, int]:
        async with Bot(api.token, base_url=api.base_url) as bot:
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(42, "hi")
            second = await bot.send_message(42, "hi")
        return caught.value, second.message_id

    error, message_id = asyncio.run(scenario())
    assert error.retry_after == dtm.timedelta(seconds=7)
    assert message_id == 1  # the refused attempt used no message id
    refused = next(e for e in api.exchanges if e.method == "sendMessage")
    assert refused.status == 429
    assert refused.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    assert len(api.sent_messages()) == 1


def test_rate_limiter_retries_flood_control_transparently(api: FakeBotApi) -> None:
    """The bot's AIORateLimiter(max_retries=...) must absorb a 429 by waiting retry_after."""
    api.inject("sendMessage", error_code=429, retry_after=1)

    async def scenario() -> float:
        app = (
            Application.builder()
            .token(api.token)
            .base_url(api.base_url)
            .rate_limiter(AIORateLimiter(max_retries=2))
            .build()
        )
        async with app:
            started = time.monotonic()
            await app.bot.send_message(42, "<b>patience</b>", parse_mode=ParseMode.HTML)
            return time.monotonic() - started

    waited = asyncio.run(scenario())
    assert [e.status for e in api.exchanges if e.method == "sendMessage"] == [429, 200]
    assert 1.0 <= waited < 3.0


@pytest.mark.parametrize(
    ("text", "description"),
    [
        (
            "<b>unclosed",
            "can't parse entities: Can't find end tag corresponding to start tag \"b\"",
        ),
        ("<div>x</div>", 'can\'t parse entities: Unsupported start tag "div" at byte offset 0'),
        ("1 < 2", 'can\'t parse entities: Unsupported start tag "" at byte offset 2'),
        (
            "<b><i>x</b></i>",
            "can't parse entities: Unmatched end tag at byte offset 7, "
            'expected "</i>", found "</b>"',
        ),
        ("ok</b>", "can't parse entities: Unexpected end tag at byte offset 2"),
        (
            '<span class="x">s</span>',
            'can\'t parse entities: Tag "span" must have class "tg-spoiler" at byte offset 0',
        ),
        ("<b> </b>", "message text is empty"),
        ("x" * 4097, "message is too long"),
    ],
)
def test_invalid_html_is_a_bad_request(api: FakeBotApi, text: str, description: str) -> None:
    async def scenario() -> BadRequest:
        async with Bot(api.token, base_url=api.base_url) as bot:
            with pytest.raises(BadRequest) as caught:
                await bot.send_message(42, text, parse_mode=ParseMode.HTML)
        return caught.value

    error = asyncio.run(scenario())
    assert api.exchanges[-1].response["description"] == f"Bad Request: {description}"
    assert str(error) == description.capitalize()  # PTB strips the prefix, capitalizes
    assert api.sent_messages() == []


def test_length_is_checked_after_entity_parsing(api: FakeBotApi) -> None:
    async def scenario() -> str:
        async with Bot(api.token, base_url=api.base_url) as bot:
            message = await bot.send_message(
                42, "<b>" + "&amp;" * 4096 + "</b>", parse_mode=ParseMode.HTML
            )
        return message.text or ""

    assert asyncio.run(scenario()) == "&" * 4096


@pytest.mark.parametrize(
    ("inject", "expected", "fragment"),
    [
        ({"error_code": 500}, NetworkError, "Internal Server Error"),
        ({"error_code": 502, "malformed": True}, NetworkError, "Bad Gateway (502)"),
        ({"error_code": None, "drop": True}, NetworkError, "disconnected"),
        ({"error_code": None, "delay": 3.0}, TimedOut, "Timed out"),
        ({"error_code": 403}, Forbidden, "Forbidden: bot was blocked by the user"),
        ({"error_code": 409, "description": "Conflict: x"}, Conflict, "Conflict: x"),
        ({"error_code": 400, "description": "Bad Request: chat not found"}, BadRequest, "Chat"),
    ],
)
def test_injected_faults_map_to_ptb_errors(
    api: FakeBotApi, inject: JSONDict, expected: type[TelegramError], fragment: str
) -> None:
    api.inject("sendMessage", **inject)

    async def scenario() -> TelegramError:
        async with Bot(api.token, base_url=api.base_url) as bot:
            with pytest.raises(expected) as caught:
                await bot.send_message(42, "hi", read_timeout=0.3)
            await bot.send_message(42, "fine now")  # faults are consumed
        return caught.value

    started = time.monotonic()
    error = asyncio.run(scenario())
    assert fragment in str(error)
    assert time.monotonic() - started < 3.0
    assert [p["text"] for p in api.sent_messages()] == ["fine now"]


def test_faults_are_consumed_in_order_and_can_target_one_chat(api: FakeBotApi) -> None:
    async def scenario() -> list[str]:
        outcomes = []
        async with Bot(api.token, base_url=api.base_url) as bot:
            api.inject("sendMessage", error_code=500, times=2, when=lambda p: p["chat_id"] == 7)
            api.inject("*", error_code=403)  # any method, here the first call to chat 8
            for chat_id in (8, 7, 7, 7, 8):
                try:
                    await bot.send_message(chat_id, "x")
                    outcomes.append("ok")
                except TelegramError as error:
                    outcomes.append(type(error).__name__)
        return outcomes

    assert asyncio.run(scenario()) == ["Forbidden", "NetworkError", "NetworkError", "ok", "ok"]


def test_wrong_token_is_rejected_like_telegram(api: FakeBotApi) -> None:
    async def scenario() -> None:
        async with Bot("999:not-the-token", base_url=api.base_url):
            pass

    with pytest.raises(InvalidToken):
        asyncio.run(scenario())


# ---- server semantics over raw HTTP ----------------------------------------------------------


def test_get_updates_confirms_by_offset_and_long_polls(api: FakeBotApi) -> None:
    first, second = api.push_updates([f.message_update("a"), f.message_update("b")])
    assert second["update_id"] == first["update_id"] + 1

    status, body = raw_call(api, "getUpdates", {"limit": 1}, encoding="form")
    assert status == 200 and [u["update_id"] for u in body["result"]] == [first["update_id"]]
    _, body = raw_call(api, "getUpdates", {"offset": second["update_id"]})
    assert [u["update_id"] for u in body["result"]] == [second["update_id"]]
    _, body = raw_call(api, "getUpdates", {"offset": second["update_id"] + 1, "timeout": 0})
    assert body["result"] == []

    started = time.monotonic()
    _, body = raw_call(api, "getUpdates", {"offset": second["update_id"] + 1, "timeout": 0.3})
    assert body["result"] == [] and 0.25 < time.monotonic() - started < 2

    later = threading.Timer(0.2, api.push_update, [f.message_update("c")])
    later.start()
    started = time.monotonic()
    _, body = raw_call(api, "getUpdates", {"offset": second["update_id"] + 1, "timeout": 10})
    later.join()
    assert [u["message"]["text"] for u in body["result"]] == ["c"]
    assert time.monotonic() - started < 2  # answered on arrival, not at the timeout


def test_a_second_poller_terminates_the_first(api: FakeBotApi) -> None:
    results: list[tuple[int, JSONDict]] = []
    first = threading.Thread(
        target=lambda: results.append(raw_call(api, "getUpdates", {"timeout": 10}))
    )
    first.start()
    time.sleep(0.2)  # let the first poll reach the server
    raw_call(api, "getUpdates", {"timeout": 0})
    first.join(5)
    assert results[0][0] == 409
    assert "terminated by other getUpdates request" in results[0][1]["description"]


def test_a_burst_of_new_connections_is_accepted(api: FakeBotApi) -> None:
    """A pool reconnecting all at once must not meet resets Telegram would never send."""
    import httpx

    async def scenario() -> list[str]:
        url = f"{api.base_url}{api.token}/getMe"
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:

            async def one() -> str:
                try:
                    return str((await client.post(url)).status_code)
                except httpx.HTTPError as error:
                    return type(error).__name__

            return await asyncio.gather(*(one() for _ in range(200)))

    assert set(asyncio.run(scenario())) == {"200"}


def test_stop_releases_a_pending_long_poll_promptly() -> None:
    api = FakeBotApi().start()
    outcome: list[object] = []

    def poll() -> None:
        try:
            outcome.append(raw_call(api, "getUpdates", {"timeout": 30}))
        except OSError as error:  # the connection may be closed instead of answered
            outcome.append(error)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.2)
    started = time.monotonic()
    api.stop()
    poller.join(5)
    assert not poller.is_alive() and outcome
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("encoding", ["json", "form", "query"])
def test_json_form_and_query_encodings_decode_alike(api: FakeBotApi, encoding: str) -> None:
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "123"}]]}
    params = {"chat_id": 5, "text": "123", "reply_markup": markup}
    status, body = raw_call(api, "sendMessage", params, encoding=encoding)
    assert status == 200
    assert api.calls[-1].params == params  # "123" stays a string: text is a string field
    assert body["result"]["reply_markup"] == markup
    assert body["result"]["chat"] == {"id": 5, "type": "private", "first_name": "User 5"}


def test_multipart_bodies_decode_fields_and_files() -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n42\r\n'
        b'--b\r\nContent-Disposition: form-data; name="caption"\r\n\r\n<i>doc</i>\r\n'
        b'--b\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.4 fake\r\n--b--\r\n"
    )
    params = parse_request_params("multipart/form-data; boundary=b", body)
    assert params["chat_id"] == 42 and params["caption"] == "<i>doc</i>"
    assert params["document"]["filename"] == "a.pdf"
    assert params["document"]["content"] == b"%PDF-1.4 fake"


@pytest.mark.parametrize(
    "method", ["sendDocument", "deleteMessage", "getMyCommands", "setChatMenuButton", "getChat"]
)
def test_methods_the_bot_never_calls_answer_404_as_telegram_does(
    api: FakeBotApi, method: str
) -> None:
    status, body = raw_call(api, method, {"chat_id": 1})
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert api.calls[-1] == (method, {"chat_id": 1})  # recorded like any other call


def test_messages_ids_and_edits_follow_telegram_rules(api: FakeBotApi) -> None:
    incoming = api.push_update(f.message_update("question", message_id=41))["message"]
    chat = incoming["chat"]["id"]

    def call(method: str, **params: Any) -> tuple[int, JSONDict]:
        return raw_call(api, method, params)

    _, first = call("sendMessage", chat_id=chat, text="a")
    _, other = call("sendMessage", chat_id=chat + 1, text="b")
    assert first["result"]["message_id"] == 42  # continues after the user's message
    assert other["result"]["message_id"] == 1  # ids are per chat
    mid = first["result"]["message_id"]
    status, body = call("editMessageText", chat_id=chat, message_id=mid, text="a")
    assert status == 400 and body["description"].startswith("Bad Request: message is not modified")
    status, body = call("editMessageText", chat_id=chat, message_id=41, text="hijack")
    assert body["description"] == "Bad Request: message can't be edited"
    _, reply = call("sendMessage", chat_id=chat, text="re", reply_parameters={"message_id": 41})
    assert reply["result"]["reply_to_message"]["text"] == "question"
    status, body = call("editMessageText", chat_id=chat, message_id=999, text="gone")
    assert body["description"] == "Bad Request: message to edit not found"
    status, body = call(
        "sendMessage",
        chat_id=chat,
        text="x",
        reply_markup={"inline_keyboard": [[{"text": "t", "callback_data": "x" * 65}]]},
    )
    assert body["description"] == "Bad Request: BUTTON_DATA_INVALID"
    assert call("sendChatAction", chat_id=chat, action="typing")[0] == 200
    assert call("sendChatAction", chat_id=chat, action="dancing")[0] == 400


def test_callback_queries_can_be_answered_once(api: FakeBotApi) -> None:
    query_id = api.push_update(f.callback_query_update("x"))["callback_query"]["id"]
    assert raw_call(api, "answerCallbackQuery", {"callback_query_id": query_id})[0] == 200
    status, body = raw_call(api, "answerCallbackQuery", {"callback_query_id": query_id})
    assert status == 400 and "query is too old" in body["description"]


def test_bookkeeping_methods(api: FakeBotApi) -> None:
    commands = [{"command": "start", "description": "Start"}]
    assert raw_call(api, "setMyCommands", {"commands": commands})[0] == 200
    bad = [{"command": "Start", "description": "x"}]
    assert raw_call(api, "setMyCommands", {"commands": bad})[1]["description"] == (
        "Bad Request: BOT_COMMAND_INVALID"
    )
    assert raw_call(api, "getWebhookInfo")[1]["result"]["url"] == ""
    assert raw_call(api, "getMe", encoding="query")[1]["result"]["is_bot"] is True


def test_wait_for_reports_what_happened_instead(api: FakeBotApi) -> None:
    raw_call(api, "getMe")
    with pytest.raises(TimeoutError, match=r"calls were \['getMe'\]"):
        api.wait_for("sendMessage", timeout=0.1)
    raw_call(api, "sendMessage", {"chat_id": 1, "text": "x"})
    [call] = api.wait_for(lambda c: c.params.get("text") == "x")
    assert call.method == "sendMessage"
    with pytest.raises(TimeoutError):
        api.wait_for("getMe", since=1, timeout=0.1)


# ---- parsing and factories -------------------------------------------------------------------


def test_parse_html_matches_telegram_entities() -> None:
    text, entities = parse_html(
        '<a href="https://t.me">t</a> <pre><code class="language-python">x</code></pre>'
        " &lt;&#128512;&gt; <blockquote expandable>q</blockquote> &nbsp;"
    )
    assert text == "t x <😀> q &nbsp;"
    assert entities == [
        {"type": "text_link", "offset": 0, "length": 1, "url": "https://t.me"},
        {"type": "pre", "offset": 2, "length": 1, "language": "python"},
        {"type": "expandable_blockquote", "offset": 9, "length": 1},
    ]
    assert utf16_len("<😀>") == 4


UPDATE_BUILDERS: list[tuple[str, Callable[[], JSONDict]]] = [
    ("message", lambda: f.message_update("/ask@bot what is @alice_w doing?")),
    ("group message", lambda: f.message_update("hi", chat=f.group_chat(), reply_to=f.message())),
    ("basic group", lambda: f.message_update("hi", chat=f.group_chat(kind="group"))),
    ("edited", lambda: f.edited_message_update("new", original=f.message_update("old"))),
    ("channel post", lambda: f.channel_post_update("news")),
    ("callback", lambda: f.callback_query_update("data")),
    ("inline", lambda: f.inline_query_update("query", offset="10")),
    ("sticker", f.sticker_update),
    ("photo", lambda: f.photo_update("look /here")),
    ("voice", lambda: f.voice_update(5)),
    ("document", lambda: f.document_update("paper.pdf")),
    ("location", f.location_update),
]


def assert_contained(built: Any, dumped: Any, path: str = "update") -> None:
    """``built`` is a recursive subset of ``dumped``."""
    if isinstance(built, dict):
        assert isinstance(dumped, dict), path
        for key, value in built.items():
            assert key in dumped, f"{path}.{key} was dropped"
            assert_contained(value, dumped[key], f"{path}.{key}")
    elif isinstance(built, list):
        assert isinstance(dumped, list) and len(dumped) == len(built), path
        for index, (value, other) in enumerate(zip(built, dumped, strict=True)):
            assert_contained(value, other, f"{path}[{index}]")
    else:
        assert built == dumped, f"{path}: {built!r} != {dumped!r}"


@pytest.mark.parametrize(("name", "build"), UPDATE_BUILDERS, ids=[n for n, _ in UPDATE_BUILDERS])
def test_factories_are_accepted_by_ptb(name: str, build: Callable[[], JSONDict]) -> None:
    data = build()
    update = Update.de_json(data, None)
    assert update.update_id == data["update_id"]
    # Every field we built survives PTB's round trip (PTB only adds its defaults), and no
    # object had fields PTB did not know (those would land in ``api_kwargs``).
    assert_contained(data, update.to_dict())
    for obj in (update, update.effective_message, update.callback_query, update.inline_query):
        assert obj is None or obj.api_kwargs == {}
    if name == "callback":
        assert update.callback_query is not None and update.callback_query.data == "data"
        assert update.callback_query.message is not None
    elif name == "inline":
        assert update.inline_query is not None and update.inline_query.query == "query"
    else:
        assert update.effective_message is not None and update.effective_chat is not None


def test_factory_entities_and_ids() -> None:
    built = f.message_update("😀 /start@my_bot hi @someone https://example.org/x.")["message"]
    assert built["entities"] == [
        {"type": "bot_command", "offset": 3, "length": 13},
        {"type": "mention", "offset": 20, "length": 8},
        {"type": "url", "offset": 29, "length": 21},
    ]
    first, second = f.message_update("a"), f.message_update("b")
    assert second["update_id"] > first["update_id"]
    assert second["message"]["message_id"] > first["message"]["message_id"]
    assert "entities" not in f.message_update("/x", entities=[])["message"]
    assert f.group_chat()["id"] < -1_000_000_000_000
