"""Integers, ids and dates from a request, read one way everywhere (issue 13.4).

Python's own readers take more than a person types and more than the database stores:
``"²".isdigit()`` is true where ``int("²")`` fails; ``int`` reads ``"٣"``, ``"５"`` and
``" 1_000 "``; a 20-digit id passes ``int`` and then SQLite refuses it ("int too large to
convert to SQLite INTEGER") and PostgreSQL says out of range; ``date.fromisoformat`` reads
year 1 and year 9999, where one day's arithmetic overflows. Each of these was a 500.

Here: ASCII digits only (a leading minus where negatives make sense), ids in the 32-bit
range of the database's keys, dates within sensible years. A value that is not one of
these is ``None`` (or the default); the view answers it with 400 or with the field's
message, never with a 500. Forms use the fields at the bottom, which do the same.
"""

from __future__ import annotations

import re
from datetime import date

from flask import abort
from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField

MAX_ID = 2**31 - 1  # the database's integer keys (PostgreSQL's INTEGER)
FIRST_YEAR = 2000  # before Gerai, and before any UMKM's records anyone would ask for
LAST_YEAR = 2099  # a fair planned, a report asked for: never further than this
FIRST_DAY = date(FIRST_YEAR, 1, 1)
LAST_DAY = date(LAST_YEAR, 12, 31)
_LIMIT = 10**15  # no count, amount or id of ours comes near; int() never sees more digits

_WHOLE = re.compile(r"(-?)([0-9]+)")
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def whole_number(text, *, low: int, high: int, default=None):
    """``text`` as an int in [low, high] if it is written in ASCII digits (with a leading
    minus for a negative number), else ``default``. Surrounding spaces are forgiven."""
    if isinstance(text, bool) or text is None:
        return default
    if isinstance(text, int):
        return text if low <= text <= high else default
    match = _WHOLE.fullmatch(str(text).strip())
    if match is None or len(match.group(2)) > 15:
        return default
    value = int(match.group(0))
    return value if low <= value <= high else default


def record_id(text, default=None):
    """A database id: 1 to 2**31 - 1 in ASCII digits, else ``default``."""
    return whole_number(text, low=1, high=MAX_ID, default=default)


def calendar_day(text, default=None):
    """A date written YYYY-MM-DD (what <input type=date> sends) within FIRST_YEAR..LAST_YEAR."""
    if isinstance(text, date):
        return text if FIRST_DAY <= text <= LAST_DAY else default
    match = _DAY.fullmatch(str(text or "").strip())
    if match is None:
        return default
    try:
        day = date(*map(int, match.groups()))
    except ValueError:  # 2025-02-30
        return default
    return day if FIRST_DAY <= day <= LAST_DAY else default


def calendar_month(text, default=None):
    """The first day of a month written YYYY-MM (<input type=month>), within the years above."""
    match = _MONTH.fullmatch(str(text or "").strip())
    if match is None:
        return default
    year, month = map(int, match.groups())
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
        return default
    return date(year, month, 1)


def plain_text(value, max_length: int) -> str:
    """Text a view reads without a form: one line, no control characters (the forms'
    filter; PostgreSQL refuses NUL in text, and nothing should store the others), at most
    ``max_length`` characters."""
    from .forms import one_line_text

    return one_line_text(str(value or "")).strip()[:max_length]


def id_or_400(text) -> int:
    """An id a page of ours put in a form or link: anything else was not typed by a person."""
    value = record_id(text)
    if value is None:
        abort(400)
    return value


def coerce_id(value) -> int:
    """``coerce`` for a SelectField of ids (0 where a choice means "none"): WTForms turns
    the ValueError into the field's message."""
    found = whole_number(value, low=0, high=MAX_ID)
    if found is None:
        raise ValueError(value)
    return found


# --- form fields ---------------------------------------------------------------------------

class WholeNumberField(IntegerField):
    """IntegerField reading ASCII digits only; what was typed stays on the page."""

    def __init__(self, *args, message=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.message = message or _l("Tulis bilangan bulat dengan angka 0–9, misalnya 3.")

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        self.data = whole_number(valuelist[0], low=-_LIMIT, high=_LIMIT)
        if self.data is None:
            raise ValueError(self.message)


class DayField(DateField):
    """A date (YYYY-MM-DD) within FIRST_YEAR..LAST_YEAR; the date picker offers only those."""

    def __init__(self, *args, **kwargs):
        render_kw = {"min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat(),
                     **(kwargs.pop("render_kw", None) or {})}
        super().__init__(*args, render_kw=render_kw, **kwargs)

    def process_formdata(self, valuelist):
        text = " ".join(str(v) for v in valuelist or ()).strip()
        self.data = None
        if not text:
            return
        self.data = calendar_day(text)
        if self.data is not None:
            return
        if _DAY.fullmatch(text) and calendar_day(text[:4] + "-01-01") is None:
            raise ValueError(_l("Tanggal tidak valid: tahunnya %(first)d sampai %(last)d.",
                                first=FIRST_YEAR, last=LAST_YEAR))
        raise ValueError(_l("Tanggal tidak valid. Pilih dari kalender, misalnya 2025-08-17."))
