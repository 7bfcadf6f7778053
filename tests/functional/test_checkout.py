"""Paying once for a cart from several shops, through the real stripe SDK and the sandbox."""

import json
import threading

import pytest
import requests
from sqlalchemy import func, select

from storefront.catalogue.models import Product
from storefront.checkout.models import PaymentEvent, Purchase
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.payments.models import PaymentRecord
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.helpers import csrf_token

pytestmark = pytest.mark.usefixtures("sandbox_app")


@pytest.fixture
def goods(app):
    sri = ShopFactory(name="Dapur Bu Sri", delivery_fee=10_000)
    cimone = ShopFactory(name="Koperasi Cimone", type="koperasi")
    return {
        "keripik": ProductFactory(shop=sri, name="Keripik Pedas", price=15_000, stock=5),
        "kopi": ProductFactory(shop=cimone, name="Kopi Robusta", price=45_000, stock=10),
    }


def fill_cart(client, *items):
    token = csrf_token(client, "/keranjang")
    for product, quantity in items:
        client.post("/keranjang/tambah", data={"product_id": product.id, "quantity": quantity,
                                               "csrf_token": token})


def checkout_details(client, goods, **fields):
    data = {"name": "Budi Santoso", "whatsapp": "0812 1111 2222", "email": "",
            f"antar-{goods['keripik'].shop.id}": "delivery",
            f"alamat-{goods['keripik'].shop.id}": "Jl. Kenanga 3, Cipondoh",
            f"antar-{goods['kopi'].shop.id}": "pickup",
            "csrf_token": csrf_token(client, "/checkout"), **fields}
    return client.post("/checkout", data=data)


def review_form(client) -> dict:
    page = client.get("/checkout/periksa").get_data(as_text=True)
    values = {}
    for name in ("csrf_token", "attempt", "fingerprint"):
        marker = f'name="{name}" type="hidden" value="'
        start = page.index(marker) + len(marker)
        values[name] = page[start:page.index('"', start)]
    return values


def pay(client, form=None):
    return client.post("/checkout/bayar", data=form or review_form(client))


def start_purchase(client, goods) -> Purchase:
    fill_cart(client, (goods["keripik"], 2), (goods["kopi"], 1))
    checkout_details(client, goods)
    response = pay(client)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert "/pay/" in response.headers["Location"]  # the sandbox's hosted page
    return db.session.scalar(select(Purchase))


def deliver(client, sandbox, purchase_or_event_type=None, events=None):
    """Post the sandbox's signed events to our webhook, as the gateway would."""
    responses = []
    for event in events if events is not None else sandbox.events():
        responses.append(client.post("/payments/webhooks/sandbox", data=event["body"],
                                     headers={"Stripe-Signature": event["signature"],
                                              "Content-Type": "application/json"}))
    return responses


def test_review_shows_server_totals_per_shop(client, goods):
    fill_cart(client, (goods["keripik"], 2), (goods["kopi"], 1))
    assert checkout_details(client, goods).status_code == 303
    page = client.get("/checkout/periksa").get_data(as_text=True)
    assert "Rp40.000" in page  # 2 x 15.000 + 10.000 delivery
    assert "Rp45.000" in page and "Rp85.000" in page


def test_delivery_needs_an_address_and_a_shop_that_delivers(client, goods):
    fill_cart(client, (goods["keripik"], 1), (goods["kopi"], 1))
    no_address = checkout_details(client, goods, **{f"alamat-{goods['keripik'].shop.id}": ""})
    assert no_address.status_code == 422 and "Tulis alamat pengantaran" in no_address.get_data(as_text=True)
    pickup_only = checkout_details(client, goods, **{f"antar-{goods['kopi'].shop.id}": "delivery"})
    assert pickup_only.status_code == 422 and "hanya melayani ambil" in pickup_only.get_data(as_text=True)
    bad_phone = checkout_details(client, goods, whatsapp="123")
    assert bad_phone.status_code == 422 and 'value="Budi Santoso"' in bad_phone.get_data(as_text=True)


