"""The layout's promises that code review alone would let slip."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_search_never_imports_storefront():
    assert [p.name for p in (ROOT / "search").rglob("*.py")
            if "storefront" in top_level_imports(p)] == []


def test_only_the_gateway_adapter_imports_stripe():
    assert [p.name for p in (ROOT / "storefront").rglob("*.py")
            if p.name != "stripe_gateway.py" and "stripe" in top_level_imports(p)] == []


def test_no_benchmark_module_is_named_like_a_project_package():
    """Run as a script, a benchmark has bench/ first on sys.path: a bench/search.py once
    made ``import search`` find itself, and ``make bench`` failed at import."""
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()} | {"bench"}
    assert {p.stem for p in (ROOT / "bench").glob("*.py")} & packages == set()
