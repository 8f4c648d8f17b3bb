"""The SentencePiece tokenizer serving gives exactly the ids of the model's tokenizer.json.

Compared with the tokenizers library on the bundled article, every pool article, every gold
question, seeded random text from many scripts and the special tokens' corner cases; the
model file is the export's own (``embeddings/export.py``).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from embeddings.encoder.load import onnx_path
from embeddings.export import PIECES_FILE, TOKENIZER_FILE
from embeddings.pieces import PieceTokenizer, normalize, write_piece_model
from tests.helpers.parity import PARAGRAPHS, QUESTIONS
from tests.helpers.paths import DATA

REPO = Path(__file__).resolve().parent.parent
MAX_TOKENS = 512
# Scripts whose code points are old enough that Python's and the tokenizers library's
# Unicode tables agree on them (a character added in Unicode 14 normalises differently).
RANGES = [
    (0x20, 0x24F),
    (0x370, 0x3FF),
    (0x400, 0x4FF),
    (0x600, 0x6FF),
    (0x3000, 0x30FF),
    (0x4E00, 0x9FA5),
    (0xAC00, 0xD7A3),
    (0xFF00, 0xFFEF),
    (0x1F300, 0x1F5FF),
]
TRICKY = "\t\n\r\x0b\x0c\x00\x01\x7f\x9f\xa0\u1680\u200b\u200d\u2028\u2581\u3000\ufeff\ufffd～🈻 "


@pytest.fixture(scope="module")
def export(model_cache: Path) -> Path:
    return onnx_path(model_cache)


@pytest.fixture(scope="module")
def reference(export: Path) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(export / TOKENIZER_FILE))
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


@pytest.fixture(scope="module")
def pieces(export: Path) -> PieceTokenizer:
    return PieceTokenizer.load(export / PIECES_FILE, MAX_TOKENS)


def _texts() -> list[str]:
    texts = list(PARAGRAPHS) + list(QUESTIONS)
    for path in sorted((REPO / "bot/tools/data").rglob("*.md")) + sorted(DATA.glob("*.md")):
        texts += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for path in sorted((REPO / "bot/tools/data").rglob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
        texts += [row["question"] for row in rows if "question" in row]
    rng = random.Random(20261204)
    alphabet = [chr(c) for a, b in RANGES for c in range(a, b + 1)] + list(TRICKY) * 200
    texts += ["".join(rng.choices(alphabet, k=rng.randint(0, 60))) for _ in range(3000)]
    texts += ["<s>", "</s>x", "a <unk> b", "<pad><mask>", "x<s>", "", " ", "  lead", "trail  "]
    texts.append("长" * 2000)  # truncated to 512 ids, </s> last
    return [prefix + t for t in texts for prefix in ("passage: ", "query: ")]


def test_ids_equal_the_tokenizers_library(pieces: PieceTokenizer, reference: Tokenizer) -> None:
    texts = _texts()
    expected = [e.ids for e in reference.encode_batch(texts)]
    ours = pieces.encode_batch(texts)
    differ = [
        (t[:60], o[:12], e[:12]) for t, o, e in zip(texts, ours, expected, strict=True) if o != e
    ]
    assert not differ, f"{len(differ)} of {len(texts)} differ: {differ[:5]}"
    assert len(texts) > 10_000 and max(len(o) for o in ours) == MAX_TOKENS


def test_the_normaliser_follows_tokenizer_json(reference: Tokenizer) -> None:
    assert reference.normalizer is not None
    for text in ["３～５年，ｆｕｌｌ", "a\tb\u200bc\x01d", "a  \u3000 b", "🈻\x0b\ufeffx"]:
        assert normalize(text) == reference.normalizer.normalize_str(text), text


def test_another_tokenizer_is_refused_not_served_differently(export: Path, tmp_path: Path) -> None:
    spec = json.loads((export / TOKENIZER_FILE).read_text(encoding="utf-8"))
    spec["pre_tokenizer"]["prepend_scheme"] = "first"
    changed = tmp_path / TOKENIZER_FILE
    changed.write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(ValueError, match="pre_tokenizer"):
        write_piece_model(changed, tmp_path / PIECES_FILE)
