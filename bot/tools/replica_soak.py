"""``python -m bot soak --replicas 2``: the soak through two webhook replicas behind HAProxy.

Real parts only, on loopback: PostgreSQL (``bot.tools.pgserver``, chat state, the handled
updates and the question log shared by the replicas), HAProxy with ``deploy/haproxy.cfg``
(a chat stays on one replica while it is up), two ``python -m bot telegram`` processes in
webhook mode, and the fake Bot API delivering each update to the front as Telegram does (one
update per chat at a time, chats in parallel, retried until a 200) with the soak's faults
on ``fault_rate`` of the Bot API calls. Each chat asks its next gold question once the one
before was handled (the webhook's 200, which a replica gives only after handling it).

With ``kill_once`` replica 1 is SIGKILLed once, halfway, and started again. A reply *in
flight* at the kill is one Telegram had delivered while its update had not been answered
200 yet: Telegram delivers that update again and it may be answered twice. Those are counted
apart (``in_flight_at_kill``); a duplicate of any other reply is a bug.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.tools.crash import scratch_data_dir, start_bot
from bot.tools.fakeapi.server import Exchange, FakeBotApi, Fault
from bot.tools.haproxy import deliveries, replicas_up, running_haproxy
from bot.tools.measure import gold_questions, percentiles_ms, rss_mb
from bot.tools.pgserver import fresh_database, running_postgres
from bot.tools.processes import stop
from bot.tools.soak import (
    FAULT_KINDS,
    UPDATE_ONLY_FAULTS,
    SoakError,
    SoakPolicy,
    _by_question,
    _has_a_copy,
    push_question,
    tally,
)

if TYPE_CHECKING:
    from bot.config import Settings

JSONDict = dict[str, Any]
Progress = Callable[[str], None]
SECRET = "soak-webhook-secret-0123456789"
CHAT_BASE = 4_000_000_000  # apart from the other soaks' chats
START_TIMEOUT = 600.0  # a replica loading the model on a busy 2-core machine
STALL_TIMEOUT = 600.0  # no update handled for this long: the run ends, the rest lost
# A reply recorded this long after the kill was already on its way when replica 1 died (the
# CI run of 11561b6 counted one such reply as a duplicate outside the kill).
ON_THE_WIRE_S = 0.5


class ReplicaPolicy(SoakPolicy):
    """The soak's faults (none on getUpdates: webhooks) and the time of each question's
    first delivered reply."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.kinds = tuple(k for k in FAULT_KINDS if k not in UPDATE_ONLY_FAULTS)
        self.first_reply: dict[int, float] = {}

    def observe(self, exchange: Exchange, fault: Fault | None) -> None:
        super().observe(exchange, fault)
        question = getattr(self.local, "question", None)
        if exchange.method == "sendMessage" and exchange.status == 200 and question is not None:
            self.first_reply.setdefault(question, time.monotonic())


