"""The organizer's live dashboard, exports and recap agree with the fair's paid sales."""

import csv
import io
import random
import re
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from storefront.exhibitions import till
from storefront.exhibitions.models import Fair, Stand, StandItem
from storefront.extensions import db
from storefront.payments import gateway as contract
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.helpers import gateway_says, ring_up, void


@pytest.fixture
def fair(app):
    fair = Fair(name="Pameran Situ", slug="pameran-situ", venue="Situ Cipondoh",
                starts_on=date.today() - timedelta(days=1), ends_on=date.today() + timedelta(days=1))
    db.session.add(fair)
    shops = [ShopFactory(name="Keripik Bu Sri", kecamatan="Cipondoh"),
             ShopFactory(name="Koperasi Batik", type="koperasi", kecamatan="Karawaci")]
    for n, shop in enumerate(shops, 1):
        stand = Stand(fair=fair, code=f"A-0{n}", shop=shop)
        db.session.add(stand)
        db.session.flush()
        for price in (12_000, 35_000):
            product = ProductFactory(shop=shop, price=price, stock=1000)
            db.session.add(StandItem(stand_id=stand.id, product_id=product.id))
    db.session.add(Stand(fair=fair, code="B-01"))  # not let yet
    db.session.commit()
    return fair


@pytest.fixture
def organizer(client, auth):
    UserFactory(email="dinas@contoh.id", roles=["organizer"])
    auth.login("dinas@contoh.id")
    return client


