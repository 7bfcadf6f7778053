"""Reports as files: CSV streamed row by row, XLSX built in a write-only workbook.

Three kinds, named by the URL's ending: ``csv`` (comma-separated, UTF-8 with a BOM),
``excel.csv`` (what Excel set to Indonesian opens by double-click: semicolons between
fields, decimal commas) and ``xlsx``.

Text that a spreadsheet would read as a formula (=, +, -, @ first) gets a leading
apostrophe: a product named "=HYPERLINK(...)" stays text in the organizer's Excel.

Times are shown in Jakarta, never UTC: a datetime (stored times are naive UTC), or in a
time column the UTC text the row builders write ("2026-11-29T17:05:00Z"), becomes a real
date cell in XLSX and "2026-11-30 00:05:00" in a CSV (Excel reads that as a date in
every language).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import chain, repeat

from flask import Response, abort, stream_with_context

from .timeutil import JAKARTA

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The columns the exports call their time; only there is text read as a moment (a name
# a seller typed in another column stays as typed, whatever it looks like).
TIME_COLUMNS = frozenset({"waktu", "dibayar"})
_UTC_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
EXCEL_TIME_FORMAT = "dd/mm/yyyy hh:mm:ss"  # day first, as Indonesia writes dates
CSV_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _jakarta(value, time_column: bool) -> datetime | None:
    """The moment as Jakarta wall-clock time (naive: a spreadsheet has no zones), or
    None when the value is not a moment."""
    if isinstance(value, datetime):
        moment = value
    elif time_column and isinstance(value, str) and _UTC_TEXT.fullmatch(value):
        moment = datetime.fromisoformat(value[:-1])
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(JAKARTA).replace(tzinfo=None)


def _time_columns(header: Sequence[str]) -> list[bool]:
    return [name in TIME_COLUMNS for name in header]


def _with_columns(row: Sequence, times: list[bool]) -> Iterator[tuple[object, bool]]:
    """Each value with whether its column is a time (a value past the header is not)."""
    return zip(row, chain(times, repeat(False)))


def _disposition(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store"}


def _csv_value(value, time_column: bool, excel: bool):
    moment = _jakarta(value, time_column)
    if moment is not None:
        return moment.strftime(CSV_TIME_FORMAT)
    if excel and isinstance(value, float):
        return repr(value).replace(".", ",")  # Indonesian Excel's decimal comma
    return _safe(value)


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence], *,
                 excel: bool = False) -> Response:
    """``excel``: semicolon-separated with decimal commas, for Excel set to Indonesian."""
    times = _time_columns(header)

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";" if excel else ",")
        buffer.write("\ufeff")  # Excel opens UTF-8 with a BOM correctly
        writer.writerow(header)
        for n, row in enumerate(rows, 1):
            writer.writerow([_csv_value(value, timed, excel)
                             for value, timed in _with_columns(row, times)])
            if n % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers=_disposition(filename))


def xlsx_response(filename: str, sheet: str, header: Sequence[str],
                  rows: Iterable[Sequence]) -> Response:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    page = book.create_sheet(sheet[:31])
    times = _time_columns(header)
    for n, timed in enumerate(times, 1):
        if timed:  # wide enough for "30/11/2026 00:05:00", not "########"
            page.column_dimensions[get_column_letter(n)].width = 20

    def cell(value, timed: bool):
        moment = _jakarta(value, timed)
        if moment is None:
            return _safe(value)
        written = WriteOnlyCell(page, value=moment)
        written.number_format = EXCEL_TIME_FORMAT
        return written

    page.append(list(header))
    for row in rows:
        page.append([cell(value, timed) for value, timed in _with_columns(row, times)])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), headers=_disposition(filename),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def export_response(kind: str, stem: str, sheet: str, header: Sequence[str],
                    rows: Iterable[Sequence]) -> Response:
    """``kind`` from the URL (``csv``, ``excel.csv`` or ``xlsx``); anything else is a 404."""
    if kind == "csv":
        return csv_response(f"{stem}.csv", header, rows)
    if kind == "excel.csv":
        return csv_response(f"{stem}-excel.csv", header, rows, excel=True)
    if kind == "xlsx":
        return xlsx_response(f"{stem}.xlsx", sheet, header, rows)
    abort(404)
