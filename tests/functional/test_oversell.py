"""Two shoppers can never buy the same last item: races on the real databases."""

import threading

from sqlalchemy import select

from storefront.basket.models import Basket, BasketLine
from storefront.basket.services import grouped
from storefront.catalogue.models import Product
from storefront.checkout import services as checkout
from storefront.checkout.models import Purchase
from storefront.extensions import db
from tests.factories import ProductFactory, ShopFactory

SHOPPERS = 200
UNITS = 20


def _basket_with(product_id: int, quantity: int, lines: int = 1) -> int:
    basket = Basket()
    for _ in range(lines):
        basket.lines.append(BasketLine(product_id=product_id, quantity=quantity, price_seen=15_000))
    db.session.add(basket)
    db.session.commit()
    return basket.id


def _buy(app, basket_id: int, outcomes: list, start: threading.Barrier):
    # Everyone starts together, before touching the database: the pool's connections
    # are part of what they race for, as on a real server.
    start.wait()
    with app.app_context():
        try:
            basket = db.session.get(Basket, basket_id)
            groups = grouped(basket)
            contact = checkout.Contact("Pembeli", "+6281200000000", None)
            checkout.place_purchase(basket, None, contact, [checkout.ShopChoice(g, "pickup") for g in groups],
                                    attempt=f"race-{basket_id}", gateway_name="sandbox")
            db.session.commit()  # as the checkout view does
            outcomes.append("bought")
        except checkout.OutOfStock as short:
            db.session.rollback()
            outcomes.append(f"told: {short.names}")
        except Exception as error:  # anything else is a server error a shopper would see
            outcomes.append(f"error: {error!r}")
        finally:
            db.session.remove()


def test_200_shoppers_racing_for_20_units(app):
    product = ProductFactory(shop=ShopFactory(), name="Dodol Edisi Terbatas", price=15_000, stock=UNITS)
    baskets = [_basket_with(product.id, 1) for _ in range(SHOPPERS)]
    outcomes: list[str] = []
    start = threading.Barrier(SHOPPERS)
    threads = [threading.Thread(target=_buy, args=(app, b, outcomes, start)) for b in baskets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    errors = [o for o in outcomes if o.startswith("error")]
    assert errors == []
    assert outcomes.count("bought") == UNITS
    assert outcomes.count("told: ['Dodol Edisi Terbatas']") == SHOPPERS - UNITS
    db.session.expire_all()
    assert db.session.scalar(select(Product.stock).where(Product.id == product.id)) == 0
    assert db.session.scalar(select(db.func.count(Purchase.id))) == UNITS


def test_two_lines_drawing_on_the_same_stock_cannot_oversell(app):
    product = ProductFactory(shop=ShopFactory(), name="Keripik Terakhir", price=15_000, stock=3)
    basket_id = _basket_with(product.id, 2, lines=2)  # 4 wanted, 3 left
    outcomes: list[str] = []
    _buy(app, basket_id, outcomes, threading.Barrier(1))
    assert outcomes == ["told: ['Keripik Terakhir']"]
    db.session.expire_all()
    assert db.session.scalar(select(Product.stock).where(Product.id == product.id)) == 3


def test_carts_with_the_same_goods_in_opposite_order_do_not_deadlock(app):
    shop = ShopFactory()
    first = ProductFactory(shop=shop, name="Kopi", price=15_000, stock=1_000)
    second = ProductFactory(shop=shop, name="Gula Aren", price=15_000, stock=1_000)
    pairs = 15
    baskets = []
    for n in range(pairs * 2):
        basket = Basket()
        order = (first, second) if n % 2 else (second, first)
        for product in order:
            basket.lines.append(BasketLine(product_id=product.id, quantity=1, price_seen=15_000))
        db.session.add(basket)
        db.session.commit()
        baskets.append(basket.id)
    outcomes: list[str] = []
    start = threading.Barrier(len(baskets))
    threads = [threading.Thread(target=_buy, args=(app, b, outcomes, start)) for b in baskets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert outcomes.count("bought") == pairs * 2, [o for o in outcomes if o != "bought"][:3]
    db.session.expire_all()
    assert db.session.scalar(select(Product.stock).where(Product.id == first.id)) == 1_000 - pairs * 2
