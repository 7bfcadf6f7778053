"""Every invariant has one owner (issue 12), checked by reading the code base itself.

- Only storefront/inventory writes a stock column (product, variant, a stand's fair stock).
- Only storefront/payments/settlement.py writes a purchase's or order's payment state.
- Domain services flush; the view or command that owns a user action commits.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "storefront"
STOCK_COLUMNS = {"stock", "fair_stock"}
PAYMENT_COLUMNS = {"paid_at", "refunded_at", "refund_status", "payment_id"}
# Domain services only flush: every services.py, and the till, settlement and inventory.
# The search outbox drain (indexing/services.py) is the worker's job and commits each batch
# as its own unit of work; imports' job runner (seller/imports.py) likewise.
JOBS = {"indexing/services.py"}
FLUSH_ONLY = sorted({p.relative_to(ROOT).as_posix() for p in ROOT.rglob("services.py")} - JOBS
                    | {"exhibitions/till.py", "payments/settlement.py"})


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path, ast.parse(path.read_text(), filename=str(path))


def _writes(tree: ast.AST, columns: set[str]):
    """(line, column) of every assignment to obj.<column> and every .values(<column>=...)."""
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            parts = target.elts if isinstance(target, ast.Tuple) else [target]
            for part in parts:
                if isinstance(part, ast.Attribute) and part.attr in columns:
                    owner = part.value.id if isinstance(part.value, ast.Name) else ""
                    yield node.lineno, f"{owner}.{part.attr}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "values":
            for keyword in node.keywords:
                if keyword.arg in columns:
                    yield node.lineno, keyword.arg


def _constructed_with(tree: ast.AST, models: set[str], columns: set[str]):
    """Model(...) calls that set a column to anything but a literal 0 or None."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in models:
            for keyword in node.keywords:
                if keyword.arg in columns and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value in (0, None)):
                    yield node.lineno, keyword.arg


def test_only_inventory_writes_stock():
    found = []
    for path, tree in _modules():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("inventory/"):
            continue
        hits = list(_writes(tree, STOCK_COLUMNS))
        hits += _constructed_with(tree, {"Product", "ProductVariant", "StandItem"}, STOCK_COLUMNS)
        found += [f"{relative}:{line} writes {column}" for line, column in hits]
    # The demo seed bulk-loads opening stock with its history rows; the CSV import's
    # parsed rows (ImportRow.stock) are the file's figures, not the database's.
    found = [f for f in found if not f.startswith("demo/seed.py")
             and not (f.startswith("seller/imports.py:") and f.endswith(" row.stock"))]
    assert found == []


def test_only_settlement_writes_payment_state():
    found = []
    for path, tree in _modules():
        relative = path.relative_to(ROOT).as_posix()
        if relative == "payments/settlement.py":
            continue
        hits = list(_writes(tree, PAYMENT_COLUMNS))
        hits += _constructed_with(tree, {"Purchase", "Order"}, PAYMENT_COLUMNS)
        found += [f"{relative}:{line} writes {column}" for line, column in hits]
    assert found == []


@pytest.mark.parametrize("module", FLUSH_ONLY)
def test_services_never_commit(module):
    tree = ast.parse((ROOT / module).read_text())
    commits = [node.lineno for node in ast.walk(tree)
               if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
               and node.func.attr == "commit"]
    assert commits == [], f"{module} commits at lines {commits}: the view or command owns that"


def _imports(module: str) -> set[str]:
    """Package-relative modules a file imports (``..checkout.services`` -> checkout.services)."""
    tree = ast.parse((ROOT / module).read_text())
    package = module.rsplit("/", 1)[0].split("/")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            target = ".".join([*base, node.module] if node.module else base)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("module", ["inventory/services.py", "payments/settlement.py",
                                    "checkout/services.py"])
def test_the_owners_depend_on_no_caller(module):
    """The old circle (checkout.services <-> exhibitions.till <-> seller.services) is gone:
    the owners of stock and payment state import none of the modules that use them."""
    callers = {"checkout.services", "seller.services", "exhibitions.till", "payments.runner",
               "checkout.views", "seller.views", "exhibitions.till_views"}
    assert _imports(module) & callers == set()