def test_paying_holds_stock_and_creates_one_order_per_shop(client, goods):
    purchase = start_purchase(client, goods)
    assert purchase.status == "pending" and purchase.total == 85_000
    assert sorted(o.total for o in purchase.orders) == [40_000, 45_000]
    db.session.refresh(goods["keripik"])
    assert goods["keripik"].stock == 3  # held while the shopper pays


def test_paid_on_the_hosted_page_then_confirmed_by_webhook(client, goods, sandbox):
    purchase = start_purchase(client, goods)
    sandbox.pay(purchase.payment_id)
    deliver(client, sandbox)
    db.session.refresh(purchase)
    assert purchase.status == "paid"
    assert {o.status for o in purchase.orders} == {"new"}
    page = client.get(f"/pesanan/{purchase.code}").get_data(as_text=True)
    assert "LUNAS" in page
    assert "Keranjang Anda kosong" in client.get("/keranjang").get_data(as_text=True)


def test_the_receipt_reads_state_and_only_the_webhook_settles(client, goods, sandbox):
    """Settle once (issue 12): the receipt page never asks the gateway, however often it
    is polled; the webhook (or the reconciler) does, and the receipt then shows LUNAS."""
    purchase = start_purchase(client, goods)
    sandbox.pay(purchase.payment_id)
    for _ in range(3):
        page = client.get(f"/pesanan/{purchase.code}").get_data(as_text=True)
        assert "Menunggu konfirmasi" in page and "LUNAS" not in page
    asked = db.session.scalar(select(func.count(PaymentRecord.id)).where(
        PaymentRecord.kind.in_(("retrieve", "cancel"))))
    assert asked == 0
    deliver(client, sandbox)
    assert "LUNAS" in client.get(f"/pesanan/{purchase.code}").get_data(as_text=True)


def test_pending_page_asks_again_by_itself(client, goods):
    purchase = start_purchase(client, goods)
    page = client.get(f"/pesanan/{purchase.code}").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in page and "Menunggu konfirmasi" in page


def test_declined_payment_returns_stock_and_keeps_the_cart(client, goods, sandbox):
    purchase = start_purchase(client, goods)
    sandbox.decline(purchase.payment_id)
    deliver(client, sandbox)
    db.session.refresh(purchase)
    db.session.refresh(goods["keripik"])
    assert purchase.status == "failed" and goods["keripik"].stock == 5
    assert "Keripik Pedas" in client.get("/keranjang").get_data(as_text=True)


def test_expired_payment_returns_stock(client, goods, sandbox):
    purchase = start_purchase(client, goods)
    sandbox.expire(purchase.payment_id)
    deliver(client, sandbox)
    db.session.refresh(goods["kopi"])
    assert goods["kopi"].stock == 10


def test_webhook_replayed_three_times_changes_the_order_once(client, goods, sandbox):
    purchase = start_purchase(client, goods)
    sandbox.pay(purchase.payment_id)
    events = sandbox.events()
    for _ in range(3):
        deliver(client, sandbox, events=events)
    db.session.refresh(goods["keripik"])
    assert goods["keripik"].stock == 3
    assert db.session.scalar(select(db.func.count(PaymentEvent.id))) == len(events)


def test_webhooks_in_any_order_end_in_the_gateways_state(client, goods, sandbox):
    purchase = start_purchase(client, goods)
    sandbox.pay(purchase.payment_id)
    paid = sandbox.events()
    # A stale "expired" for the same payment arriving after the payment: paid stays paid.
    stale = sandbox.forge_event("checkout.session.expired", purchase.payment_id)
    deliver(client, sandbox, events=list(reversed(paid)) + [stale])
    db.session.refresh(purchase)
    assert purchase.status == "paid"
    db.session.refresh(goods["keripik"])
    assert goods["keripik"].stock == 3


