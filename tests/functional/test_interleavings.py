"""Injected interleavings (issue 20.1): each test pauses one actor at a chosen point of the
real code (a barrier wrapped around the call that comes next), lets another actor run
through the same objects, then releases the first. Each ends with one outcome: nothing
oversold, nothing paid twice, and the ledger exact. On SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from storefront.basket.models import Basket, BasketLine
from storefront.basket.services import grouped
from storefront.catalogue.models import Product
from storefront.checkout import services as checkout
from storefront.checkout.models import Purchase
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.ledger.models import LedgerEntry
from storefront.orders.models import Order
from storefront.payments import gateway as contract
from storefront.payments import runner, settlement
from tests.factories import ProductFactory, ShopFactory

pytestmark = pytest.mark.usefixtures("sandbox_app")


class Pause:
    """Wraps ``owner.name`` so the first call stops there until ``release()``; the test
    learns it arrived through ``arrived``. Later calls (the other actor) pass straight."""

    def __init__(self, monkeypatch, owner, name: str):
        self.arrived, self._go, self._taken = threading.Event(), threading.Event(), False
        self._lock = threading.Lock()
        original = getattr(owner, name)

        def paused(*args, **kwargs):
            with self._lock:
                first, self._taken = not self._taken, True
            if first:
                self.arrived.set()
                assert self._go.wait(20), "the test never released the pause"
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, paused)

    def release(self):
        self._go.set()


def in_thread(app, work, results: list):
    def run():
        with app.app_context():
            try:
                results.append(work())
            except Exception as error:  # noqa: BLE001 - the test looks at what happened
                db.session.rollback()
                results.append(error)
            finally:
                db.session.remove()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def basket_of(product_id: int, quantity: int) -> int:
    basket = Basket(lines=[BasketLine(product_id=product_id, quantity=quantity, price_seen=15_000)])
    db.session.add(basket)
    db.session.commit()
    return basket.id


def place(basket_id: int, attempt: str) -> Purchase:
    basket = db.session.get(Basket, basket_id)
    purchase = checkout.place_purchase(
        basket, None, checkout.Contact("Pembeli", "+6281200000000", None),
        [checkout.ShopChoice(g, "pickup") for g in grouped(basket)], attempt=attempt,
        gateway_name="sandbox")
    db.session.commit()
    return purchase


def stock(product_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Product.stock).where(Product.id == product_id))


def test_two_checkouts_paused_between_taking_stock_and_making_the_payment(app, monkeypatch):
    """The first holds the last units and stops before the gateway; the second comes for
    the same units meanwhile and is told they are gone; the first then pays."""
    product = ProductFactory(shop=ShopFactory(), name="Dodol Terakhir", price=15_000, stock=2)
    first_basket, second_basket = basket_of(product.id, 2), basket_of(product.id, 1)
    pause = Pause(monkeypatch, runner, "start_payment")
    results: list = []

    def first():
        purchase = place(first_basket, "antar-1")
        return runner.start_payment(purchase, "http://x/ok", "http://x/batal")  # paused here

    thread = in_thread(app, first, results)
    assert pause.arrived.wait(20)
    with pytest.raises(checkout.OutOfStock):
        place(second_basket, "antar-2")  # the units are held by the paused checkout
    db.session.rollback()
    pause.release()
    thread.join(20)
    assert len(results) == 1 and isinstance(results[0], str), results  # the payment page
    purchase = db.session.scalar(select(Purchase).where(Purchase.attempt == "antar-1"))
    assert stock(product.id) == 0
    settlement.apply(purchase, contract.Payment(id=purchase.payment_id, status=contract.PAID,
                                                amount=30_000, reference=purchase.code),
                     source="webhook")
    db.session.commit()
    assert db.session.scalar(select(func.count(Purchase.id))) == 1
    assert db.session.scalar(select(func.sum(LedgerEntry.amount))
                             .where(LedgerEntry.kind == "sale")) == 30_000
    assert stock(product.id) == 0 and ledger.check() == []


def test_a_paid_webhook_while_the_checkout_is_paused_before_its_commit(app, monkeypatch):
    """The gateway made the payment and its paid event arrives before Gerai stored the
    payment's id: refused with 409 (the gateway retries), then applied once."""
    product = ProductFactory(shop=ShopFactory(), price=15_000, stock=5)
    purchase_basket = basket_of(product.id, 1)
    pause = Pause(monkeypatch, settlement, "started")
    results: list = []

    def checkout_run():
        purchase = place(purchase_basket, "antar-3")
        return runner.start_payment(purchase, "http://x/ok", "http://x/batal")

    thread = in_thread(app, checkout_run, results)
    assert pause.arrived.wait(20)
    purchase = db.session.scalar(select(Purchase).where(Purchase.attempt == "antar-3"))
    session_id = db.session.scalars(select(settlement.PaymentRecord.reference)).all()
    event = contract.WebhookEvent(id="evt_dini", type="checkout.session.completed",
                                  payment=contract.Payment(id="cs_belum_tercatat",
                                                           status=contract.PAID, amount=15_000,
                                                           reference=purchase.code))
    assert settlement.apply_event("sandbox", event)[0] == 409  # not yet: try again later
    db.session.rollback()
    pause.release()
    thread.join(20)
    db.session.expire_all()
    purchase = db.session.get(Purchase, purchase.id)
    assert purchase.payment_id and session_id == []  # stored only after the pause
    retried = replace(event, payment=replace(event.payment, id=purchase.payment_id))
    assert settlement.apply_event("sandbox", retried)[0] == 200
    db.session.commit()
    assert settlement.apply_event("sandbox", retried) == (200, {"duplicate": "evt_dini"})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Purchase, purchase.id).status == "paid"
    assert db.session.scalar(select(func.count(LedgerEntry.id))
                             .where(LedgerEntry.kind == "sale")) == 1
    assert ledger.check() == []


