"""``python -m bot soak``: many questions through the Telegram adapter under network faults.

The real Application (built by ``TelegramAdapter.build``, polled the way ``run_polling``
polls) talks over HTTP to the loopback fake Bot API server of the tests, which runs in a
child process so that its bookkeeping neither shares the GIL with the bot nor counts in
the bot's memory. ``chats`` simulated private chats each ask their next question once the
Application has finished with the previous one (a handler in a late group marks it), so
every message the bot sends can be attributed to exactly one question: the server tags
each call with the question its chat is on when the call *arrives*, which also holds for a
reply that Telegram carries out after the bot stopped waiting for it.

Faults are injected on ``fault_rate`` of all Bot API calls, a seeded random mix of:

- ``429``: flood control with ``retry_after`` 1 s;
- ``500``: an internal server error (JSON); ``502``: nginx's HTML "Bad Gateway" page;
- ``timeout``: the server answers only after the client's read timeout; the request is
  carried out (a message is sent late), as when Telegram is slow. On ``getUpdates`` the
  connection is then closed instead (an abandoned long poll must not come back to life);
- ``drop``: the connection is closed without an answer, the request not carried out;
- ``slow``: the answer comes 0.5-2 s late, within the client's timeout;
- ``malformed``: truncated JSON with status 200 (``getUpdates`` only);
- ``reset`` (only when asked for, ``faults=(..., "reset")``): the request is carried out,
  then the connection is closed before the answer. The bot cannot tell this from ``drop``
  (both are "server disconnected without a response"): a bot that resends after ``drop``
  duplicates after ``reset``, one that does not loses the reply after ``drop``. The default
  mix models a dropped connection as ``drop`` and a carried-out request whose answer never
  came as ``timeout``, which a bot can tell apart.

The seed fixes the fault decisions in the order the server takes them; which call gets
which depends on thread timing, so two runs agree in their mix, not call for call.

Two things differ from production, both for the measurement: the per-user question limit
is lifted (each simulated user asks far more than 20 a minute), and the outgoing flood
limiter's throttle (30 messages/s) is off unless ``flood_limit=True`` - it would make a
10,000-question run take over 11 minutes of waiting - while the limiter itself stays the
adapter's, so everything it does after a failure (waiting out 429s, retries, backoff) is
what is measured. Faults start after a warm-up in which every distinct gold question is
asked once (not counted): start-up calls are not faulted, and the starting RSS is taken
once the query cache and the allocator have reached their size.

Outcomes per question: *answered* (a message other than the adapter's apology reached
its chat), *lost* (none did; split into "apology only" and "no reply at all"),
*duplicated* (a message of its answer arrived twice). *Unhandled* errors are exceptions
that escaped a handler into the Application's error handlers, or an asyncio task or a
thread; getUpdates failures, which PTB's polling loop retries, are counted apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import os
import random
import re
import select
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bot.messages import EN
from bot.tools.crash import run_crash
from bot.tools.evaluate import GOLD
from bot.tools.fakeapi import factories
from bot.tools.fakeapi.server import Exchange, FakeBotApi, Fault
from bot.tools.measure import gold_questions, peak_rss_mb, percentiles_ms, rss_mb

if TYPE_CHECKING:
    from bot.config import Settings


FAULT_KINDS = ("429", "500", "502", "timeout", "drop", "slow", "malformed")
OPTIONAL_FAULTS = ("reset",)  # not in the default mix: see the module's docstring
UPDATE_ONLY_FAULTS = frozenset({"malformed"})  # the "malformed JSON on getUpdates"
APOLOGY = EN.apology  # the adapter's on_error message to the user
DONE_GROUP = 10_000  # after every handler group of the adapter
MESSAGE_ID_STRIDE = 1_000  # message ids of questions leave room for the bot's replies
TARGET = {"lost": 0, "duplicated": 0, "unhandled": 0, "rss_growth_pct": 5.0}

Progress = Callable[[str], None]
JSONDict = dict[str, Any]
log = logging.getLogger(__name__)


class SoakError(Exception):
    """The soak cannot run (no fake server, no gold set) or its harness broke."""


def _stderr(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


# ---- measurements ----------------------------------------------------------------------------


class LogCapture(logging.Handler):
    """Counts WARNING and ERROR records by logger and message shape while the soak runs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: Counter[str] = Counter()
        self.warnings: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            first = record.getMessage().splitlines()[0] if record.getMessage() else ""
        except Exception:  # a broken format string must not break the count
            first = str(record.msg)
        shape = re.sub(r"\d+(\.\d+)?", "N", first)[:120]
        if record.exc_info and record.exc_info[0] is not None:
            shape += f" [{record.exc_info[0].__name__}]"
        key = f"{record.name}: {shape}"
        (self.errors if record.levelno >= logging.ERROR else self.warnings)[key] += 1


