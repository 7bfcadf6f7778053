"""The city office's reports: by dimension over a date range, coverage, growth, exports."""

import csv
import io

import pytest

from tests.factories import UserFactory
from tests.functional.test_fair_dashboard import fair  # noqa: F401 (fixture)
from tests.helpers import ring_up


@pytest.fixture
def sales(app, fair):  # noqa: F811
    first, second = fair.stands[0], fair.stands[1]
    ring_up(first, [], 10_000, method="cash", key="lapor-1")
    ring_up(second, [], 32_000, method="cash", key="lapor-2")
    return fair


@pytest.mark.parametrize("role", ["admin", "organizer", "observer"])
def test_office_and_observers_read_the_city_report(client, auth, sales, role):
    UserFactory(email="baca@contoh.id", roles=[role])
    auth.login("baca@contoh.id")
    page = client.get("/laporan?menurut=kecamatan").get_data(as_text=True)
    assert 'data-report-total="42000"' in page and "Cipondoh" in page and "Karawaci" in page
    by_type = client.get("/laporan?menurut=jenis").get_data(as_text=True)
    assert "Koperasi" in by_type and "UMKM" in by_type and 'data-report-total="42000"' in by_type
    exported = client.get("/laporan/ekspor.csv?menurut=kanal").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[-1][:2] == ["TOTAL", "42000"] and any(r[0] == "Pameran, tunai" for r in rows)
    assert client.get("/laporan/cakupan").status_code == 200
    assert "baru" in client.get("/laporan/naik-kelas").get_data(as_text=True)


def test_the_report_comes_as_a_csv_for_indonesian_excel(client, auth, sales):
    UserFactory(email="baca@contoh.id", roles=["organizer"])
    auth.login("baca@contoh.id")
    assert "/laporan/ekspor.excel.csv?menurut=kecamatan" in client.get(
        "/laporan?menurut=kecamatan").get_data(as_text=True)
    exported = client.get("/laporan/ekspor.excel.csv?menurut=kecamatan")
    assert exported.status_code == 200 and exported.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["kecamatan", "penjualan_bersih", "transaksi", "persen"]
    assert sorted(rows[1:-1]) == [["Cipondoh", "10000", "1", "23,81"],  # decimal commas
                                  ["Karawaci", "32000", "1", "76,19"]]
    assert rows[-1] == ["TOTAL", "42000", "2", "100"]


@pytest.mark.parametrize("role", ["seller", "coop_manager", "shopper"])
def test_others_cannot_read_city_reports(client, auth, sales, role):
    UserFactory(email="lain@contoh.id", roles=[role])
    auth.login("lain@contoh.id")
    for url in ("/laporan", "/laporan/ekspor.xlsx", "/laporan/cakupan", "/laporan/naik-kelas"):
        assert client.get(url).status_code == 403


def test_strangers_log_in_first(client, sales):
    assert client.get("/laporan").status_code == 302


def test_a_backwards_range_is_explained(client, auth, sales):
    UserFactory(email="dinas@contoh.id", roles=["organizer"])
    auth.login("dinas@contoh.id")
    response = client.get("/laporan?dari=2026-11-10&sampai=2026-11-01")
    assert response.status_code == 422
    assert "tidak boleh sebelum tanggal awal" in response.get_data(as_text=True)


def test_coverage_lists_every_kelurahan(client, auth, sales):
    UserFactory(email="dinas@contoh.id", roles=["admin"])
    auth.login("dinas@contoh.id")
    page = client.get("/laporan/cakupan").get_data(as_text=True)
    assert page.count("<tr") == 105  # the header and the city's 104 kelurahan
