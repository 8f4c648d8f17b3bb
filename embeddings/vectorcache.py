"""Vectors of texts every article embeds alike, kept once per data directory.

A dictionary word embeds the same in every article ("passage: 中国" has one vector per
model), and so do the generic off-topic questions each index is calibrated with; yet every
article's index embedded all of them again — for a 13-paragraph article, 429 words and two
thirds of its encoder tokens. They are kept in one SQLite file beside the dictionary's
tables (``.cedict/vectors.sqlite3``), keyed by model, kind and text, so indexing embeds only
what no article needed before; several indexers may share it. It is a cache: a damaged file
is moved aside and started afresh, and one locked past the timeout is left alone for this
article; each is one log line, and the vectors are then simply computed.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

CACHE_FILE = "vectors.sqlite3"
_CHUNK = 500  # texts per lookup: well under SQLite's limit on bound parameters
_TIMEOUT_S = 30.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, kind, text)
) WITHOUT ROWID
"""

Encode = Callable[[list[str]], np.ndarray]


def cached_vectors(
    folder: Path | None, model: str, kind: str, texts: list[str], encode: Encode
) -> np.ndarray:
    """``encode(texts)``, reading what ``folder``'s cache already holds and adding the rest.

    ``model`` must name the encoder's numerics exactly (``Encoder.model_id``), ``kind`` how
    the texts are embedded ("passage", "query"). Without a folder nothing is cached.
    """
    if folder is None or not texts:
        return encode(texts)
    path = folder / CACHE_FILE
    try:
        with _connected(path) as db:
            known = _read(db, model, kind, texts)
            missing = list(dict.fromkeys(t for t in texts if t not in known))
            if missing:
                fresh = encode(missing)
                db.executemany(
                    "INSERT OR IGNORE INTO vectors VALUES (?, ?, ?, ?)",
                    [
                        (model, kind, t, np.ascontiguousarray(v, dtype="<f4").tobytes())
                        for t, v in zip(missing, fresh, strict=True)
                    ],
                )
                known.update(zip(missing, fresh, strict=True))
    except sqlite3.OperationalError as exc:  # locked past the timeout, or unwritable
        log.warning("vector cache %s not used for this article: %s", path, exc)
        return encode(texts)
    except sqlite3.DatabaseError as exc:  # not a database any more: start afresh next time
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        log.warning("vector cache %s is damaged (%s): moved to %s", path, exc, aside.name)
        path.replace(aside)
        return encode(texts)
    return np.stack([known[t] for t in texts]).astype(np.float32)


@contextmanager
def _connected(path: Path) -> Iterator[sqlite3.Connection]:
    """One transaction on the cache, created on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=_TIMEOUT_S)) as db, db:
        db.execute(_SCHEMA)
        yield db


def _read(db: sqlite3.Connection, model: str, kind: str, texts: list[str]) -> dict[str, np.ndarray]:
    unique = list(dict.fromkeys(texts))
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        query = (
            f"SELECT text, vector FROM vectors WHERE model = ? AND kind = ? AND text IN ({marks})"
        )
        rows = db.execute(query, [model, kind, *chunk])
        found.update((text, np.frombuffer(blob, dtype="<f4")) for text, blob in rows)
    return found
