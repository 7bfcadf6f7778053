"""Placing orders: one purchase for a cart that spans shops, one order per shop.

A purchase holds stock for every line through inventory (one conditional UPDATE
each, a hold row that expiry gives back exactly once), inside the transaction
that creates its orders, so two shoppers can never buy the same last item.
Its payment state is settlement's (payments/settlement.py); the view commits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from ..basket.models import Basket
from ..basket.services import ShopGroup
from ..extensions import db
from ..inventory import services as inventory
from ..orders.models import Order, OrderLine
from ..timeutil import today_in_jakarta, utcnow
from .models import Purchase


@dataclass
class Contact:
    name: str
    whatsapp: str
    email: str | None


@dataclass
class ShopChoice:
    group: ShopGroup
    fulfilment: str  # pickup | delivery
    address: str | None = None

    @property
    def delivery_fee(self) -> int:
        return (self.group.shop.delivery_fee or 0) if self.fulfilment == "delivery" else 0

    @property
    def total(self) -> int:
        return self.group.subtotal + self.delivery_fee


def fingerprint(basket: Basket) -> str:
    """What the shopper reviewed: lines, quantities and current prices."""
    parts = [f"{l.product_id}:{l.variant_id}:{l.quantity}:{l.unit_price}" for l in basket.lines]
    return hashlib.sha256("|".join(sorted(parts)).encode()).hexdigest()[:32]


def new_attempt() -> str:
    return secrets.token_urlsafe(24)


class OutOfStock(Exception):
    def __init__(self, names: list[str]):
        super().__init__(", ".join(names))
        self.names = names


# Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand survives.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _code(prefix: str) -> str:
    """GR-261130-7K3M9Q2XHD: the date is Jakarta's (a sale at 06:00 WIB is that day's).

    Ten characters, 50 random bits: the six hex digits before (24 bits) collided about once
    in 25 busy fair days (a 500 at the till, found by bench/fair.py); at 50,000 purchases a
    day a collision is now about one in a million days' chance."""
    tail = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    return f"{prefix}-{today_in_jakarta():%y%m%d}-{tail}"


def place_purchase(basket: Basket, buyer, contact: Contact, choices: list[ShopChoice],
                   attempt: str, gateway_name: str, client: str | None = None) -> Purchase:
    """Create the purchase, one order per shop, and hold the stock — all or nothing.

    ``client`` (inventory.client_key) is whom the hold counts against. Raises
    OutOfStock or inventory.TooManyHolds; the caller then rolls back."""
    # The same "Bayar" pressed twice is the view's to answer (it looks the attempt up
    # first); one racing past it fails on the unique attempt and is rolled back.
    fee_percent = current_app.config.get("PLATFORM_FEE_PERCENT", 0)
    minutes = current_app.config.get("PAYMENT_EXPIRY_MINUTES", 30)
    purchase = Purchase(code=_code("GR"), buyer_id=buyer.id if buyer else None,
                        basket_id=basket.id, attempt=attempt, buyer_name=contact.name,
                        buyer_whatsapp=contact.whatsapp, buyer_email=contact.email, total=0,
                        gateway=gateway_name, expires_at=utcnow() + timedelta(minutes=minutes))
    db.session.add(purchase)
    for choice in choices:
        order = Order(code=_code("P"), shop_id=choice.group.shop.id, purchase=purchase,
                      buyer_id=purchase.buyer_id, buyer_name=contact.name,
                      buyer_whatsapp=contact.whatsapp, buyer_email=contact.email,
                      status="awaiting_payment", fulfilment=choice.fulfilment,
                      delivery_address=choice.address if choice.fulfilment == "delivery" else None,
                      subtotal=choice.group.subtotal, delivery_fee=choice.delivery_fee,
                      total=choice.total,
                      platform_fee=choice.group.subtotal * fee_percent // 100)
        for line in choice.group.lines:
            order.lines.append(OrderLine(
                product_id=line.product_id, variant_id=line.variant_id, name=line.product.name,
                variant_name=line.variant.name if line.variant else None,
                unit_price=line.unit_price, quantity=line.quantity,
                line_total=line.unit_price * line.quantity))
        db.session.add(order)
        purchase.total += order.total
    db.session.flush()
    lines = [inventory.Line(line.product_id, line.variant_id, line.quantity,
                            line.product.name + (f" ({line.variant.name})" if line.variant else ""))
             for choice in choices for line in choice.group.lines]
    inventory.check_client(client, lines)
    short = inventory.hold(purchase.id, lines, kind="checkout", expires_at=purchase.expires_at,
                           client=client, user_id=purchase.buyer_id, note=purchase.code)
    if short:
        raise OutOfStock(short)
    return purchase