@pytest.mark.parametrize("tamper", ["no signature", "wrong secret", "altered body"])
def test_unsigned_or_altered_webhooks_change_nothing(client, goods, sandbox, tamper):
    purchase = start_purchase(client, goods)
    sandbox.pay(purchase.payment_id)
    event = sandbox.events()[0]
    body, signature = event["body"], event["signature"]
    if tamper == "no signature":
        signature = ""
    elif tamper == "wrong secret":
        signature = sandbox.sign(body, secret="whsec_wrong")
    else:
        body = body.replace(b'"paid"', b'"unpaid"') if b'"paid"' in body else body + b" "
    response = client.post("/payments/webhooks/sandbox", data=body,
                           headers={"Stripe-Signature": signature, "Content-Type": "application/json"})
    assert response.status_code == 400
    db.session.refresh(purchase)
    assert purchase.status == "pending"


def test_double_clicked_pay_makes_one_purchase(client, goods):
    fill_cart(client, (goods["keripik"], 1))
    checkout_details(client, goods)
    form = review_form(client)
    first, second = pay(client, form), pay(client, form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(db.func.count(Purchase.id))) == 1


def test_a_price_change_after_review_is_shown_before_paying(client, goods):
    fill_cart(client, (goods["keripik"], 1))
    checkout_details(client, goods)
    form = review_form(client)
    goods["keripik"].price = 17_500
    db.session.commit()
    response = pay(client, form)
    assert response.status_code == 409
    assert "Rp17.500" in response.get_data(as_text=True)
    assert db.session.scalar(select(Purchase)) is None


def test_posted_prices_and_totals_are_ignored(client, goods):
    fill_cart(client, (goods["keripik"], 1))
    checkout_details(client, goods)
    form = {**review_form(client), "total": "1", "price": "1", "amount": "100"}
    pay(client, form)
    purchase = db.session.scalar(select(Purchase))
    assert purchase.total == 25_000  # 15.000 + 10.000 delivery, from the database


def test_out_of_stock_at_payment_time_is_explained(client, goods, app):
    fill_cart(client, (goods["keripik"], 3))
    checkout_details(client, goods)
    form = review_form(client)
    goods["keripik"].stock = 2
    db.session.commit()
    response = pay(client, form)
    assert response.status_code == 303 and response.headers["Location"].endswith("/keranjang")
    assert "Stok tidak cukup untuk: Keripik Pedas" in client.get("/keranjang").get_data(as_text=True)
    db.session.refresh(goods["keripik"])
    assert goods["keripik"].stock == 2 and db.session.scalar(select(Purchase)) is None


def test_gateway_down_keeps_the_cart_and_the_same_purchase_for_the_retry(client, goods, app,
                                                                          sandbox_server):
    """No answer from the gateway: the gateway may have made the page, so the purchase
    and its hold stay (one charge); "Bayar" again asks with the same key and goes on."""
    app.extensions["gerai.gateway"] = None
    app.config["SANDBOX_GATEWAY_URL"] = "http://127.0.0.1:9"  # nothing listens there
    fill_cart(client, (goods["keripik"], 1))
    checkout_details(client, goods)
    form = review_form(client)
    response = pay(client, form)
    assert response.status_code == 503
    assert "tidak tersedia" in response.get_data(as_text=True)
    assert "Keripik Pedas" in response.get_data(as_text=True)  # the review, cart intact
    assert db.session.scalar(select(Purchase.status)) == "pending"
    app.extensions["gerai.gateway"] = None
    app.config["SANDBOX_GATEWAY_URL"] = sandbox_server.url  # the gateway is back
    again = pay(client, form)
    assert again.status_code == 303 and "/pay/" in again.headers["Location"]
    assert db.session.scalar(select(func.count(Purchase.id))) == 1