def test_a_refund_racing_a_late_paid_webhook(app, monkeypatch):
    """A paid sale is being refunded (the gateway call paused) when the gateway's paid
    event comes again, late: the refund finishes once, the sale is not counted again."""
    product = ProductFactory(shop=ShopFactory(), price=15_000, stock=5)
    purchase = place(basket_of(product.id, 2), "antar-4")
    runner.start_payment(purchase, "http://x/ok", "http://x/batal")
    db.session.expire_all()
    purchase = db.session.get(Purchase, purchase.id)
    paid = contract.Payment(id=purchase.payment_id, status=contract.PAID, amount=30_000,
                            reference=purchase.code)
    settlement.apply(purchase, paid, source="webhook")
    db.session.commit()
    assert stock(product.id) == 3
    gateway = contract.current()
    monkeypatch.setattr(gateway, "refund", lambda payment, amount=None, *, idempotency_key:
                        contract.Refund(id=f"re_{idempotency_key}", amount=amount,
                                        status="succeeded"))
    pause = Pause(monkeypatch, gateway, "refund")
    order_id = db.session.scalar(select(Order.id).where(Order.purchase_id == purchase.id))
    results: list = []
    thread = in_thread(app, lambda: runner.refund(db.session.get(Order, order_id), "salah",
                                                  None).refund_status, results)
    assert pause.arrived.wait(20)
    late = contract.WebhookEvent(id="evt_terlambat", type="checkout.session.completed",
                                 payment=paid)
    assert settlement.apply_event("sandbox", late)[0] == 200
    db.session.commit()
    pause.release()
    thread.join(20)
    assert results == ["succeeded"], results
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert order.refunded_at is not None and order.status == "cancelled"
    amounts = dict(db.session.execute(select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
                                      .group_by(LedgerEntry.kind)).all())
    assert amounts.get("sale") == 30_000 and amounts.get("refund") == -30_000
    assert stock(product.id) == 5  # given back once
    assert ledger.check() == []