class Fleet:
    """The replicas, each on a scratch data directory sharing the model and the index."""

    def __init__(
        self,
        *,
        settings: Settings,
        api: FakeBotApi,
        database: str,
        front: int,
        stack: contextlib.ExitStack,
        stack_log: Path,
    ) -> None:
        self.settings, self.api, self.database, self.front = settings, api, database, front
        self.stack = stack
        self.haproxy_log = stack_log
        self.ports = [_free_port(), _free_port()]
        self.running: dict[int, subprocess.Popen[bytes]] = {}
        self.data: dict[int, Path] = {}
        self.exited: list[str] = []  # replicas that exited by themselves (restarted)

    def start(self, number: int) -> None:
        if number not in self.data:
            self.data[number] = self.stack.enter_context(scratch_data_dir(self.settings))
        self.running[number] = start_bot(
            self.settings,
            self.data[number],
            self.api.base_url,
            self.api.token,
            *("--webhook-url", f"http://127.0.0.1:{self.front}/telegram"),
            *("--listen", "127.0.0.1", "--port", str(self.ports[number - 1])),
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            DATABASE_URL=self.database,
            # Lifted as in the in-process soak: each chat asks far more than 20 a minute, and
            # "too fast" would count as a reply.
            QUESTIONS_PER_MINUTE=str(10**9),
        )

    def kill(self, number: int) -> None:
        process = self.running.pop(number)
        process.kill()
        process.wait(60)

    def keep_up(self) -> None:
        """A replica that exited by itself is noted with its log's tail and started again."""
        for number, process in list(self.running.items()):
            if process.poll() is not None:
                log = self.data[number].parent / "bot.log"
                tail = log.read_text(encoding="utf-8", errors="replace")[-1500:]
                self.exited.append(f"bot{number} exited {process.returncode}: {tail}")
                self.start(number)

    def serving(self, number: int) -> bool:
        """Whether the replica's ``/healthz`` answers 200 (it serves webhooks)."""
        url = f"http://127.0.0.1:{self.ports[number - 1]}/healthz"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(url, timeout=1.0) as response:
                return int(response.status) == 200
        except OSError:
            return False

    def rss(self) -> dict[str, float]:
        return {f"bot{n}": round(rss_mb(p.pid), 1) for n, p in self.running.items()}

    def stop_all(self) -> None:
        for process in self.running.values():
            process.terminate()  # all at once, then each waited for
        for process in self.running.values():
            stop(process, 60)
        self.running.clear()


def run_replica_soak(
    settings: Settings,
    *,
    questions: int,
    chats: int,
    fault_rate: float,
    seed: int = 0,
    kill_once: bool = True,
    workdir: Path,
    progress: Progress = print,
) -> JSONDict:
    """The soak through two replicas; the figures, and ``bot report``'s text of the log."""
    if questions < 1 or chats < 1 or not 0 <= fault_rate < 1:
        raise ValueError("questions and chats must be positive, the fault rate in [0, 1)")
    workdir.mkdir(parents=True, exist_ok=True)
    policy = ReplicaPolicy(seed)
    haproxy_log = workdir / "haproxy.log"
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(running_postgres(workdir / "postgres"))
        database = stack.enter_context(fresh_database(server))
        api = stack.enter_context(FakeBotApi(policy=policy, deliver_webhooks=True))
        front = _free_port()
        fleet = Fleet(
            settings=settings,
            api=api,
            database=database,
            front=front,
            stack=stack,
            stack_log=haproxy_log,
        )
        stack.enter_context(running_haproxy(front, fleet.ports, haproxy_log))
        try:
            fleet.start(1)
            fleet.start(2)
            _until(lambda: replicas_up(haproxy_log) == {"bot1", "bot2"}, fleet, "both up")
            progress("both replicas serve behind HAProxy; soaking")
            rss_start = fleet.rss()
            policy.rate = fault_rate
            run = _drive(
                api,
                policy,
                fleet,
                questions=questions,
                chats=chats,
                seed=seed,
                kill_once=kill_once,
                progress=progress,
            )
            policy.rate = 0.0
            api.wait_idle(10.0)
            rss_end = fleet.rss()
        finally:
            fleet.stop_all()
        report = question_log_report(database)
    calls = list(policy.log)
    figures = tally(run["texts"], calls)
    delivered, _, _ = _by_question(calls)
    duplicated = {q for q in run["texts"] if _has_a_copy(delivered[q])}
    shares = Counter(server for _, _, server, status in deliveries(haproxy_log) if status == 200)
    injected = sum(policy.injected.values())
    all_calls = sum(policy.counts.values())
    result: JSONDict = {
        "questions": questions,
        "chats": chats,
        "fault_rate": fault_rate,
        "seed": seed,
        "sent": len(run["texts"]),
        **figures,
        "in_flight_at_kill": len(run["in_flight"]),
        "duplicated_not_in_flight": len(duplicated - run["in_flight"]),
        "kills": run["kills"],
        "replica_back_after_s": run["back_after_s"],
        "exited_by_themselves": fleet.exited,
        "updates_by_replica": dict(sorted(shares.items())),
        "calls": all_calls,
        "faults_injected": injected,
        "fault_share": injected / all_calls if all_calls else 0.0,
        "faults_by_kind": dict(policy.injected.most_common()),
        "latency_first_reply": percentiles_ms(run["first_reply"], ndigits=1),
        "latency_handled": percentiles_ms(run["handled"], ndigits=1),
        "duration_s": round(run["duration"], 1),
        "rss_start_mb": rss_start,
        "rss_end_mb": rss_end,
        "question_log_report": report,
    }
    result["target_met"] = (
        result["lost"] == 0
        and result["duplicated_not_in_flight"] == 0
        and result["sent"] == questions
    )
    return result


