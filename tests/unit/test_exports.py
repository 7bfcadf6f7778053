"""The export files: times in Jakarta, formulas kept as text, the Excel CSV's separators."""

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest
from flask import Flask

from storefront.exports import export_response

HEADER = ("waktu", "nama", "jumlah", "persen")
ROWS = [("2026-11-29T17:05:09Z", "2026-11-29T17:05:09Z", 3, 12.5),  # a name that looks like a time
        (datetime(2026, 8, 17, 2, 0, tzinfo=UTC), "=SUM(A1)", 4, 87.5)]


@pytest.fixture
def request_context():
    with Flask(__name__).test_request_context():
        yield


def rows_of(kind: str) -> list[list]:
    data = export_response(kind, "contoh", "Contoh", HEADER, ROWS).get_data()
    if kind == "xlsx":
        return [list(r) for r in openpyxl.load_workbook(io.BytesIO(data)).active.values]
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")),
                           delimiter=";" if kind == "excel.csv" else ","))


def test_times_are_jakarta_dates_in_their_column_only(request_context):
    sheet = rows_of("xlsx")
    assert sheet[1][:2] == [datetime(2026, 11, 30, 0, 5, 9), "2026-11-29T17:05:09Z"]
    assert sheet[2][:2] == [datetime(2026, 8, 17, 9, 0), "'=SUM(A1)"]
    assert rows_of("csv")[1] == ["2026-11-30 00:05:09", "2026-11-29T17:05:09Z", "3", "12.5"]


def test_the_excel_csv_has_semicolons_and_decimal_commas(request_context):
    assert rows_of("excel.csv") == [list(HEADER),
                                    ["2026-11-30 00:05:09", "2026-11-29T17:05:09Z", "3", "12,5"],
                                    ["2026-08-17 09:00:00", "'=SUM(A1)", "4", "87,5"]]