@contextlib.contextmanager
def _captured_logs(log_file: Path | None) -> Iterator[LogCapture]:
    """Count WARNING+ records instead of printing them (hundreds of tracebacks under
    faults); with ``log_file``, also write them there in full."""
    capture = LogCapture()
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    handlers: list[logging.Handler] = [capture]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        writer = logging.FileHandler(log_file, encoding="utf-8")
        writer.setLevel(logging.WARNING)
        writer.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handlers.append(writer)
    root.handlers[:] = handlers
    root.setLevel(logging.WARNING)
    try:
        yield capture
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for handler in handlers[1:]:
            handler.close()


@dataclass
class Crashes:
    """Exceptions nobody handled: in asyncio tasks or threads, and those reaching on_error."""

    handler: Counter[str] = field(default_factory=Counter)  # escaped a handler (update known)
    polling: Counter[str] = field(default_factory=Counter)  # getUpdates failures (update None)
    loop: Counter[str] = field(default_factory=Counter)
    threads: Counter[str] = field(default_factory=Counter)

    @property
    def unhandled(self) -> int:
        return sum(self.handler.values()) + sum(self.loop.values()) + sum(self.threads.values())


def _name(error: BaseException | None) -> str:
    if error is None:
        return "None"
    text = str(error).splitlines()[0][:80] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# ---- the fake Bot API server in a child process ------------------------------------------------


class SoakPolicy:
    """The fake Bot API's fault policy for the soak: random faults, every call tagged.

    Plugged in through the fake's public hook (:class:`~bot.tools.fakeapi.server.
    FaultPolicy`): ``choose`` picks a fault for a share of the calls and notes which
    chat's question the call belongs to; ``observe`` logs each exchange with both.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rate = 0.0
        self.kinds: tuple[str, ...] = FAULT_KINDS
        self.read_timeout = 5.0
        self.current: dict[int, int] = {}  # chat id -> the question it is on
        self.log: list[list[Any]] = []  # [question, method, status, text, fault]
        self.counts: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.local = threading.local()  # this request's question

    def choose(self, method: str, params: JSONDict, queued: Fault | None) -> Fault | None:
        chat = _chat_id(params.get("chat_id"))
        self.local.question = self.current.get(chat) if chat is not None else None
        if queued is not None or not self.rate or self.rng.random() >= self.rate:
            return queued
        kinds = [k for k in self.kinds if method == "getUpdates" or k not in UPDATE_ONLY_FAULTS]
        if not kinds:
            return None
        kind = self.rng.choice(kinds)
        self.injected[f"{method}:{kind}"] += 1
        return self._fault(kind, method, params)

    def _fault(self, kind: str, method: str, params: JSONDict) -> Fault:
        if kind == "429":
            return Fault(method, 429, retry_after=1, label=kind)
        if kind in ("500", "502"):
            return Fault(method, int(kind), malformed=kind == "502", label=kind)
        if kind == "timeout":
            delay = self.read_timeout + 1
            if method == "getUpdates":
                delay += float(params.get("timeout") or 0)
            return Fault(method, None, delay=delay, drop=method == "getUpdates", label=kind)
        if kind == "drop":
            return Fault(method, None, drop=True, label=kind)
        if kind == "slow":
            return Fault(method, None, delay=self.rng.uniform(0.5, 2.0), label=kind)
        if kind == "reset":
            return Fault(method, None, reset=True, label=kind)
        return Fault(method, None, malformed=True, label=kind)

    def observe(self, exchange: Exchange, fault: Fault | None) -> None:
        if self.rate:  # calls of the measured part only, the denominator of the fault share
            self.counts[exchange.method] += 1
        label = fault.label if fault is not None else None
        if exchange.method == "getUpdates" and label is None:
            return
        text = None
        if exchange.method == "sendMessage" and exchange.status == 200:
            text = _digest(str(exchange.params.get("text") or ""))
        question = getattr(self.local, "question", None)
        self.log.append([question, exchange.method, exchange.status, text, label])


def push_question(api: FakeBotApi, policy: SoakPolicy, chat: int, question: int, text: str) -> int:
    asker = factories.user(f"Soak {chat}", user_id=chat)
    update = factories.message_update(
        text, from_user=asker, message_id=message_id(question), entities=[]
    )
    policy.current[chat] = question
    return int(api.push_update(update)["update_id"])


def _chat_id(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _digest(text: str) -> str:
    """A message's identity for the tally: the apology as it is, any other text hashed."""
    if APOLOGY in text:
        return text
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def message_id(question: int) -> int:
    return (question + 1) * MESSAGE_ID_STRIDE


