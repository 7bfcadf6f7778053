"""Loan instalment schedules in whole rupiah: flat and declining balance (menurun).

Rounding rule, the same for both and printed on the member's schedule: every instalment's
principal is the loan divided by the term, rounded down to the rupiah; interest is
rounded half up to the rupiah; the last instalment takes whatever rounding left over,
so the principal parts always add up to the loan exactly.

- flat: interest each month on the original amount (total interest = amount x rate x
  term, rounded half up once, then spread like the principal).
- declining: interest each month on what is still owed before that instalment.

``rate_bp`` is the rate per month in basis points (150 = 1.5% a month).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Row:
    number: int
    due_on: date
    principal: int
    interest: int

    @property
    def total(self) -> int:
        return self.principal + self.interest


def half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def _spread(total: int, parts: int) -> list[int]:
    each = total // parts
    return [each] * (parts - 1) + [total - each * (parts - 1)]


def due_dates(start: date, term: int, due_day: int) -> list[date]:
    """The ``due_day`` (at most 28) of each of the ``term`` months after ``start``."""
    day = max(1, min(due_day, 28))
    out = []
    for k in range(1, term + 1):
        month = start.month - 1 + k
        out.append(date(start.year + month // 12, month % 12 + 1, day))
    return out


def schedule(amount: int, term: int, rate_bp: int, method: str, start: date,
             due_day: int = 10) -> list[Row]:
    if amount <= 0 or term <= 0 or rate_bp < 0:
        raise ValueError("amount and term are positive, the rate is not negative")
    principals = _spread(amount, term)
    dates = due_dates(start, term, due_day)
    if method == "flat":
        interests = _spread(half_up(amount * rate_bp * term, 10_000), term)
    elif method == "declining":
        interests, owed = [], amount
        for part in principals:
            interests.append(half_up(owed * rate_bp, 10_000))
            owed -= part
    else:
        raise ValueError(f"unknown method {method!r}")
    return [Row(k + 1, dates[k], principals[k], interests[k]) for k in range(term)]
