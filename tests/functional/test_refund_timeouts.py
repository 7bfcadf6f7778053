"""A refund whose answer was lost (timeout, dropped connection, 5xx) is made once.

The sandbox makes the refund, saves its idempotency key and then loses the answer (test
control ``refunds/lose-answer``): Gerai cannot tell whether the money went back. The seller
or keeper presses again and the reconciler runs: the retry carries the same key, so the
gateway answers with the refund it made; the gateway's own list shows ONE refund, the
order or stray payment ends refunded, nobody is asked to hand the money back in cash, and
the books agree. Through the Stripe-compatible sandbox and the Xendit sandbox."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import func, select

from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.orders.models import Order
from storefront.payments import runner as payments
from storefront.payments.models import StrayPayment
from tests.functional.test_checkout import deliver, start_purchase
from tests.functional.test_qris_fair import (  # noqa: F401 (fixtures)
    control,
    gerai,
    purchase,
    qr_id,
    ring_up_qr,
    wait_for,
    xendit_server,
)
from tests.functional.test_stock_and_money import (  # noqa: F401 (fixtures)
    KEY,
    _cancel,
    _control,
    _refunds_in_ledger,
    _sales_in_ledger,
    goods,
    paid_order,
)
from tests.helpers import csrf_token


def _stripe_refunds(sandbox, session_id: str) -> int:
    """How many refunds the Stripe-compatible sandbox made of this session's payment."""
    intent = requests.get(f"{sandbox.url}/v1/checkout/sessions/{session_id}", headers=KEY,
                          timeout=5).json()["payment_intent"]
    events = requests.get(f"{sandbox.url}/v1/events", headers=KEY, timeout=5,
                          params={"limit": 100, "type": "refund.created"}).json()["data"]
    return sum(1 for e in events if e["type"] == "refund.created"
               and e["data"]["object"]["payment_intent"] == intent)


def _xendit_refunds(server, payment_id: str) -> int:
    with server.state.lock:
        return sum(1 for r in server.state.refunds.values()
                   if r["payment_id"] == payment_id and r["status"] != "FAILED")


def _cash_offered(client, page: str, stray_id: int) -> bool:
    return f"uang-kembali/{stray_id}" in client.get(page).get_data(as_text=True)


@pytest.mark.parametrize("seller_presses_again", [True, False])
def test_an_order_refund_whose_answer_was_lost_is_made_once_at_the_stripe_sandbox(
        paid_order, sandbox, runner, seller_presses_again):  # noqa: F811
    order, owner = paid_order
    _control(sandbox, "refunds/lose-answer")
    assert _cancel(owner, order).status_code != 500  # refund made, answer lost: 503
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    session_id = order.purchase.payment_id
    assert order.refunded_at is None and _stripe_refunds(sandbox, session_id) == 1
    if seller_presses_again:
        page = f"/penjual/pesanan/{order.id}"
        retry = owner.post(f"{page}/kembalikan-dana",
                           data={"csrf_token": csrf_token(owner, page)})
        assert retry.status_code == 303
    assert runner.invoke(args=["payments-reconcile"]).exit_code == 0
    assert runner.invoke(args=["payments-reconcile"]).exit_code == 0
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.refund_status == "succeeded" and order.refunded_at is not None
    assert order.refunded_by_id == order.shop.owner_id  # a reconciler retry keeps who asked
    assert _stripe_refunds(sandbox, session_id) == 1  # not two
    assert _refunds_in_ledger(order) == _sales_in_ledger(order) > 0
    assert runner.invoke(args=["ledger-check"]).exit_code == 0