def _serve(argv: Sequence[str]) -> int:
    """The child process: serve the fake API, obey JSON-line commands on stdin."""
    config = json.loads(argv[0]) if argv else {}
    protocol: IO[str] = sys.stdout
    sys.stdout = sys.stderr  # only protocol lines on the real stdout
    policy = SoakPolicy(int(config.get("seed", 0)))
    api = FakeBotApi(policy=policy)
    api.start()

    def answer(value: JSONDict) -> None:
        protocol.write(json.dumps(value, ensure_ascii=False) + "\n")
        protocol.flush()

    try:
        answer({"base_url": api.base_url, "token": api.token})
        for line in sys.stdin:
            command = json.loads(line)
            op = command["op"]
            if op == "push":
                answer(
                    {
                        "update_id": push_question(
                            api, policy, command["chat"], command["question"], command["text"]
                        )
                    }
                )
            elif op == "faults":
                policy.rate = float(command["rate"])
                policy.kinds = tuple(command.get("kinds") or FAULT_KINDS)
                policy.read_timeout = float(command.get("read_timeout") or 5.0)
                answer({"ok": True})
            elif op == "idle":
                answer({"idle": api.wait_idle(float(command["seconds"]))})
            elif op == "report":
                answer(
                    {
                        "log": list(policy.log),
                        "calls": dict(policy.counts),
                        "injected": dict(policy.injected),
                        "server_errors": list(api.server_errors),
                    }
                )
            elif op == "stop":
                answer({"ok": True})
                break
    finally:
        api.stop()
    return 0


class FakeServer:
    """The parent's handle on the child: one command, one answer line, each time-bounded."""

    def __init__(self, seed: int, timeout: float = 60.0) -> None:
        env = dict(os.environ)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            env.pop(name, None)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bot.tools.soak", "serve", json.dumps({"seed": seed})],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            encoding="utf-8",
        )
        try:
            hello = self._read()
            self.base_url: str = hello["base_url"]
            self.token: str = hello["token"]
            if not self.base_url.startswith("http://127.0.0.1:"):
                raise SoakError(f"the fake server must listen on 127.0.0.1: {self.base_url}")
        except BaseException:
            self.close()
            raise

    def _read(self, timeout: float | None = None) -> JSONDict:
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout or self.timeout)
        line = self._proc.stdout.readline() if ready else ""
        if not line:
            raise SoakError("the fake Bot API server did not answer (see its stderr above)")
        return dict(json.loads(line))

    def call(self, timeout: float | None = None, **command: Any) -> JSONDict:
        assert self._proc.stdin is not None
        with self._lock:
            self._proc.stdin.write(json.dumps(command, ensure_ascii=False) + "\n")
            self._proc.stdin.flush()
            return self._read(timeout)

    def close(self) -> None:
        with contextlib.suppress(SoakError, OSError, ValueError):
            self.call(op="stop", timeout=10)
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class Plan:
    questions: int
    chats: int
    fault_rate: float
    seed: int
    kinds: tuple[str, ...]
    question_timeout: float
    time_limit: float
    flood_limit: bool
    warmup: bool


