"""CPU seconds to index an article: our pipeline against a plain one on the same encoder.

Issue 18 asks what indexing costs beside the simplest pipeline that could serve an article:
the paragraphs embedded by the same ONNX encoder into a FAISS ``IndexFlatIP``, and ``bm25s``
over them. Ours also embeds every sentence, the article's dictionary words and the
off-topic questions, and builds the bridges' tables. Both run as ``python -m`` processes
from start to exit, so imports, the model's load and the files written count too, and
their user + system CPU comes from the kernel (``os.wait4``): CPU, not wall time, is what a
machine shared with other work gives a reproducible figure for. They are interleaved
round by round, so both see the same load; the ratio of their medians is the figure.

"Warm" data directory, for our pipeline: the model exported (linked from the bench's data
directory), CC-CEDICT's derived tables built, and the vector cache holding what indexing
the configured article (the bundled one by default) left there: the 32 off-topic questions
and that article's dictionary words. Each run starts from a copy of that template, so the
measured article's own new words are encoded every run, as for a new article. The articles
are made from the evaluation data (``/work/shared/data``): the first CMRC 2018 trial
contexts in order, and the first XQuAD article's five Chinese contexts.

    python -m bot.tools.index_cost [--data-dir DIR] [--paragraphs 150] [--rounds 3]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.tools.make_cmrc_articles import paragraphs_of

Result = dict[str, Any]
Progress = Callable[[str], None]

SHARED_DATA = Path("/work/shared/data")
CMRC_TRIAL = SHARED_DATA / "cmrc2018_trial.json"
XQUAD_ZH = SHARED_DATA / "xquad_dev" / "xquad_dev.zh.json"


def _contexts(squad_json: Path) -> list[list[str]]:
    """Each article's contexts of a SQuAD-style file, in the file's order."""
    data = json.loads(squad_json.read_text(encoding="utf-8"))["data"]
    return [[p["context"] for p in article["paragraphs"]] for article in data]


def _write_markdown(title: str, paragraphs: list[str], target: Path) -> Path:
    target.write_text("\n\n".join([f"# {title}", *paragraphs]) + "\n", encoding="utf-8")
    return target


def cmrc_article(source: Path, paragraphs: int, target: Path) -> Path:
    """The first ``paragraphs`` paragraphs of CMRC's contexts, concatenated in order
    (each context split as ``make_cmrc_articles`` splits it)."""
    found = [p for article in _contexts(source) for c in article for p in paragraphs_of(c)]
    if len(found) < paragraphs:
        raise ValueError(f"{source} makes {len(found)} paragraphs, not {paragraphs}")
    return _write_markdown("维基百科选段", found[:paragraphs], target)


def xquad_article(source: Path, target: Path) -> Path:
    """XQuAD's first article, one paragraph per context (five in the Chinese file)."""
    return _write_markdown("XQuAD", _contexts(source)[0], target)


def cpu_seconds(command: list[str]) -> float:
    """User + system CPU seconds of a command from start to exit; raises if it fails."""
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(command, stdout=output, stderr=output)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            output.seek(0)
            tail = output.read()[-2000:].decode(errors="replace")
            raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}:\n{tail}")
    return usage.ru_utime + usage.ru_stime


def warm_template(warm_with: Path, models_from: Path, template: Path) -> Path:
    """A data directory as "warm" means here (see the module's docstring): the model linked
    from ``models_from``, and what indexing ``warm_with`` leaves; copied for every run."""
    from bot.tools.measure import share_model

    template.mkdir(parents=True)
    if not share_model(models_from, template):
        raise RuntimeError(f"no converted model in {models_from}: run `python -m bot index` once")
    cpu_seconds(_our_command(warm_with, template))
    shutil.rmtree(template / "indexes" / warm_with.stem)  # keep .cedict/ and its vector cache
    return template


def _our_command(article: Path, data_dir: Path) -> list[str]:
    command = [sys.executable, "-m", "bot", "index", "--article", str(article)]
    return [*command, "--data-dir", str(data_dir), "--log-level", "WARNING"]


def ours(article: Path, template: Path, scratch: Path) -> float:
    """CPU seconds of ``python -m bot index`` on a fresh copy of the warm template."""
    data_dir = scratch / "ours"
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.copytree(template, data_dir, symlinks=True)
    try:
        return cpu_seconds(_our_command(article, data_dir))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def plain(article: Path, template: Path, scratch: Path) -> float:
    """CPU seconds of the plain pipeline (:func:`plain_index`) in its own process."""
    out = scratch / "plain"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    command = [sys.executable, "-m", "bot.tools.index_cost", "plain", str(article)]
    try:
        return cpu_seconds([*command, str(template), str(out)])
    finally:
        shutil.rmtree(out, ignore_errors=True)


