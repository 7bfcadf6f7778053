"""Rupiah: whole numbers in the domain, "Rp15.000" on the page."""

from __future__ import annotations

import re

MAX_PRICE = 1_000_000_000  # one billion rupiah: beyond any single UMKM product


def format_rupiah(amount: int | None) -> str:
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(int(amount)):,}".replace(",", ".")


_CLEAN = re.compile(r"^(?:rp\.?)?\s*([0-9][0-9.\s]*)(?:,(\d{1,2}))?$", re.IGNORECASE)


def parse_rupiah(text: str) -> int:
    """Read what a person types: "15.000", "15000", "Rp 15.000", "Rp15.000,00".

    Dots group thousands (Indonesian style); a comma starts the sen, which must
    be zero because rupiah prices are whole. Raises ValueError with the reason.
    """
    cleaned = (text or "").strip()
    match = _CLEAN.match(cleaned)
    if not match:
        raise ValueError("not a rupiah amount")
    digits, sen = match.groups()
    if sen and int(sen) != 0:
        raise ValueError("rupiah amounts are whole")
    groups = digits.replace(" ", "").split(".")
    if len(groups) > 1 and not all(len(g) == 3 for g in groups[1:]):
        raise ValueError("misplaced thousands separator")
    value = int("".join(groups))
    if value > MAX_PRICE:
        raise ValueError("too large")
    return value
