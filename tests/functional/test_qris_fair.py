"""A stand's QRIS charge end to end (issue 15): Gerai served on loopback, the keeper's till
makes a dynamic QRIS through the Xendit adapter, the Xendit-compatible sandbox is paid as
a payer's app would pay it, and its callbacks (with the token, duplicated, held, late,
wrong) reach Gerai over HTTP. Nothing paid twice, nothing paid wrong, no money lost."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import qriskit
import requests
from sqlalchemy import func, select

from storefront.checkout.models import PaymentEvent, Purchase
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.ledger.models import LedgerEntry
from storefront.payments import runner
from storefront.payments.models import PaymentRecord, StrayPayment
from storefront.payments.xendit_sandbox import create_xendit_sandbox_app
from tests.conftest import IsolatedClient
from tests.functional.test_fair_till import items
from tests.helpers import Served, csrf_token

KEY = "xnd_development_fair_tests"
TOKEN = "fair-callback-token"


@pytest.fixture(scope="module")
def xendit_server():
    app = create_xendit_sandbox_app(secret_key=KEY, callback_url=None, callback_token=TOKEN,
                                    retry_delays=(0.1, 0.2, 0.4, 0.8, 1.6))
    served = Served(app)
    served.state = app.extensions["xendit_sandbox"]
    yield served
    served.state.drain(5)
    served.close()


@pytest.fixture
def gerai(app, xendit_server):
    """Gerai over HTTP with QRIS for stands; the sandbox calls it back."""
    app.test_client_class = IsolatedClient
    app.config.update(QRIS_GATEWAY="xendit", XENDIT_API_URL=xendit_server.url,
                      XENDIT_SECRET_KEY=KEY, XENDIT_CALLBACK_TOKEN=TOKEN,
                      PAYMENT_GATEWAY_TIMEOUT=5)
    app.extensions["gerai.gateways"] = {}
    served = Served(app)
    callbacks = xendit_server.state.callbacks
    callbacks.url = f"{served.url}/payments/webhooks/xendit"
    callbacks.enabled, callbacks.duplicates, callbacks.hold = True, 1, False
    callbacks.retry_delays = (0.1, 0.2, 0.4, 0.8, 1.6)
    yield served
    xendit_server.state.drain(5)
    callbacks.url = None
    served.close()


def control(server, path, body=None):
    answer = requests.post(f"{server.url}/_sandbox/{path}", json=body or {}, auth=(KEY, ""),
                           timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def ring_up_qr(keeper, stand, n=2, key="kunci-qris-0001"):
    data = {"metode": "qr", "kunci": key, "csrf_token": csrf_token(keeper, stand["url"] + "/kasir"),
            f"q-{items(stand)['Keripik Tempe'].id}": n}
    answer = keeper.post(stand["url"] + "/kasir/jual", data=data,
                         headers={"Accept": "application/json"})
    assert answer.status_code in (200, 201), answer.get_data(as_text=True)
    return answer.json


def purchase(code) -> Purchase:
    db.session.expire_all()
    return db.session.scalar(select(Purchase).where(Purchase.code == code))


def wait_for(condition, timeout=8.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        if condition():
            return True
        time.sleep(0.05)
    return False


def qr_id(code) -> str:
    return purchase(code).payment_id


def sales_of(code) -> int:
    """How many times the purchase's goods were booked as sold (its order's sale lines)."""
    from storefront.orders.models import Order

    return db.session.scalar(
        select(func.count(LedgerEntry.id)).join(Order, Order.id == LedgerEntry.order_id)
        .join(Purchase, Purchase.id == Order.purchase_id)
        .where(Purchase.code == code, LedgerEntry.kind == "sale")) or 0


def test_the_till_shows_a_qris_for_the_sale_and_turns_lunas_from_the_callback(
        gerai, xendit_server, keeper, stand):
    sale = ring_up_qr(keeper, stand, 2)
    payload = sale["qris"]
    parsed = qriskit.parse(payload, strict=True)
    assert parsed.is_dynamic and int(parsed.amount) == 30_000 == sale["total"]
    page = keeper.get(f"{stand['url']}/kasir/tagihan/{sale['code']}").get_data(as_text=True)
    assert "<svg" in page and "Scan dengan aplikasi e-wallet atau m-banking apa pun" in page
    assert "Rp30.000" in page and "LUNAS" not in page
    paid = requests.post(f"{xendit_server.url}/wallet/pay",
                         data={"qr_string": payload, "app": "OVO", "hasil": "bayar"}, timeout=5)
    assert paid.status_code == 200
    assert wait_for(lambda: purchase(sale["code"]).status == "paid")
    page = keeper.get(f"{stand['url']}/kasir/tagihan/{sale['code']}").get_data(as_text=True)
    assert "LUNAS" in page
    assert ledger.check() == []
    # The reconciler asks for the fee: 0% MDR for a micro merchant under Rp500.000.
    runner.collect_fees()
    assert db.session.scalar(select(PaymentRecord.amount).where(
        PaymentRecord.kind == "fee", PaymentRecord.purchase_id == purchase(sale["code"]).id)) == 0


@pytest.mark.parametrize("copies", [3, 10])
def test_a_callback_arriving_many_times_at_once_pays_once(gerai, xendit_server, keeper,
                                                         stand, copies):
    control(xendit_server, "callbacks", {"duplicates": copies})
    sale = ring_up_qr(keeper, stand, 1, key=f"kunci-dupe-{copies}")
    control(xendit_server, f"qr_codes/{qr_id(sale['code'])}/pay")
    assert wait_for(lambda: purchase(sale["code"]).status == "paid")
    xendit_server.state.drain(10)
    assert sales_of(sale["code"]) == 1
    assert db.session.scalar(select(func.count(PaymentEvent.id))) == 1
    assert db.session.scalar(select(func.count(StrayPayment.id))) == 0
    assert ledger.check() == []


def test_paid_while_the_keeper_cancels_it_counts_and_the_held_callback_changes_nothing(
        gerai, xendit_server, keeper, stand):
    control(xendit_server, "callbacks", {"hold": True})
    sale = ring_up_qr(keeper, stand, 1, key="kunci-held-0001")
    control(xendit_server, f"qr_codes/{qr_id(sale['code'])}/pay")
    answer = keeper.post(f"{stand['url']}/kasir/tagihan/{sale['code']}/batal",
                         data={"csrf_token": csrf_token(keeper, stand["url"] + "/kasir")})
    assert answer.status_code == 303
    assert purchase(sale["code"]).status == "paid"  # the gateway said paid: not cancelled
    control(xendit_server, "callbacks", {"hold": False})
    control(xendit_server, "callbacks/release", {"order": "reversed"})
    xendit_server.state.drain(10)
    assert sales_of(sale["code"]) == 1 and ledger.check() == []


@pytest.mark.parametrize("app_name, ends", [("OVO", "refunded"), ("GOPAY", "refunded_cash")])
def test_a_qr_paid_after_its_charge_closed_is_kept_apart_and_given_back(
        gerai, xendit_server, keeper, stand, app_name, ends):
    sale = ring_up_qr(keeper, stand, 2, key=f"kunci-late-{app_name}")
    db.session.expire_all()
    stock_before = items(stand)["Keripik Tempe"].product.stock
    keeper.post(f"{stand['url']}/kasir/tagihan/{sale['code']}/batal",
                data={"csrf_token": csrf_token(keeper, stand["url"] + "/kasir")})
    assert purchase(sale["code"]).status == "cancelled"
    # Paid from a screenshot after the keeper gave up on it.
    control(xendit_server, f"qr_codes/{qr_id(sale['code'])}/pay",
            {"late": True, "source": app_name})
    assert wait_for(lambda: db.session.scalar(select(StrayPayment)) is not None)
    stray = db.session.scalar(select(StrayPayment))
    assert (stray.amount, stray.state, stray.source) == (30_000, "needs_refund", app_name)
    assert purchase(sale["code"]).status == "cancelled" and sales_of(sale["code"]) == 0
    db.session.expire_all()
    assert items(stand)["Keripik Tempe"].product.stock == stock_before + 2  # back on sale
    screen = keeper.get(stand["url"] + "/kasir").get_data(as_text=True)
    assert "Uang yang harus dikembalikan" in screen and "Rp30.000" in screen
    runner.reconcile(older_than_minutes=0)
    xendit_server.state.drain(10)
    runner.reconcile(older_than_minutes=0)  # a refund callback that came too early
    if app_name == "GOPAY":
        db.session.expire_all()
        assert db.session.get(StrayPayment, stray.id).state == "cash_needed"
        refused = keeper.post(f"{stand['url']}/kasir/uang-kembali/{stray.id}",
                              data={"nama": " ", "csrf_token": csrf_token(keeper, "/")},
                              follow_redirects=True)
        assert "Tulis nama" in refused.get_data(as_text=True)
        keeper.post(f"{stand['url']}/kasir/uang-kembali/{stray.id}",
                    data={"nama": "Bu Sri", "csrf_token": csrf_token(keeper, "/")})
    assert wait_for(lambda: db.session.get(StrayPayment, stray.id).state == ends)
    if ends == "refunded_cash":
        assert db.session.get(StrayPayment, stray.id).refunded_by_name == "Bu Sri"
    assert ledger.check() == []


def test_a_callback_for_the_wrong_amount_pays_nothing_and_is_kept_to_give_back(
        gerai, xendit_server, keeper, stand):
    sale = ring_up_qr(keeper, stand, 1, key="kunci-amount-01")
    code_id = qr_id(sale["code"])
    body = {"event": "qr.payment", "data": {
        "id": "qrpy_forged0001", "qr_id": code_id, "reference_id": sale["code"],
        "amount": 1, "currency": "IDR", "status": "SUCCEEDED"}}
    answer = requests.post(f"{gerai.url}/payments/webhooks/xendit", json=body,
                           headers={"x-callback-token": TOKEN}, timeout=5)
    assert answer.status_code == 200
    assert purchase(sale["code"]).status == "pending" and sales_of(sale["code"]) == 0
    assert db.session.scalar(select(StrayPayment.amount)) == 1


@pytest.mark.parametrize("headers", [{}, {"x-callback-token": ""},
                                     {"x-callback-token": "not-the-token"}])
def test_a_callback_without_the_token_is_refused(gerai, keeper, stand, headers):
    sale = ring_up_qr(keeper, stand, 1, key="kunci-token-001")
    body = {"event": "qr.payment", "data": {
        "id": "qrpy_forged0002", "qr_id": qr_id(sale["code"]), "reference_id": sale["code"],
        "amount": 15_000, "currency": "IDR", "status": "SUCCEEDED"}}
    answer = requests.post(f"{gerai.url}/payments/webhooks/xendit", data=json.dumps(body),
                           headers={"Content-Type": "application/json", **headers}, timeout=5)
    assert answer.status_code == 400
    assert purchase(sale["code"]).status == "pending"


def test_a_callback_for_an_unknown_reference_is_retried_not_applied(gerai):
    body = {"event": "qr.payment", "data": {
        "id": "qrpy_unknown01", "qr_id": "qr_unknown", "reference_id": "ST-TIDAKADA",
        "amount": 15_000, "currency": "IDR", "status": "SUCCEEDED"}}
    answer = requests.post(f"{gerai.url}/payments/webhooks/xendit", json=body,
                           headers={"x-callback-token": TOKEN}, timeout=5)
    assert answer.status_code == 409


def test_twenty_parallel_duplicate_callbacks_pay_once(gerai, xendit_server, keeper,
                                                      stand):
    control(xendit_server, "callbacks", {"enabled": False})
    sale = ring_up_qr(keeper, stand, 1, key="kunci-para-0001")
    paid = control(xendit_server, f"qr_codes/{qr_id(sale['code'])}/pay")
    body = {"event": "qr.payment", "data": {k: v for k, v in paid.items()
                                            if k != "refunded_amount"}}

    def deliver(_n):
        return requests.post(f"{gerai.url}/payments/webhooks/xendit", json=body,
                             headers={"x-callback-token": TOKEN}, timeout=10).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(deliver, range(20)))
    assert set(statuses) == {200}, statuses
    assert purchase(sale["code"]).status == "paid" and sales_of(sale["code"]) == 1
    assert ledger.check() == []


def test_a_visitor_basket_shows_a_qris_on_the_phone_to_save_and_turns_lunas(
        app, gerai, xendit_server, keeper, stand):
    phone = app.test_client()
    answer = phone.post(stand["url"] + "/beli", data={
        f"q-{items(stand)['Kopi Robusta'].id}": "1", "csrf_token": csrf_token(phone, stand["url"])})
    assert answer.status_code == 303 and "/bayar/" in answer.headers["Location"]
    pay_page = answer.headers["Location"]
    started = phone.post(pay_page, data={"csrf_token": csrf_token(phone, pay_page)})
    assert started.status_code == 303 and started.headers["Location"].endswith(pay_page)
    page = phone.get(pay_page).get_data(as_text=True)
    assert "Simpan gambar QR" in page and "Scan dengan aplikasi e-wallet" in page
    assert "data-countdown" in page and "<svg" in page
    sale = db.session.scalar(select(Purchase).where(Purchase.stand_id.is_not(None)))
    picture = phone.get(f"{pay_page}/qris.png")
    assert picture.status_code == 200 and picture.mimetype == "image/png"
    assert "attachment" in picture.headers["Content-Disposition"]
    import io

    import zxingcpp
    from PIL import Image

    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(picture.data)))
    assert decoded and decoded[0].text == purchase(sale.code).payment_qr
    assert int(qriskit.parse(decoded[0].text).amount) == 40_000
    # Pressing the button again (a second tab) shows the same code, not a second one.
    phone.post(pay_page, data={"csrf_token": csrf_token(phone, pay_page)})
    assert len(xendit_server.state.codes) == len({c["reference_id"]
                                                  for c in xendit_server.state.codes.values()})
    requests.post(f"{xendit_server.url}/wallet/pay", timeout=5,
                  data={"qr_string": decoded[0].text, "app": "SHOPEEPAY", "hasil": "bayar"})
    assert wait_for(lambda: purchase(sale.code).status == "paid")
    assert "LUNAS" in phone.get(pay_page).get_data(as_text=True)
    assert phone.get(f"{pay_page}/qris.png").status_code == 404  # paid: nothing left to pay


@pytest.mark.parametrize("app_name", ["OVO", "GOPAY"])
def test_voiding_a_paid_qris_sale_refunds_it_or_asks_for_cash_by_a_named_person(
        gerai, xendit_server, keeper, stand, app_name):
    sale = ring_up_qr(keeper, stand, 1, key=f"kunci-void-{app_name}")
    control(xendit_server, f"qr_codes/{qr_id(sale['code'])}/pay", {"source": app_name})
    assert wait_for(lambda: purchase(sale["code"]).status == "paid")
    order = purchase(sale["code"]).orders[0]
    url = f"{stand['url']}/kasir/penjualan/{order.code}/batal"
    answer = keeper.post(url, data={"alasan": "Salah barang", "csrf_token": csrf_token(keeper, url)})
    if app_name == "OVO":
        assert answer.status_code == 303
        xendit_server.state.drain(5)
        runner.reconcile(older_than_minutes=0)  # a refund callback that came too early
        assert wait_for(lambda: purchase(sale["code"]).orders[0].refunded_at is not None)
    else:
        page = answer.get_data(as_text=True)
        assert answer.status_code == 409 and "Kembalikan Rp15.000 secara tunai" in page
        db.session.expire_all()
        assert purchase(sale["code"]).orders[0].refund_status == "cash_due"
        screen = keeper.get(stand["url"] + "/kasir").get_data(as_text=True)
        assert "Kembalikan tunai" in screen
        empty = keeper.post(url, data={"nama": "", "csrf_token": csrf_token(keeper, url)})
        assert empty.status_code == 422 and "Tulis nama" in empty.get_data(as_text=True)
        keeper.post(url, data={"nama": "Bu Sri", "csrf_token": csrf_token(keeper, url)})
        db.session.expire_all()
        assert purchase(sale["code"]).orders[0].refunded_at is not None
        story = db.session.scalars(select(PaymentRecord.reference).where(
            PaymentRecord.kind == "refund_result")).all()
        assert story and "tunai oleh Bu Sri" in story[-1]
    db.session.expire_all()
    assert items(stand)["Keripik Tempe"].product.stock == 10  # back on sale
    assert ledger.check() == []


def test_a_charge_poll_that_already_shows_the_state_is_answered_with_204(
        gerai, xendit_server, keeper, stand):
    sale = ring_up_qr(keeper, stand, 1, key="kunci-poll-0001")
    url = f"{stand['url']}/kasir/tagihan/{sale['code']}"
    poll = {"HX-Request": "true", "HX-Target": "tagihan"}
    first = keeper.get(url, headers=poll)
    assert first.status_code == 200 and """hx-headers='{"X-Version": "pending"}'""" in \
        first.get_data(as_text=True)
    same = keeper.get(url, headers={**poll, "X-Version": "pending"})
    assert same.status_code == 204 and same.data == b""
    assert keeper.get(url, headers={**poll, "X-Version": "kuno"}).status_code == 200
    control(xendit_server, f"qr_codes/{qr_id(sale['code'])}/pay")
    assert wait_for(lambda: purchase(sale["code"]).status == "paid")
    paid = keeper.get(url, headers={**poll, "X-Version": "pending"})
    assert paid.status_code == 200 and "LUNAS" in paid.get_data(as_text=True)
    # A full page load (no HX-Request) always renders, whatever it sends.
    assert keeper.get(url, headers={"X-Version": "paid"}).status_code == 200


def test_after_an_outage_every_paid_charge_settles_once(gerai, xendit_server, keeper,
                                                        stand):
    """Issue 20.4, compressed: Gerai's callback address is unreachable while 9 charges are
    paid (every callback and all its retries fail, as over a 3-hour outage whose six
    deliveries all fell inside it); when Gerai is back the reconciler asks Xendit about
    each pending charge: 100% settle, each once, and late duplicates change nothing."""
    callbacks = xendit_server.state.callbacks
    reachable, callbacks.url = callbacks.url, "http://127.0.0.1:9/payments/webhooks/xendit"
    callbacks.retry_delays = (0.01,) * 5  # six attempts, all into the outage
    logged_before = len(callbacks.log)
    codes = []
    for n in range(9):
        sale = ring_up_qr(keeper, stand, 1, key=f"kunci-outage-{n:04d}")
        control(xendit_server, f"qr_codes/{qr_id(sale['code'])}/pay",
                {"source": ["OVO", "DANA", "GOPAY", "BCA"][n % 4]})
        codes.append(sale["code"])
    xendit_server.state.drain(10)
    failed = [e for e in list(callbacks.log)[logged_before:]
              if e["error"] and e["event"] == "qr.payment"]
    assert len(failed) == 9 * 6  # every delivery attempt met the outage
    assert [purchase(code).status for code in codes] == ["pending"] * 9
    callbacks.url = reachable  # Gerai is back
    counts = runner.reconcile(older_than_minutes=0)
    assert counts["paid"] == 9 and counts["errors"] == 0, counts
    assert all(purchase(code).status == "paid" for code in codes)
    assert all(sales_of(code) == 1 for code in codes)
    # A late redelivery of every payment after recovery: nothing counted twice.
    for code in codes:
        paid = requests.get(f"{xendit_server.url}/qr_codes/{qr_id(code)}/payments",
                            auth=(KEY, ""), headers={"api-version": "2022-07-31"},
                            timeout=5).json()["data"][0]
        body = {"event": "qr.payment", "data": {k: v for k, v in paid.items()
                                                 if k != "refunded_amount"}}
        assert requests.post(f"{gerai.url}/payments/webhooks/xendit", json=body,
                             headers={"x-callback-token": TOKEN}, timeout=5).status_code == 200
    assert all(sales_of(code) == 1 for code in codes) and ledger.check() == []
