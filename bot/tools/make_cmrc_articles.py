"""Build unseen test articles from the CMRC 2018 *trial* set, with their gold questions.

The bundled article tunes the bot; these articles never do. Each is a Markdown file of a
few consecutive CMRC contexts (real Chinese Wikipedia text), one ``##`` section per
context, split into paragraphs at sentence ends. Its gold questions are CMRC's own
for those contexts, answered by a quote around the answer span; its unanswerable
questions are CMRC questions about the *next* contexts of the set, which this article
does not contain. ``--traditional`` writes the article in Traditional script (the
questions stay Simplified, as asked by CMRC's annotators).

CMRC 2018: Cui et al., "A Span-Extraction Dataset for Chinese Machine Reading
Comprehension", EMNLP 2019, github.com/ymcui/cmrc2018; licence CC BY-SA 4.0. Only the
trial set is used here: the dev set is reserved for checks kept outside the repository.

    python -m bot.tools.make_cmrc_articles ../shared/data/cmrc2018_trial.json \\
        bot/tools/data/unseen --start 0 --contexts 6 --name cmrc_a --title "维基百科选段 A"
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from embeddings.normalize import to_traditional

CREDIT = (
    "Text from the CMRC 2018 trial set (Cui et al., EMNLP 2019, github.com/ymcui/cmrc2018), "
    "Chinese Wikipedia contexts, licence CC BY-SA 4.0."
)
_SENTENCE = re.compile(r"[^。！？]*[。！？]+|[^。！？]+$")
PARAGRAPH_CHARS = 150  # sentences are gathered into paragraphs of at least this length
QUOTE_RADIUS = 12  # characters either side of the answer span kept as the gold quote


def paragraphs_of(context: str) -> list[str]:
    out: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE.findall(context)):
        if out and len(out[-1]) < PARAGRAPH_CHARS:
            out[-1] += sentence
        elif sentence:
            out.append(sentence)
    if len(out) > 1 and len(out[-1]) < PARAGRAPH_CHARS // 3:
        tail = out.pop()  # popped first: `out[-2] += out.pop()` indexes after the pop
        out[-1] += tail
    return out


def quote_of(context: str, start: int, answer: str) -> str | None:
    """The answer with a little context either side, inside one paragraph; None if it spans two."""
    for paragraph in paragraphs_of(context):
        at = paragraph.find(answer)
        offset = context.find(paragraph)
        if at >= 0 and offset <= start < offset + len(paragraph):
            a = max(0, at - QUOTE_RADIUS)
            return paragraph[a : at + len(answer) + QUOTE_RADIUS]
    return None


def build(
    data: list[dict], start: int, count: int, title: str, traditional: bool
) -> tuple[str, list[dict]]:
    chosen = data[start : start + count]
    outside = data[start + count : start + 2 * count]
    convert = to_traditional if traditional else (lambda s: s)
    lines = [f"# {convert(title)}", ""]
    gold: list[dict] = []
    for entry in chosen:
        paragraph = entry["paragraphs"][0]
        context = paragraph["context"]
        lines += [f"## {convert(entry['title'])}", ""]
        for text in paragraphs_of(context):
            lines += [convert(text), ""]
        for qa in paragraph["qas"]:
            answer = qa["answers"][0]
            quote = quote_of(context, answer["answer_start"], answer["text"])
            if quote is None:
                continue
            gold.append(
                {
                    "id": qa["id"],
                    "question": qa["question"],
                    "lang": "zh-Hans",
                    "kind": "fact",
                    "answers": [convert(quote)],
                }
            )
    text = "\n".join(lines)
    for entry in outside:
        for qa in entry["paragraphs"][0]["qas"]:
            if qa["answers"][0]["text"] not in text:
                gold.append(
                    {
                        "id": qa["id"],
                        "question": qa["question"],
                        "lang": "zh-Hans",
                        "kind": "unanswerable",
                        "answers": [],
                    }
                )
    return text, gold


def write_credited(out: Path, name: str, text: str, credit: str) -> None:
    """``<name>.md`` and its sidecar with the credit (metadata, never quoted; corpus/ingest.py
    reads it)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(text, encoding="utf-8")
    sidecar = f"source = {json.dumps(credit, ensure_ascii=False)}\n"
    (out / f"{name}.toml").write_text(sidecar, encoding="utf-8")


def write_article(
    out: Path, name: str, text: str, rows: list[dict[str, object]], credit: str
) -> None:
    """:func:`write_credited`, and ``<name>.jsonl`` with the questions."""
    write_credited(out, name, text, credit)
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    (out / f"{name}.jsonl").write_text(lines, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="cmrc2018_trial.json")
    parser.add_argument("out", type=Path, help="directory for <name>.md and <name>.jsonl")
    parser.add_argument("--start", type=int, default=0, help="first context (in file order)")
    parser.add_argument("--contexts", type=int, default=6, help="contexts per article")
    parser.add_argument("--name", required=True, help="file name, without suffix")
    parser.add_argument("--title", required=True, help="the article's title")
    parser.add_argument("--traditional", action="store_true")
    args = parser.parse_args(argv)
    data = json.loads(args.source.read_text(encoding="utf-8"))["data"]
    text, gold = build(data, args.start, args.contexts, args.title, args.traditional)
    write_article(args.out, args.name, text, gold, CREDIT)
    unanswerable = sum(not g["answers"] for g in gold)
    print(f"{args.name}: {len(gold)} questions ({unanswerable} unanswerable)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