@dataclass
class Run:
    """What the parent observed while driving the bot."""

    texts: dict[int, str] = field(default_factory=dict)  # question -> text (measured ones)
    done: Counter[int] = field(default_factory=Counter)  # question -> times the bot finished it
    not_processed: list[int] = field(default_factory=list)
    not_sent: int = 0
    latencies: list[float] = field(default_factory=list)
    rss_samples: list[tuple[int, float]] = field(default_factory=list)
    rss_boot: float = 0.0  # the Application started, before the warm-up
    rss_start: float = 0.0
    rss_end: float = 0.0
    duration: float = 0.0
    warmup_s: float = 0.0
    read_timeout: float = 5.0
    limiter: str = ""


class Driver:
    """Runs the adapter's Application against the fake server and asks the questions."""

    def __init__(self, core: Any, server: FakeServer, plan: Plan, progress: Progress) -> None:
        self.core = core
        self.server = server
        self.plan = plan
        self.progress = progress
        self.run = Run()
        self.crashes = Crashes()
        rng = random.Random(plan.seed)
        self.pool = gold_questions()
        self.measured = [rng.choice(self.pool) for _ in range(plan.questions)]
        self.chat_ids = [2_000_000_000 + i for i in range(plan.chats)]
        self._waiting: dict[tuple[int, int], asyncio.Future[None]] = {}
        self._question_of: dict[tuple[int, int], int] = {}
        self._numbers = iter(range(10**12))
        self._asked = 0
        self._began = 0.0
        self._deadline = 0.0

    def build(self) -> Any:
        from telegram import Update
        from telegram.ext import TypeHandler

        from bot.core.batcher import Batcher
        from bot.core.shelf import Shelf
        from bot.telegram.adapter import build_application
        from bot.telegram.state import Services, TelegramOptions

        # Per-user limit lifted: each simulated user asks far more than 20 questions a minute.
        # Without the flood limit the adapter's limiter still waits out 429s and retries.
        options = TelegramOptions(questions_per_minute=10**9, flood_limits=self.plan.flood_limit)
        services = Services(Shelf.of(self.core), Batcher(self.core), options)
        app = build_application(services, self.server.token, self.server.base_url)
        limiter = app.bot.rate_limiter
        self.run.limiter = type(limiter).__name__ if limiter is not None else "none"
        self.run.read_timeout = float(app.bot.request.read_timeout or 5.0)
        app.add_handler(TypeHandler(Update, self._finished), group=DONE_GROUP)
        app.add_error_handler(self._count_error)
        return app

    async def _finished(self, update: Any, context: Any) -> None:
        """After every handler (and error handler) of the adapter is done with an update."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        key = (chat.id, message.message_id)
        question = self._question_of.get(key)
        if question is not None:
            self.run.done[question] += 1
        future = self._waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(None)

    async def _count_error(self, update: object, context: Any) -> None:
        from telegram import Update

        target = self.crashes.handler if isinstance(update, Update) else self.crashes.polling
        target[_name(context.error)] += 1

    def _on_loop_error(self, _: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.crashes.loop[_name(context.get("exception"))] += 1
        log.error("asyncio: %s", context.get("message"), exc_info=context.get("exception"))

    async def ask(self, chat: int, text: str, *, counted: bool) -> None:
        """Push one question and wait, bounded, until the Application has finished with it."""
        loop = asyncio.get_running_loop()
        question = next(self._numbers)
        key = (chat, message_id(question))
        if counted:
            self.run.texts[question] = text
        self._question_of[key] = question
        future: asyncio.Future[None] = loop.create_future()
        self._waiting[key] = future
        await asyncio.to_thread(
            self.server.call, op="push", chat=chat, question=question, text=text
        )
        started = loop.time()
        try:
            await asyncio.wait_for(future, self.plan.question_timeout)
        except TimeoutError:
            self._waiting.pop(key, None)
            if counted:
                self.run.not_processed.append(question)
            return
        if counted:
            self.run.latencies.append(loop.time() - started)

    async def warm_up(self, index: int) -> None:
        """Every distinct question once, so the query cache and allocator reach their size."""
        for text in self.pool[index :: self.plan.chats]:
            await self.ask(self.chat_ids[index], text, counted=False)

    async def chat_loop(self, index: int) -> None:
        """One simulated user: the next question once the previous one was dealt with."""
        loop = asyncio.get_running_loop()
        step = max(self.plan.questions // 10, 1)
        for text in self.measured[index :: self.plan.chats]:
            if loop.time() > self._deadline:
                self.run.not_sent += 1
                continue
            await self.ask(self.chat_ids[index], text, counted=True)
            self._asked += 1
            if self._asked % step == 0:
                rss = rss_mb()
                self.run.rss_samples.append((self._asked, round(rss, 1)))
                rate = self._asked / max(loop.time() - self._began, 1e-9)
                self.progress(
                    f"{self._asked:,}/{self.plan.questions:,} questions, {rate:.0f}/s, "
                    f"RSS {rss:.0f} MB, {sum(self.crashes.handler.values())} handler errors"
                )

    async def __call__(self) -> tuple[Run, Crashes]:
        """The Application's life as ``python -m bot telegram`` leads it, the soak in the middle."""
        from bot.telegram.runner import running

        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._on_loop_error)
        app = self.build()

        async with running(app):
            await self._soak()
        gc.collect()
        self.run.rss_end = rss_mb()
        return self.run, self.crashes

    async def _soak(self) -> None:
        loop, plan, run = asyncio.get_running_loop(), self.plan, self.run
        run.rss_boot = rss_mb()
        if plan.warmup:
            self.progress(f"warm-up: the {len(self.pool)} gold questions once each, no faults")
            warm = loop.time()
            await asyncio.gather(*(self.warm_up(i) for i in range(plan.chats)))
            run.warmup_s = loop.time() - warm
        gc.collect()
        run.rss_start = rss_mb()
        await asyncio.to_thread(
            self.server.call,
            op="faults",
            rate=plan.fault_rate,
            kinds=list(plan.kinds),
            read_timeout=run.read_timeout,
        )
        self.progress(
            f"soak: {plan.questions:,} questions from {plan.chats} chats, "
            f"faults on {plan.fault_rate:.1%} of calls"
        )
        self._began = loop.time()
        self._deadline = self._began + plan.time_limit
        await asyncio.gather(*(self.chat_loop(i) for i in range(plan.chats)))
        run.duration = loop.time() - self._began
        await asyncio.to_thread(self.server.call, op="faults", rate=0)
        # A reply carried out late (the "timeout" fault) lands after its handler gave up.
        idle = await asyncio.to_thread(self.server.call, op="idle", seconds=30.0, timeout=60.0)
        if not idle.get("idle"):
            self.progress("the fake server still had calls in flight after 30 s")


