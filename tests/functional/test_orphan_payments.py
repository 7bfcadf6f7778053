"""Webhook before the commit, then the reconciler: no orphan payment (issue 20.2).

An orphan payment is money at the gateway with no paid purchase in Gerai: the shopper paid
and Gerai does not know. Here the gateway makes the payment, the payer pays at once, and the
gateway's paid webhook (Stripe-compatible sandbox) or ``qr.payment`` callback (Xendit
sandbox) reaches Gerai over HTTP while the checkout is still paused before it commits the
payment's id: every delivery and every retry is answered 409. Then the checkout commits and
the reconciler runs. The orphans are counted from each sandbox's own list of payments
(the Stripe sandbox's paid Checkout Sessions, the Xendit sandbox's QR payments): one per
checkout before the reconciler, 0 after; each purchase paid once, nothing kept as stray,
the ledger exact. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from storefront.basket.models import Basket, BasketLine
from storefront.basket.services import grouped
from storefront.checkout import services as checkout
from storefront.checkout.models import Purchase
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.ledger.models import LedgerEntry
from storefront.payments import runner, settlement
from storefront.payments.models import StrayPayment
from storefront.payments.sandbox import create_sandbox_app
from storefront.payments.xendit_sandbox import create_xendit_sandbox_app
from tests.factories import ProductFactory, ShopFactory
from tests.helpers import Served

CHECKOUTS = 5
SANDBOX_SECRET = "whsec_orphan_tests"
XENDIT_KEY = "xnd_development_orphan_tests"
XENDIT_TOKEN = "orphan-callback-token"


@pytest.fixture
def sandboxes():
    """Fresh ones per test: their lists of payments are what the test counts."""
    stripe_like = create_sandbox_app(webhook_url=None, webhook_secret=SANDBOX_SECRET)
    xendit = create_xendit_sandbox_app(secret_key=XENDIT_KEY, callback_url=None,
                                       callback_token=XENDIT_TOKEN, retry_delays=(0.01,) * 5)
    served = [Served(stripe_like), Served(xendit)]
    yield {"sandbox": (served[0].url, stripe_like.extensions["stripe_sandbox"]),
           "xendit": (served[1].url, xendit.extensions["xendit_sandbox"])}
    for server in served:
        server.close()


@pytest.fixture
def gerai(app, sandboxes):
    """Gerai over HTTP, where both sandboxes send their webhooks."""
    stripe_url, stripe_like = sandboxes["sandbox"]
    xendit_url, xendit = sandboxes["xendit"]
    app.config.update(PAYMENT_GATEWAY="sandbox", SANDBOX_GATEWAY_URL=stripe_url,
                      SANDBOX_WEBHOOK_SECRET=SANDBOX_SECRET, PAYMENT_GATEWAY_RETRIES=0,
                      PAYMENT_GATEWAY_TIMEOUT=5, QRIS_GATEWAY="xendit", XENDIT_API_URL=xendit_url,
                      XENDIT_SECRET_KEY=XENDIT_KEY, XENDIT_CALLBACK_TOKEN=XENDIT_TOKEN)
    app.extensions["gerai.gateway"] = None
    app.extensions["gerai.gateways"] = {}
    served = Served(app)
    stripe_like.sender.url = f"{served.url}/payments/webhooks/sandbox"
    stripe_like.sender.backoff = 0.01  # its three attempts, quickly
    xendit.callbacks.url = f"{served.url}/payments/webhooks/xendit"
    yield served
    stripe_like.drain(5)
    xendit.drain(5)
    stripe_like.sender.url = xendit.callbacks.url = None
    served.close()


class Gate:
    """Stops every call of ``settlement.started`` (the gateway answered; Gerai is about to
    record the payment's id) until ``release()``; ``arrived`` says one is waiting, with
    the payment the gateway made."""

    def __init__(self, monkeypatch):
        self.arrived, self._go = threading.Event(), threading.Event()
        self.payment = None
        original = settlement.started

        def paused(purchase_id, gateway_name, payment):
            self.payment = payment
            self.arrived.set()
            assert self._go.wait(20), "the test never released the checkout"
            return original(purchase_id, gateway_name, payment)

        monkeypatch.setattr(settlement, "started", paused)

    def release(self):
        self._go.set()

    def rearm(self):
        self.arrived.clear()
        self._go.clear()
        self.payment = None


def _checkout(app, product_id: int, gateway_name: str, attempt: str) -> threading.Thread:
    """A shopper pressing Bayar, in its own thread (it stops at the gate)."""

    def run():
        with app.app_context():
            try:
                basket = Basket(lines=[BasketLine(product_id=product_id, quantity=1,
                                                  price_seen=15_000)])
                db.session.add(basket)
                db.session.flush()
                purchase = checkout.place_purchase(
                    basket, None, checkout.Contact("Pembeli", "+6281200000000", None),
                    [checkout.ShopChoice(g, "pickup") for g in grouped(basket)],
                    attempt=attempt, gateway_name=gateway_name)
                db.session.commit()
                runner.start_payment(purchase, "http://gerai.test/ok", "http://gerai.test/batal")
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _pay_at_the_gateway(name: str, state, payment_id: str) -> None:
    """The payer pays the moment the code or page appears; the gateway sends its event."""
    if name == "sandbox":
        with state.ledger.lock:
            state.ledger.pay_session(payment_id)
    else:
        with state.lock:
            state.pay(payment_id, None, source="DANA")


def _deliveries(name: str, state) -> list[int | None]:
    """What Gerai answered to each delivery attempt so far."""
    log = state.sender.log if name == "sandbox" else state.callbacks.log
    return [entry["status"] for entry in list(log)]


def orphan_payments(name: str, state) -> list[str]:
    """Payments the sandbox lists as paid whose purchase in Gerai is not paid."""
    if name == "sandbox":
        with state.ledger.lock:
            paid = [s["id"] for s in state.ledger.sessions.values()
                    if s["payment_status"] == "paid"]
    else:
        with state.lock:
            paid = [p["qr_id"] for p in state.payments.values() if p["status"] == "SUCCEEDED"]
    db.session.expire_all()
    settled = set(db.session.scalars(select(Purchase.payment_id).where(
        Purchase.payment_id.in_(paid), Purchase.status == "paid")))
    return [payment_id for payment_id in paid if payment_id not in settled]


@pytest.mark.parametrize("name", ["sandbox", "xendit"])
def test_webhooks_before_the_commit_leave_no_orphan_payment_after_the_reconciler(
        app, gerai, sandboxes, monkeypatch, name):
    state = sandboxes[name][1]
    product = ProductFactory(shop=ShopFactory(), price=15_000, stock=50)
    db.session.commit()
    assert orphan_payments(name, state) == []
    gate = Gate(monkeypatch)
    for n in range(CHECKOUTS):
        gate.rearm()
        answered = len(_deliveries(name, state))
        thread = _checkout(app, product.id, name, f"yatim-{name}-{n}")
        assert gate.arrived.wait(20)
        _pay_at_the_gateway(name, state, gate.payment.id)
        assert state.drain(10)  # every attempt, retries included, before the commit
        early = _deliveries(name, state)[answered:]
        assert early and set(early) == {409}, early
        gate.release()
        thread.join(20)
        assert not thread.is_alive()
    before = orphan_payments(name, state)
    assert len(before) == CHECKOUTS  # paid at the gateway, still pending here
    counts = runner.reconcile(older_than_minutes=0)
    assert counts["paid"] == CHECKOUTS and counts["errors"] == 0, counts
    after = orphan_payments(name, state)
    print(f"\n{name}: orphan payments {len(before)} before the reconciler, {len(after)} after")
    assert after == []
    db.session.expire_all()
    assert db.session.scalar(select(func.count(LedgerEntry.id))
                             .where(LedgerEntry.kind == "sale")) == CHECKOUTS
    assert db.session.scalar(select(func.count(StrayPayment.id))) == 0
    assert ledger.check() == []