def _kill_replica_1(fleet: Fleet, policy: ReplicaPolicy, unhandled: list[int]) -> set[int]:
    """SIGKILL replica 1; the questions among ``unhandled`` whose reply had reached the Bot
    API by then. A reply sent just before the kill is recorded when the fake API has answered
    it, a moment later: those are waited for before counting."""
    fleet.kill(1)
    killed = time.monotonic()
    time.sleep(ON_THE_WIRE_S)
    return {
        q for q in unhandled if policy.first_reply.get(q, float("inf")) <= killed + ON_THE_WIRE_S
    }


def _drive(
    api: FakeBotApi,
    policy: ReplicaPolicy,
    fleet: Fleet,
    *,
    questions: int,
    chats: int,
    seed: int,
    kill_once: bool,
    progress: Progress,
) -> JSONDict:
    """Every chat asks its next question once the last was handled; one kill halfway."""
    rng = random.Random(seed)
    gold = gold_questions()
    texts: dict[int, str] = {}
    pushed: dict[int, float] = {}
    asking: dict[int, tuple[int, int]] = {}  # chat -> (question, update id)
    handled: list[float] = []
    in_flight: set[int] = set()
    kills, back_after, reported = 0, [], 0
    killed_at: float | None = None
    started = last_progress = time.monotonic()
    while len(texts) < questions or asking:
        pending = {update["update_id"] for update in api.pending_updates}
        now = time.monotonic()
        for chat, (question, update_id) in list(asking.items()):
            if update_id not in pending:
                handled.append(now - pushed[question])
                del asking[chat]
                last_progress = now
        for chat in range(CHAT_BASE, CHAT_BASE + chats):
            if chat in asking or len(texts) >= questions:
                continue
            question = len(texts)
            texts[question] = rng.choice(gold)
            pushed[question] = time.monotonic()
            asking[chat] = (question, push_question(api, policy, chat, question, texts[question]))
        if kill_once and not kills and len(handled) >= questions // 2:
            in_flight = _kill_replica_1(fleet, policy, [q for q, _ in asking.values()])
            kills = 1
            progress(f"SIGKILL replica 1 after {len(handled)} answers ({len(in_flight)} in flight)")
            fleet.start(1)
            killed_at = time.monotonic()
        if killed_at is not None and fleet.serving(1):
            back_after.append(round(time.monotonic() - killed_at, 1))
            killed_at = None
        fleet.keep_up()
        if now - last_progress > STALL_TIMEOUT:
            progress(f"nothing handled for {STALL_TIMEOUT:.0f} s: {len(asking)} left unanswered")
            break
        if len(handled) >= reported + 500:
            reported = len(handled) - len(handled) % 500
            progress(f"{reported}/{questions} handled")
        time.sleep(0.02)
    if killed_at is not None:  # the rest was answered before replica 1 was back: wait for it
        deadline = time.monotonic() + STALL_TIMEOUT
        while not fleet.serving(1) and time.monotonic() < deadline:
            fleet.keep_up()
            time.sleep(0.1)
        if fleet.serving(1):
            back_after.append(round(time.monotonic() - killed_at, 1))
    first = [policy.first_reply[q] - pushed[q] for q in texts if q in policy.first_reply]
    return {
        "texts": texts,
        "in_flight": in_flight,
        "kills": kills,
        "back_after_s": back_after,
        "first_reply": first,
        "handled": handled,
        "duration": time.monotonic() - started,
    }