@contextlib.contextmanager
def _thread_crashes(crashes: Crashes) -> Iterator[None]:
    saved = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        crashes.threads[_name(args.exc_value)] += 1
        saved(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = saved


def run_soak(
    settings: Settings,
    *,
    questions: int = 10_000,
    chats: int = 50,
    fault_rate: float = 0.02,
    seed: int = 0,
    progress: Progress = _stderr,
    faults: Sequence[str] = FAULT_KINDS,
    question_timeout: float = 60.0,
    time_limit: float | None = None,
    flood_limit: bool = False,
    log_file: Path | None = None,
    warmup: bool = True,
    crash_rounds: int = 0,
) -> JSONDict:
    """Drive ``questions`` questions through the Telegram adapter; return the figures.

    ``question_timeout`` bounds the wait for one question to be handled, ``time_limit``
    (default: 0.5 s a question plus 5 minutes) the whole run: questions not yet asked by
    then are counted as ``not_sent``. Log records of WARNING and above are counted, not
    printed, while the soak runs; ``log_file`` keeps them in full. ``crash_rounds`` rounds of
    the crash fault follow (``bot.tools.crash``: the bot process SIGKILLed mid-burst).
    """
    if questions < 1 or chats < 1 or not 0 <= fault_rate <= 1 or crash_rounds < 0:
        raise ValueError(
            "questions and chats must be positive, fault_rate within 0..1, crashes 0 or more"
        )
    known = FAULT_KINDS + OPTIONAL_FAULTS
    unknown = set(faults) - set(known)
    if unknown or not faults:
        raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(known)}")
    from bot.build import build_core

    plan = Plan(
        questions=questions,
        chats=min(chats, questions),
        fault_rate=fault_rate,
        seed=seed,
        kinds=tuple(faults),
        question_timeout=question_timeout,
        time_limit=time_limit if time_limit is not None else 300 + 0.5 * questions,
        flood_limit=flood_limit,
        warmup=warmup,
    )
    if not GOLD.is_file():  # fail early without the gold set
        raise SoakError(f"the soak draws its questions from {GOLD}, which is missing")
    progress("loading the article and the model")
    core = build_core(settings)
    server = FakeServer(seed)
    try:
        with _captured_logs(log_file) as logs:
            extra = Crashes()
            with _thread_crashes(extra):
                run, crashes = asyncio.run(Driver(core, server, plan, progress)())
            crashes.threads.update(extra.threads)
        report = server.call(op="report", timeout=120)
        crash = None
        if crash_rounds:
            progress(f"crash fault: {crash_rounds} SIGKILL(s) of the bot process mid-burst")
            crash = crash_fault(
                settings, server, rounds=crash_rounds, chats=plan.chats, seed=seed,
                progress=progress,
            )
    finally:
        server.close()
    return _figures(plan, run, crashes, logs, report, crash=crash)


