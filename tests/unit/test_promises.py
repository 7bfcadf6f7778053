"""tests/PROMISES.md names the test behind every promise: each named test still exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("test_")}


def test_every_test_the_promises_name_exists():
    table = (ROOT / "tests" / "PROMISES.md").read_text(encoding="utf-8")
    named = NAMED.findall(table)
    assert len(named) >= 40, "the table lost its tests"
    missing = [f"{path}::{name}" for path, name in named
               if not (ROOT / path).exists() or name not in _tests_in(ROOT / path)]
    assert not missing, f"PROMISES.md names tests that no longer exist: {missing}"


def test_every_row_says_how_it_is_proved():
    rows = [line for line in (ROOT / "tests" / "PROMISES.md").read_text(encoding="utf-8")
            .splitlines() if line.startswith("| ") and not line.startswith("| promise")]
    unproved = [row for row in rows if "`tests/" not in row and "`bench/" not in row
                and "not yet" not in row]
    assert not unproved
