"""The refusal rule judged the way a reader meets it: on articles it never saw.

Every article of the pool (the bundled one with its gold set, the CMRC and XQuAD
articles of ``data/pool`` and ``data/unseen``) is indexed once and each of its
questions scored once through the same core the adapters use. The rule is then
fitted with cross-validation *by article*: the articles of one fold are judged by a
rule fitted on the other folds, so no figure reads a fact about its own article.

Reported per source and question language, as delivered: hit@1 where a refusal counts
as a miss, hit@1 with refusals ignored, the share of answerable questions refused, the
share of unanswerable (off-topic) ones refused, the share of near-misses refused (XQuAD's
held-back context, :mod:`bot.tools.make_pool`), and a plain dense e5 pipeline on the same
articles (the paragraph with the highest cosine, never refusing) for comparison.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.core.engine import ArticleBot
from bot.tools.evaluate import (
    GOLD,
    UNSEEN,
    GoldItem,
    Outcome,
    Scored,
    core_for,
    fit_rules,
    load_gold,
    outcome,
    score,
)
from embeddings.retrieval import FusionConfig

POOL_DIR = GOLD.with_name("pool")
FOLDS = 6
# A question about the article's subject answered only in text the article lacks
# (bot.tools.make_pool): reported apart from off-topic questions, fitted on like them.
NEAR_MISS = "near_miss"


@dataclass(frozen=True)
class PoolArticle:
    source: str  # "bundled", "cmrc" or "xquad"
    name: str
    article: Path | None  # None: the core's own (bundled) article
    questions: Path


def pool_articles(pool_dir: Path = POOL_DIR) -> list[PoolArticle]:
    """The bundled article, the unseen CMRC articles, then the pool's, in a fixed order."""
    out = [PoolArticle("bundled", "bundled", None, GOLD)]
    out += [PoolArticle("cmrc", md.stem, md, jsonl) for md, jsonl in UNSEEN]
    for md in sorted(pool_dir.glob("*_[0-9][0-9].md")):  # not the folder's README.md
        source = md.stem.split("_")[0]
        out.append(PoolArticle(source, md.stem, md, md.with_suffix(".jsonl")))
    return out


@dataclass
class PoolScored:
    """One question's scores, with the article it was asked about."""

    source: str
    article: str
    scored: Scored


def score_pool(
    core: ArticleBot,
    index_root: Path,
    articles: Iterable[PoolArticle],
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[PoolScored], int]:
    """Every pool question scored once; the second value counts gold items dropped.

    An item is dropped when its answer quote is in no passage (a conversion or cleaning
    difference between the data set's answer and the article as ingested).
    """
    out: list[PoolScored] = []
    dropped = 0
    for entry in articles:
        progress(f"pool article {entry.name}: indexing and scoring")
        bot = (
            core
            if entry.article is None
            else core_for(entry.article, core, index_root / entry.name)
        )
        items = load_gold(entry.questions)
        kept = [i for i in items if not i.answerable or _quoted(bot, i)]
        dropped += len(items) - len(kept)
        out += [PoolScored(entry.source, entry.name, s) for s in score(bot, kept)]
    return out, dropped


def _quoted(bot: ArticleBot, item: GoldItem) -> bool:
    return any(a in p.text for p in bot.retriever.passages for a in item.answers)


def article_folds(scored: list[PoolScored], k: int = FOLDS) -> list[set[str]]:
    """Articles dealt round-robin into ``k`` folds, each source spread over all of them."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for s in scored:
        if s.article not in by_source[s.source]:
            by_source[s.source].append(s.article)
    ordered = [name for source in sorted(by_source) for name in by_source[source]]
    return [set(ordered[i::k]) for i in range(k)]


def cross_validate_by_article(
    scored: list[PoolScored], fusion: FusionConfig, k: int = FOLDS
) -> list[tuple[PoolScored, Outcome]]:
    """Each fold's articles judged by rules fitted on the other folds' questions."""
    held_out: list[tuple[PoolScored, Outcome]] = []
    for fold in article_folds(scored, k):
        train = [s.scored for s in scored if s.article not in fold]
        rules = fit_rules(train, fusion)
        for s in scored:
            if s.article in fold:
                held_out.append((s, outcome(s.scored, fusion, rules)))
    return held_out


def _plain_first(s: Scored) -> bool:
    """A plain dense pipeline's answer: the paragraph with the highest cosine."""
    return s.plain is not None and int(np.argmax(s.plain)) in s.relevant