def question_log_report(database: str, days: int = 1) -> str:
    """``python -m bot report``'s text for the question log in ``database``."""
    from bot.core.postgres import PostgresStore
    from bot.tools.report import build_report, format_text

    until = dt.datetime.now(dt.UTC)
    since = until - dt.timedelta(days=days)
    store = PostgresStore(database)
    try:
        feedback = store.feedback
        return format_text(
            build_report(feedback.questions(since), feedback.votes_by_article(since), since, until)
        )
    finally:
        store.close()


def format_replica_soak(result: JSONDict) -> str:
    r = result
    shares = r["updates_by_replica"]
    total = sum(shares.values()) or 1
    lines = [
        f"Soak through 2 replicas behind HAProxy on PostgreSQL: {r['questions']:,} questions "
        f"from {r['chats']} chats, faults on {r['fault_rate']:.1%} of Bot API calls "
        f"(seed {r['seed']}), {r['kills']} replica SIGKILLed and restarted",
        f"  sent                {r['sent']:>8,}",
        f"  answered            {r['answered']:>8,}   "
        f"(exactly once, no apology: {r['answered_once']:,})",
        f"  lost                {r['lost']:>8,}   (apology only: {r['lost_apologised']:,}, "
        f"no reply at all: {r['lost_silent']:,})",
        f"  duplicated          {r['duplicated']:>8,}   (in flight at the kill: "
        f"{r['in_flight_at_kill']}; duplicated and not in flight: "
        f"{r['duplicated_not_in_flight']})",
        f"  answer + apology    {r['answered_and_apologised']:>8,}",
        f"  Bot API calls       {r['calls']:>8,}   faults injected: {r['faults_injected']:,} "
        f"({r['fault_share']:.1%})",
        f"  first reply         p50 {r['latency_first_reply']['p50_ms']} ms, "
        f"p95 {r['latency_first_reply']['p95_ms']} ms, max {r['latency_first_reply']['max_ms']} ms",
        f"  update handled      p50 {r['latency_handled']['p50_ms']} ms, "
        f"p95 {r['latency_handled']['p95_ms']} ms (asked -> the webhook's 200)",
        f"  duration            {r['duration_s']:.0f} s",
        "  updates by replica  "
        + ", ".join(f"{name} {n:,} ({n / total:.0%})" for name, n in shares.items()),
        f"  replica 1 back      {', '.join(f'{s:.0f}' for s in r['replica_back_after_s'])} s "
        "after the kill (its /healthz answering 200)",
        f"  RSS (MB)            start {r['rss_start_mb']}, end {r['rss_end_mb']}",
        f"  target              0 lost, 0 duplicated outside the kill's in-flight replies: "
        f"{'MET' if r['target_met'] else 'NOT MET'}",
    ]
    if r["exited_by_themselves"]:
        lines.append(f"  replicas that exited by themselves: {len(r['exited_by_themselves'])}")
    if r["lost_by_fault"]:
        lines.append("  lost, by the faults on their calls:")
        lines += [f"    {n:>6,}  {k}" for k, n in list(r["lost_by_fault"].items())[:6]]
    lines += ["", "bot report on the soak's question log:", r["question_log_report"]]
    return "\n".join(lines)


def _until(condition: Callable[[], bool], fleet: Fleet, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        fleet.keep_up()
        if fleet.exited:
            raise SoakError(fleet.exited[-1])
        if time.monotonic() > deadline:
            raise SoakError(f"not within {START_TIMEOUT:.0f} s: {what}")
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
