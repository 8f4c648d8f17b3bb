"""The composition root: ``python -m bot COMMAND``.

The only place that reads configuration, sets up logging, builds the index and
starts an adapter. Everything else receives what it needs as arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

from bot.config import ConfigError, Settings, from_env
from bot.core.feedback import FeedbackError, FeedbackStore
from bot.core.stores import Feedback, StoreError
from bot.logsetup import configure_logging
from bot.messages import CATALOGS, DEFAULT, language_of
from corpus.ingest import ArticleError
from embeddings.encoder import prefetch
from embeddings.errors import EmbeddingError, IndexStoreError

if TYPE_CHECKING:
    from bot.core.postgres import PostgresStore

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--article",
        type=Path,
        action="append",
        help="an article file (.txt or .md) for the shelf, repeatable; env ARTICLE_PATH "
        "(one file), ARTICLES_DIR (every .txt/.md in a directory). For ask, a value with "
        "no such file and no .txt/.md suffix is a shelf name (the file's stem): answer "
        "from that article only",
    )
    common.add_argument(
        "--data-dir", type=Path, help="models and indexes; env ARTICLE_BOT_DATA_DIR"
    )
    common.add_argument("--model", help="sentence-transformers model; env EMBEDDING_MODEL")
    common.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR; env LOG_LEVEL")

    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    languages = argparse.ArgumentParser(add_help=False)
    languages.add_argument(
        "--lang",
        choices=sorted(CATALOGS),
        help="the bot's own words in this language (default: the script of each question)",
    )
    sub.add_parser(
        "console", parents=[common, languages], help="chat with the bot in this terminal"
    )
    ask = sub.add_parser(
        "ask", parents=[common, languages], help="answer one question, or stdin line by line"
    )
    ask.add_argument("question", nargs="?", help="omit to read questions from stdin, one a line")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    index = sub.add_parser("index", parents=[common], help="build the index for an article")
    index.add_argument("path", type=Path, nargs="?", help="the article (default: --article)")
    ingest = sub.add_parser(
        "ingest",
        parents=[common],
        help="index a folder of articles or a JSON-lines export into the shelf's store "
        "(skips what is already there: safe to rerun after a kill)",
    )
    ingest.add_argument("source", type=Path, help="a folder of .txt/.md files, or a .jsonl file")
    tg = sub.add_parser("telegram", parents=[common], help="run the Telegram bot")
    tg.add_argument("--webhook-url", help="public HTTPS URL; without it the bot polls")
    tg.add_argument("--listen", default="0.0.0.0", help="webhook listening address")
    tg.add_argument("--port", type=int, default=8443, help="webhook listening port")
    tg.add_argument("--secret-token", help="webhook secret; env TELEGRAM_WEBHOOK_SECRET")
    sub.add_parser("health", parents=[common], help="exit 0 if the Telegram bot is alive")
    sub.add_parser("feedback", parents=[common], help="summarise the 👍/👎 votes")
    report = sub.add_parser(
        "report", parents=[common], help="what readers asked each article (the question log)"
    )
    report.add_argument("--days", type=int, default=30, help="the last N days (default 30)")
    report.add_argument("--html", type=Path, help="also write the report as an HTML page here")
    soak = sub.add_parser("soak", parents=[common], help="long run with Bot API faults")
    soak.add_argument("--questions", type=int, default=10_000)
    soak.add_argument("--chats", type=int, default=50)
    soak.add_argument("--fault-rate", type=float, default=0.02)
    soak.add_argument("--seed", type=int, default=0)
    soak.add_argument(
        "--crashes",
        type=int,
        default=1,
        help="then SIGKILL the bot process this many times mid-burst and restart it",
    )
    soak.add_argument("--json", type=Path, dest="json_path", help="also write the figures here")
    soak.add_argument("--log", type=Path, help="keep the bot's full log here")
    soak.add_argument(
        "--replicas",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: through two webhook replicas behind HAProxy on PostgreSQL (loopback; needs "
        "haproxy and a checkout's deploy/haproxy.cfg); --crashes does not apply",
    )
    soak.add_argument(
        "--kill-replica-once",
        action="store_true",
        help="with --replicas 2: SIGKILL replica 1 halfway and start it again",
    )
    soak.add_argument(
        "--workdir",
        type=Path,
        help="with --replicas 2: PostgreSQL and HAProxy's log here (default: a temporary one)",
    )
    bench = sub.add_parser("bench", parents=[common], help="measure speed and memory")
    bench.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    bench.add_argument(
        "--cmrc",
        type=Path,
        help="the CMRC 2018 trial set (SQuAD JSON): the shelf's 1/10/100 articles are made "
        "from its contexts (default: synthetic articles)",
    )
    bench.add_argument(
        "--shelf-only", action="store_true", help="only the shelf of 1, 10 and 100 articles"
    )
    bench.add_argument(
        "--contexts",
        type=Path,
        help="the folder holding cmrc2018_trial.json and xquad_dev/: measure the shelf of "
        "every context as an article (376) instead, its questions as gold",
    )
    bench.add_argument(
        "--shelf-dir",
        type=Path,
        help="with --contexts: the articles and their indexes here, reused by the next run "
        "(default: a temporary directory, indexed from nothing)",
    )
    bench.add_argument(
        "--questions",
        type=int,
        help="with --contexts: time at most this many distinct questions (default: all)",
    )
    bench.add_argument("--json", type=Path, dest="json_path", help="also write the figures here")
    ev = sub.add_parser("eval", parents=[common], help="measure answers on the gold set")
    ev.add_argument(
        "--gold", type=Path, help="gold questions (JSON lines); default: the bundled set"
    )
    ev.add_argument("--json", type=Path, dest="json_path", help="also write the report here")
    ev.add_argument(
        "--no-pool",
        action="store_true",
        help="only the gold set: skip the pool of articles held out by article (minutes)",
    )
    return parser


def _shelf_name(value: Path, command: str) -> bool:
    """Is an ``--article`` value a shelf name rather than a file? Only ``ask`` reads names."""
    # The shelf's suffixes (bot.core.shelf.SUFFIXES): spelled here so that parsing the
    # command line does not load the search stack.
    is_file_name = value.suffix.lower() in {".txt", ".md"} or len(value.parts) > 1
    if command != "ask" or is_file_name:
        return False
    try:
        return not value.exists()
    except OSError:  # too long to be a file: a file for the shelf, refused as one
        return False


def _settings(args: argparse.Namespace) -> Settings:
    given = [*([args.path] if getattr(args, "path", None) else []), *(args.article or [])]
    files = [value for value in given if not _shelf_name(value, args.command)]
    names = [str(value) for value in given if _shelf_name(value, args.command)]
    if len(names) > 1:
        raise ConfigError(f"ask answers from one article at a time: got {', '.join(names)}")
    args.use = names[0] if names else None
    return from_env(
        article=files[0] if files else None,
        articles=tuple(files) or None,
        data_dir=args.data_dir,
        model=args.model,
        log_level=args.log_level.upper() if args.log_level else None,
    )


def _ask(args: argparse.Namespace, settings: Settings, leave: bool = False) -> int:
    """``leave``: exit the process once everything is printed, with the shelf still held."""
    prefetch(settings.model, settings.data_dir)  # the tokenizer loads beside the imports
    from bot.build import build_shelf
    from bot.render.text import render_answer

    shelf = build_shelf(settings)
    if args.use is not None and args.use not in shelf:
        listed = [e.name for e in shelf.entries(0, NAMES_IN_ERRORS)]
        on_it = ", ".join(listed) + (", …" if len(shelf) > len(listed) else "")
        raise ConfigError(f"no article named {args.use!r} on the shelf (it holds: {on_it})")
    questions = [args.question] if args.question is not None else None
    for question in questions or (line.rstrip("\r\n") for line in sys.stdin):
        answer = shelf.ask(question, article=args.use)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            say = CATALOGS[args.lang or language_of(question)]
            print(render_answer(answer, say) + "\n", flush=True)
        _started()  # the first answer is out (the shelf-wide index is merged by then)
    if leave:
        _leave(0)
    return 0


def _console(args: argparse.Namespace, settings: Settings) -> int:
    prefetch(settings.model, settings.data_dir)  # the tokenizer loads beside the imports
    from bot.build import build_shelf
    from bot.console import ConsoleAdapter

    print("Loading the article and the model…", file=sys.stderr, flush=True)
    say = CATALOGS[args.lang] if args.lang else DEFAULT
    # The prompt comes at once: the reader types while the model loads, and is told if
    # the first question has to wait for it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        loading = pool.submit(build_shelf, settings)
        sys.stdout.write("> ")
        sys.stdout.flush()
        first = sys.stdin.readline()
        if first.strip() and not loading.done():
            print(say.still_loading, flush=True)
        shelf = loading.result()
    _started()
    console = ConsoleAdapter(shelf, sys.stdin, sys.stdout, _open_feedback(settings), args.lang)
    console.run(first=first)
    return 0


def _open_feedback(settings: Settings) -> FeedbackStore | None:
    """Feedback is optional: a broken database is reported once and answering goes on."""
    try:
        return FeedbackStore.open(settings.data_dir)
    except FeedbackError as exc:
        log.warning("%s; answers continue without feedback", exc)
        return None


def _shared_store(settings: Settings) -> PostgresStore | None:
    """Several replicas' store (DATABASE_URL), or None: the data directory's SQLite files."""
    from bot.core.postgres import PostgresStore

    return PostgresStore(settings.database_url) if settings.database_url else None


def _feedback_store(settings: Settings) -> tuple[Feedback, str]:
    """Votes and the question log, and where they are: PostgreSQL or the data directory."""
    shared = _shared_store(settings)
    if shared is not None:
        return shared.feedback, shared.where
    store = FeedbackStore.open(settings.data_dir)
    return store, str(store.path)


def _feedback(settings: Settings) -> int:
    try:
        store, where = _feedback_store(settings)
        passages, worst = store.by_passage(), store.most_down_voted()
    except (FeedbackError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not passages:
        print(f"No votes yet in {where}.")
        return 0
    print(f"Votes per passage ({where}):")
    for row in passages:
        print(f"  {row.passage_id}  👍 {row.up:>4}  👎 {row.down:>4}")
    if worst:
        print("Most down-voted question → passage:")
        for question, passage_id, count in worst:
            print(f"  {count:>4} × {question!r} → {passage_id}")
    return 0


def _report(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    from bot.tools.report import build_report, format_html, format_text

    if args.days < 1:
        raise ConfigError(f"--days must be a positive whole number: got {args.days}")
    until = dt.datetime.now(dt.UTC)
    since = until - dt.timedelta(days=args.days)
    try:
        store, _ = _feedback_store(settings)
        report = build_report(store.questions(since), store.votes_by_article(since), since, until)
    except (FeedbackError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_text(report), end="")
    if args.html is not None:
        try:
            args.html.write_text(format_html(report), encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {args.html}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"HTML report: {args.html}")
    return 0


def _index(settings: Settings) -> int:
    from bot.build import build_shelf

    shelf = build_shelf(settings)
    _started()
    # A shelf that is the store (SHELF=store) lists the whole archive: only what was named.
    names = [p.stem for p in settings.articles] if shelf.archive else shelf.names()
    for name in names:
        # (in an archive, the file's own article, with its cleaning log, is the cached core's)
        core = shelf.get(name) if shelf.archive else None
        article = core.article if core is not None else shelf.article(name)
        if article is None:
            continue
        paragraphs = sum(1 for _ in article.paragraphs())
        where = "the database" if settings.database_url else settings.shelf_index_dir(name)
        print(f"indexed {paragraphs} paragraphs of “{article.title}” in {where}")
        for repair in article.repairs:  # what cleaning changed
            print(f"  cleaned: {repair}")
    return 0


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.tools.bulk import ingest

    report = ingest(settings, args.source, progress=sys.stderr.isatty())
    for name, why in report.failed:
        print(f"failed: {name}: {why}", file=sys.stderr)
    print(report.summary())
    return 1 if report.failed else 0


# Exit codes of ``python -m bot telegram`` an operator (or a restart policy) can act on.
# Article names an error message lists at most (a shelf that is an archive holds thousands).
NAMES_IN_ERRORS = 20
EXIT_BAD_TOKEN = 78  # EX_CONFIG: Telegram rejected the token; restarting cannot help
EXIT_UNREACHABLE = 69  # EX_UNAVAILABLE: the Bot API could not be reached at start
EXIT_IN_USE = 75  # EX_TEMPFAIL: another bot serves from this data directory; retry later


def _telegram(args: argparse.Namespace, settings: Settings) -> int:
    from bot.config import require_telegram_token, require_webhook_secret
    from bot.instance import DataDirInUseError, claim_data_dir

    token = require_telegram_token(settings)
    secret = require_webhook_secret(args.secret_token) if args.webhook_url else None
    try:
        instance = claim_data_dir(settings.data_dir)
    except DataDirInUseError as exc:
        log.error("%s", exc)
        return EXIT_IN_USE
    with instance:
        return _serve_telegram(args, settings, token, secret)


def _serve_telegram(
    args: argparse.Namespace, settings: Settings, token: str, secret: str | None
) -> int:
    from telegram.error import InvalidToken, NetworkError, RetryAfter

    from bot.build import Deferred, build_shelf
    from bot.core.batcher import Batcher
    from bot.telegram import journal
    from bot.telegram.adapter import build_application
    from bot.telegram.indexing import discard_unfinished
    from bot.telegram.runner import Webhook, serve
    from bot.telegram.state import Services, TelegramOptions
    from bot.telegram.webhook import WebhookError

    try:  # before the model loads: a bad token fails in a second, not after a long start
        asyncio.run(_get_me(token, settings.telegram_api_base_url))
    except InvalidToken as exc:
        log.error("Telegram rejected the bot token (%s): check TELEGRAM_BOT_TOKEN", exc)
        return EXIT_BAD_TOKEN
    except (NetworkError, RetryAfter) as exc:
        log.error("cannot reach the Telegram Bot API at start (%s); exiting", exc)
        return EXIT_UNREACHABLE
    try:  # also before the model loads: a replica without its database exits at once
        shared = _shared_store(settings)
    except StoreError as exc:
        log.error("%s", exc)
        return EXIT_UNREACHABLE
    for name in discard_unfinished(settings.uploads_dir):  # the journal brings it back
        log.warning("upload %s was stopped while indexing: discarded, it is redone", name)
    deferred = Deferred()  # serve what is indexed now, index the rest in the background
    shelf = build_shelf(settings, deferred)
    _started()
    if shelf.directory is None:  # admins' uploads go to the data dir, and come back on start
        settings.uploads_dir.mkdir(parents=True, exist_ok=True)
        shelf.directory = settings.uploads_dir
        shelf.reload()
    deferred.active = False
    options = TelegramOptions(
        questions_per_minute=settings.questions_per_minute,
        heartbeat=settings.heartbeat_file,
        allowed_chat_ids=settings.allowed_chat_ids,
        webhook=bool(args.webhook_url),
        state_file=settings.data_dir / "telegram-state.sqlite3",
        journal=settings.data_dir / journal.FILE_NAME,
        admin_chat_ids=settings.admin_chat_ids,
        uploads=shelf.directory,
        index_after_start=tuple(path.name for path in deferred.paths),
        question_log_days=settings.question_log_days,
    )
    feedback = shared.feedback if shared is not None else _open_feedback(settings)
    services = Services(shelf, Batcher(shelf), options, feedback, shared)
    app = build_application(services, token, settings.telegram_api_base_url)
    webhook = None
    if args.webhook_url and secret is not None:
        # Telegram posts to the public URL; a proxy forwards its path to our listener as is.
        path = urlsplit(args.webhook_url).path.strip("/")
        webhook = Webhook(args.webhook_url, args.listen, args.port, path, secret)
        log.warning("serving the webhook on %s:%d/%s", args.listen, args.port, path)
    else:
        log.warning("polling for updates")
    try:
        asyncio.run(serve(app, webhook))
    except WebhookError as exc:
        log.error("%s", exc)
        return 1
    return 0


async def _get_me(token: str, base_url: str | None, attempts: int = 5) -> None:
    """Ask Telegram who we are, once, before anything else (``run_polling`` asks again).

    Flood control (429 with ``retry_after``) is waited out, up to ``attempts`` times: a
    restart in a busy moment is no reason to exit with a traceback.
    """
    from datetime import timedelta

    from telegram import Bot
    from telegram.error import RetryAfter

    bot = Bot(token, base_url=base_url) if base_url else Bot(token)
    for attempt in range(1, attempts + 1):
        try:
            async with bot:
                await bot.get_me()
            return
        except RetryAfter as exc:
            if attempt == attempts:
                raise
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            log.warning("Telegram asks to wait %.0f s at start (flood control); waiting", seconds)
            await asyncio.sleep(seconds)


def _health(settings: Settings) -> int:
    """For the container's health check: can the bot serve? (see bot.telegram.liveness)."""
    from bot.telegram.liveness import check

    healthy, why = check(settings.heartbeat_file)
    print(why, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.build import build_core
    from bot.tools.evaluate import GOLD, evaluate, format_report, load_gold
    from bot.tools.pool import evaluate_pool, format_pool

    core = build_core(settings)
    report = evaluate(core, load_gold(args.gold or GOLD), progress=_progress)
    if not args.no_pool:
        report["pool"] = evaluate_pool(core, settings.data_dir / "eval-pool", _progress)
    print(format_report(report) + (format_pool(report["pool"]) if "pool" in report else ""))
    for path in (args.json_path, settings.data_dir / "eval.json"):
        _write_json(path, report)
    return 0


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from bot.tools.bench import format_bench, run_bench
    from bot.tools.shelf_bench import format_shelf, run_shelf_bench

    if args.contexts is not None:
        return _context_bench(args, settings)
    if args.shelf_only:
        result = run_shelf_bench(settings, quick=args.quick, cmrc=args.cmrc, progress=_progress)
        print(format_shelf(result))
    else:
        result = run_bench(settings, quick=args.quick, progress=_progress, cmrc=args.cmrc)
        print(format_bench(result))
    _write_json(args.json_path, result)
    return 0


def _context_bench(args: argparse.Namespace, settings: Settings) -> int:
    from bot.tools.shelf_bench import format_context_bench, run_context_bench

    result = run_context_bench(
        settings, args.contexts, args.shelf_dir, questions=args.questions, progress=_progress
    )
    print(format_context_bench(result))
    _write_json(args.json_path, result)
    return 0


def _soak(args: argparse.Namespace, settings: Settings) -> int:
    from bot.tools.soak import SoakError, format_soak, run_soak

    if args.replicas > 1:
        return _replica_soak(args, settings)
    try:
        result = run_soak(
            settings,
            questions=args.questions,
            chats=args.chats,
            fault_rate=args.fault_rate,
            seed=args.seed,
            progress=_progress,
            log_file=args.log,
            crash_rounds=args.crashes,
        )
    except (SoakError, ValueError) as exc:  # ValueError: settings that make no sense
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_soak(result))
    _write_json(args.json_path, result)
    return 0 if result["target_met"] else 1


