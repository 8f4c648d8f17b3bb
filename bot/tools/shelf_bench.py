"""The shelf as it grows: index build, resident memory and answer time with 1, 10, 100 articles.

Articles come from a script, never from the repository's own: Chinese Wikipedia text
from the CMRC 2018 *trial* set when its file is given (``--cmrc``; two consecutive
contexts an article, through the quality generator ``bot.tools.make_cmrc_articles``,
its own questions as gold), else synthetic Markdown articles about invented places, each
with questions only it answers. Either way every question has one right article, so
the bench also reports how often the shelf quotes it (``own_article``), and, in the
full run, how the rules for choosing among articles compare (``rules``).

Memory is measured in a fresh ``python -m bot ask --json`` per size, serving the
shelf from its reused indexes, like the rest of ``python -m bot bench``.

``--contexts DATA`` measures issue 19's shelf at scale instead: every CMRC trial and XQuAD
dev context as an article of its own (:mod:`bot.tools.context_articles`, 376 articles),
every question with an answer timed once, in a work directory (``--shelf-dir``) whose
indexes a later run reuses.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bot.config import Settings
from bot.core.answer import Answer
from bot.core.shelf import Shelf
from bot.tools.context_articles import write_context_articles
from bot.tools.measure import percentiles_ms, rss_mb, serve_ask, share_model
from embeddings.encoder import QueryCache

Progress = Callable[[str], None]
Result = dict[str, object]

# Contexts of the CMRC trial set per generated article: about five paragraphs each, and
# 100 articles use 200 of its 256 contexts.
CMRC_CONTEXTS = 2


@dataclass(frozen=True)
class ShelfPlan:
    sizes: tuple[int, ...]
    questions: int  # timed per size (distinct; drawn round-robin over the shelf's articles)
    rules: bool  # ask every article every question, to compare choosing rules (slow)
    gold_neighbours: int  # the gold set on the bundled article among this many others; 0: skip


QUICK = ShelfPlan(sizes=(1, 3), questions=6, rules=False, gold_neighbours=0)
FULL = ShelfPlan(sizes=(1, 10, 100), questions=40, rules=True, gold_neighbours=9)


@dataclass(frozen=True)
class Question:
    text: str
    article: str  # the shelf name of the article that answers it
    answer: str  # text the right passage holds


# ---- articles -----------------------------------------------------------------------------------

_PLACES = [
    "Aldmoor", "Brenvik", "Carrowgate", "Dunmere", "Elsfield", "Farrowby", "Glenhallow",
    "Harrowdale", "Ivybridge", "Kestrelton", "Larkspur", "Marrowick", "Northcombe", "Oakhurst",
    "Pennwick", "Quarrydale", "Ravensholt", "Saltmarsh", "Thornbury", "Umberleigh",
]  # fmt: skip
_THINGS = [
    ("clock tower", "built"), ("stone bridge", "built"), ("library", "founded"),
    ("observatory", "opened"), ("paper mill", "opened"), ("botanical garden", "planted"),
    ("lifeboat station", "founded"), ("opera house", "opened"), ("salt works", "founded"),
    ("tram line", "opened"),
]  # fmt: skip


def synthetic_article(number: int) -> tuple[str, list[tuple[str, str]]]:
    """A Markdown article about an invented place, and (question, answer text) pairs for it."""
    rng = random.Random(number)
    place = f"{_PLACES[number % len(_PLACES)]} {number // len(_PLACES) + 1}"
    things = rng.sample(_THINGS, 3)
    lines = [f"# A Guide to {place}", ""]
    lines += [f"{place} is a small town of {rng.randint(2, 90)},000 people on a river delta.", ""]
    questions = []
    for thing, verb in things:
        year, count, price = rng.randint(1700, 1990), rng.randint(3, 60), rng.randint(2, 40)
        lines += [f"## The {thing}", ""]
        fact = f"The {thing} of {place} was {verb} in {year}."
        lines += [f"{fact} It is {count} metres from the market square.", ""]
        lines += [f"Entry to the {thing} costs {price} crowns; it is shut in winter.", ""]
        questions.append((f"When was the {thing} of {place} {verb}?", str(year)))
    return "\n".join(lines), questions


def cmrc_article(data: list[dict], number: int) -> tuple[str, list[tuple[str, str]]]:
    """Two CMRC contexts as one article, with their own (answerable) questions."""
    from bot.tools.make_cmrc_articles import build

    name = f"cmrc_{number:03d}"
    text, gold = build(data, number * CMRC_CONTEXTS, CMRC_CONTEXTS, name, traditional=False)
    return text, [(g["question"], g["answers"][0]) for g in gold if g["answers"]]


def write_articles(folder: Path, count: int, cmrc: Path | None) -> list[Question]:
    """``count`` articles in ``folder`` (one file each); every question with its article."""
    folder.mkdir(parents=True, exist_ok=True)
    data = json.loads(cmrc.read_text(encoding="utf-8"))["data"] if cmrc else None
    if data is not None and count * CMRC_CONTEXTS > len(data):
        raise ValueError(f"the CMRC file has {len(data)} contexts: too few for {count} articles")
    questions = []
    for number in range(count):
        name = f"article_{number:03d}"
        text, pairs = cmrc_article(data, number) if data else synthetic_article(number)
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
        questions += [Question(q, name, answer) for q, answer in pairs]
    return questions


def _round_robin(questions: list[Question], count: int) -> list[Question]:
    """Up to ``count`` questions, taking each article's first, then each one's second, …"""
    by_article: dict[str, list[Question]] = {}
    for q in questions:
        by_article.setdefault(q.article, []).append(q)
    out: list[Question] = []
    for rank in range(max(len(v) for v in by_article.values())):
        for items in by_article.values():
            if rank < len(items) and len(out) < count:
                out.append(items[rank])
    return out


# ---- measuring ----------------------------------------------------------------------------------


def _hit(answer: Answer, question: Question) -> bool:
    return bool(answer.quotes) and question.answer in answer.quotes[0].text


def _served(
    settings: Settings, folder: Path, questions: list[str], cores: int | None = None
) -> Result:
    """A fresh ``python -m bot ask --json`` on the shelf: first answer and serving RSS
    (with ``cores``, that many article cores kept in memory at most: ``SHELF_CORES``)."""
    env = {**os.environ, "ARTICLES_DIR": str(folder)}
    if cores is not None:
        env["SHELF_CORES"] = str(cores)
    env.pop("ARTICLE_PATH", None)
    args = ["--data-dir", str(settings.data_dir), "--model", settings.model]
    served = serve_ask(args, questions, env)
    return {
        "first_answer_warm_s": served["first_answer_s"],
        "serving_rss_peak_mb": served["serving_rss_peak_mb"],
    }


def _timed_asks(shelf: Shelf, questions: list[Question]) -> tuple[list[float], list[Answer]]:
    """Each question once, in order: distinct texts, so the query cache only helps across
    articles (one encoding a question, as in service), never across questions. The term
    cache is emptied before each question for the same reason: a word another question
    had is a cache hit, not a latency."""
    times, answers = [], []
    encoder = shelf.first()[1].retriever.encoder
    for q in questions:
        encoder.term_cache = QueryCache()
        start = time.perf_counter()
        answers.append(shelf.ask(q.text))
        times.append(time.perf_counter() - start)
    return times, answers


def _shown_similarity(answer: Answer) -> float:
    shown = answer.quotes[0] if answer.quotes else answer.closest
    return shown.similarity if shown else 0.0


RULES: dict[str, Callable[[Answer], tuple[float, ...]]] = {
    # The shelf's rule: an answer beats a refusal, then the best quote's dense similarity.
    "answered, then best quote's similarity": lambda a: (a.answered, _shown_similarity(a)),
    "best quote's similarity alone": lambda a: (_shown_similarity(a),),
    "answered, then any quote's highest similarity": lambda a: (
        a.answered,
        max((q.similarity for q in a.quotes), default=_shown_similarity(a)),
    ),
    # Fused scores are min-max normalised per article: the top one is ~1 everywhere.
    "answered, then fused score (not comparable)": lambda a: (
        a.answered,
        a.quotes[0].score if a.quotes else 0.0,
    ),
}


def compare_rules(shelf: Shelf, questions: list[Question]) -> Result:
    """Every article answers every question on its own; each rule then picks one answer."""
    names = shelf.names()
    right = dict.fromkeys(RULES, 0)
    for q in questions:
        answers = [shelf.ask(q.text, article=name) for name in names]
        for rule, key in RULES.items():
            keys = [key(answer) for answer in answers]
            right[rule] += names[keys.index(max(keys))] == q.article
    return {rule: count / len(questions) for rule, count in right.items()}


def shelf_size(
    settings: Settings, scratch: Path, count: int, plan: ShelfPlan, *, cmrc: Path | None,
    progress: Progress,
) -> Result:  # fmt: skip
    """One shelf of ``count`` generated articles, indexed from nothing: build, answer, serve."""
    from bot.build import build_shelf

    folder = scratch / f"articles_{count}"
    questions = write_articles(folder, count, cmrc)
    sized = replace(
        settings, data_dir=_own_data_dir(settings, scratch), articles_dir=folder, articles=()
    )
    progress(f"shelf of {count}: indexing")
    start = time.perf_counter()
    shelf = build_shelf(sized)
    build_s = time.perf_counter() - start
    asked = _round_robin(questions, plan.questions)
    progress(f"shelf of {count}: {len(asked)} questions")
    times, answers = _timed_asks(shelf, asked)
    latency = percentiles_ms(times)
    result: Result = {
        "articles": len(shelf),
        "paragraphs": sum(e.paragraphs for e in shelf.entries()),
        "index_build_s": build_s,
        "answer_p50_ms": latency["p50_ms"],
        "answer_p95_ms": latency["p95_ms"],
        "questions": len(asked),
        "own_article": sum(a.article == q.article for a, q in zip(answers, asked, strict=True))
        / len(asked),
        "hit_at_1": sum(_hit(a, q) for a, q in zip(answers, asked, strict=True)) / len(asked),
    }
    if count > shelf.shortlist:
        everything = Shelf(shelf.load, folder, shortlist=count)
        everything.reload()  # the same indexes, reused: only the shortlist differs
        all_times, all_answers = _timed_asks(everything, asked)
        result["no_shortlist"] = {
            "answer_p50_ms": percentiles_ms(all_times)["p50_ms"],
            "own_article": sum(
                a.article == q.article for a, q in zip(all_answers, asked, strict=True)
            )
            / len(asked),
        }
        if plan.rules:
            progress(f"shelf of {count}: every article answers every question (rules)")
            result["rules"] = compare_rules(everything, asked)
        del everything
    del shelf
    progress(f"shelf of {count}: serving from a fresh process")
    result.update(_served(sized, folder, [q.text for q in asked]))
    return result


def _own_data_dir(settings: Settings, scratch: Path) -> Path:
    """A data directory with no index in it, sharing the converted model (no conversion)."""
    data_dir = scratch / "data"
    data_dir.mkdir(parents=True)
    share_model(settings.data_dir, data_dir)
    return data_dir


def gold_on_shelf(
    settings: Settings, scratch: Path, neighbours: int, cmrc: Path | None, progress: Progress
) -> Result:
    """The project's gold set on ``settings.article`` alone, then among ``neighbours`` others.

    What a shelf can cost: an answerable question quoted from another article, or an
    unanswerable one that some other article answers with confidence.
    """
    from bot.build import build_shelf
    from bot.tools.evaluate import load_gold

    folder = scratch / "neighbours"
    write_articles(folder, neighbours, cmrc)
    progress(f"gold set: the bundled article among {neighbours} others")
    data_dir = _own_data_dir(settings, scratch)
    shelf = build_shelf(replace(settings, data_dir=data_dir, articles_dir=folder,
                                articles=(settings.article,)))  # fmt: skip
    home = shelf.names()[0]
    gold = load_gold()
    out: Result = {"articles": len(shelf), "questions": len(gold)}
    for label, article in (("alone", home), ("shelf", None)):
        answers = [shelf.ask(item.question, article=article) for item in gold]
        pairs = list(zip(gold, answers, strict=True))
        answerable = [(g, a) for g, a in pairs if g.answerable]
        unanswerable = [a for g, a in pairs if not g.answerable]
        out[label] = {
            "answerable_from_own_article": sum(a.article == home for _, a in answerable)
            / len(answerable),
            "answerable_refused": sum(not a.answered for _, a in answerable) / len(answerable),
            "unanswerable_refused": sum(not a.answered for a in unanswerable) / len(unanswerable),
        }
    return out


def shelf_scaling(
    settings: Settings, scratch: Path, quick: bool, cmrc: Path | None, progress: Progress
) -> Result:
    """The shelf at every size of the plan, each size indexed from nothing (the model shared)."""
    plan = QUICK if quick else FULL
    result: Result = {
        "source": "CMRC 2018 trial set" if cmrc else "synthetic",
        "sizes": [
            shelf_size(settings, scratch / f"shelf_{n}", n, plan, cmrc=cmrc, progress=progress)
            for n in plan.sizes
        ],
    }
    if plan.gold_neighbours:
        result["gold"] = gold_on_shelf(
            settings, scratch / "gold", plan.gold_neighbours, cmrc, progress
        )
    return result


def shelf_rows(result: Result) -> list[tuple[str, str, str, bool | None]]:
    """Rows for the bench table: per size, build, p50, RSS and how often the right article."""
    rows: list[tuple[str, str, str, bool | None]] = []
    sizes: list[dict] = result["sizes"]  # type: ignore[assignment]
    for size in sizes:
        label = f"shelf of {size['articles']} ({size['paragraphs']} paragraphs, {result['source']})"
        rows += [
            (f"{label}: index build", f"{size['index_build_s']:.1f} s", "", None),
            (f"{label}: answer p50", f"{size['answer_p50_ms']:.0f} ms", "", None),
            (f"{label}: serving RSS", f"{size['serving_rss_peak_mb']:.0f} MB", "", None),
            (f"{label}: own article quoted", f"{size['own_article']:.0%}", "", None),
        ]
        if "no_shortlist" in size:
            full = size["no_shortlist"]
            value = f"{full['answer_p50_ms']:.0f} ms, own article {full['own_article']:.0%}"
            rows.append((f"{label}: searching every article", value, "", None))
        for rule, share in size.get("rules", {}).items():
            rows.append((f"{label}: rule {rule}", f"{share:.0%}", "", None))
    gold: dict | None = result.get("gold")  # type: ignore[assignment]
    if gold:
        for label in ("alone", "shelf"):
            figures = gold[label]
            where = "alone" if label == "alone" else f"among {gold['articles'] - 1} others"
            value = (
                f"answerable from it {figures['answerable_from_own_article']:.0%}, "
                f"refused {figures['answerable_refused']:.0%}; "
                f"unanswerable refused {figures['unanswerable_refused']:.0%}"
            )
            rows.append((f"gold set, bundled article {where}", value, "", None))
    return rows


def run_shelf_bench(
    settings: Settings, *, quick: bool, cmrc: Path | None, progress: Progress
) -> Result:
    """``python -m bot bench --shelf-only``: this section alone, in a scratch data directory."""
    scratch = Path(tempfile.mkdtemp(prefix="article-bot-shelf-"))
    try:
        data_dir = scratch / "data"
        data_dir.mkdir()
        share_model(settings.data_dir, data_dir)  # else the first build converts the model
        started = time.perf_counter()
        served = replace(settings, data_dir=data_dir)
        result = shelf_scaling(served, scratch / "shelf", quick, cmrc, progress)
        result["duration_s"] = time.perf_counter() - started
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def format_shelf(result: Result) -> str:
    rows = shelf_rows(result)
    width = max(len(r[0]) for r in rows)
    lines = [f"{figure:<{width}}  {value}" for figure, value, _, _ in rows]
    return "\n".join([*lines, f"\n(shelf bench took {result['duration_s']:.0f} s)"])


# ---- the shelf at scale: every CMRC trial and XQuAD dev context an article ---------------------


# Questions a fresh ``ask`` answers while its resident memory is sampled: up to six articles
# searched a question, so its cache of cores fills.
CONTEXT_SERVED = 300


# A question without a Chinese character is one of XQuAD's English twins.
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _distinct(questions: list[Question]) -> list[Question]:
    """Each question text once (the first article it was asked of keeps it)."""
    seen: dict[str, Question] = {}
    for q in questions:
        seen.setdefault(q.text, q)
    return list(seen.values())


def _share(
    answers: list[Answer], asked: list[Question], keep: Callable[[Question], bool]
) -> Result:
    pairs = [(a, q) for a, q in zip(answers, asked, strict=True) if keep(q)]
    count = max(len(pairs), 1)
    return {
        "questions": len(pairs),
        "own_article": sum(a.article == q.article for a, q in pairs) / count,
        "hit_at_1": sum(_hit(a, q) for a, q in pairs) / count,
    }


def run_context_bench(
    settings: Settings,
    data: Path,
    workdir: Path | None,
    *,
    questions: int | None,
    progress: Progress,
) -> Result:
    """The shelf of every context of ``data`` (the folder of the CMRC trial and XQuAD dev
    files) in ``workdir`` (None: a scratch directory, indexed from nothing)."""
    if workdir is not None:
        return _context_shelf(settings, data, workdir, questions, progress)
    scratch = Path(tempfile.mkdtemp(prefix="article-bot-contexts-"))
    try:
        return _context_shelf(settings, data, scratch, questions, progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _context_shelf(
    settings: Settings, data: Path, workdir: Path, questions: int | None, progress: Progress
) -> Result:
    """Start, every distinct answerable question timed in this process (``questions``: a
    random sample of that many), then serving RSS of a fresh ``ask`` over a random
    :data:`CONTEXT_SERVED` of them, keeping ``settings.shelf_cores`` cores and keeping every
    core (the shelf as it was before cores were cached)."""
    from bot.build import build_shelf

    folder = workdir / "articles"
    gold = [Question(g.text, g.article, g.answer) for g in write_context_articles(data, folder)]
    data_dir = workdir / "data"
    if not (data_dir / "models").is_dir():
        data_dir.mkdir(parents=True, exist_ok=True)
        share_model(settings.data_dir, data_dir)
    sized = replace(settings, data_dir=data_dir, articles_dir=folder, articles=())
    progress(f"shelf of every context: starting (indexes in {data_dir}, reused when built)")
    started = time.perf_counter()
    shelf = build_shelf(sized)
    start_s = time.perf_counter() - started
    asked = _distinct(gold)
    if questions is not None and questions < len(asked):  # a sample over every source
        asked = random.Random(0).sample(asked, questions)
    progress(f"shelf of {len(shelf)}: {len(asked)} distinct questions, {rss_mb():.0f} MB now")
    times, answers = _timed_asks(shelf, asked)
    latency = percentiles_ms(times)
    english = lambda q: not _CHINESE.search(q.text)  # noqa: E731
    result: Result = {
        "source": "every CMRC 2018 trial and XQuAD dev context",
        "articles": len(shelf),
        "paragraphs": sum(e.paragraphs for e in shelf.entries()),
        "start_s": start_s,
        "answer_p50_ms": latency["p50_ms"],
        "answer_p95_ms": latency["p95_ms"],
        **_share(answers, asked, lambda q: True),
        "by_source": {
            "CMRC": _share(answers, asked, lambda q: q.article.startswith("cmrc")),
            "XQuAD Chinese": _share(
                answers, asked, lambda q: q.article.startswith("xquad") and not english(q)
            ),
            "XQuAD English": _share(
                answers, asked, lambda q: q.article.startswith("xquad") and english(q)
            ),
        },
        "cores": settings.shelf_cores,
        "cores_in_memory": shelf.loaded()[0],
        "cores_built_again": shelf.loaded()[1],
        "bench_rss_mb": rss_mb(),
    }
    count = len(shelf)
    del shelf
    sample = [q.text for q in random.Random(0).sample(asked, min(CONTEXT_SERVED, len(asked)))]
    for label, cores in (("served", settings.shelf_cores), ("served_every_core", count)):
        progress(f"shelf of {count}: serving {len(sample)} questions, {cores} cores kept")
        result[label] = {"cores": cores, **_served(sized, folder, sample, cores)}
    return result


def format_context_bench(result: Result) -> str:
    label = f"shelf of {result['articles']} ({result['paragraphs']} paragraphs, {result['source']})"
    lines = [
        label,
        f"  start (indexes reused): {result['start_s']:.1f} s",
        f"  answer over {result['questions']} distinct questions: p50 "
        f"{result['answer_p50_ms']:.0f} ms, p95 {result['answer_p95_ms']:.0f} ms "
        f"({result['cores']} cores kept; {result['cores_built_again']} built again)",
        f"  right article quoted: {result['own_article']:.1%}, "
        f"answer text in the top quote: {result['hit_at_1']:.1%}",
    ]
    by_source: dict[str, Result] = result["by_source"]  # type: ignore[assignment]
    for source, figures in by_source.items():
        lines.append(
            f"    {source} ({figures['questions']}): right article {figures['own_article']:.1%}, "
            f"top quote {figures['hit_at_1']:.1%}"
        )
    for key in ("served", "served_every_core"):
        served: Result = result[key]  # type: ignore[assignment]
        lines.append(
            f"  fresh `ask`, {served['cores']} cores kept: serving RSS "
            f"{served['serving_rss_peak_mb']:.0f} MB, "
            f"first answer {served['first_answer_warm_s']:.1f} s"
        )
    return "\n".join(lines)
