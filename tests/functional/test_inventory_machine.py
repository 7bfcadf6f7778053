"""Random histories of stock through inventory, with its invariants checked after every step:
holds and their expiry, payment, refunds, restocks, counts from stale forms, fair stock."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select

from search import SearchQuery
from storefront.catalogue.models import Product, StockAdjustment
from storefront.checkout.models import Purchase
from storefront.exhibitions.models import Fair, Stand, StandItem
from storefront.extensions import db
from storefront.indexing import services
from storefront.inventory import services as inventory
from storefront.inventory.models import StockHold
from storefront.timeutil import today_in_jakarta, utcnow
from tests.factories import ProductFactory, ShopFactory
from tests.helpers import sync_search

START = 8
_codes = itertools.count(1)


class StockHistory(RuleBasedStateMachine):
    """One product with online stock, and a stand item of it with its own fair stock."""

    @initialize()
    def setup(self):
        shop = ShopFactory()
        self.product = ProductFactory(shop=shop, stock=START)
        sync_search()
        fair = Fair(name="Pameran", slug=f"pameran-{next(_codes)}", venue="Situ",
                    starts_on=today_in_jakarta(), ends_on=today_in_jakarta())
        db.session.add(fair)
        db.session.flush()
        stand = Stand(fair_id=fair.id, code=f"A{next(_codes)}", zone="A", shop_id=shop.id)
        db.session.add(stand)
        db.session.flush()
        self.item = StandItem(stand_id=stand.id, product_id=self.product.id, fair_stock=None)
        db.session.add(self.item)
        db.session.flush()
        inventory.set_fair_stock(self.item, 4)
        db.session.commit()
        self.stand_id = stand.id
        self.fair_start = 4
        self.open: list[int] = []  # purchases with active holds
        self.paid: list[int] = []

    def _purchase(self) -> Purchase:
        n = next(_codes)
        purchase = Purchase(code=f"GR-M-{n}", attempt=f"m-{n}", buyer_name="B",
                            buyer_whatsapp="+62812", total=1, gateway="cash",
                            expires_at=utcnow() + timedelta(minutes=5))
        db.session.add(purchase)
        db.session.flush()
        return purchase

    @rule(quantity=st.integers(1, 5), at_stand=st.booleans())
    def hold(self, quantity, at_stand):
        purchase = self._purchase()
        short = inventory.hold(purchase.id, [inventory.Line(self.product.id, None, quantity, "x")],
                               kind="checkout", expires_at=purchase.expires_at,
                               stand_id=self.stand_id if at_stand else None, note=purchase.code)
        if short:
            db.session.rollback()
        else:
            db.session.commit()
            self.open.append(purchase.id)

    @rule(data=st.data(), twice=st.booleans())
    def expire(self, data, twice):
        if not self.open:
            return
        purchase_id = data.draw(st.sampled_from(self.open))
        inventory.release(purchase_id, "habis waktu")
        if twice:  # the worker and the reconciler both try
            assert inventory.release(purchase_id, "habis waktu") == 0
        db.session.commit()
        self.open.remove(purchase_id)

    @rule(data=st.data())
    def pay(self, data):
        if not self.open:
            return
        purchase_id = data.draw(st.sampled_from(self.open))
        assert inventory.consume(purchase_id, "lunas") == []
        db.session.commit()
        self.open.remove(purchase_id)
        self.paid.append(purchase_id)

    @rule(data=st.data())
    def refund(self, data):
        if not self.paid:
            return
        purchase_id = data.draw(st.sampled_from(self.paid))
        quantity = db.session.scalar(select(func.sum(StockHold.quantity))
                                     .where(StockHold.purchase_id == purchase_id))
        inventory.give_back(purchase_id, [inventory.Line(self.product.id, None, quantity, "x")],
                            "refund")
        db.session.execute(StockHold.__table__.update()
                           .where(StockHold.purchase_id == purchase_id).values(state="released"))
        db.session.commit()
        self.paid.remove(purchase_id)

    @rule(delta=st.integers(-6, 6).filter(bool))
    def adjust(self, delta):
        try:
            inventory.change(self.product.id, delta, "correction")
            db.session.commit()
        except inventory.NotEnoughStock:
            db.session.rollback()

    @rule(counted=st.integers(0, 20), stale=st.booleans())
    def recount_from_a_form(self, counted, stale):
        db.session.expire_all()
        product = db.session.get(Product, self.product.id)
        seen = product.stock + (1 if stale else 0)
        try:
            inventory.recount(product, counted, seen, "correction")
            assert not stale, "a count over a stock the form never saw was applied"
            db.session.commit()
        except inventory.StockChanged as changed:
            assert stale and changed.current == seen - 1
            db.session.rollback()

    @invariant()
    def stock_is_its_history(self):
        if not hasattr(self, "product"):
            return
        db.session.expire_all()
        stock = db.session.scalar(select(Product.stock).where(Product.id == self.product.id))
        fair = db.session.scalar(select(StandItem.fair_stock).where(StandItem.id == self.item.id))
        online_history = db.session.scalar(select(func.coalesce(func.sum(StockAdjustment.change), 0))
                                           .where(StockAdjustment.product_id == self.product.id,
                                                  StockAdjustment.stand_item_id.is_(None)))
        fair_history = db.session.scalar(select(func.coalesce(func.sum(StockAdjustment.change), 0))
                                         .where(StockAdjustment.stand_item_id == self.item.id))
        assert stock == START + online_history and stock >= 0
        assert fair == self.fair_start + fair_history and fair >= 0
        # Every unit out of stock is in a hold that is active or sold, never lost.
        out = db.session.scalar(select(func.coalesce(func.sum(StockHold.quantity), 0)).where(
            StockHold.product_id == self.product.id, StockHold.stand_item_id.is_(None),
            StockHold.state.in_(("active", "consumed"))))
        adjusted = db.session.scalar(select(func.coalesce(func.sum(StockAdjustment.change), 0))
                                     .where(StockAdjustment.product_id == self.product.id,
                                            StockAdjustment.stand_item_id.is_(None),
                                            StockAdjustment.reason == "correction"))
        assert stock + out == START + adjusted
        # Search says "in stock" exactly when the database does, once the outbox drains.
        sync_search()
        listed = services.backend().search(SearchQuery(shop_id=self.product.shop_id,
                                                       in_stock=True, with_facets=False))
        assert (self.product.id in listed.ids) == (stock > 0)


@pytest.mark.parametrize("run", range(1))
def test_random_stock_histories_keep_the_books(app, run):
    StockHistory.TestCase.settings = settings(
        max_examples=25, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    StockHistory.TestCase().runTest()
