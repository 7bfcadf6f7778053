"""Random orders of what a gateway says, applied through settlement (issue 12): paid, failed,
expired, cancelled, duplicated, late, wrong amount, wrong id, wrong currency, refunds.
A payment after the purchase closed counts for nothing and is kept to give back (issue 15).

After every step: a purchase is paid iff a matching, full, correctly identified payment was
applied; the ledger holds exactly the paid totals minus the refunds that succeeded, to the
rupiah; ledger-check agrees; stock is never lost."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select

from storefront.catalogue.models import Product
from storefront.checkout.models import Purchase
from storefront.extensions import db
from storefront.inventory import services as inventory
from storefront.ledger import services as ledger
from storefront.ledger.models import LedgerEntry
from storefront.orders.models import Order, OrderLine
from storefront.payments import gateway as contract
from storefront.payments import settlement
from storefront.payments.models import StrayPayment
from storefront.timeutil import utcnow
from tests.factories import ProductFactory, ShopFactory

PRICE = 15_000
_n = itertools.count(1)


class GatewayStories(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.product = ProductFactory(shop=ShopFactory(), price=PRICE, stock=1_000)
        db.session.commit()
        self.purchases: list[int] = []
        self.counted: set[int] = set()  # purchases a matching full payment was applied to
        self.refunded: set[int] = set()  # orders whose refund succeeded

    @rule(quantity=st.integers(1, 3))
    def checkout(self, quantity):
        n = next(_n)
        total = PRICE * quantity
        purchase = Purchase(code=f"GR-S-{n}", attempt=f"s-{n}", buyer_name="B",
                            buyer_whatsapp="+62812", total=total, gateway="sandbox",
                            expires_at=utcnow() + timedelta(minutes=30))
        order = Order(code=f"P-S-{n}", shop_id=self.product.shop_id, purchase=purchase,
                      buyer_name="B", buyer_whatsapp="+62812", status="awaiting_payment",
                      subtotal=total, total=total)
        order.lines.append(OrderLine(product_id=self.product.id, name="x", unit_price=PRICE,
                                     quantity=quantity, line_total=total))
        db.session.add_all([purchase, order])
        db.session.flush()
        assert inventory.hold(purchase.id, [inventory.Line(self.product.id, None, quantity)],
                              kind="checkout", expires_at=purchase.expires_at) == []
        settlement.started(purchase.id, "sandbox", contract.Payment(
            id=f"cs_{n}", status=contract.PENDING, amount=total, reference=purchase.code))
        db.session.commit()
        self.purchases.append(purchase.id)

    def _payment(self, purchase: Purchase, status: str) -> contract.Payment:
        return contract.Payment(id=purchase.payment_id, status=status, amount=purchase.total,
                                reference=purchase.code)

    @rule(data=st.data(), kind=st.sampled_from(
        ["paid", "failed", "expired", "cancelled", "paid_short", "paid_other_id", "paid_usd",
         "paid_fraction"]), times=st.integers(1, 3))
    def gateway_says(self, data, kind, times):
        if not self.purchases:
            return
        purchase = db.session.get(Purchase, data.draw(st.sampled_from(self.purchases)))
        status = contract.PAID if kind.startswith("paid") else kind
        payment = self._payment(purchase, status)
        if kind == "paid_short":
            payment = replace(payment, amount=purchase.total - data.draw(st.integers(1, PRICE)))
        elif kind == "paid_other_id":
            payment = replace(payment, id=f"cs_attacker_{next(_n)}")
        elif kind == "paid_usd":
            payment = replace(payment, currency="USD")
        elif kind == "paid_fraction":
            payment = replace(payment, whole_rupiah=False)
        waiting = purchase.status in ("pending", "paid")
        for _ in range(times):  # duplicates
            settlement.apply(purchase, payment, source="webhook")
            db.session.commit()
        if kind == "paid" and waiting:
            self.counted.add(purchase.id)
        elif status == contract.PAID:
            # Paid after the purchase closed, or not its payment: kept to give back, once.
            reference = payment.charge_id or payment.id
            assert db.session.scalar(select(func.count(StrayPayment.id)).where(
                StrayPayment.reference == reference)) == 1

    @rule(data=st.data(), outcome=st.sampled_from(["succeeded", "pending", "failed"]))
    def refund(self, data, outcome):
        paid = [pid for pid in self.purchases if pid in self.counted]
        if not paid:
            return
        purchase = db.session.get(Purchase, data.draw(st.sampled_from(paid)))
        order = purchase.orders[0]
        claim = settlement.claim_refund(order, "uji", None)
        db.session.commit()
        if claim is None:
            return
        settlement.refund_result(order, contract.Refund(id=f"re_{next(_n)}", amount=order.total,
                                                        status=outcome), gateway="sandbox")
        db.session.commit()
        if outcome == "succeeded":
            self.refunded.add(order.id)

    @invariant()
    def books_agree(self):
        if not hasattr(self, "product"):
            return
        db.session.expire_all()
        for purchase_id in self.purchases:
            purchase = db.session.get(Purchase, purchase_id)
            assert (purchase.status == "paid") == (purchase_id in self.counted), purchase.code
        sales = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.kind.in_(("sale", "refund")), LedgerEntry.shop_id == self.product.shop_id))
        paid_total = sum(db.session.get(Purchase, pid).total for pid in self.counted)
        refunded_total = sum(db.session.get(Order, oid).total for oid in self.refunded)
        assert sales == paid_total - refunded_total
        assert ledger.check() == []
        assert db.session.scalar(select(Product.stock).where(Product.id == self.product.id)) >= 0


def test_a_thousand_event_orders_settle_as_the_gateway_says(app):
    GatewayStories.TestCase.settings = settings(
        max_examples=40, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    GatewayStories.TestCase().runTest()
