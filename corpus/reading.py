"""Read an article file's bytes safely, and decide by its content whether it is UTF-8 text.

A shelf folder is a door other people can put things behind: a symlink to ``/etc/passwd``
or ``/proc/self/environ`` would otherwise be quoted to readers (issue 22). So only a
regular file is read, checked on the file actually opened (not on a path looked at
earlier), never one on ``/proc``, ``/sys`` or ``/dev``, and when the caller names a folder
it must lie inside it after every link is followed. ``stat`` sizes lie for pseudo-files
(``/proc`` reports 0), so the size ceiling is checked on the bytes read: at most the
limit plus one are ever read.

Text that is not UTF-8 is refused with what it is and what to do about it (UTF-16, GBK,
binary, empty), because "could not be read" leaves an operator guessing. A UTF-16 file
without a byte-order mark decodes as "valid" UTF-8 full of NULs, so NULs decide first.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

# An article file larger than this is refused: the bundled one is 20 kB, and a book-sized
# upload would take minutes to index while the shelf waits on its lock.
MAX_ARTICLE_BYTES = 2_000_000
_PSEUDO_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class ArticleError(Exception):
    """The article file cannot be read or holds no quotable text.

    ``kind`` lets an adapter word the refusal for the reader who sent the file:
    ``unreadable`` (missing, no permission), ``outside`` (a link out of the shelf folder),
    ``not_regular`` (a device, FIFO, folder or pseudo-file), ``too_large``, ``empty``,
    ``utf16``, ``gbk``, ``binary``, ``not_utf8``, ``no_paragraphs``, ``too_many_paragraphs``,
    ``title_too_long`` or ``sidecar``.
    """

    def __init__(self, message: str, kind: str = "unreadable") -> None:
        super().__init__(message)
        self.kind = kind


def short_path(path: Path | str, limit: int = 120) -> str:
    """A path fit for a one-line message: an over-long one keeps its start and its end."""
    text = str(path)
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    return f"{text[:half]}…{text[-half:]}"


def read_article_bytes(
    path: Path, limit: int = MAX_ARTICLE_BYTES, inside: Path | None = None
) -> bytes:
    """The file's bytes, if it is a regular file (inside ``inside``, when given) of at most
    ``limit`` bytes; :class:`ArticleError` otherwise."""
    shown = short_path(path)
    try:
        before = os.stat(path)  # follows links: what would be opened
    except (OSError, ValueError) as exc:
        raise ArticleError(f"cannot read the article {shown}: {_why(exc)}") from exc
    if not stat.S_ISREG(before.st_mode):  # never open a FIFO or a device: that can block
        raise ArticleError(f"{shown} is not a regular file", "not_regular")
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise ArticleError(f"cannot read the article {shown}: {_why(exc)}") from exc
    with os.fdopen(fd, "rb") as file:
        _check_opened(fd, path, shown, inside)
        try:
            data = file.read(limit + 1)
        except OSError as exc:
            raise ArticleError(f"cannot read the article {shown}: {_why(exc)}") from exc
    if len(data) > limit:
        raise ArticleError(
            f"{shown} is over {limit:,} bytes, the ceiling for an article", "too_large"
        )
    return data


def _check_opened(fd: int, path: Path, shown: str, inside: Path | None) -> None:
    """Judge the file actually opened, so a link swapped in after a check cannot slip by."""
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode):
        raise ArticleError(f"{shown} is not a regular file", "not_regular")
    real = _real_path(fd, path)
    pseudo = any(real.is_relative_to(root) for root in _PSEUDO_ROOTS)
    if pseudo or opened.st_dev in _pseudo_devices():
        raise ArticleError(f"{shown} is a system pseudo-file, not an article", "not_regular")
    if inside is not None:
        try:
            folder = inside.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise ArticleError(f"cannot read the folder {short_path(inside)}: {_why(exc)}") from exc
        if not real.is_relative_to(folder):
            raise ArticleError(
                f"{shown} links to a file outside {short_path(inside)}: not read", "outside"
            )


def _real_path(fd: int, path: Path) -> Path:
    """Where the open file really is: from the kernel where it says, else from the path."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return Path(os.path.realpath(path))


def _pseudo_devices() -> set[int]:
    devices = set()
    for root in _PSEUDO_ROOTS[:2]:  # /dev holds real device nodes, refused by their mode
        try:
            devices.add(os.stat(root).st_dev)
        except OSError:
            continue
    return devices


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def decode_article(raw: bytes, name: str) -> str:
    """UTF-8 text (a UTF-8 byte-order mark is dropped), or a refusal naming what it is."""
    if not raw.strip():
        raise ArticleError(f"{name} is empty: there is nothing to quote", "empty")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(raw):
        raise ArticleError(f"{name} is UTF-16 text: re-save it as UTF-8", "utf16")
    if b"\x00" in raw:
        raise ArticleError(f"{name} is a binary file, not text", "binary")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if _looks_gbk(raw):
            raise ArticleError(
                f"{name} is GBK (GB18030) text: re-save it as UTF-8", "gbk"
            ) from None
        raise ArticleError(f"{name} is not UTF-8 text: re-save it as UTF-8", "not_utf8") from None
    if _control_share(text) > 0.05:
        raise ArticleError(f"{name} is a binary file, not text", "binary")
    return text


def _looks_utf16(raw: bytes) -> bool:
    """NULs, and the bytes read as UTF-16 one way or the other are text: UTF-16 without its
    mark (English has a NUL in every pair, Chinese only at its ASCII: spaces, line ends)."""
    sample = raw[:4096]
    sample = sample[: len(sample) // 2 * 2]
    if b"\x00" not in sample:
        return False
    return any(
        _text_share(sample.decode(encoding, errors="replace")) >= 0.9
        for encoding in ("utf-16-le", "utf-16-be")
    )


def _text_share(text: str) -> float:
    """How much of ``text`` is what articles are written in: whitespace, Latin, CJK."""
    texty = sum(
        1
        for c in text
        if c.isspace()
        or " " <= c <= "\u024f"
        or "\u2000" <= c <= "\u206f"
        or "\u3000" <= c <= "\u9fff"
        or "\uff00" <= c <= "\uffef"
    )
    return texty / max(len(text), 1)


def _looks_gbk(raw: bytes) -> bool:
    """Decodes as GB18030 into mostly CJK and ASCII: a Chinese file saved as GBK."""
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    cjk = sum(1 for c in text if "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef")
    return cjk * 2 >= sum(1 for c in text if not c.isascii())


# C0 control characters other than \t \n \v \f \r: a binary file's, never an article's.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f]")


def _control_share(text: str) -> float:
    # A regex, not a loop over characters: every article is checked at every start, and the
    # loop was a third of reading a shelf's article (0.3 ms of 0.9).
    sample = text[:10_000]
    return len(_CONTROL.findall(sample)) / max(len(sample), 1)