def plain_index(article: Path, data_dir: Path, out: Path) -> None:
    """The peer: paragraphs through the same encoder into FAISS flat, and bm25s; both saved."""
    import bm25s
    import faiss

    from corpus.ingest import load_article
    from embeddings.encoder import DEFAULT_MODEL, load_encoder

    texts = [p.text for p in load_article(article).paragraphs()]
    encoder = load_encoder(DEFAULT_MODEL, data_dir)
    vectors = encoder.encode_passages(texts)
    index = faiss.IndexFlatIP(encoder.dimension)
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(out / "vectors.faiss"))
    lexical = bm25s.BM25()
    lexical.index(bm25s.tokenize(texts, stopwords=None, show_progress=False), show_progress=False)
    lexical.save(str(out / "bm25"))


@dataclass(frozen=True)
class IndexCost:
    """Median CPU seconds per pipeline and article, with every run kept."""

    long_paragraphs: int
    short_paragraphs: int
    ours_long_s: list[float]
    plain_long_s: list[float]
    ours_short_s: list[float]
    load_average: float  # 1-minute, when the runs started

    def figures(self) -> Result:
        ours_long, plain_long = np.median(self.ours_long_s), np.median(self.plain_long_s)
        return asdict(self) | {
            "ours_long_median_s": float(ours_long),
            "plain_long_median_s": float(plain_long),
            "ours_short_median_s": float(np.median(self.ours_short_s)),
            "long_over_plain": float(ours_long / plain_long),
        }


def index_cost(
    warm_with: Path,
    models_from: Path,
    scratch: Path,
    *,
    paragraphs: int,
    rounds: int,
    progress: Progress,
) -> Result:
    """Our pipeline and the plain one on a ``paragraphs``-paragraph article, and ours on the
    five-paragraph one, interleaved ``rounds`` times; CPU seconds each. Skipped (and said so)
    where the evaluation data is not there."""
    missing = [str(p) for p in (CMRC_TRIAL, XQUAD_ZH) if not p.is_file()]
    if missing:
        return {"skipped": f"no {', '.join(missing)}"}
    scratch.mkdir(parents=True, exist_ok=True)
    template = warm_template(warm_with, models_from, scratch / "warm")
    long = cmrc_article(CMRC_TRIAL, paragraphs, scratch / "cmrc.md")
    short = xquad_article(XQUAD_ZH, scratch / "xquad.md")
    load = os.getloadavg()[0]
    runs: dict[str, list[float]] = {"ours_long": [], "plain_long": [], "ours_short": []}
    for number in range(rounds):
        progress(f"index cost: round {number + 1} of {rounds} (ours, plain, ours on 5)")
        runs["ours_long"].append(ours(long, template, scratch))
        runs["plain_long"].append(plain(long, template, scratch))
        runs["ours_short"].append(ours(short, template, scratch))
    return IndexCost(
        paragraphs,
        5,
        runs["ours_long"],
        runs["plain_long"],
        runs["ours_short"],
        load,
    ).figures()


def index_cost_rows(figures: Result) -> list[tuple[str, str, str, bool | None]]:
    """Rows for ``bench``'s table: the two targets of issue 18."""
    if "skipped" in figures:
        return [("index cost, CPU", f"skipped: {figures['skipped']}", "", None)]
    n, ratio, short = (
        figures["long_paragraphs"],
        figures["long_over_plain"],
        figures["ours_short_median_s"],
    )
    return [
        (
            f"index {n} paragraphs, CPU: ours / plain FAISS+bm25s (warm)",
            f"{figures['ours_long_median_s']:.1f} / {figures['plain_long_median_s']:.1f} s",
            "",
            None,
        ),
        (f"index {n} paragraphs: ours / plain", f"{ratio:.2f}×", "≤ 1.3×", ratio <= 1.3),
        (
            f"index {figures['short_paragraphs']} paragraphs, CPU (warm data directory)",
            f"{short:.2f} s",
            "≤ 2 s",
            short <= 2,
        ),
    ]


def main(argv: list[str]) -> int:
    """This section of ``bench`` alone (it is also in ``python -m bot bench``), or with
    ``plain ARTICLE DATA_DIR OUT`` one run of the plain pipeline, for :func:`plain`."""
    if argv[:1] == ["plain"]:
        if len(argv) != 4:
            print(
                "usage: python -m bot.tools.index_cost plain ARTICLE DATA_DIR OUT", file=sys.stderr
            )
            return 2
        plain_index(Path(argv[1]), Path(argv[2]), Path(argv[3]))
        return 0
    import argparse

    from bot.config import from_env

    parser = argparse.ArgumentParser(prog="python -m bot.tools.index_cost")
    parser.add_argument("--data-dir", type=Path, help="where the model is converted already")
    parser.add_argument("--paragraphs", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, dest="json_path", help="also write the figures here")
    args = parser.parse_args(argv)
    settings = from_env(data_dir=args.data_dir)
    with tempfile.TemporaryDirectory(prefix="index-cost-") as scratch:
        figures = index_cost(
            settings.article,
            settings.data_dir,
            Path(scratch),
            paragraphs=args.paragraphs,
            rounds=args.rounds,
            progress=lambda message: print(message, file=sys.stderr, flush=True),
        )
    for figure, value, target, ok in index_cost_rows(figures):
        mark = {True: "met", False: "MISSED", None: ""}[ok]
        print(f"{figure:<62} {value:<14} {target:<7} {mark}".rstrip())
    if args.json_path:
        args.json_path.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
