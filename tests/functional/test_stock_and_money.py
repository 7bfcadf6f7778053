"""The five ways stock and money leaked (issue 12), each tried again as a shopper, a seller
or an attacker would: through the pages, the gateway sandbox and its signed webhooks."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests
from sqlalchemy import func, select

from storefront.catalogue.models import Product, StockAdjustment
from storefront.checkout.models import Purchase
from storefront.extensions import db
from storefront.inventory.models import StockHold
from storefront.ledger.models import LedgerEntry
from storefront.payments.models import PaymentRecord
from tests.conftest import IsolatedClient
from tests.factories import CategoryFactory, ProductFactory, ShopFactory, UserFactory
from tests.functional.test_checkout import deliver, fill_cart, pay, review_form, start_purchase
from tests.helpers import csrf_token, sync_search

pytestmark = pytest.mark.usefixtures("sandbox_app")
KEY = {"Authorization": "Bearer sk_test_sandbox"}


@pytest.fixture
def goods(app):
    sri = ShopFactory(name="Dapur Bu Sri", delivery_fee=10_000)
    cimone = ShopFactory(name="Koperasi Cimone", type="koperasi")
    return {
        "keripik": ProductFactory(shop=sri, name="Keripik Pedas", price=15_000, stock=5),
        "kopi": ProductFactory(shop=cimone, name="Kopi Robusta", price=45_000, stock=10),
    }


def _session(sandbox, **params) -> dict:
    response = requests.post(f"{sandbox.url}/v1/checkout/sessions", headers=KEY, timeout=5,
                             data=params)
    assert response.status_code == 200, response.text
    return response.json()


# --- paid for Rp1 -------------------------------------------------------------------------

def test_a_rp1_session_naming_the_purchase_does_not_pay_it(client, auth, goods, sandbox, runner):
    purchase = start_purchase(client, goods)  # Rp85.000
    # The attacker opens a session of his own at the gateway, naming the purchase's code.
    forged = _session(sandbox, **{
        "mode": "payment", "client_reference_id": purchase.code,
        "success_url": "http://x.test/ok", "cancel_url": "http://x.test/no",
        "line_items[0][quantity]": "1", "line_items[0][price_data][currency]": "idr",
        "line_items[0][price_data][unit_amount]": "100",
        "line_items[0][price_data][product_data][name]": "apa saja"})
    sandbox.pay(forged["id"])
    answers = deliver(client, sandbox)
    assert answers and all(a.status_code == 200 for a in answers)
    db.session.expire_all()
    assert db.session.get(Purchase, purchase.id).status == "pending"
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 0  # no seller credited
    mismatch = db.session.scalar(select(PaymentRecord).where(PaymentRecord.kind == "mismatch"))
    assert mismatch.reference == forged["id"] and mismatch.amount == 1
    # The office sees it, with the gateway's figures.
    UserFactory(email="dinas@gerai.test", roles=["admin"])
    auth.login("dinas@gerai.test")
    page = client.get("/admin/pembayaran").get_data(as_text=True)
    assert forged["id"] in page and "Rp1" in page
    assert runner.invoke(args=["ledger-check"]).exit_code == 0


def test_the_purchases_own_session_with_another_amount_does_not_count(client, goods, sandbox):
    purchase = start_purchase(client, goods)
    session = requests.get(f"{sandbox.url}/v1/checkout/sessions/{purchase.payment_id}",
                           headers=KEY, timeout=5).json()
    session.update(status="complete", payment_status="paid", amount_total=100)  # Rp1
    event = {"id": "evt_rp1", "object": "event", "type": "checkout.session.completed",
             "created": int(time.time()), "data": {"object": session}, "livemode": False}
    body = json.dumps(event).encode()
    answer = deliver(client, sandbox, events=[{"body": body, "signature": sandbox.sign(body)}])
    assert answer[0].status_code == 200
    db.session.expire_all()
    assert db.session.get(Purchase, purchase.id).status == "pending"
    assert "Dibayar Rp1, totalnya Rp85.000." in db.session.scalar(
        select(PaymentRecord.message).where(PaymentRecord.kind == "mismatch"))


def test_ledger_check_fails_on_a_paid_purchase_without_its_payment(client, goods, runner):
    purchase = start_purchase(client, goods)
    # What the old settle() did with a Rp1 payment: marked paid, nothing matched it.
    db.session.execute(Purchase.__table__.update().where(Purchase.id == purchase.id)
                       .values(status="paid"))
    db.session.commit()
    result = runner.invoke(args=["ledger-check"])
    assert result.exit_code != 0 and purchase.code in result.output


def test_a_real_payment_counts_once_and_is_on_record(client, goods, sandbox, runner):
    purchase = start_purchase(client, goods)
    sandbox.pay(purchase.payment_id)
    events = sandbox.events()
    deliver(client, sandbox, events=events + events)  # every event twice
    db.session.expire_all()
    assert db.session.get(Purchase, purchase.id).status == "paid"
    kinds = db.session.scalars(select(PaymentRecord.kind).where(
        PaymentRecord.purchase_id == purchase.id).order_by(PaymentRecord.id)).all()
    assert kinds[0] == "create" and kinds.count("settled") == 1 and "webhook" in kinds
    assert db.session.scalar(select(StockHold.state).where(
        StockHold.purchase_id == purchase.id).limit(1)) == "consumed"
    assert runner.invoke(args=["ledger-check"]).exit_code == 0
    # The shopper's receipt and the office tell the story.
    receipt = client.get(f"/pesanan/{purchase.code}").get_data(as_text=True)
    assert "Riwayat pembayaran" in receipt and "Dihitung lunas" in receipt
    assert purchase.payment_id not in receipt  # the gateway's ids are for the office
    UserFactory(email="dinas@gerai.test", roles=["observer"])
    office = client.application.test_client()
    office.post("/masuk", data={"email": "dinas@gerai.test", "password": "kopi-tubruk-cisadane",
                                "csrf_token": csrf_token(office, "/masuk")})
    story = office.get(f"/admin/pembayaran/{purchase.code}").get_data(as_text=True)
    assert purchase.payment_id in story and story.count("Kabar dari gateway") >= 1


# --- a stale form over a sale ----------------------------------------------------------------

@pytest.fixture
def seller_client(app):
    owner = UserFactory(email="ijah@contoh.id", roles=["shopper", "seller"])
    shop = ShopFactory(owner=owner, name="Dapur Mak Ijah")
    category = CategoryFactory(name="Camilan")
    product = ProductFactory(shop=shop, category=category, name="Keripik Talas", price=15_000,
                             stock=2)
    app.test_client_class = IsolatedClient
    client = app.test_client()
    token = csrf_token(client, "/masuk")
    client.post("/masuk", data={"email": "ijah@contoh.id", "password": "kopi-tubruk-cisadane",
                                "csrf_token": token})
    return client, product


def _form_fields(page: str) -> dict:
    fields = {}
    for tag in re.findall(r"<(?:input|select|textarea)[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="file"' in tag or 'type="submit"' in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields[name.group(1)] = value.group(1) if value else ""
    return fields


def test_a_stale_product_form_cannot_undo_a_sale(seller_client, client, sandbox):
    seller, product = seller_client
    edit = f"/penjual/produk/{product.id}"
    opened = seller.get(edit).get_data(as_text=True)  # stock 2 on the form
    form = _form_fields(opened)
    form["category_id"] = str(product.category_id)
    form["status"] = "active"
    form["description"] = "Renyah, tanpa pengawet."
    # A shopper buys both while the form is open.
    fill_cart(client, (product, 2))
    client.post("/checkout", data={"name": "Budi", "whatsapp": "0812 1111 2222", "email": "",
                                   f"antar-{product.shop_id}": "pickup",
                                   "csrf_token": csrf_token(client, "/checkout")})
    assert pay(client, review_form(client)).status_code == 303
    db.session.expire_all()
    assert db.session.get(Product, product.id).stock == 0
    answer = seller.post(edit, data=form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert "Stok berubah dari 2 menjadi 0" in page
    assert "Renyah, tanpa pengawet." in page  # what the seller typed is still there
    db.session.expire_all()
    assert db.session.get(Product, product.id).stock == 0
    assert db.session.scalar(select(func.count(StockAdjustment.id)).where(
        StockAdjustment.reason == "correction")) == 0
    # The seller reads the message, keeps 0, and saves: the description lands.
    returned = _form_fields(page)
    assert returned["stock_seen"] == "0" and returned["stock"] == "2"
    again = seller.post(edit, data=returned | {
        "category_id": str(product.category_id), "status": "active", "stock": "0",
        "description": "Renyah, tanpa pengawet."})
    assert again.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Product, product.id)
    assert (saved.stock, saved.description) == (0, "Renyah, tanpa pengawet.")


def test_the_inline_edit_refuses_a_count_over_a_sale(seller_client):
    seller, product = seller_client
    token = csrf_token(seller, "/penjual/produk")
    answer = seller.post(f"/penjual/produk/{product.id}/cepat", headers={
        "HX-Request": "true", "HX-Target": f"produk-{product.id}"},
        data={"price": "15.000", "stock": "7", "stock_seen": "5", "csrf_token": token})
    assert answer.status_code == 409 and "Stok berubah dari 5 menjadi 2" in answer.get_data(
        as_text=True)
    db.session.expire_all()
    assert db.session.get(Product, product.id).stock == 2


# --- search sees every stock move ---------------------------------------------------------------

def test_search_follows_the_last_unit_sold_and_the_restock(seller_client, client):
    seller, product = seller_client
    sync_search()

    def listed() -> bool:
        sync_search()
        return "Keripik Talas" in client.get("/katalog?stok=1").get_data(as_text=True)

    assert listed()
    fill_cart(client, (product, 2))
    client.post("/checkout", data={"name": "Budi", "whatsapp": "0812 1111 2222", "email": "",
                                   f"antar-{product.shop_id}": "pickup",
                                   "csrf_token": csrf_token(client, "/checkout")})
    assert pay(client, review_form(client)).status_code == 303
    assert not listed()  # the last units are held: not "Tersedia"
    page = f"/penjual/produk/{product.id}/stok"
    answer = seller.post(page, data={"change": "5", "reason": "restock", "variant_id": "0",
                                     "note": "", "csrf_token": csrf_token(seller, page)})
    assert answer.status_code == 303
    assert listed()


# --- anonymous hoarding ---------------------------------------------------------------------

def test_one_address_cannot_hold_a_products_stock_from_many_carts(app, goods):
    app.test_client_class = IsolatedClient
    app.config.update(HOLDS_PER_CLIENT=3, HELD_UNITS_PER_CLIENT_PRODUCT=4)
    keripik = goods["keripik"]
    codes = []
    for n in range(4):
        client = app.test_client()  # a fresh browser every time: cookies prove nothing
        fill_cart(client, (keripik, 1))
        client.post("/checkout", data={"name": f"Anon {n}", "whatsapp": "0812 1111 2222",
                                       "email": "", f"antar-{keripik.shop_id}": "pickup",
                                       "csrf_token": csrf_token(client, "/checkout")})
        answer = pay(client, review_form(client))
        codes.append(answer.status_code)
    assert codes == [303, 303, 303, 429]
    assert "Terlalu banyak pembayaran" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Product, keripik.id).stock == 5 - 3


# --- refunds keep the gateway's word ------------------------------------------------------------

def _control(sandbox, path: str) -> dict:
    answer = requests.post(f"{sandbox.url}/_sandbox/{path}", headers=KEY, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def paid_order(app, client, goods, sandbox):
    """A paid online order of Dapur Bu Sri, and its owner signed in on another browser."""
    purchase = start_purchase(client, goods)
    sandbox.pay(purchase.payment_id)
    deliver(client, sandbox)
    order = next(o for o in db.session.get(Purchase, purchase.id).orders
                 if o.shop_id == goods["keripik"].shop_id)
    app.test_client_class = IsolatedClient
    owner = app.test_client()
    owner.post("/masuk", data={"email": order.shop.owner.email, "password": "kopi-tubruk-cisadane",
                               "csrf_token": csrf_token(owner, "/masuk")})
    yield order, owner
    _control(sandbox, "refunds/instant")


def _cancel(owner, order):
    page = f"/penjual/pesanan/{order.id}"
    return owner.post(page, data={"status": "cancelled", "note": "Stok habis",
                                  "csrf_token": csrf_token(owner, page)})


def _refunds_in_ledger(order) -> int:
    return db.session.scalar(select(func.count(LedgerEntry.id)).where(
        LedgerEntry.order_id == order.id, LedgerEntry.kind == "refund"))


def _sales_in_ledger(order) -> int:
    return db.session.scalar(select(func.count(LedgerEntry.id)).where(
        LedgerEntry.order_id == order.id, LedgerEntry.kind == "sale"))


def test_a_pending_refund_stays_pending_until_the_gateway_says_so(paid_order, client, sandbox,
                                                                   goods, runner):
    order, owner = paid_order
    _control(sandbox, "refunds/wait")
    assert _cancel(owner, order).status_code == 303
    db.session.expire_all()
    order = db.session.get(type(order), order.id)
    assert (order.status, order.refund_status, order.refunded_at) == ("cancelled", "pending", None)
    assert _refunds_in_ledger(order) == 0  # no money has gone back yet
    assert db.session.get(Product, goods["keripik"].id).stock == 5  # the goods are back
    assert "sedang diproses gateway" in owner.get(f"/penjual/pesanan/{order.id}").get_data(
        as_text=True)
    _control(sandbox, f"refunds/{order.refund_reference}/succeed")
    deliver(client, sandbox)
    deliver(client, sandbox, events=[])  # nothing new: replays are the sandbox's to send
    db.session.expire_all()
    order = db.session.get(type(order), order.id)
    assert order.refund_status == "succeeded" and order.refunded_at is not None
    assert _refunds_in_ledger(order) == _sales_in_ledger(order) > 0
    assert "sudah dikembalikan" in owner.get(f"/penjual/pesanan/{order.id}").get_data(as_text=True)
    assert runner.invoke(args=["ledger-check"]).exit_code == 0


def test_a_failed_refund_shows_to_seller_and_office_and_can_be_asked_again(
        paid_order, client, sandbox, auth):
    order, owner = paid_order
    _control(sandbox, "refunds/wait")
    _cancel(owner, order)
    db.session.expire_all()
    first = db.session.get(type(order), order.id).refund_reference
    _control(sandbox, f"refunds/{first}/fail")
    deliver(client, sandbox)
    db.session.expire_all()
    order = db.session.get(type(order), order.id)
    assert order.refund_status == "failed" and _refunds_in_ledger(order) == 0
    page = owner.get(f"/penjual/pesanan/{order.id}").get_data(as_text=True)
    assert "gagal di gateway" in page and "Coba kembalikan dana lagi" in page
    UserFactory(email="dinas@gerai.test", roles=["admin"])
    auth.login("dinas@gerai.test")
    assert order.code in client.get("/admin/pembayaran").get_data(as_text=True)
    _control(sandbox, "refunds/instant")
    retry = f"/penjual/pesanan/{order.id}/kembalikan-dana"
    assert owner.post(retry, data={"csrf_token": csrf_token(owner, f"/penjual/pesanan/{order.id}")}
                      ).status_code == 303
    db.session.expire_all()
    order = db.session.get(type(order), order.id)
    assert order.refund_status == "succeeded" and order.refund_reference != first
    assert _refunds_in_ledger(order) == _sales_in_ledger(order) > 0


def test_the_reconciler_finishes_a_refund_whose_webhook_was_lost(paid_order, sandbox, runner):
    order, owner = paid_order
    _control(sandbox, "refunds/wait")
    _cancel(owner, order)
    db.session.expire_all()
    reference = db.session.get(type(order), order.id).refund_reference
    _control(sandbox, f"refunds/{reference}/succeed")  # its events are never delivered
    result = runner.invoke(args=["payments-reconcile"])
    assert "refunds: 1" in result.output
    db.session.expire_all()
    assert db.session.get(type(order), order.id).refund_status == "succeeded"
    assert runner.invoke(args=["ledger-check"]).exit_code == 0


def test_a_paid_webhook_before_the_payment_id_is_recorded_is_retried_and_settles_once(
        client, goods, sandbox):
    """Issue 20.2: the gateway's paid event can arrive before Gerai has committed the
    payment page's id (the gateway answered, Gerai's commit is still on its way). It is
    answered 409, so the gateway retries; once the id is there, it settles exactly once."""
    purchase = start_purchase(client, goods)
    session_id = purchase.payment_id
    db.session.execute(Purchase.__table__.update().where(Purchase.id == purchase.id)
                       .values(payment_id=None, payment_url=None))
    db.session.commit()
    sandbox.pay(session_id)
    events = sandbox.events()
    early = deliver(client, sandbox, events=events)
    assert 409 in [answer.status_code for answer in early]
    db.session.expire_all()
    assert db.session.get(Purchase, purchase.id).status == "pending"
    db.session.execute(Purchase.__table__.update().where(Purchase.id == purchase.id)
                       .values(payment_id=session_id))
    db.session.commit()
    retried = deliver(client, sandbox, events=events + events)  # the gateway's retries
    assert all(answer.status_code == 200 for answer in retried)
    db.session.expire_all()
    assert db.session.get(Purchase, purchase.id).status == "paid"
    assert db.session.scalar(select(func.count(PaymentRecord.id)).where(
        PaymentRecord.kind == "settled")) == 1