def _replica_soak(args: argparse.Namespace, settings: Settings) -> int:
    import tempfile

    from bot.tools.replica_soak import format_replica_soak, run_replica_soak
    from bot.tools.soak import SoakError

    with tempfile.TemporaryDirectory(prefix="bot-replica-soak-") as tmp:
        try:
            result = run_replica_soak(
                settings,
                questions=args.questions,
                chats=args.chats,
                fault_rate=args.fault_rate,
                seed=args.seed,
                kill_once=args.kill_replica_once,
                workdir=args.workdir or Path(tmp),
                progress=_progress,
            )
        except (SoakError, ValueError, RuntimeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(format_replica_soak(result))
    _write_json(args.json_path, result)
    return 0 if result["target_met"] else 1


def _write_json(path: Path | None, data: dict[str, object]) -> None:
    """Keep a run's figures as JSON where asked (``--json``); None means not asked."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(data, ensure_ascii=False, indent=1, default=float)
        path.write_text(payload, encoding="utf-8")


def _progress(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


# The commands whose start builds a shelf (see :func:`_started`).
_SHELF_STARTS = frozenset({"ask", "console", "index", "telegram"})


def _pause_collection(command: str, process: bool) -> None:
    """No cyclic garbage collection until :func:`_started`, for a command that builds a shelf
    in a process of its own (a test calling :func:`main` keeps its collector)."""
    if process and command in _SHELF_STARTS:
        gc.disable()


def _started() -> None:
    """The shelf is built: collect cyclic garbage from now on, never looking again at what the
    start made (frozen: it lives as long as the process).

    :func:`main` pauses the collector for such a start in a process of its own. A start
    allocates hundreds of thousands of long-lived objects (parsed indexes, token lists), and
    the collector scanned them again and again for garbage they do not hold: 0.10–0.13 s of
    a 100-article shelf's start (gc callbacks, 245 young-generation passes).
    """
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def main(argv: Sequence[str] | None = None, *, process: bool = False) -> int:
    """``process``: this is the whole process (``run``), which a one-shot ``ask`` may leave
    without the interpreter's teardown, and whose start runs without the garbage collector
    (:func:`_started`)."""
    args = _parser().parse_args(argv)
    _pause_collection(args.command, process)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, [settings.telegram_token or ""])
    try:
        if args.command == "console":
            return _console(args, settings)
        if args.command == "ask":
            return _ask(args, settings, leave=process)
        if args.command == "telegram":
            return _telegram(args, settings)
        if args.command == "health":
            return _health(settings)
        if args.command == "eval":
            return _eval(args, settings)
        if args.command in ("feedback", "report"):  # what readers asked and voted
            return _feedback(settings) if args.command == "feedback" else _report(args, settings)
        if args.command == "bench":
            return _bench(args, settings)
        if args.command == "soak":
            return _soak(args, settings)
        return _ingest(args, settings) if args.command == "ingest" else _index(settings)
    except (ConfigError, ArticleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (EmbeddingError, IndexStoreError) as exc:
        log.error("%s", exc)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _leave(code: int) -> NoReturn:
    """Exit now: everything is printed, and freeing the tokenizer, the ONNX session and the
    indexes object by object on the way out would cost half a second for nothing."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def run() -> NoReturn:
    """The process entry: ``python -m bot`` and the ``article-bot`` script."""
    sys.exit(main(process=True))


if __name__ == "__main__":
    run()
