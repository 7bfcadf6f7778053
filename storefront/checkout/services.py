"""Placing orders and settling their payment.

A purchase takes stock for every line with one conditional UPDATE each, inside
the transaction that creates its orders, so two shoppers can never buy the same
last item. It is settled from whatever the gateway says (the success redirect,
a webhook, or the reconciler), idempotently: a paid purchase never goes back,
and stock held for a failed or expired one is returned exactly once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, select, update

from ..basket.models import Basket
from ..basket.services import ShopGroup
from ..extensions import db
from ..ledger import services as ledger
from ..orders.models import Order, OrderLine
from ..payments import gateway as contract
from ..seller.services import NotEnoughStock, change_stock, lock_order
from ..timeutil import utcnow
from .models import Purchase

log = logging.getLogger(__name__)


def gateway() -> contract.PaymentGateway:
    from ..payments import cash, stripe_gateway  # noqa: F401 (they register themselves)

    extensions = current_app.extensions
    if extensions.get("gerai.gateway") is None:
        extensions["gerai.gateway"] = contract.gateway_from_config(current_app.config)
    return extensions["gerai.gateway"]


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


def _code(prefix: str) -> str:
    return f"{prefix}-{utcnow():%y%m%d}-{secrets.token_hex(3).upper()}"


def place_purchase(basket: Basket, buyer, contact: Contact, choices: list[ShopChoice],
                   attempt: str, gateway_name: str) -> Purchase:
    """Create the purchase, one order per shop, and hold the stock — all or nothing."""
    existing = db.session.scalar(select(Purchase).where(Purchase.attempt == attempt))
    if existing is not None:
        return existing  # the same "Bayar" pressed twice
    fee_percent = current_app.config.get("PLATFORM_FEE_PERCENT", 0)
    minutes = current_app.config.get("PAYMENT_EXPIRY_MINUTES", 30)
    purchase = Purchase(code=_code("GR"), buyer_id=buyer.id if buyer else None,
                        basket_id=basket.id, attempt=attempt, buyer_name=contact.name,
                        buyer_whatsapp=contact.whatsapp, buyer_email=contact.email, total=0,
                        gateway=gateway_name, expires_at=utcnow() + timedelta(minutes=minutes))
    db.session.add(purchase)
    short = []
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
    for line in lock_order(line for choice in choices for line in choice.group.lines):
        try:
            change_stock(line.product_id, -line.quantity, "sale", variant_id=line.variant_id,
                         user_id=purchase.buyer_id, note=purchase.code)
        except NotEnoughStock:
            short.append(line.product.name + (f" ({line.variant.name})" if line.variant else ""))
    if short:
        db.session.rollback()
        raise OutOfStock(short)
    db.session.commit()
    return purchase


def start_payment(purchase: Purchase, success_url: str, cancel_url: str) -> str:
    """Ask the gateway for a payment page; returns where to send the shopper."""
    if purchase.payment_url and purchase.status == "pending":
        return purchase.payment_url
    code, total = purchase.code, purchase.total
    db.session.commit()  # no connection held open while the gateway answers
    payment = gateway().create_payment(
        amount=total, reference=code,
        description=f"Gerai {code}", success_url=success_url, cancel_url=cancel_url,
        idempotency_key=f"purchase-{code}",
        expires_in_minutes=current_app.config.get("PAYMENT_EXPIRY_MINUTES", 30),
        metadata={"purchase": purchase.code})
    purchase.payment_id, purchase.payment_url = payment.id, payment.url
    db.session.commit()
    return payment.url


def abandon(purchase: Purchase, status: str = "cancelled") -> None:
    """The payment will not happen (gateway down, shopper went back): return the stock."""
    _finish(purchase, status)


def _release_stock(purchase: Purchase) -> None:
    # Once: the flag flips in the same conditional UPDATE that claims the release.
    claimed = db.session.execute(
        update(Purchase).where(Purchase.id == purchase.id, Purchase.stock_released.is_(False))
        .values(stock_released=True)).rowcount
    if not claimed:
        return
    for order, line in _stock_lines(purchase):
        _move_stock(order, line, line.quantity, "return", f"{purchase.code} tidak dibayar")


def _stock_lines(purchase: Purchase):
    """Every line that holds stock, in the one order transactions lock rows in."""
    pairs = [(order, line) for order in purchase.orders for line in order.lines
             if line.product_id is not None]
    return sorted(pairs, key=lambda pair: (pair[1].product_id, pair[1].variant_id or 0))


def _move_stock(order: Order, line: OrderLine, change: int, reason: str, note: str) -> None:
    if order.stand_id is not None:
        from ..exhibitions.till import move_stock  # a stand may keep its own fair stock

        move_stock(order.stand_id, line, change, reason, note)
    else:
        change_stock(line.product_id, change, reason, variant_id=line.variant_id, note=note)


def _finish(purchase: Purchase, status: str) -> None:
    changed = db.session.execute(
        update(Purchase).where(Purchase.id == purchase.id, Purchase.status == "pending")
        .values(status=status, updated_at=utcnow())).rowcount
    if changed:
        db.session.execute(update(Order).where(Order.purchase_id == purchase.id)
                           .values(status="cancelled", cancel_reason=status))
        _release_stock(purchase)
    db.session.commit()
    db.session.refresh(purchase)


def _mark_paid(purchase: Purchase) -> None:
    now = utcnow()
    changed = db.session.execute(
        update(Purchase).where(Purchase.id == purchase.id, Purchase.status != "paid")
        .values(status="paid", paid_at=now, updated_at=now)).rowcount
    if not changed:
        return  # already paid: nothing to do (the caller's transaction stays intact)
    if purchase.stock_released:
        # Paid after we gave the stock back (a late confirmation): take it again.
        # The money is real; if the stock is gone the seller sees the order and refunds.
        db.session.execute(update(Purchase).where(Purchase.id == purchase.id)
                           .values(stock_released=False))
        for order, line in _stock_lines(purchase):
            try:
                _move_stock(order, line, -line.quantity, "sale", purchase.code)
            except NotEnoughStock:
                log.error("purchase %s paid after release; stock short for %s",
                          purchase.code, line.name)
    # Goods rung up at a fair stand change hands the moment it is paid.
    db.session.execute(update(Order).where(Order.purchase_id == purchase.id).values(
        status=case((Order.fulfilment == "stand", "completed"), else_="new"), paid_at=now,
        cancel_reason=None))
    for order in purchase.orders:
        ledger.post_sale(order, now)
    _empty_basket(purchase)
    db.session.commit()
    db.session.refresh(purchase)


def _empty_basket(purchase: Purchase) -> None:
    """Paid lines leave the cart; anything added since stays."""
    if purchase.basket_id is None:
        return
    basket = db.session.get(Basket, purchase.basket_id)
    if basket is None:
        return
    bought = {(l.product_id, l.variant_id): l.quantity for o in purchase.orders for l in o.lines}
    for line in list(basket.lines):
        quantity = bought.get((line.product_id, line.variant_id))
        if quantity is None:
            continue
        if line.quantity <= quantity:
            basket.lines.remove(line)
        else:
            line.quantity -= quantity


def settle(purchase: Purchase, payment: contract.Payment) -> Purchase:
    """Bring the purchase to the gateway's state. Safe to call any number of times, in any order."""
    if payment.reference and payment.reference != purchase.code:
        raise ValueError("payment belongs to another purchase")
    if payment.amount != purchase.total and payment.status == contract.PAID:
        log.error("purchase %s paid %s, expected %s", purchase.code, payment.amount, purchase.total)
    if payment.status == contract.PAID:
        _mark_paid(purchase)
    elif payment.status in (contract.FAILED, contract.EXPIRED, contract.CANCELLED):
        _finish(purchase, payment.status)
    return purchase