def crash_fault(
    settings: Settings,
    server: FakeServer,
    *,
    rounds: int,
    chats: int,
    seed: int = 0,
    progress: Progress = _stderr,
) -> JSONDict:
    """The crash fault (``bot.tools.crash``), tallied like the soak's own questions.

    ``duplicated_not_in_flight`` counts duplicates of replies that were *not* in flight at
    a kill (their update was marked handled, or no reply had arrived): the journal's bugs.
    """
    run = run_crash(
        settings, server, gold_questions(), rounds=rounds, chats=chats, seed=seed,
        progress=progress,
    )
    calls = server.call(op="report", timeout=120)["log"]
    figures = tally(run.texts, calls)
    delivered, _, _ = _by_question(calls)
    duplicated = {q for q in run.texts if _has_a_copy(delivered[q])}
    return {
        "kills": rounds,
        "questions": len(run.texts),
        "answered": figures["answered"],
        "lost": figures["lost"],
        "duplicated": figures["duplicated"],
        "in_flight_at_kill": len(run.in_flight),
        "duplicated_not_in_flight": len(duplicated - run.in_flight),
        "all_answered_after_restart_s": [round(s, 1) for s in run.recoveries],
    }


def _by_question(
    calls: list[list[Any]],
) -> tuple[dict[int, list[str]], dict[int, list[str]], int]:
    """Messages delivered and faults met, per question; messages of no question."""
    delivered: dict[int, list[str]] = defaultdict(list)
    faults_on: dict[int, list[str]] = defaultdict(list)
    unattributed = 0
    for question, method, status, text, fault in calls:
        if fault is not None and question is not None:
            faults_on[question].append(f"{method}:{fault}")
        if method == "sendMessage" and status == 200:
            if question is None:
                unattributed += 1
            else:
                delivered[question].append(text or "")
    return delivered, faults_on, unattributed


def _has_a_copy(messages: list[str]) -> bool:
    """Whether one of a question's answer messages (not the apology) arrived twice."""
    copies = Counter(m for m in messages if APOLOGY not in m)
    return bool(copies) and max(copies.values()) > 1


