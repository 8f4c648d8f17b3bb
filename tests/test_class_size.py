"""No class in ``bot/`` over 250 lines (issue 21): a class that size is several things."""

from __future__ import annotations

import ast

from tests.helpers.paths import ROOT

LIMIT = 250


def _class_lines() -> dict[str, int]:
    sizes = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                name = f"{path.relative_to(ROOT).as_posix()}::{node.name}"
                sizes[name] = node.end_lineno - node.lineno + 1
    return sizes


def test_no_class_in_bot_is_over_250_lines() -> None:
    over = {name: lines for name, lines in _class_lines().items() if lines > LIMIT}
    assert not over, f"classes over {LIMIT} lines (split them): {over}"
