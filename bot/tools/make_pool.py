"""Build the pool of articles the refusal rule is fitted and judged on, one article at a time.

A rule fitted on one article learns that article. The pool holds articles of two kinds,
in both scripts, asked in three question languages, so that cross-validation *by
article* says how the bot does on an article it never saw:

- **XQuAD dev** (24 Chinese Wikipedia articles, each question in English and in Chinese):
  ``xquad_NN.md`` is one article's first four contexts, one paragraph each; its questions are
  XQuAD's own in both languages (the Chinese ones in Traditional script for every other
  article, the article itself in Traditional for every third), and its off-topic questions
  are the next article's, in both languages. The fifth context is held back: its questions
  are *near-misses* (kind ``near_miss``): about the same subject, with the same names, but
  answered only in text the article does not have — what a reader of a real article asks
  most often when the answer is not there, and what off-topic questions cannot teach the
  refusal rule. One whose answer text is in the article anyway is left out.
- **CMRC 2018 trial** (Simplified Chinese Wikipedia): ``cmrc_NN.md`` is six consecutive
  contexts as :mod:`bot.tools.make_cmrc_articles` builds them (every third in Traditional),
  CMRC's questions, and the next six contexts' questions as unanswerable ones.

XQuAD: Artetxe, Ruder and Yogatama, ACL 2020, github.com/google-deepmind/xquad; CMRC 2018:
Cui et al., EMNLP 2019, github.com/ymcui/cmrc2018; both CC BY-SA 4.0. Only the XQuAD dev
split and the CMRC trial set are used: the rest is reserved for checks outside the repo.

    python -m bot.tools.make_pool ../shared/data bot/tools/data/pool
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot.tools import make_cmrc_articles
from bot.tools.make_cmrc_articles import write_article
from embeddings.normalize import to_traditional

XQUAD_CREDIT = (
    "Text from XQuAD (Artetxe, Ruder and Yogatama, ACL 2020, github.com/google-deepmind/xquad), "
    "Chinese Wikipedia translation, licence CC BY-SA 4.0."
)
OFF_TOPIC_PER_LANGUAGE = 5  # off-topic questions per article, in each question language
HELD_BACK = 1  # an XQuAD article's last contexts kept out of it: their questions are near-misses
CMRC_ARTICLES = range(36, 256 - 12 + 1, 12)  # first contexts; 0–35 hold bot/tools/data/unseen
CMRC_CONTEXTS = 6


def _row(
    qid: str, question: str, lang: str, answers: list[str], kind: str | None = None
) -> dict[str, object]:
    kind = kind or ("fact" if answers else "unanswerable")
    return {"id": qid, "question": question, "lang": lang, "kind": kind, "answers": answers}


def xquad_article(
    number: int, zh: list[dict], en: list[dict]
) -> tuple[str, list[dict[str, object]]]:
    """Article ``number`` of the parallel XQuAD files as Markdown, with its questions."""
    traditional_text = number % 3 == 2
    traditional_questions = number % 2 == 1
    text_script = to_traditional if traditional_text else (lambda s: s)
    question_script = to_traditional if traditional_questions else (lambda s: s)
    zh_lang = "zh-Hant" if traditional_questions else "zh-Hans"
    english = {qa["id"]: qa["question"] for p in en[number]["paragraphs"] for qa in p["qas"]}
    lines = [f"# {text_script('维基百科条目')} {number:02d}", ""]
    rows: list[dict[str, object]] = []
    paragraphs = zh[number]["paragraphs"]
    kept, held_back = paragraphs[:-HELD_BACK], paragraphs[-HELD_BACK:]
    for paragraph in kept:
        context = paragraph["context"].strip().lstrip("\ufeff").strip()
        lines += [text_script(context), ""]
        for qa in paragraph["qas"]:
            answer = qa["answers"][0]["text"]
            quote = [text_script(answer)]
            rows.append(_row(qa["id"], question_script(qa["question"]), zh_lang, quote))
            if qa["id"] in english:
                rows.append(_row(qa["id"] + "_en", english[qa["id"]], "en", quote))
    text = "\n".join(lines)
    for paragraph in held_back:
        for qa in paragraph["qas"]:
            if text_script(qa["answers"][0]["text"]) in text:
                continue  # answered in the article after all
            question = question_script(qa["question"])
            rows.append(_row(qa["id"] + "_near", question, zh_lang, [], "near_miss"))
            if qa["id"] in english:
                rows.append(_row(qa["id"] + "_near_en", english[qa["id"]], "en", [], "near_miss"))
    other = (number + 1) % len(zh)
    others = [qa for p in zh[other]["paragraphs"] for qa in p["qas"]][:OFF_TOPIC_PER_LANGUAGE]
    others_en = {qa["id"]: qa["question"] for p in en[other]["paragraphs"] for qa in p["qas"]}
    for qa in others:
        rows.append(_row(qa["id"] + "_off", question_script(qa["question"]), zh_lang, []))
        if qa["id"] in others_en:
            rows.append(_row(qa["id"] + "_off_en", others_en[qa["id"]], "en", []))
    return text, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", type=Path, help="the folder holding xquad_dev/ and cmrc2018_trial.json"
    )
    parser.add_argument("out", type=Path, help="where the pool's articles and questions go")
    args = parser.parse_args(argv)
    zh = json.loads((args.data / "xquad_dev" / "xquad_dev.zh.json").read_text("utf-8"))["data"]
    en = json.loads((args.data / "xquad_dev" / "xquad_dev.en.json").read_text("utf-8"))["data"]
    for number in range(len(zh)):
        text, rows = xquad_article(number, zh, en)
        write_article(args.out, f"xquad_{number:02d}", text, rows, XQUAD_CREDIT)
    cmrc = json.loads((args.data / "cmrc2018_trial.json").read_text("utf-8"))["data"]
    for number, start in enumerate(CMRC_ARTICLES):
        title = f"维基百科选段 {number + 1:02d}"
        text, gold = make_cmrc_articles.build(
            cmrc, start, CMRC_CONTEXTS, title, traditional=number % 3 == 2
        )
        write_article(args.out, f"cmrc_{number + 1:02d}", text, gold, make_cmrc_articles.CREDIT)
    print(f"{len(zh)} XQuAD and {len(CMRC_ARTICLES)} CMRC articles in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
