"""Measure retrieval and refusal on the gold set, with parameters chosen by cross-validation.

Every question's dense and lexical scores are computed once through the same core
the adapters use; fusion and refusal parameters are then cheap to vary. Figures
are reported on held-out folds, so they say how the tuned bot does on questions
it was not tuned on.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.core.answer import Answer, AnswerKind
from bot.core.answerability import Evidence, holds
from bot.core.engine import (
    FEATURES,
    GATES,
    SIGNS,
    ArticleBot,
    RefusalRule,
    RefusalRules,
    refusal_features,
)
from bot.core.followup import Turn
from bot.core.question import Question
from corpus.ingest import load_article
from embeddings.lexical import LexicalIndex
from embeddings.normalize import word_tokens
from embeddings.passages import passages_of
from embeddings.retrieval import FusionConfig, Retriever, fuse, fuse_cross, ranking
from embeddings.store import load_or_build

# The bundled gold set ships as package data, so `bot eval` works from an installed wheel.
GOLD = Path(__file__).resolve().parent / "data" / "gold.jsonl"
FOLLOWUPS = GOLD.with_name("followups.jsonl")
# Articles nothing is tuned on (bot/tools/data/unseen/README.md): each with its questions.
UNSEEN_DIR = GOLD.with_name("unseen")
UNSEEN = tuple(
    (UNSEEN_DIR / f"{name}.md", UNSEEN_DIR / f"{name}.jsonl")
    for name in ("cmrc_a", "cmrc_b", "cmrc_c")
)
# The refusal rule may decline at most this share of the answerable questions it is fitted on.
# Held out by article the share lands higher (fitted at 2%, unseen XQuAD Chinese questions
# were declined 3.2% of the time); 1.5% keeps unseen articles under 3%.
MAX_ANSWERABLE_REFUSED = 0.015


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    lang: str
    kind: str
    answers: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load_gold(path: Path = GOLD) -> list[GoldItem]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            items.append(
                GoldItem(
                    data["id"],
                    data["question"],
                    data["lang"],
                    data["kind"],
                    tuple(data["answers"]),
                )
            )
    return items


@dataclass
class Scored:
    """What the ranking and refusal rules read for one question, computed once."""

    item: GoldItem
    screened: bool  # declined before any search (greeting, empty, too long)
    dense: np.ndarray
    lexical: np.ndarray
    coverage: float
    cross: bool  # no Chinese in the question: scored across languages
    relevant: frozenset[int]
    # For a question with no Chinese: dense, character, lexicon and pinyin scores.
    signals: np.ndarray | None = None
    evidence: Evidence | None = None  # missing terms and the answer type asked for
    holds: np.ndarray | None = None  # per passage: it holds that type of answer
    reference: float = 0.0  # off-topic questions' dense score on this article
    overview: bool = False  # answered with the overview (lead paragraph and sections)
    plain: np.ndarray | None = None  # each paragraph's cosine alone (a plain dense pipeline)
    place: np.ndarray | None = None  # the opening, close or section it asks about, if any


@dataclass(frozen=True)
class Outcome:
    item: GoldItem
    rank: int | None  # 1-based rank of the first relevant passage; None if not in the ranking
    refused: bool


def score(
    core: ArticleBot, items: list[GoldItem], lexical: LexicalIndex | None = None
) -> list[Scored]:
    """``lexical`` swaps in another lexical index (to compare tokenisers); default: the core's."""
    retriever = core.retriever
    lexical = lexical or retriever.lexical
    analysed = [Question.of(item.question) for item in items]
    vectors = retriever.encoder.encode_queries([q.searched for q in analysed])
    dense = retriever.dense_scores(vectors)
    signals = retriever.signals_many([q.searched for q in analysed], dense)
    plain = retriever.paragraph_scores(vectors)
    out = []
    checker = core.answerability
    texts = [p.lexical_text() for p in retriever.passages]
    for row, (item, asked) in enumerate(zip(items, analysed, strict=True)):
        question, cross = asked.searched, asked.cross
        evidence = checker.evidence(question, "") if checker else None
        early = core.screen(asked)
        key = "offtopic_dense_cross" if cross else "offtopic_dense"
        relevant = frozenset(
            i for i, p in enumerate(retriever.passages) if any(a in p.text for a in item.answers)
        )
        if item.answerable and not relevant:
            raise ValueError(f"gold item {item.id}: no passage contains its answer quotes")
        out.append(
            Scored(
                item=item,
                screened=early is not None and early.kind is not AnswerKind.OVERVIEW,
                overview=early is not None and early.kind is AnswerKind.OVERVIEW,
                dense=dense[row],
                lexical=lexical.scores(question),
                coverage=lexical.coverage(question),
                cross=cross,
                relevant=relevant,
                signals=signals[row],
                evidence=evidence,
                holds=np.array([holds(evidence.wanted, t) for t in texts]) if evidence else None,
                reference=retriever.calibration.get(key, 0.0),
                plain=plain[row],
                place=retriever.place_of(question),
            )
        )
    return out


