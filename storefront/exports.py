"""Reports as files: CSV streamed row by row, XLSX built in a write-only workbook.

Text that a spreadsheet would read as a formula (=, +, -, @ first) gets a leading
apostrophe: a product named "=HYPERLINK(...)" stays text in the organizer's Excel.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from flask import Response, abort, stream_with_context

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _disposition(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store"}


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # Excel opens UTF-8 with a BOM correctly
        writer.writerow(header)
        for n, row in enumerate(rows, 1):
            writer.writerow([_safe(value) for value in row])
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

    book = Workbook(write_only=True)
    page = book.create_sheet(sheet[:31])
    page.append(list(header))
    for row in rows:
        page.append([_safe(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), headers=_disposition(filename),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def export_response(kind: str, stem: str, sheet: str, header: Sequence[str],
                    rows: Iterable[Sequence]) -> Response:
    """``kind`` from the URL (``.csv`` or ``.xlsx``); anything else is a 404."""
    if kind == "csv":
        return csv_response(f"{stem}.csv", header, rows)
    if kind == "xlsx":
        return xlsx_response(f"{stem}.xlsx", sheet, header, rows)
    abort(404)
