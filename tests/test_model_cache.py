"""A damaged model cache is detected and rebuilt; an unwritable data directory is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings.convert import model_dir_is_complete
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
