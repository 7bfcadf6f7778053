"""The cart: lines of products from any shop, kept by account or by cookie."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select

from ..catalogue.models import Product, ProductVariant, Shop
from ..extensions import db
from .models import MAX_QUANTITY, Basket, BasketLine

COOKIE = "keranjang"


class CannotAdd(Exception):
    """The line cannot go in the cart; ``message`` tells the shopper why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def find(user=None, token: str | None = None) -> Basket | None:
    if user is not None and user.is_authenticated:
        return db.session.scalar(select(Basket).where(Basket.user_id == user.id))
    if token:
        return db.session.scalar(select(Basket).where(Basket.token == token,
                                                      Basket.user_id.is_(None)))
    return None


def find_or_create(user=None, token: str | None = None) -> Basket:
    basket = find(user, token)
    if basket is None:
        basket = Basket(user_id=user.id if user is not None and user.is_authenticated else None)
        db.session.add(basket)
        db.session.flush()
    return basket


def _line_for(basket: Basket, product_id: int, variant_id: int | None) -> BasketLine | None:
    return next((line for line in basket.lines
                 if line.product_id == product_id and line.variant_id == variant_id), None)


def add(basket: Basket, product: Product, variant: ProductVariant | None, quantity: int,
        messages) -> BasketLine:
    """Put ``quantity`` more in the cart. ``messages`` supplies the words (i18n lives in views)."""
    if not product.is_visible:
        raise CannotAdd(messages["gone"])
    if product.variants and variant is None:
        raise CannotAdd(messages["choose_variant"])
    if variant is not None and variant.product_id != product.id:
        raise CannotAdd(messages["choose_variant"])
    if not 1 <= quantity <= MAX_QUANTITY:
        raise CannotAdd(messages["quantity"])
    line = _line_for(basket, product.id, variant.id if variant else None)
    wanted = quantity + (line.quantity if line else 0)
    available = variant.stock if variant else product.stock
    if available <= 0:
        raise CannotAdd(messages["sold_out"])
    if wanted > min(available, MAX_QUANTITY):
        raise CannotAdd(messages["too_many"] % {"n": min(available, MAX_QUANTITY)})
    price = variant.price if variant else product.price
    if line is None:
        line = BasketLine(product=product, variant=variant, quantity=quantity, price_seen=price)
        basket.lines.append(line)
    else:
        line.quantity = wanted
    db.session.flush()
    return line


def set_quantity(line: BasketLine, quantity: int, messages) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise CannotAdd(messages["quantity"])
    if quantity > line.available:
        raise CannotAdd(messages["too_many"] % {"n": min(line.available, MAX_QUANTITY)})
    line.quantity = quantity
    db.session.flush()


def remove(line: BasketLine) -> None:
    line.basket.lines.remove(line)
    db.session.flush()


def accept_prices(basket: Basket) -> None:
    """The shopper saw the new prices: remember them as seen."""
    for line in basket.lines:
        line.price_seen = line.unit_price
    db.session.flush()


def merge_into_account(user, token: str | None) -> None:
    """At login the cookie cart joins the account's cart (quantities add up, capped)."""
    anonymous = find(None, token)
    if anonymous is None:
        return
    own = find(user)
    if own is None:
        anonymous.user_id = user.id
        db.session.flush()
        return
    for line in list(anonymous.lines):
        existing = _line_for(own, line.product_id, line.variant_id)
        if existing:
            existing.quantity = min(MAX_QUANTITY, existing.quantity + line.quantity)
        else:
            own.lines.append(BasketLine(product_id=line.product_id, variant_id=line.variant_id,
                                        quantity=line.quantity, price_seen=line.price_seen))
    db.session.delete(anonymous)
    db.session.flush()


@dataclass
class ShopGroup:
    shop: Shop
    lines: list[BasketLine]

    @property
    def subtotal(self) -> int:
        return sum(line.unit_price * line.quantity for line in self.lines)


def grouped(basket: Basket | None) -> list[ShopGroup]:
    """Lines by shop, in the order the shopper added them; hidden products left out."""
    groups: OrderedDict[int, ShopGroup] = OrderedDict()
    for line in basket.lines if basket else []:
        if not line.product.is_visible:
            continue
        group = groups.setdefault(line.product.shop_id, ShopGroup(line.product.shop, []))
        group.lines.append(line)
    return list(groups.values())
