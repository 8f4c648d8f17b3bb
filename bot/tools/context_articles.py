"""One article per context of the CMRC 2018 trial set and the XQuAD dev split: the shelf at scale.

Issue 19 measures a shelf of real articles for quality: every context of the two evaluation
files as an article of its own (256 CMRC contexts, 120 XQuAD ones: 376 articles), every
question with an answer as gold for exactly one of them. Neighbours are hard on purpose: the
five contexts of one XQuAD Wikipedia article are five articles about the same subject, and
only the one holding the answer counts as right.

- **CMRC 2018 trial** (Simplified Chinese Wikipedia): ``cmrc_NNN.md``, the context split into
  paragraphs at sentence ends as :mod:`bot.tools.make_cmrc_articles` does, titled with its
  Wikipedia title; CMRC's own questions.
- **XQuAD dev** (the Chinese translation): ``xquad_AA_C.md``, context C of article AA, split
  the same way; each question in Chinese and in English (the parallel file), the Chinese
  answer text as gold.

CMRC 2018: Cui et al., EMNLP 2019, github.com/ymcui/cmrc2018; XQuAD: Artetxe, Ruder and
Yogatama, ACL 2020, github.com/google-deepmind/xquad; both licence CC BY-SA 4.0. The credit
goes into each article's sidecar (``source``). Only the CMRC trial set and the XQuAD dev
split are used: the rest is reserved for checks kept outside the repository.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bot.tools.make_cmrc_articles import CREDIT as CMRC_CREDIT
from bot.tools.make_cmrc_articles import paragraphs_of, write_credited
from bot.tools.make_pool import XQUAD_CREDIT

CMRC_FILE = "cmrc2018_trial.json"
XQUAD_FILES = ("xquad_dev/xquad_dev.zh.json", "xquad_dev/xquad_dev.en.json")


@dataclass(frozen=True)
class Gold:
    """A question, the shelf name of the one article that answers it, and its answer text."""

    text: str
    article: str
    answer: str


def _write(folder: Path, name: str, title: str, context: str, credit: str) -> None:
    lines = [f"# {title}", ""]
    for paragraph in paragraphs_of(context.strip().lstrip("\ufeff").strip()):
        lines += [paragraph, ""]
    write_credited(folder, name, "\n".join(lines), credit)


def write_context_articles(data: Path, folder: Path) -> list[Gold]:
    """Every context of the two files under ``data`` as an article in ``folder``; the gold.

    ``data`` is the folder holding ``cmrc2018_trial.json`` and ``xquad_dev/``. Writing the
    same files again gives the same bytes, so an index built from them is reused.
    """
    folder.mkdir(parents=True, exist_ok=True)
    gold: list[Gold] = []
    cmrc = json.loads((data / CMRC_FILE).read_text(encoding="utf-8"))["data"]
    for number, entry in enumerate(cmrc):
        name = f"cmrc_{number:03d}"
        for paragraph in entry["paragraphs"]:
            _write(folder, name, entry["title"], paragraph["context"], CMRC_CREDIT)
            gold += [
                Gold(qa["question"], name, qa["answers"][0]["text"])
                for qa in paragraph["qas"]
                if qa["answers"]
            ]
    zh, en = (json.loads((data / f).read_text(encoding="utf-8"))["data"] for f in XQUAD_FILES)
    for number, (entry, twin) in enumerate(zip(zh, en, strict=True)):
        english = {qa["id"]: qa["question"] for p in twin["paragraphs"] for qa in p["qas"]}
        title = entry["title"].replace("_", " ")
        for context_no, paragraph in enumerate(entry["paragraphs"], start=1):
            name = f"xquad_{number:02d}_{context_no}"
            _write(folder, name, f"{title} ({context_no})", paragraph["context"], XQUAD_CREDIT)
            for qa in paragraph["qas"]:
                answer = qa["answers"][0]["text"]
                gold.append(Gold(qa["question"], name, answer))
                if qa["id"] in english:
                    gold.append(Gold(english[qa["id"]], name, answer))
    return gold