def test_an_answer_lost_after_the_gateway_made_the_page_makes_one_payment(client, goods, app,
                                                                          sandbox_server):
    """Issue 20.3: the gateway creates the payment, the connection drops before Gerai hears
    back, the shopper presses Bayar again: one payment at the gateway, one charge."""
    proxy = DroppingProxy(sandbox_server.url, drop=1)
    app.extensions["gerai.gateway"] = None
    app.config["SANDBOX_GATEWAY_URL"] = proxy.url
    try:
        fill_cart(client, (goods["keripik"], 2))
        checkout_details(client, goods)
        form = review_form(client)
        assert pay(client, form).status_code == 503  # the answer was lost on the way back
        again = pay(client, form)
        assert again.status_code == 303 and "/pay/" in again.headers["Location"]
    finally:
        proxy.close()
    purchase = db.session.scalar(select(Purchase))
    # The session the gateway made for the lost answer is the one the purchase pays with.
    lost = json.loads(proxy.dropped[0].partition(b"\r\n\r\n")[2])
    assert lost["object"] == "checkout.session" and lost["id"] == purchase.payment_id
    assert db.session.scalar(select(func.count(Purchase.id))) == 1
    db.session.refresh(goods["keripik"])
    assert goods["keripik"].stock == 3  # held once


class DroppingProxy:
    """A TCP relay to the gateway that forwards each request but, the first ``drop``
    times, throws the gateway's answer away and closes: a connection lost after the
    gateway did the work (not a mock: the sandbox really makes the payment)."""

    def __init__(self, target: str, drop: int):
        import socket
        import threading
        from urllib.parse import urlsplit

        where = urlsplit(target)
        self.upstream = (where.hostname, where.port)
        self.drop = drop
        self.dropped: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import socket

        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with client, socket.create_connection(self.upstream) as upstream:
                request = self._read_http(client)
                upstream.sendall(request)
                answer = self._read_http(upstream)
                if self.drop > 0:
                    self.drop -= 1
                    self.dropped.append(answer)
                    continue  # the gateway answered; the shopper's side never hears it
                client.sendall(answer)

    @staticmethod
    def _read_http(sock) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body

    def close(self):
        self.server.close()


def test_someone_elses_purchase_is_not_found(client, goods, app):
    purchase = start_purchase(client, goods)
    stranger = app.test_client()
    assert stranger.get(f"/pesanan/{purchase.code}").status_code == 404
    token = csrf_token(stranger, "/")
    assert stranger.post(f"/pesanan/{purchase.code}/batal", data={"csrf_token": token}).status_code == 404


def test_logged_in_history_and_receipt(client, auth, goods, sandbox):
    UserFactory(email="budi@contoh.id")
    auth.login("budi@contoh.id")
    purchase = start_purchase(client, goods)
    sandbox.pay(purchase.payment_id)
    page = client.get("/akun/pesanan").get_data(as_text=True)
    assert purchase.code in page
    receipt = client.get(f"/pesanan/{purchase.code}").get_data(as_text=True)
    assert "Keripik Pedas" in receipt and "Rp85.000" in receipt


def test_the_shop_sees_its_paid_order(client, auth, goods, sandbox):
    purchase = start_purchase(client, goods)
    sandbox.pay(purchase.payment_id)
    deliver(client, sandbox)
    owner = goods["kopi"].shop.owner
    seller = client.application.test_client()
    from tests.conftest import AuthActions

    AuthActions(seller).login(owner.email)
    page = seller.get("/penjual/pesanan").get_data(as_text=True)
    order = db.session.scalar(select(Order).where(Order.shop_id == goods["kopi"].shop.id))
    assert order.code in page and "Keripik Pedas" not in seller.get(
        f"/penjual/pesanan/{order.id}").get_data(as_text=True)


def test_reconciler_settles_what_the_webhooks_missed(client, goods, sandbox, runner):
    purchase = start_purchase(client, goods)
    sandbox.pay(purchase.payment_id)  # and the webhook never comes
    purchase.created_at = purchase.created_at.replace(year=purchase.created_at.year - 1)
    db.session.commit()
    result = runner.invoke(args=["payments-reconcile"])
    assert "paid: 1" in result.output
    db.session.refresh(purchase)
    assert purchase.status == "paid"


