"""The stand keeper's till and the visitor's payment QR, through the sandbox gateway."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from storefront.checkout.models import Purchase
from storefront.exhibitions.models import StandItem
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.timeutil import utcnow
from tests.conftest import IsolatedClient
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.functional.test_checkout import deliver
from tests.helpers import csrf_token

pytestmark = pytest.mark.usefixtures("sandbox_app")


def items(stand) -> dict[str, StandItem]:
    rows = db.session.scalars(select(StandItem).where(StandItem.stand_id == stand["stand"].id))
    return {row.product.name: row for row in rows}


def sell(client, stand, *, method, key="kunci-penjualan-1", json=False, **quantities):
    data = {"metode": method, "kunci": key,
            "csrf_token": csrf_token(client, stand["url"] + "/kasir")}
    for name, value in quantities.items():
        if name in ("nominal", "diterima"):
            data[name] = value
        else:
            data[f"q-{items(stand)[name].id}"] = value
    headers = {"Accept": "application/json"} if json else {}
    return client.post(stand["url"] + "/kasir/jual", data=data, headers=headers)


def keripik(n):
    return {"Keripik Tempe": n}


def test_cash_sale_with_change_takes_online_stock(keeper, stand):
    response = sell(keeper, stand, method="cash", json=True, diterima="50.000",
                    **{"Keripik Tempe": 2, "Kopi Robusta": 0})
    assert response.status_code == 201
    assert response.json["total"] == 30_000 and response.json["change"] == 20_000
    order = db.session.scalar(select(Order))
    assert (order.channel, order.status, order.total) == ("fair_cash", "completed", 30_000)
    db.session.refresh(stand["keripik"])
    assert stand["keripik"].stock == 8
    page = keeper.get(stand["url"] + "/kasir").get_data(as_text=True)
    assert "Rp30.000" in page and "Keripik Tempe" in page


def test_a_cash_sale_sent_twice_counts_once(keeper, stand):
    first = sell(keeper, stand, method="cash", json=True, key="perangkat-abc-123", **keripik(1))
    again = sell(keeper, stand, method="cash", json=True, key="perangkat-abc-123", **keripik(1))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["code"] == again.json["code"]
    assert db.session.scalar(select(db.func.count(Order.id))) == 1
    db.session.refresh(stand["keripik"])
    assert stand["keripik"].stock == 9


def test_fair_stock_is_counted_apart_from_the_shop(keeper, stand):
    assert sell(keeper, stand, method="cash", json=True, **{"Kopi Robusta": 3}).status_code == 201
    db.session.refresh(stand["kopi"])
    assert stand["kopi"].stock == 5 and items(stand)["Kopi Robusta"].fair_stock == 0
    short = sell(keeper, stand, method="cash", json=True, key="kunci-kedua-22", **{"Kopi Robusta": 1})
    assert short.status_code == 422 and "Stok tidak cukup" in short.json["errors"]["jual"]


@pytest.mark.parametrize("fields, message", [
    ({}, "Pilih barang atau ketik nominal"),
    ({"nominal": "lima ribu"}, "Tulis nominal dalam rupiah"),
    ({"nominal": "10.000", "diterima": "5.000"}, "Uang diterima kurang"),
])
def test_bad_sales_are_explained_and_record_nothing(keeper, stand, fields, message):
    response = sell(keeper, stand, method="cash", **fields)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(Order.id))) == 0


def qr_charge(keeper, stand, **quantities) -> Purchase:
    response = sell(keeper, stand, method="qr", **quantities)
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    purchase = db.session.scalar(select(Purchase).where(Purchase.stand_id.is_not(None))
                                 .order_by(Purchase.id.desc()))
    page = keeper.get(response.headers["Location"]).get_data(as_text=True)
    assert "<svg" in page and f"/bayar/{purchase.pay_token}" in page
    return purchase


def visitor_pays(app, stand, purchase, sandbox):
    """The visitor's phone: its own session, opens the QR's address and pays."""
    phone = app.test_client()
    page = phone.get(f"/bayar/{purchase.pay_token}").get_data(as_text=True)
    assert "Keripik Bu Sri" in page and f"Rp{purchase.total:,}".replace(",", ".") in page
    response = phone.post(f"/bayar/{purchase.pay_token}",
                          data={"csrf_token": csrf_token(phone, f"/bayar/{purchase.pay_token}")})
    assert response.status_code == 303 and "/pay/" in response.headers["Location"]
    db.session.refresh(purchase)
    sandbox.pay(purchase.payment_id)
    return phone


def test_qr_sale_paid_by_the_visitor_turns_the_screen_paid(app, keeper, stand, sandbox):
    purchase = qr_charge(keeper, stand, **keripik(2))
    assert purchase.status == "pending" and purchase.total == 30_000
    status_url = f"{stand['url']}/kasir/tagihan/{purchase.code}"
    waiting = keeper.get(status_url, headers={"HX-Request": "true", "HX-Target": "tagihan"})
    assert "Menunggu pembayaran" in waiting.get_data(as_text=True)
    visitor_pays(app, stand, purchase, sandbox)
    assert all(r.status_code == 200 for r in deliver(keeper, sandbox))
    paid = keeper.get(status_url, headers={"HX-Request": "true", "HX-Target": "tagihan"})
    text = paid.get_data(as_text=True)
    assert "LUNAS" in text and "Keripik Tempe" in text and "hx-trigger" not in text
    order = db.session.scalar(select(Order).where(Order.purchase_id == purchase.id))
    assert (order.channel, order.status) == ("fair_qr", "completed")
    receipt = app.test_client().get(f"/bayar/{purchase.pay_token}").get_data(as_text=True)
    assert "LUNAS" in receipt and "Bayar Rp" not in receipt


def test_a_paid_charge_cannot_be_paid_again(app, keeper, stand, sandbox):
    purchase = qr_charge(keeper, stand, **keripik(2))
    phone = visitor_pays(app, stand, purchase, sandbox)
    deliver(keeper, sandbox)
    again = phone.post(f"/bayar/{purchase.pay_token}",
                       data={"csrf_token": csrf_token(phone, f"/bayar/{purchase.pay_token}")})
    assert again.status_code == 303 and again.headers["Location"].endswith(purchase.pay_token)
    db.session.refresh(purchase)
    assert purchase.status == "paid"


def test_an_expired_charge_shows_so_and_returns_its_stock(app, keeper, stand):
    purchase = qr_charge(keeper, stand, **keripik(2))
    db.session.refresh(stand["keripik"])
    assert stand["keripik"].stock == 8  # held while the visitor pays
    purchase.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    page = app.test_client().get(f"/bayar/{purchase.pay_token}").get_data(as_text=True)
    assert "kedaluwarsa" in page and "Bayar Rp" not in page
    db.session.refresh(stand["keripik"])
    assert stand["keripik"].stock == 10


def test_a_cancelled_charge_cannot_be_paid(app, keeper, stand):
    purchase = qr_charge(keeper, stand, **keripik(1))
    keeper.post(f"{stand['url']}/kasir/tagihan/{purchase.code}/batal",
                data={"csrf_token": csrf_token(keeper, stand["url"] + "/kasir")})
    phone = app.test_client()
    page = phone.get(f"/bayar/{purchase.pay_token}").get_data(as_text=True)
    assert "dibatalkan" in page
    response = phone.post(f"/bayar/{purchase.pay_token}",
                          data={"csrf_token": csrf_token(phone, f"/bayar/{purchase.pay_token}")})
    assert "/pay/" not in response.headers["Location"]
    db.session.refresh(purchase)
    assert purchase.status == "cancelled" and purchase.payment_id is None


@pytest.mark.parametrize("token", ["x" * 32, "' OR 1=1 --", "a" * 200])
def test_a_tampered_token_credits_nothing(app, keeper, stand, token):
    purchase = qr_charge(keeper, stand, **keripik(1))
    tampered = purchase.pay_token[:-2] + ("AA" if not purchase.pay_token.endswith("AA") else "BB")
    phone = app.test_client()
    for bad in (tampered, token):
        assert phone.get(f"/bayar/{bad}").status_code == 404
        assert phone.post(f"/bayar/{bad}", data={"csrf_token": csrf_token(phone, "/")}
                          ).status_code == 404
    db.session.refresh(purchase)
    assert purchase.status == "pending" and purchase.payment_id is None


def test_a_keeper_of_another_shop_cannot_open_the_stand(client, auth, stand):
    ShopFactory(owner=UserFactory(email="lain@contoh.id", roles=["seller"]))
    auth.login("lain@contoh.id")
    assert client.get(stand["url"] + "/kasir").status_code == 403
    token = csrf_token(client, "/")
    response = client.post(stand["url"] + "/kasir/jual",
                           data={"metode": "cash", "kunci": "kunci-asing-99", "nominal": "5000",
                                 "csrf_token": token})
    assert response.status_code == 403
    assert db.session.scalar(select(db.func.count(Order.id))) == 0


def test_strangers_are_sent_to_log_in(client, stand):
    response = client.get(stand["url"] + "/kasir")
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_void_needs_a_reason_and_returns_stock(keeper, stand):
    sale = sell(keeper, stand, method="cash", json=True, **keripik(3)).json
    url = f"{stand['url']}/kasir/penjualan/{sale['order']}/batal"
    token = csrf_token(keeper, url)
    no_reason = keeper.post(url, data={"alasan": "", "csrf_token": token})
    assert no_reason.status_code == 422 and "Tulis alasan" in no_reason.get_data(as_text=True)
    assert keeper.post(url, data={"alasan": "Salah tekan jumlah", "csrf_token": token}).status_code == 303
    keeper.post(url, data={"alasan": "Salah tekan lagi", "csrf_token": token})  # twice: once
    order = db.session.scalar(select(Order))
    assert order.refunded_at is not None and order.cancel_reason == "Salah tekan jumlah"
    db.session.refresh(stand["keripik"])
    assert stand["keripik"].stock == 10
    page = keeper.get(stand["url"] + "/kasir").get_data(as_text=True)
    assert re.search(r"Semua <strong>Rp0</strong>", page)


def test_voiding_a_qr_sale_refunds_through_the_gateway(app, keeper, stand, sandbox):
    purchase = qr_charge(keeper, stand, **keripik(2))
    visitor_pays(app, stand, purchase, sandbox)
    deliver(keeper, sandbox)
    order = purchase.orders[0]
    url = f"{stand['url']}/kasir/penjualan/{order.code}/batal"
    keeper.post(url, data={"alasan": "Pengunjung batal", "csrf_token": csrf_token(keeper, url)})
    db.session.refresh(order)
    assert order.refunded_at is not None
    refunds = sandbox.events()
    assert any(e["type"].startswith("charge.refund") or e["type"] == "refund.created"
               for e in refunds), [e["type"] for e in refunds]


def test_a_visitor_basket_from_the_stand_page_arrives_paid(app, keeper, stand, sandbox):
    phone = app.test_client()
    page = phone.get(stand["url"])
    assert "Bayar dan ambil di stan" in page.get_data(as_text=True)
    response = phone.post(stand["url"] + "/beli", data={
        f"q-{items(stand)['Kopi Robusta'].id}": "1", "csrf_token": csrf_token(phone, stand["url"])})
    assert response.status_code == 303 and "/bayar/" in response.headers["Location"]
    purchase = db.session.scalar(select(Purchase))
    visitor_pays(app, stand, purchase, sandbox)
    deliver(keeper, sandbox)
    sales = keeper.get(stand["url"] + "/kasir/penjualan",
                       headers={"HX-Request": "true", "HX-Target": "penjualan"}).get_data(as_text=True)
    assert "serahkan barang" in sales and purchase.orders[0].code in sales
    url = f"{stand['url']}/kasir/pesanan/{purchase.orders[0].code}/serahkan"
    keeper.post(url, data={"csrf_token": csrf_token(keeper, stand["url"] + "/kasir")})
    db.session.refresh(purchase.orders[0])
    assert purchase.orders[0].status == "completed"


def test_keeper_chooses_goods_and_fair_stock(keeper, stand):
    url = stand["url"] + "/kasir/barang"
    kopi, keripik_id = stand["kopi"].id, stand["keripik"].id
    bad = keeper.post(url, data={f"ada-{kopi}-0": "1", f"stok-{kopi}-0": "-4",
                                 "csrf_token": csrf_token(keeper, url)})
    assert bad.status_code == 422 and "Stok pameran berupa angka" in bad.get_data(as_text=True)
    keeper.post(url, data={f"ada-{keripik_id}-0": "1", f"stok-{keripik_id}-0": "20",
                           "csrf_token": csrf_token(keeper, url)})
    chosen = items(stand)
    assert list(chosen) == ["Keripik Tempe"] and chosen["Keripik Tempe"].fair_stock == 20


def test_the_catalogue_searches_one_stands_products(app, client, stand):
    from tests.helpers import sync_search

    elsewhere = ProductFactory(shop=stand["stand"].shop, name="Keripik Singkong Balado",
                               price=12_000)
    sync_search()
    on_stand = client.get("/katalog?q=keripik&stan=pameran-situ/A-01").get_data(as_text=True)
    assert stand["keripik"].slug in on_stand and elsewhere.slug not in on_stand
    assert elsewhere.slug in client.get("/katalog?q=keripik").get_data(as_text=True)
    assert "stan=pameran-situ/A-01" in client.get(stand["url"]).get_data(as_text=True)


def test_anonymous_visitor_baskets_cannot_hoard_a_products_stock(app, stand):
    """Issue 12: one POST used to hold a product's whole online stock for 15 minutes, and
    dropping cookies gave every basket a fresh limit. Now a visitor basket takes at most
    VISITOR_BASKET_MAX_UNITS of the online stock, and the address's unpaid baskets are
    counted whatever the cookies say."""
    app.config.update(VISITOR_BASKET_MAX_UNITS=3, HOLDS_PER_CLIENT=2)
    app.test_client_class = IsolatedClient
    keripik = items(stand)["Keripik Tempe"]  # online stock 10, no fair stock

    def basket(quantity):
        phone = app.test_client()  # a new browser each time: no cookies carried over
        return phone.post(stand["url"] + "/beli", data={
            f"q-{keripik.id}": str(quantity), "csrf_token": csrf_token(phone, stand["url"])})

    greedy = basket(10)
    assert greedy.status_code == 422 and "Paling banyak 3 per barang" in greedy.get_data(as_text=True)
    assert [basket(1).status_code for _ in range(3)] == [303, 303, 429]
    assert "Terlalu banyak pesanan belum dibayar" in basket(1).get_data(as_text=True)
    db.session.refresh(stand["keripik"])
    assert stand["keripik"].stock == 10 - 2


# --- a fair's links after the fair (issue 20) -------------------------------------------------

def _visitor_buys(app, stand):
    app.test_client_class = IsolatedClient
    phone = app.test_client()
    page = phone.get(stand["url"])
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
    answer = phone.post(stand["url"] + "/beli", data={
        f"q-{items(stand)['Kopi Robusta'].id}": "1", "csrf_token": token.group(1) if token else ""})
    return page, answer


def test_a_poster_scanned_after_the_fair_sells_nothing(app, stand):
    fair = stand["stand"].fair
    fair.starts_on, fair.ends_on, fair.grace_days = (date.today() - timedelta(days=30),
                                                     date.today() - timedelta(days=28), 1)
    db.session.commit()
    page, answer = _visitor_buys(app, stand)
    assert page.status_code == 410 and "sudah selesai" in page.get_data(as_text=True)
    assert answer.status_code == 410 and "sudah selesai" in answer.get_data(as_text=True)
    assert db.session.scalar(select(Purchase)) is None  # no charge, no stock held
    db.session.refresh(stand["kopi"])
    assert stand["kopi"].stock == 5


def test_the_grace_period_keeps_links_working_for_the_days_the_organizer_chose(app, stand):
    fair = stand["stand"].fair
    fair.starts_on, fair.ends_on, fair.grace_days = (date.today() - timedelta(days=5),
                                                     date.today() - timedelta(days=2), 2)
    db.session.commit()
    page, answer = _visitor_buys(app, stand)
    assert page.status_code == 200 and answer.status_code == 303


def test_the_organizer_closes_a_fair_or_switches_a_stand_off_and_it_is_logged(
        app, client, auth, stand, keeper):
    from storefront.ledger.models import AuditEntry

    UserFactory(email="panitia@contoh.id", roles=["organizer"])
    office = app.test_client()
    office.post("/masuk", data={"email": "panitia@contoh.id", "password": "kopi-tubruk-cisadane",
                                "csrf_token": csrf_token(office, "/masuk")})
    fair_page = "/pameran/pameran-situ"
    assert office.post(fair_page + "/stan/A-01/nonaktifkan",
                       data={"csrf_token": csrf_token(office, fair_page)}).status_code == 303
    page, answer = _visitor_buys(app, stand)
    assert answer.status_code == 410 and "tidak aktif lagi" in answer.get_data(as_text=True)
    office.post(fair_page + "/stan/A-01/aktifkan", data={"csrf_token": csrf_token(office, fair_page)})
    assert _visitor_buys(app, stand)[1].status_code == 303
    office.post(fair_page + "/tutup", data={"csrf_token": csrf_token(office, fair_page)})
    assert _visitor_buys(app, stand)[1].status_code == 410
    # The keeper's QR charge needs an open fair; cash (money already taken) is still recorded.
    refused = sell(keeper, stand, method="qr", key="kunci-setelah-tutup", **keripik(1))
    assert refused.status_code == 422 and "ditutup panitia" in refused.get_data(as_text=True)
    assert sell(keeper, stand, method="cash", key="kunci-tunai-setelah", **keripik(1)
                ).status_code in (200, 303)
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert ["stand.deactivate", "stand.activate", "fair.close"] == [
        a for a in actions if a.startswith(("stand.", "fair.close"))]
