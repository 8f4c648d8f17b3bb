"""The bundled model's tokenizer served by SentencePiece: 55 MB resident instead of 280 MB.

The ``tokenizers`` library keeps XLM-R's 250k-piece Unigram vocabulary as a trie of hash
maps (measured: 282 MB resident, 0.9–1.3 s to parse ``tokenizer.json``); SentencePiece holds
the same pieces in a double-array trie (55 MB) and segments about five times faster. The
export writes a SentencePiece model with the very pieces, order and scores of
``tokenizer.json``, so SentencePiece's ids are the model's ids, and this module does what
``tokenizer.json`` does around its Unigram model: special tokens split out of the raw text,
its normaliser, the Metaspace pre-tokenizer, ``<s> … </s>`` and truncation. The parity tests
compare the two on real articles, questions and random Unicode.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sentencepiece as spm

BOS, EOS, UNK = 0, 2, 3
# Added tokens of tokenizer.json: matched in the raw text before anything else, like the
# tokenizers library does, each becoming its own id.
SPECIAL = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
_SPECIAL = re.compile("|".join(re.escape(token) for token in SPECIAL))
SPACE = "▁"
# tokenizer.json's normaliser, in its order: control characters dropped, other breaks and
# invisible spaces made spaces, NFKC except for two characters it keeps, runs of spaces one.
_DROPPED = re.compile("[\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]")
_SPACES = re.compile("[\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]")
_KEPT = {"～": "\x01", "🈻": "\x02"}
_RUNS = re.compile(" {2,}")
# What the export checks tokenizer.json against before writing the SentencePiece model: a
# tokenizer that does anything else is refused rather than served subtly differently.
_EXPECTED: dict[str, dict[str, object]] = {
    "pre_tokenizer": {"type": "Metaspace", "replacement": SPACE, "prepend_scheme": "always"},
    "model": {"type": "Unigram", "unk_id": UNK, "byte_fallback": False},
}


def normalize(text: str) -> str:
    text = _SPACES.sub(" ", _DROPPED.sub("", text))
    for kept, placeholder in _KEPT.items():
        text = text.replace(kept, placeholder)
    text = unicodedata.normalize("NFKC", text)
    for kept, placeholder in _KEPT.items():
        text = text.replace(placeholder, kept)
    return _RUNS.sub(" ", text)


@dataclass(frozen=True)
class PieceTokenizer:
    """Token ids as the model was trained on them: ``<s>``, the pieces, ``</s>``."""

    processor: spm.SentencePieceProcessor
    max_tokens: int

    @classmethod
    def load(cls, path: Path, max_tokens: int) -> PieceTokenizer:
        return cls(spm.SentencePieceProcessor(model_file=str(path)), max_tokens)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        start = 0
        for match in _SPECIAL.finditer(text):
            ids += self._pieces(text[start : match.start()])
            ids.append(SPECIAL[match.group()])
            start = match.end()
        ids += self._pieces(text[start:])
        return [BOS, *ids[: self.max_tokens - 2], EOS]

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [self.encode(text) for text in texts]

    def id_to_token(self, token_id: int) -> str:
        return str(self.processor.id_to_piece(token_id))

    def _pieces(self, segment: str) -> list[int]:
        text = normalize(segment)
        if not text:
            return []
        spaced = text.replace(" ", SPACE)
        spaced = spaced if spaced.startswith(SPACE) else SPACE + spaced
        return list(self.processor.encode(spaced))


_LOADING: dict[tuple[Path, int, int, int], Future[PieceTokenizer]] = {}
_LOADING_LOCK = threading.Lock()


def load_in_background(path: Path, max_tokens: int) -> Future[PieceTokenizer]:
    """The tokenizer in ``path``, loaded once per process on a thread of its own.

    Building the 250k-piece trie is the slowest step of a start, and SentencePiece releases
    the GIL while it loads: started first (``embeddings.encoder.load.prefetch``), it runs
    beside the imports and the article's load, and the first text to encode waits for what
    is left. A file replaced since (a new export) is loaded anew.
    """
    stat = path.stat()  # a missing file is the caller's error, now, not the first encode's
    key = (path.resolve(), stat.st_size, stat.st_mtime_ns, max_tokens)
    with _LOADING_LOCK:
        loading = _LOADING.get(key)
        if loading is None:
            loading = _LOADING[key] = Future()
            # Not a daemon: an interpreter that exits while SentencePiece is still loading
            # must wait for it (a daemon thread torn down inside pybind11 aborts the process).
            threading.Thread(
                target=_load, args=(path, max_tokens, loading), name="tokenizer"
            ).start()
    return loading


def _load(path: Path, max_tokens: int, loading: Future[PieceTokenizer]) -> None:
    try:
        tokenizer = PieceTokenizer.load(path, max_tokens)
    except BaseException as exc:  # handed to whoever encodes first
        loading.set_exception(exc)
    else:
        loading.set_result(tokenizer)


def write_piece_model(tokenizer_json: Path, target: Path) -> None:
    """A SentencePiece model of ``tokenizer_json``'s Unigram vocabulary, ids unchanged."""
    from sentencepiece import sentencepiece_model_pb2

    model_pb2: Any = sentencepiece_model_pb2  # generated protobuf code: no type stubs

    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    for part, expected in _EXPECTED.items():
        found = {key: spec[part].get(key) for key in expected}
        if found != expected:
            raise ValueError(f"{tokenizer_json}: {part} is {found}, expected {expected}")
    added = {token["content"]: token["id"] for token in spec["added_tokens"]}
    if added != SPECIAL:
        raise ValueError(f"{tokenizer_json}: added tokens {added}, expected {SPECIAL}")
    model = model_pb2.ModelProto()
    model.trainer_spec.model_type = model_pb2.TrainerSpec.UNIGRAM
    model.trainer_spec.vocab_size = len(spec["model"]["vocab"])
    model.trainer_spec.unk_id = UNK
    model.trainer_spec.bos_id = model.trainer_spec.eos_id = model.trainer_spec.pad_id = -1
    # Normalising and the leading ▁ happen in PieceTokenizer, exactly as tokenizer.json says.
    model.normalizer_spec.name = "identity"
    model.normalizer_spec.add_dummy_prefix = False
    model.normalizer_spec.remove_extra_whitespaces = False
    model.normalizer_spec.escape_whitespaces = False
    kinds = model_pb2.ModelProto.SentencePiece
    for token_id, (piece, score) in enumerate(spec["model"]["vocab"]):
        entry = model.pieces.add()
        entry.piece, entry.score = piece, score
        if token_id == UNK:
            entry.type = kinds.UNKNOWN
        elif SPECIAL.get(piece) == token_id:  # split out before segmenting, never matched
            entry.type = kinds.CONTROL
        else:
            entry.type = kinds.NORMAL
    target.write_bytes(model.SerializeToString())