def random_fair_day(app, fair, seed: int) -> dict:
    """Cash sales, QR charges paid or left to expire, voids: what the ledger must show."""
    app.config["PAYMENT_GATEWAY"] = "cash"  # QR settled below as the webhook would
    rng = random.Random(seed)
    stands = [s for s in fair.stands if s.shop_id]
    expected = {"total": 0, "qr": 0, "cash": 0, "per_stand": {s.code: 0 for s in fair.stands}}
    paid = []
    for n in range(rng.randint(15, 30)):
        stand = rng.choice(stands)
        items = till.stand_items(stand)
        lines = [till.SaleLine(item, rng.randint(0, 3)) for item in items]
        amount = rng.choice([0, 0, 5_000, 7_500])
        if not any(l.quantity for l in lines) and not amount:
            amount = 1_000
        method = rng.choice(["cash", "qr"])
        purchase, _ = ring_up(stand, lines, amount, method=method, key=f"k-{seed}-{n}")
        if method == "qr":
            outcome = rng.choice(["paid", "paid", "expired"])
            payment = contract.Payment(id=f"pay_{n}", status=outcome, amount=purchase.total,
                                       reference=purchase.code)
            gateway_says(purchase, payment)
            if outcome != "paid":
                continue
        paid.append((stand, purchase))
    for stand, purchase in rng.sample(paid, k=len(paid) // 5):
        void(purchase.orders[0], "Salah input", None)
    for stand, purchase in paid:
        order = purchase.orders[0]
        db.session.refresh(order)
        if order.refunded_at is None:
            expected["total"] += order.total
            expected["qr" if order.channel == "fair_qr" else "cash"] += order.total
            expected["per_stand"][stand.code] += order.total
    return expected


def rupiah(n: int) -> str:
    return "Rp" + f"{n:,}".replace(",", ".")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dashboard_export_and_recap_equal_the_paid_sales(app, organizer, fair, seed):
    app.config["FAIR_DASHBOARD_SECONDS"] = 0
    expected = random_fair_day(app, fair, seed)
    page = organizer.get("/pameran/pameran-situ/dasbor").get_data(as_text=True)
    assert f'data-total-fair="{expected["total"]}"' in page
    assert f'data-total-today="{expected["total"]}"' in page
    assert rupiah(expected["qr"]) in page and rupiah(expected["cash"]) in page
    for code, total in expected["per_stand"].items():
        assert re.search(rf"<td>{code}</td>.*?<strong>{re.escape(rupiah(total))}</strong>", page, re.S)
    if expected["per_stand"]["B-01"] == 0:
        assert "stan belum ada penjualan" in page

    exported = organizer.get("/pameran/pameran-situ/penjualan.csv")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert sum(int(r["total_baris"]) for r in rows if r["status"] == "lunas") == expected["total"]

    book = openpyxl.load_workbook(io.BytesIO(organizer.get("/pameran/pameran-situ/penjualan.xlsx").data))
    sheet = list(book.active.iter_rows(values_only=True))
    status, line_total = sheet[0].index("status"), sheet[0].index("total_baris")
    assert sum(r[line_total] for r in sheet[1:] if r[status] == "lunas") == expected["total"]

    recap = organizer.get("/pameran/pameran-situ/rekap").get_data(as_text=True)
    assert f"<strong>{rupiah(expected['total'])}</strong>" in recap


def test_the_polled_fragment_is_shared_for_a_few_seconds(app, organizer, fair):
    app.config["FAIR_DASHBOARD_SECONDS"] = 60
    headers = {"HX-Request": "true", "HX-Target": "dasbor-angka"}
    first = organizer.get("/pameran/pameran-situ/dasbor", headers=headers).get_data(as_text=True)
    assert first.lstrip().startswith('<div id="dasbor-angka"') and "<html" not in first
    stand = fair.stands[0]
    ring_up(stand, [], 9_000, method="cash", key="kunci-kas-1")
    cached = organizer.get("/pameran/pameran-situ/dasbor", headers=headers).get_data(as_text=True)
    assert cached == first  # dozens of screens cost one query round per few seconds
    app.config["FAIR_DASHBOARD_SECONDS"] = 0
    fresh = organizer.get("/pameran/pameran-situ/dasbor", headers=headers).get_data(as_text=True)
    assert 'data-total-fair="9000"' in fresh


def test_the_exports_give_excel_real_jakarta_times_and_semicolons(organizer, fair):
    stand = fair.stands[0]
    purchase, _ = ring_up(stand, [till.SaleLine(till.stand_items(stand)[0], 2)], 0,
                          method="cash", key="kunci-waktu-1")
    purchase.orders[0].paid_at = datetime(2026, 11, 29, 17, 5, 9)  # 00:05 on the 30th in Jakarta
    db.session.commit()
    dashboard = organizer.get("/pameran/pameran-situ/dasbor").get_data(as_text=True)
    assert 'href="/pameran/pameran-situ/penjualan.excel.csv"' in dashboard

    sheet = openpyxl.load_workbook(io.BytesIO(
        organizer.get("/pameran/pameran-situ/penjualan.xlsx").data)).active
    header = [cell.value for cell in sheet[1]]
    paid = sheet.cell(row=2, column=header.index("dibayar") + 1)
    assert paid.is_date and paid.value == datetime(2026, 11, 30, 0, 5, 9)
    assert paid.number_format == "dd/mm/yyyy hh:mm:ss"

    excel = organizer.get("/pameran/pameran-situ/penjualan.excel.csv")
    assert excel.status_code == 200 and excel.mimetype == "text/csv"
    assert excel.headers["Content-Disposition"].endswith('-excel.csv"')
    assert excel.data.startswith("\ufeff".encode())  # UTF-8 with its BOM
    body = excel.data.decode("utf-8-sig")
    assert body.splitlines()[0].startswith("kode_pesanan;dibayar;stan;toko;")
    rows = list(csv.DictReader(io.StringIO(body), delimiter=";"))
    assert [(r["dibayar"], r["stan"], r["toko"], r["jumlah"], r["status"]) for r in rows] == [
        ("2026-11-30 00:05:09", "A-01", "Keripik Bu Sri", "2", "lunas")]
    plain = organizer.get("/pameran/pameran-situ/penjualan.csv").get_data(as_text=True)
    assert list(csv.DictReader(io.StringIO(plain.lstrip("\ufeff")))) == rows


def test_export_keeps_formulas_as_text(app, organizer, fair):
    stand = fair.stands[0]
    item = till.stand_items(stand)[0]
    item.product.name = "=HYPERLINK(\"http://jahat.example\")"
    db.session.commit()
    ring_up(stand, [till.SaleLine(item, 1)], 0, method="cash", key="kunci-rumus-1")
    text = organizer.get("/pameran/pameran-situ/penjualan.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text


def test_only_the_office_sees_the_dashboard(client, auth, fair):
    for url in ("/pameran/pameran-situ/dasbor", "/pameran/pameran-situ/penjualan.csv",
                "/pameran/pameran-situ/rekap"):
        assert client.get(url).status_code == 302  # strangers log in first
    seller = db.session.scalar(select(Stand).where(Stand.code == "A-01")).shop.owner
    auth.login(seller.email)
    for url in ("/pameran/pameran-situ/dasbor", "/pameran/pameran-situ/penjualan.xlsx",
                "/pameran/pameran-situ/rekap"):
        assert client.get(url).status_code == 403


def test_a_seller_finds_the_stand_screen_on_the_dashboard(client, auth, fair):
    seller = db.session.scalar(select(Stand).where(Stand.code == "A-01")).shop.owner
    auth.login(seller.email)
    page = client.get("/penjual").get_data(as_text=True)
    assert "/pameran/pameran-situ/A-01/kasir" in page
