"""Rows in PostgreSQL's binary COPY format, for the store's bulk load.

Text COPY spells every float of a vector in decimal (384 per vector, three vectors per
passage): at a million passages that formatting, and the server's parsing of it, is most of
the load. In binary each field is its own wire format: a vector is pgvector's ``vector_recv``
input (dimension and an unused word as int16, then big-endian float4s), which numpy writes
in one call per article.

A stream is :data:`SIGNATURE`, rows from :func:`row`, then :data:`TRAILER` (psycopg writes
neither when raw data is written with ``Copy.write``).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import psycopg

# "PGCOPY\n\377\r\n\0", then flags and header-extension length (both 0).
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
_INT4 = struct.Struct(">i")
_NULL = _INT4.pack(-1)
_FIELDS = struct.Struct(">h")
_VECTOR_HEAD = struct.Struct(">HH")
CHUNK = 1 << 20  # bytes handed to psycopg at a time


def text(value: str) -> bytes:
    return value.encode("utf-8")


def int4(value: int) -> bytes:
    return _INT4.pack(value)


def jsonb(value: object) -> bytes:
    """jsonb's binary input: a version byte (1), then the JSON text."""
    return b"\x01" + json.dumps(value, ensure_ascii=False).encode("utf-8")


def vectors(matrix: np.ndarray) -> list[bytes]:
    """Each row of ``matrix`` as one pgvector ``vector`` field."""
    rows = np.ascontiguousarray(matrix, dtype=">f4")
    head = _VECTOR_HEAD.pack(rows.shape[1] if rows.ndim == 2 else 0, 0)
    return [head + r.tobytes() for r in rows]


def row(fields: Sequence[bytes | None]) -> bytes:
    """One tuple: its field count, then each field's length and bytes (None: NULL, length -1)."""
    parts = [_FIELDS.pack(len(fields))]
    for field in fields:
        if field is None:
            parts.append(_NULL)
            continue
        parts.append(_INT4.pack(len(field)))
        parts.append(field)
    return b"".join(parts)


def copy_rows(cursor: psycopg.Cursor[Any], statement: str, rows: Iterable[bytes]) -> None:
    """``COPY table (columns) FROM STDIN`` (``statement``) in binary, from rows of :func:`row`."""
    with cursor.copy(f"{statement} WITH (FORMAT BINARY)") as copy:
        buffer = bytearray(SIGNATURE)
        for encoded in rows:
            buffer += encoded
            if len(buffer) >= CHUNK:
                copy.write(bytes(buffer))
                buffer.clear()
        buffer += TRAILER
        copy.write(bytes(buffer))