def test_a_stray_refund_whose_answer_was_lost_is_made_once_at_the_stripe_sandbox(
        client, goods, sandbox, runner, auth):  # noqa: F811
    from tests.factories import UserFactory
    from tests.functional.test_stock_and_money import _session

    pending = start_purchase(client, goods)
    # Money that counts for nothing: a session naming the purchase, for another amount.
    stray_session = _session(sandbox, **{
        "mode": "payment", "client_reference_id": pending.code,
        "success_url": "http://x.test/ok", "cancel_url": "http://x.test/no",
        "line_items[0][quantity]": "1", "line_items[0][price_data][currency]": "idr",
        "line_items[0][price_data][unit_amount]": "500000",
        "line_items[0][price_data][product_data][name]": "salah jumlah"})
    sandbox.pay(stray_session["id"])
    deliver(client, sandbox)
    stray = db.session.scalar(select(StrayPayment).where(
        StrayPayment.payment_id == stray_session["id"]))
    assert stray is not None and stray.state == "needs_refund"
    _control(sandbox, "refunds/lose-answer")
    payments.reconcile(older_than_minutes=0)  # the refund is made; its answer is lost
    db.session.expire_all()
    assert _stripe_refunds(sandbox, stray_session["id"]) == 1
    stray = db.session.get(StrayPayment, stray.id)
    assert stray.state == "refund_pending"  # may be back already: no cash form
    UserFactory(email="dinas@gerai.test", roles=["admin"])
    auth.login("dinas@gerai.test")
    assert not _cash_offered(client, "/admin/pembayaran", stray.id)
    refused = client.post(f"/admin/pembayaran/uang-kembali/{stray.id}", follow_redirects=True,
                          data={"nama": "Pak Budi", "csrf_token": csrf_token(client, "/")})
    assert "jangan dikembalikan tunai" in refused.get_data(as_text=True)
    for _ in range(4):  # the reconciler, run after run
        payments.reconcile(older_than_minutes=0)
    db.session.expire_all()
    stray = db.session.get(StrayPayment, stray.id)
    assert stray.state == "refunded" and stray.refunded_by_name is None
    assert _stripe_refunds(sandbox, stray_session["id"]) == 1  # not two
    assert runner.invoke(args=["ledger-check"]).exit_code == 0


def test_a_voided_qris_sale_whose_refund_answer_was_lost_is_refunded_once_at_xendit(
        gerai, xendit_server, keeper, stand):  # noqa: F811
    sale = ring_up_qr(keeper, stand, 1, key="kunci-hilang-01")
    paid = control(xendit_server, f"qr_codes/{qr_id(sale['code'])}/pay", {"source": "OVO"})
    assert wait_for(lambda: purchase(sale["code"]).status == "paid")
    order = purchase(sale["code"]).orders[0]
    url = f"{stand['url']}/kasir/penjualan/{order.code}/batal"
    control(xendit_server, "refunds/lose-answer")
    first = keeper.post(url, data={"alasan": "Salah barang", "csrf_token": csrf_token(keeper, url)})
    assert first.status_code != 500
    xendit_server.state.drain(5)  # its callback comes; Gerai does not know the refund's id yet
    assert _xendit_refunds(xendit_server, paid["id"]) == 1
    db.session.expire_all()
    assert purchase(sale["code"]).orders[0].refunded_at is None
    again = keeper.post(url, data={"alasan": "Salah barang",
                                   "csrf_token": csrf_token(keeper, url)})
    assert again.status_code == 303
    payments.reconcile(older_than_minutes=0)
    assert wait_for(lambda: purchase(sale["code"]).orders[0].refunded_at is not None)
    order = purchase(sale["code"]).orders[0]
    assert order.refund_status == "succeeded"
    assert _xendit_refunds(xendit_server, paid["id"]) == 1  # not two
    assert ledger.check() == []


def test_a_late_qris_payment_whose_refund_answer_was_lost_is_refunded_once_never_in_cash(
        gerai, xendit_server, keeper, stand):  # noqa: F811
    sale = ring_up_qr(keeper, stand, 2, key="kunci-hilang-02")
    keeper.post(f"{stand['url']}/kasir/tagihan/{sale['code']}/batal",
                data={"csrf_token": csrf_token(keeper, stand["url"] + "/kasir")})
    paid = control(xendit_server, f"qr_codes/{qr_id(sale['code'])}/pay",
                   {"late": True, "source": "OVO"})
    assert wait_for(lambda: db.session.scalar(select(StrayPayment)) is not None)
    stray = db.session.scalar(select(StrayPayment))
    control(xendit_server, "refunds/lose-answer")
    payments.reconcile(older_than_minutes=0)  # the refund is made; its answer is lost
    xendit_server.state.drain(5)  # its callback names a refund Gerai has no id for
    assert _xendit_refunds(xendit_server, paid["id"]) == 1
    db.session.expire_all()
    assert db.session.get(StrayPayment, stray.id).state == "refund_pending"
    assert not _cash_offered(keeper, stand["url"] + "/kasir", stray.id)
    refused = keeper.post(f"{stand['url']}/kasir/uang-kembali/{stray.id}", follow_redirects=True,
                          data={"nama": "Bu Sri", "csrf_token": csrf_token(keeper, "/")})
    assert "jangan dikembalikan tunai" in refused.get_data(as_text=True)
    for _ in range(4):
        payments.reconcile(older_than_minutes=0)
        xendit_server.state.drain(5)
    assert wait_for(lambda: db.session.get(StrayPayment, stray.id).state == "refunded")
    assert db.session.get(StrayPayment, stray.id).refunded_by_name is None
    assert _xendit_refunds(xendit_server, paid["id"]) == 1  # not two
    assert db.session.scalar(select(func.count(StrayPayment.id))) == 1
    assert ledger.check() == []