def tally(texts: dict[int, str], calls: list[list[Any]]) -> JSONDict:
    """Who got what: ``texts`` maps each measured question to its text, ``calls`` holds the
    server's ``[question, method, status, text, fault]`` records.

    A question is *answered* when at least one message other than the adapter's apology
    reached its chat while it was the chat's question, *lost* when none did (with or without
    an apology), *duplicated* when a message of its answer arrived twice.
    """
    delivered, faults_on, unattributed = _by_question(calls)
    parts_of: dict[str, int] = {}  # the most distinct messages any asking of a text got
    for question, text in texts.items():
        answers = {t for t in delivered[question] if APOLOGY not in t}
        parts_of[text] = max(parts_of.get(text, 0), len(answers))

    outcome: Counter[str] = Counter()
    causes: dict[str, Counter[str]] = defaultdict(Counter)
    examples: dict[str, list[JSONDict]] = defaultdict(list)
    for question, text in texts.items():
        messages = delivered[question]
        apologies = sum(APOLOGY in m for m in messages)
        copies = Counter(m for m in messages if APOLOGY not in m)
        if not copies:
            kind = "lost"
            outcome["lost_apologised" if apologies else "lost_silent"] += 1
        else:
            outcome["answered"] += 1
            outcome["incomplete"] += len(copies) < parts_of[text]
            if _has_a_copy(messages):
                kind = "duplicated"
            elif apologies:
                kind = "answered_and_apologised"
            else:
                kind = "answered_once"
        outcome[kind] += 1
        if kind != "answered_once":
            cause = ", ".join(sorted(set(faults_on[question]))) or "no fault on its calls"
            causes[kind][cause] += 1
            if len(examples[kind]) < 5:
                examples[kind].append(
                    {"question": question, "text": text, "faults": faults_on[question]}
                )
    figures: JSONDict = {
        name: outcome[name]
        for name in (
            "answered",
            "answered_once",
            "lost",
            "lost_apologised",
            "lost_silent",
            "duplicated",
            "answered_and_apologised",
            "incomplete",
        )
    }
    figures["unattributed_messages"] = unattributed
    figures["lost_by_fault"] = dict(causes["lost"].most_common())
    figures["duplicated_by_fault"] = dict(causes["duplicated"].most_common())
    figures["apologised_by_fault"] = dict(causes["answered_and_apologised"].most_common())
    figures["examples"] = dict(examples)
    return figures


def _figures(
    plan: Plan,
    run: Run,
    crashes: Crashes,
    logs: LogCapture,
    report: JSONDict,
    *,
    crash: JSONDict | None = None,
) -> JSONDict:
    calls = sum(report["calls"].values())
    injected = sum(report["injected"].values())
    growth = (run.rss_end - run.rss_start) / run.rss_start * 100 if run.rss_start else 0.0
    result: JSONDict = {
        "questions": plan.questions,
        "chats": plan.chats,
        "fault_rate": plan.fault_rate,
        "seed": plan.seed,
        "fault_kinds": list(plan.kinds),
        "sent": len(run.texts),
        "not_sent": run.not_sent,
        **tally(run.texts, report["log"]),
        "not_processed": len(run.not_processed),
        "processed_twice": sum(1 for n in run.done.values() if n > 1),
        "calls": calls,
        "calls_by_method": dict(Counter(report["calls"]).most_common()),
        "faults_injected": injected,
        "faults_by_kind": dict(Counter(report["injected"]).most_common()),
        "fault_share": injected / calls if calls else 0.0,
        "errors_logged": sum(logs.errors.values()),
        "errors_by_source": dict(logs.errors.most_common()),
        "warnings_logged": sum(logs.warnings.values()),
        "warnings_by_source": dict(logs.warnings.most_common()),
        "handler_exceptions": dict(crashes.handler.most_common()),
        "polling_errors": dict(crashes.polling.most_common()),
        "loop_exceptions": dict(crashes.loop.most_common()),
        "thread_exceptions": dict(crashes.threads.most_common()),
        "unhandled": crashes.unhandled,
        "server_errors": report["server_errors"],
        "rss_boot_mb": round(run.rss_boot, 1),
        "rss_start_mb": round(run.rss_start, 1),
        "rss_end_mb": round(run.rss_end, 1),
        "rss_peak_mb": round(peak_rss_mb(), 1),
        "rss_growth_pct": round(growth, 2),
        "rss_samples": run.rss_samples,
        "warmup_s": round(run.warmup_s, 1),
        "duration_s": round(run.duration, 1),
        "questions_per_s": round(len(run.texts) / run.duration, 1) if run.duration else 0.0,
        "latency": percentiles_ms(run.latencies, ndigits=1),
        "read_timeout_s": run.read_timeout,
        "flood_limiter": f"{run.limiter}, throttle {'on' if plan.flood_limit else 'off'}",
        "per_user_limit": "lifted",
        "python": sys.version.split()[0],
    }
    result["crash"] = crash
    result["target"] = dict(TARGET)
    result["target_met"] = (
        result["lost"] == 0
        and result["duplicated"] == 0
        and (crash is None or (crash["lost"] == 0 and crash["duplicated_not_in_flight"] == 0))
        and result["unhandled"] == 0
        and result["not_sent"] == 0
        and growth <= TARGET["rss_growth_pct"]
    )
    return result