def settle_from_gateway(purchase: Purchase) -> Purchase:
    if purchase.payment_id is None or purchase.status == "paid":
        return purchase
    return settle(purchase, gateway().retrieve_payment(purchase.payment_id))


def reconcile(older_than_minutes: int = 3) -> dict[str, int]:
    """Ask the gateway about every purchase still pending after a while (lost webhooks)."""
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    counts = {"checked": 0, "paid": 0, "closed": 0, "errors": 0}
    pending = db.session.scalars(select(Purchase).where(
        Purchase.status == "pending", Purchase.created_at < cutoff)).all()
    for purchase in pending:
        counts["checked"] += 1
        try:
            if purchase.payment_id is None:
                # The gateway was never reached: nothing to ask, the hold just ends.
                if purchase.expires_at < utcnow():
                    abandon(purchase, "expired")
                    counts["closed"] += 1
                continue
            payment = gateway().retrieve_payment(purchase.payment_id)
            if payment.status == contract.PENDING and purchase.expires_at < utcnow():
                payment = gateway().cancel_payment(purchase.payment_id)
            settle(purchase, payment)
        except contract.PaymentError as error:
            log.warning("reconcile %s: %s", purchase.code, error)
            db.session.rollback()
            counts["errors"] += 1
            continue
        if purchase.status == "paid":
            counts["paid"] += 1
        elif purchase.status != "pending":
            counts["closed"] += 1
    return counts


def refund_order(order: Order, reason: str, user) -> Order:
    """Give the money back for a paid order (a voided stand sale, a seller's cancellation).

    Through the gateway for money it took, by hand for cash; the stock returns, the
    ledger gets the reversing entries, and the audit log who and why. Once only.
    """
    from ..audit import record

    if order.paid_at is None or order.refunded_at is not None:
        return order
    now = utcnow()
    before = order.status
    if not db.session.execute(update(Order).where(Order.id == order.id,
                                                  Order.refunded_at.is_(None))
                              .values(refunded_at=now)).rowcount:
        return order  # refunded by another request just now
    purchase = order.purchase
    if purchase is not None and purchase.gateway != "cash" and purchase.payment_id:
        try:
            gateway().refund(
                contract.Payment(id=purchase.payment_id, status=contract.PAID,
                                 amount=purchase.total, reference=purchase.code),
                order.total, idempotency_key=f"refund-{order.code}")
        except contract.PaymentError:
            db.session.rollback()
            raise
    for line in lock_order(line for line in order.lines if line.product_id is not None):
        _move_stock(order, line, line.quantity, "return", f"{order.code} dibatalkan")
    db.session.execute(update(Order).where(Order.id == order.id).values(
        status="cancelled", cancel_reason=reason, refunded_by_id=user.id if user else None,
        updated_at=now))
    ledger.post_refund(order, now)
    record(user, "order.refund", order, before={"status": before},
           after={"status": "cancelled", "amount": order.total}, note=reason)
    db.session.commit()
    db.session.refresh(order)
    return order