def test_reconciler_ends_holds_that_expired(client, goods, sandbox, runner):
    purchase = start_purchase(client, goods)
    purchase.created_at = purchase.created_at.replace(year=purchase.created_at.year - 1)
    purchase.expires_at = purchase.expires_at.replace(year=purchase.expires_at.year - 1)
    db.session.commit()
    runner.invoke(args=["payments-reconcile"])
    db.session.refresh(purchase)
    db.session.refresh(goods["keripik"])
    assert purchase.status in ("expired", "cancelled") and goods["keripik"].stock == 5


def test_webhook_replayed_ten_times_in_parallel_changes_the_order_once(live_app, goods, sandbox):
    base = live_app
    session = requests.Session()
    token = csrf_token_http(session, base + "/keranjang")
    session.post(base + "/keranjang/tambah", data={"product_id": goods["keripik"].id, "quantity": 2,
                                                   "csrf_token": token})
    form = {"name": "Budi", "whatsapp": "081211112222", "csrf_token": csrf_token_http(session, base + "/checkout"),
            f"antar-{goods['keripik'].shop.id}": "pickup"}
    session.post(base + "/checkout", data=form)
    review = session.get(base + "/checkout/periksa").text
    fields = {n: review.split(f'name="{n}" type="hidden" value="')[1].split('"')[0]
              for n in ("csrf_token", "attempt", "fingerprint")}
    session.post(base + "/checkout/bayar", data=fields, allow_redirects=False)
    purchase = db.session.scalar(select(Purchase))
    sandbox.pay(purchase.payment_id)
    event = sandbox.events()[0]
    results = []

    def send():
        results.append(requests.post(base + "/payments/webhooks/sandbox", data=event["body"],
                                     headers={"Stripe-Signature": event["signature"],
                                              "Content-Type": "application/json"}).status_code)

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(200) == 10
    db.session.expire_all()
    assert db.session.scalar(select(Purchase.status).where(Purchase.code == purchase.code)) == "paid"
    assert db.session.scalar(select(Product.stock).where(Product.id == goods["keripik"].id)) == 3
    assert db.session.scalar(select(db.func.count(PaymentEvent.id))) == 1


def csrf_token_http(session, url):
    page = session.get(url).text
    return page.split('name="csrf-token" content="')[1].split('"')[0]


def test_settlement_is_idempotent(app, goods):
    from storefront.payments import settlement
    from storefront.payments.gateway import PAID, Payment

    purchase = Purchase(code="GR-X", attempt="a", buyer_name="B", buyer_whatsapp="+62812",
                        total=1_000, gateway="sandbox", payment_id="cs_1",
                        expires_at=goods["kopi"].created_at)
    db.session.add(purchase)
    db.session.commit()
    for _ in range(3):
        settlement.apply(purchase, Payment(id="cs_1", status=PAID, amount=1_000,
                                           reference="GR-X"), source="webhook")
        db.session.commit()
    assert purchase.status == "paid"
    assert db.session.scalar(select(func.count(PaymentRecord.id))
                             .where(PaymentRecord.kind == "settled")) == 1


def test_with_no_gateway_configured_bayar_says_so_and_keeps_the_cart(app, client, goods):
    """PAYMENT_GATEWAY=none and no QRIS (a misconfigured install): a clear 503, never a
    500, and the cart and stock are as they were."""
    app.config.update(PAYMENT_GATEWAY="none", QRIS_GATEWAY="")
    fill_cart(client, (goods["keripik"], 1))
    checkout_details(client, goods)
    answer = pay(client)
    assert answer.status_code == 503
    assert "tidak tersedia" in answer.get_data(as_text=True)
    assert "Keripik Pedas" in client.get("/keranjang").get_data(as_text=True)