def table(held_out: list[tuple[PoolScored, Outcome]]) -> dict[str, dict[str, Any]]:
    """Per source and question language ("zh" folds both scripts): the delivered figures."""
    groups: dict[str, list[tuple[PoolScored, Outcome]]] = defaultdict(list)
    for s, o in held_out:
        lang = "en" if o.item.lang == "en" else "zh"
        groups[f"{s.source} {lang}"].append((s, o))
        groups[f"{s.source} all"].append((s, o))
    out = {}
    for key in sorted(groups):
        rows = groups[key]
        answerable = [(s, o) for s, o in rows if o.item.answerable]
        unanswerable = [o for _, o in rows if not o.item.answerable and o.item.kind != NEAR_MISS]
        near = [o for _, o in rows if o.item.kind == NEAR_MISS]
        n = len(answerable) or 1
        out[key] = {
            "answerable": len(answerable),
            "unanswerable": len(unanswerable),
            "near_misses": len(near),
            "delivered_hit@1": sum(o.rank == 1 and not o.refused for _, o in answerable) / n,
            "hit@1": sum(o.rank == 1 for _, o in answerable) / n,
            "answerable_refused": sum(o.refused for _, o in answerable) / n,
            "unanswerable_refused": sum(o.refused for o in unanswerable) / (len(unanswerable) or 1),
            "near_miss_refused": sum(o.refused for o in near) / len(near) if near else None,
            "plain_dense_hit@1": sum(_plain_first(s.scored) for s, _ in answerable) / n,
        }
    return out


def evaluate_pool(
    core: ArticleBot,
    index_root: Path,
    progress: Callable[[str], None] = lambda _: None,
    articles: Iterable[PoolArticle] | None = None,
) -> dict[str, Any]:
    """Held-out-by-article figures, and the rules fitted on the whole pool (what ships)."""
    scored, dropped = score_pool(core, index_root, articles or pool_articles(), progress)
    fusion = core.retriever.fusion
    progress(f"cross-validating the refusal rules by article over {len(scored)} questions")
    held_out = cross_validate_by_article(scored, fusion)
    fitted = fit_rules([s.scored for s in scored], fusion)
    deployed = [(s, outcome(s.scored, fusion, core.refusal)) for s in scored]
    return {
        "questions": len(scored),
        "articles": len({s.article for s in scored}),
        "dropped": dropped,
        "heldout_by_article": table(held_out),
        "deployed_in_sample": table(deployed),
        "fitted": fitted.to_json(),
    }


def format_pool(report: dict[str, Any]) -> str:
    lines = [
        f"\nPool: {report['articles']} articles, {report['questions']} questions "
        f"({report['dropped']} dropped: answer quote in no passage)",
    ]
    header = (
        f"  {'':<14}{'ans':>5}{'unans':>6}{'near':>5}{'deliv@1':>9}{'hit@1':>7}"
        f"{'ans ref':>9}{'unans ref':>10}{'near ref':>9}{'dense@1':>9}"
    )
    for title, key in (
        ("Held out by article (rules fitted on the other articles)", "heldout_by_article"),
        ("Deployed rules, in sample", "deployed_in_sample"),
    ):
        lines += [f"\n{title}", header]
        for name, f in report[key].items():
            near = "—" if f["near_miss_refused"] is None else f"{f['near_miss_refused']:.3f}"
            lines.append(
                f"  {name:<14}{f['answerable']:>5}{f['unanswerable']:>6}{f['near_misses']:>5}"
                f"{f['delivered_hit@1']:>9.3f}{f['hit@1']:>7.3f}{f['answerable_refused']:>9.3f}"
                f"{f['unanswerable_refused']:>10.3f}{near:>9}{f['plain_dense_hit@1']:>9.3f}"
            )
    lines.append(f"\nFitted on the whole pool: {report['fitted']}")
    return "\n".join(lines)