def ranking_order(s: Scored, fusion: FusionConfig) -> np.ndarray:
    """Passages best first, exactly as the retriever orders them."""
    if s.signals is not None:
        fused = fuse_cross(s.signals, fusion)
    else:
        fused = fuse(s.dense, s.lexical, fusion)
    return ranking(fused, s.dense, s.place)


def outcome(s: Scored, fusion: FusionConfig, rules: RefusalRules) -> Outcome:
    if s.overview:  # the lead paragraph is quoted, nothing is searched or refused
        return Outcome(s.item, 1 if 0 in s.relevant else None, refused=False)
    order = ranking_order(s, fusion)
    rank = next((r + 1 for r, i in enumerate(order) if i in s.relevant), None)
    refused = s.screened or (
        s.place is None and rules.for_cross(s.cross).refuses(features(s, int(order[0])))
    )
    return Outcome(s.item, rank, refused)


def summarise(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    outcomes = list(outcomes)
    answerable = [o for o in outcomes if o.item.answerable]
    unanswerable = [o for o in outcomes if not o.item.answerable]

    def ranking(group: list[Outcome]) -> dict[str, float]:
        n = len(group) or 1
        return {
            "n": len(group),
            "hit@1": sum(o.rank == 1 for o in group) / n,
            "hit@3": sum(o.rank is not None and o.rank <= 3 for o in group) / n,
            "mrr": sum(1 / o.rank for o in group if o.rank) / n,
            "answered_right": sum(o.rank == 1 and not o.refused for o in group) / n,
        }

    by: dict[str, dict[str, list[Outcome]]] = {"lang": defaultdict(list), "kind": defaultdict(list)}
    for o in answerable:
        by["lang"][o.item.lang].append(o)
        by["kind"][o.item.kind].append(o)
    refused = [o for o in outcomes if o.refused]
    return {
        "overall": ranking(answerable),
        "by_lang": {k: ranking(v) for k, v in sorted(by["lang"].items())},
        "by_kind": {k: ranking(v) for k, v in sorted(by["kind"].items())},
        "refusal": {
            "unanswerable": len(unanswerable),
            "recall": sum(o.refused for o in unanswerable) / (len(unanswerable) or 1),
            "precision": sum(not o.item.answerable for o in refused) / (len(refused) or 1),
            "answerable_refused": sum(o.refused for o in answerable) / (len(answerable) or 1),
        },
    }


def fusion_grid(method: str) -> list[FusionConfig]:
    weights = [round(float(w), 2) for w in np.arange(0.0, 1.0001, 0.05)]
    if method == "rrf":
        return [FusionConfig("rrf", w, k) for w in weights for k in (5.0, 20.0, 60.0)]
    return [FusionConfig("minmax", w) for w in weights]


def cross_grid() -> list[tuple[float, float, float, float]]:
    """Weights of dense, character, lexicon and pinyin scores, in tenths summing to one."""
    out = []
    for parts in itertools.product(range(11), repeat=3):
        if sum(parts) <= 10:
            out.append(tuple(round(p / 10, 1) for p in (*parts, 10 - sum(parts))))
    return out  # type: ignore[return-value]


def features(s: Scored, best: int) -> np.ndarray:
    """The refusal rule's inputs when passage ``best`` comes first."""
    evidence = s.evidence
    if evidence is not None and s.holds is not None:
        evidence = replace(evidence, type_found=bool(s.holds[best]))
    bridged = (0.0, 0.0) if s.signals is None else (s.signals[2, best], s.signals[3, best])
    return refusal_features(
        float(s.dense[best]), s.coverage, evidence, s.cross, s.reference, bridged=bridged
    )


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton steps: deterministic, no library.

    Fitted on standardised features (so the penalty treats them alike) and returned
    as weights and bias over the raw features.
    """
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * l2
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        w = w - np.linalg.solve(hessian, gradient)
    weights = w[1:] / scale
    return weights, float(w[0] - np.dot(weights, mean))


def choose_fusion(train: list[Scored], method: str) -> FusionConfig:
    """The fusion that puts the right passage first most often (then by MRR)."""
    answerable = [s for s in train if s.item.answerable]
    chinese = [s for s in answerable if s.signals is None]
    cross = [s for s in answerable if s.signals is not None]
    never_rule = RefusalRule((0.0,) * len(FEATURES), 0.0, 1.0)
    never = RefusalRules(never_rule, never_rule)

    def quality(config: FusionConfig, group: list[Scored]) -> tuple[int, float]:
        ranks = [outcome(s, config, never).rank for s in group]
        return (sum(r == 1 for r in ranks), sum(1 / r for r in ranks if r))

    best = max(fusion_grid(method), key=lambda c: quality(c, chinese))
    # Chinese and English questions are ranked by disjoint weights: tuned one after the other.
    return max(
        (replace(best, cross_weights=w) for w in cross_grid()), key=lambda c: quality(c, cross)
    )


def fit_signed(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """The logistic fit with each weight in its direction (:data:`SIGNS`).

    A weight fitted the wrong way round drops its feature (the worst first) and the rest
    are refitted: deterministic, and the rule keeps to what the evidence means.
    """
    active = list(range(x.shape[1]))
    while True:
        fitted, bias = fit_logistic(x[:, active], y)
        weights = np.zeros(x.shape[1])
        weights[active] = fitted
        signed = weights * np.array(SIGNS)
        wrong = [(float(v), i) for i, v in enumerate(signed) if v < 0]
        if not wrong:
            return weights, bias
        active.remove(min(wrong)[1])


def choose_rule(train: list[Scored], fusion: FusionConfig) -> RefusalRule:
    """Fit the logistic rule, then refuse as many unanswerable as the answerable budget allows."""
    # What the rule never judges (screened, the overview, a place in the text) teaches it nothing.
    searched = [s for s in train if not s.screened and not s.overview and s.place is None]
    x = np.array([features(s, int(ranking_order(s, fusion)[0])) for s in searched])
    answerable = np.array([s.item.answerable for s in searched])
    # What a gate refuses (RefusalRule.refuses) is refused before any weight is read: those
    # questions teach the weights nothing, but count against the budget.
    gated = (x[:, list(GATES)] > 0).any(axis=1)
    weights, bias = fit_signed(x[~gated], (~answerable[~gated]).astype(np.float64))
    rounded = tuple(round(float(w), 2) for w in weights)
    scores = round(bias, 2) + x @ np.array(rounded)
    budget = MAX_ANSWERABLE_REFUSED * max(int(answerable.sum()), 1)

    def quality(threshold: float) -> tuple[bool, int, int]:
        refused = gated | (scores >= threshold)
        wrong = int((refused & answerable).sum())
        return (wrong <= budget, int((refused & ~answerable).sum()), -wrong)

    # Highest first: among equally good thresholds the most cautious one wins.
    candidates = sorted({round(float(v), 2) for v in scores} | {99.0}, reverse=True)
    return RefusalRule(rounded, round(bias, 2), max(candidates, key=quality))


def fit_rules(train: list[Scored], fusion: FusionConfig) -> RefusalRules:
    """One rule for Chinese questions, one for questions with no Chinese in them."""
    return RefusalRules(
        chinese=choose_rule([s for s in train if not s.cross], fusion),
        cross=choose_rule([s for s in train if s.cross], fusion),
    )


def folds(scored: list[Scored], k: int) -> list[list[Scored]]:
    """Deterministic folds, stratified by kind so each fold sees every kind of question."""
    out: list[list[Scored]] = [[] for _ in range(k)]
    ordered = sorted(scored, key=lambda s: (s.item.kind, s.item.lang, s.item.id))
    for i, s in enumerate(ordered):
        out[i % k].append(s)
    return out


def cross_validate(scored: list[Scored], method: str, k: int = 5) -> list[Outcome]:
    held_out: list[Outcome] = []
    parts = folds(scored, k)
    for i, test in enumerate(parts):
        train = [s for j, part in enumerate(parts) if j != i for s in part]
        fusion = choose_fusion(train, method)
        rules = fit_rules(train, fusion)
        held_out += [outcome(s, fusion, rules) for s in test]
    return held_out


def _top_is_right(answer: Answer, answers: Iterable[str]) -> bool:
    shown = answer.quotes[0] if answer.quotes else answer.closest
    return shown is not None and any(a in shown.passage.text for a in answers)


def evaluate_followups(
    core: ArticleBot, items: list[GoldItem], path: Path = FOLLOWUPS
) -> dict[str, Any]:
    """Follow-ups with and without their context, and the rest of the set asked mid-conversation.

    The second figure guards against context that helps follow-ups by dragging
    ordinary questions towards whatever was asked before.
    """
    pairs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    followups = [p["followup"] for p in pairs]
    alone = core.ask_many(followups)
    turns = [core.ask(p["first"]).turn() for p in pairs]
    in_context = core.ask_many(followups, previous=list(turns))
    answerable = [i for i in items if i.answerable]
    before: list[Turn | None] = [Turn(i.question) for i in answerable[-1:] + answerable[:-1]]
    fresh = core.ask_many([i.question for i in answerable])
    mid = core.ask_many([i.question for i in answerable], previous=before)
    n = len(pairs) or 1
    return {
        "pairs": len(pairs),
        "hit@1_with_context": sum(
            _top_is_right(a, p["answers"]) for a, p in zip(in_context, pairs, strict=True)
        )
        / n,
        "hit@1_without_context": sum(
            _top_is_right(a, p["answers"]) for a, p in zip(alone, pairs, strict=True)
        )
        / n,
        "standalone_hit@1_fresh": sum(
            _top_is_right(a, i.answers) for a, i in zip(fresh, answerable, strict=True)
        )
        / (len(answerable) or 1),
        "standalone_hit@1_mid_conversation": sum(
            _top_is_right(a, i.answers) for a, i in zip(mid, answerable, strict=True)
        )
        / (len(answerable) or 1),
    }


def core_for(article_path: Path, like: ArticleBot, index_dir: Path) -> ArticleBot:
    """Another article indexed with ``like``'s encoder, fusion and refusal rule: no retuning.

    Only what the index measures for itself (the off-topic reference) differs.
    """
    article = load_article(article_path)
    encoder = like.retriever.encoder
    stored = load_or_build(index_dir, article.content_hash, passages_of(article), encoder)
    retriever = Retriever.from_stored(stored, encoder, like.retriever.fusion)
    return ArticleBot(article, retriever, refusal=like.refusal)


def evaluate(
    core: ArticleBot,
    items: list[GoldItem],
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    progress(f"scoring {len(items)} gold questions")
    scored = score(core, items)
    report: dict[str, Any] = {"questions": len(items)}
    for method in ("minmax", "rrf"):
        progress(f"cross-validating {method} fusion")
        report[f"heldout_{method}"] = summarise(cross_validate(scored, method))
    try:
        words = LexicalIndex([p.lexical_text() for p in core.retriever.passages], word_tokens)
    except ImportError:
        progress("jieba is not installed: skipping the word-tokeniser comparison")
    else:
        progress("cross-validating with jieba words instead of character n-grams")
        report["heldout_minmax_jieba"] = summarise(
            cross_validate(score(core, items, words), "minmax")
        )
    progress("follow-up questions")
    report["followups"] = evaluate_followups(core, items)
    progress("tuning on the whole gold set")
    fusion = choose_fusion(scored, "minmax")
    report["tuned"] = {"fusion": asdict(fusion), "refusal": fit_rules(scored, fusion).to_json()}
    report["deployed"] = {
        "fusion": asdict(core.retriever.fusion),
        "refusal": core.refusal.to_json(),
        "figures": summarise(outcome(s, core.retriever.fusion, core.refusal) for s in scored),
    }
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"Gold set: {report['questions']} questions"]

    def block(title: str, figures: dict[str, Any]) -> None:
        lines.append(f"\n{title}")
        lines.append(f"  {'':<22}{'n':>4} {'Hit@1':>7} {'Hit@3':>7} {'MRR':>7} {'right':>7}")
        rows = [("overall", figures["overall"])]
        rows += [(f"lang {k}", v) for k, v in figures["by_lang"].items()]
        rows += [(f"kind {k}", v) for k, v in figures["by_kind"].items()]
        for name, f in rows:
            lines.append(
                f"  {name:<22}{f['n']:>4} {f['hit@1']:>7.3f} {f['hit@3']:>7.3f} "
                f"{f['mrr']:>7.3f} {f['answered_right']:>7.3f}"
            )
        r = figures["refusal"]
        lines.append(
            f"  refusal: {r['recall']:.3f} of {r['unanswerable']} unanswerable refused, "
            f"precision {r['precision']:.3f}, answerable refused {r['answerable_refused']:.3f}"
        )

    block(
        "Held-out (5-fold CV by question, fusion and rules refitted on the gold set alone), "
        "min-max score fusion",
        report["heldout_minmax"],
    )
    block("Held-out (5-fold CV), reciprocal-rank fusion", report["heldout_rrf"])
    if "heldout_minmax_jieba" in report:
        block("Held-out, min-max fusion, BM25 over jieba words", report["heldout_minmax_jieba"])
    deployed = report["deployed"]
    block("Deployed parameters on the whole set (in-sample)", deployed["figures"])
    f = report["followups"]
    lines.append(
        f"\nFollow-ups ({f['pairs']} pairs): Hit@1 {f['hit@1_with_context']:.3f} with context, "
        f"{f['hit@1_without_context']:.3f} without; standalone questions asked mid-conversation "
        f"{f['standalone_hit@1_mid_conversation']:.3f} vs {f['standalone_hit@1_fresh']:.3f} fresh"
    )
    lines.append(f"\nTuned on the whole set: {report['tuned']}")
    lines.append(f"Deployed: fusion {deployed['fusion']}, refusal {deployed['refusal']}")
    return "\n".join(lines)