def format_soak(result: JSONDict) -> str:
    """The figures as a short report for people."""

    def top(counts: JSONDict, limit: int = 6) -> list[str]:
        rows = [f"    {n:>6,}  {k}" for k, n in list(counts.items())[:limit]]
        if len(counts) > limit:
            rows.append(f"    {'…':>6}  {len(counts) - limit} more")
        return rows

    r = result
    lines = [
        f"Soak: {r['questions']:,} questions from {r['chats']} chats, faults on "
        f"{r['fault_rate']:.1%} of Bot API calls (seed {r['seed']})",
        f"  sent                {r['sent']:>8,}"
        + (f"   ({r['not_sent']:,} not sent: time limit)" if r["not_sent"] else ""),
        f"  answered            {r['answered']:>8,}   "
        f"(exactly once, no apology: {r['answered_once']:,})",
        f"  lost                {r['lost']:>8,}   (apology only: {r['lost_apologised']:,}, "
        f"no reply at all: {r['lost_silent']:,})",
        f"  duplicated          {r['duplicated']:>8,}",
        f"  answer + apology    {r['answered_and_apologised']:>8,}",
        f"  not processed       {r['not_processed']:>8,}   (updates the bot never finished)",
        f"  unhandled errors    {r['unhandled']:>8,}   (escaped a handler, a task or a thread)",
        f"  errors logged       {r['errors_logged']:>8,}   "
        f"(ERROR records; warnings: {r['warnings_logged']:,})",
        f"  Bot API calls       {r['calls']:>8,}   faults injected: {r['faults_injected']:,} "
        f"({r['fault_share']:.1%})",
        f"  RSS                 {r['rss_start_mb']:.0f} MB → {r['rss_end_mb']:.0f} MB "
        f"({r['rss_growth_pct']:+.1f}%), peak {r['rss_peak_mb']:.0f} MB; "
        f"{r['rss_boot_mb']:.0f} MB before the warm-up",
        f"  duration            {r['duration_s']:.0f} s, {r['questions_per_s']:.1f} questions/s, "
        f"latency p50 {r['latency']['p50_ms']} ms, p95 {r['latency']['p95_ms']} ms, "
        f"max {r['latency']['max_ms']} ms",
        f"  target              0 lost, 0 duplicated, 0 unhandled, RSS growth ≤ "
        f"{r['target']['rss_growth_pct']:.0f}%: {'MET' if r['target_met'] else 'NOT MET'}",
    ]
    crash = r.get("crash")
    if crash:
        lines.insert(
            -1,
            f"  crash fault         {crash['kills']} SIGKILL(s) mid-burst: "
            f"{crash['answered']:,}/{crash['questions']:,} answered, {crash['lost']} lost, "
            f"{crash['duplicated']} duplicated (of {crash['in_flight_at_kill']} replies in "
            f"flight at a kill; others: {crash['duplicated_not_in_flight']}); all answered "
            f"{', '.join(f'{s:.0f}' for s in crash['all_answered_after_restart_s'])} s "
            "after the restart",
        )
    sections = [
        ("lost, by the faults on their calls", r["lost_by_fault"]),
        ("duplicated, by the faults on their calls", r["duplicated_by_fault"]),
        ("answered and apologised, by fault", r["apologised_by_fault"]),
        ("exceptions that escaped a handler (to on_error)", r["handler_exceptions"]),
        ("errors logged, by source", r["errors_by_source"]),
        ("faults injected", r["faults_by_kind"]),
    ]
    for title, counts in sections:
        if counts:
            lines.append(f"  {title}:")
            lines += top(counts)
    lines.append(f"  ({r['flood_limiter']}; per-user question limit {r['per_user_limit']})")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        sys.exit(_serve(sys.argv[2:]))
    sys.exit("usage: python -m bot soak (this module's own entry point serves the fake API)")
