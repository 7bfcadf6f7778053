"""The stand keeper's till: sales rung up at a fair stand, paid by QR or in cash.

A stand sale is an ordinary purchase with one order (channel ``fair_qr`` or
``fair_cash``, linked to the stand), so webhooks, the reconciler, refunds and
every report treat it like any other sale. A QR charge carries an unguessable
``pay_token``: the server alone knows which stand, shop, items and amount it
stands for. Cash is paid the moment it is recorded; the device sends a key of
its own with it, so a sale queued offline and sent twice is recorded once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..catalogue.models import Product, visible_products
from ..checkout import services as checkout
from ..checkout.models import Purchase
from ..extensions import db
from ..ledger import services as ledger
from ..money import format_rupiah
from ..orders.models import Order, OrderLine
from ..payments import gateway as contract
from ..payments.cash import CashGateway
from ..seller.services import NotEnoughStock, change_stock
from ..timeutil import utcnow
from .models import Stand, StandItem

MAX_SALE = 100_000_000  # rupiah: a slip of the thumb, not a sale
MAX_QUANTITY = 999
VISITOR = "Pengunjung pameran"


class SaleRefused(Exception):
    """The sale cannot be made as asked; ``message`` is for the keeper or visitor."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SaleLine:
    item: StandItem
    quantity: int


# --- what is at the stand -------------------------------------------------------------

def stand_items(stand: Stand) -> list[StandItem]:
    """The items on sale at the stand, of products that are still visible."""
    visible = visible_products().with_only_columns(Product.id).where(
        Product.shop_id == stand.shop_id)
    return list(db.session.scalars(
        select(StandItem).where(StandItem.stand_id == stand.id,
                                StandItem.product_id.in_(visible))
        .options(selectinload(StandItem.product), selectinload(StandItem.variant))
        .join(Product, Product.id == StandItem.product_id)
        .order_by(Product.name, StandItem.variant_id)))


def choosable(stand: Stand) -> list[tuple[Product, object | None]]:
    """Every product (and each of its variants) the keeper may bring to the stand."""
    if stand.shop_id is None:
        return []
    products = db.session.scalars(visible_products().where(Product.shop_id == stand.shop_id)
                                  .order_by(Product.name)).unique().all()
    return [(p, v) for p in products for v in (p.variants or [None])]


def set_items(stand: Stand, chosen: dict[tuple[int, int | None], int | None]) -> None:
    """Bring exactly ``chosen`` to the stand: (product, variant) -> fair stock or None."""
    allowed = {(p.id, v.id if v else None) for p, v in choosable(stand)}
    existing = {(i.product_id, i.variant_id): i for i in
                db.session.scalars(select(StandItem).where(StandItem.stand_id == stand.id))}
    for key, item in existing.items():
        if key not in chosen:
            db.session.delete(item)
    for key, fair_stock in chosen.items():
        if key not in allowed:
            continue
        item = existing.get(key)
        if item is None:
            db.session.add(StandItem(stand_id=stand.id, product_id=key[0], variant_id=key[1],
                                     fair_stock=fair_stock))
        else:
            item.fair_stock = fair_stock
    db.session.commit()


def move_stock(stand_id: int, line: OrderLine, change: int, reason: str, note: str) -> None:
    """Take (negative) or return stock for a stand sale: the fair stock if it has one."""
    if line.product_id is None:
        return  # a typed amount: nothing on a shelf
    item = db.session.scalar(select(StandItem).where(
        StandItem.stand_id == stand_id, StandItem.product_id == line.product_id,
        StandItem.variant_id.is_(None) if line.variant_id is None
        else StandItem.variant_id == line.variant_id))
    if item is not None and item.fair_stock is not None:
        if not db.session.execute(
                update(StandItem).where(StandItem.id == item.id,
                                        StandItem.fair_stock + change >= 0)
                .values(fair_stock=StandItem.fair_stock + change)).rowcount:
            raise NotEnoughStock()
        return
    change_stock(line.product_id, change, reason, variant_id=line.variant_id, note=note)


# --- ringing up -----------------------------------------------------------------------

def attempt_for(stand: Stand, key: str) -> str:
    """The device's key, scoped to the stand: another stand's key can never match."""
    return "s" + hashlib.sha256(f"{stand.id}:{key}".encode()).hexdigest()[:39]


def ring_up(stand: Stand, lines: list[SaleLine], amount: int, *, method: str, key: str,
            user=None, fulfilment: str = "stand",
            received: int | None = None) -> tuple[Purchase, bool]:
    """Record a sale at the stand; returns it and whether it is new.

    ``method`` is "qr" (a pending charge the visitor pays by scanning) or "cash"
    (paid now). Prices come from the database, never from the device. The same
    ``key`` again returns the sale it first made, whatever else was sent.
    """
    attempt = attempt_for(stand, key)
    existing = db.session.scalar(select(Purchase).where(Purchase.attempt == attempt))
    if existing is not None:
        return existing, False
    lines = [line for line in lines if line.quantity > 0]
    if not lines and amount <= 0:
        raise SaleRefused(_("Pilih barang atau ketik nominal dulu."))
    if any(line.quantity > MAX_QUANTITY for line in lines):
        raise SaleRefused(_("Paling banyak %(n)d per barang.", n=MAX_QUANTITY))
    total = sum(line.item.price * line.quantity for line in lines) + max(amount, 0)
    if total <= 0:
        raise SaleRefused(_("Jumlah harus lebih dari Rp 0."))
    if total > MAX_SALE:
        raise SaleRefused(_("Jumlahnya terlalu besar untuk satu penjualan."))
    if method == "cash" and received is not None and received < total:
        raise SaleRefused(_("Uang diterima kurang dari total %(total)s.",
                            total=format_rupiah(total)))
    now = utcnow()
    cash = method == "cash"
    minutes = current_app.config.get("FAIR_CHARGE_MINUTES", 15)
    purchase = Purchase(
        code=checkout._code("ST"), attempt=attempt, buyer_name=VISITOR, buyer_whatsapp="",
        total=total, stand_id=stand.id, status="paid" if cash else "pending",
        gateway="cash" if cash else current_app.config["PAYMENT_GATEWAY"],
        pay_token=None if cash else secrets.token_urlsafe(24),
        expires_at=now + timedelta(minutes=minutes), paid_at=now if cash else None)
    order = Order(code=checkout._code("P"), shop_id=stand.shop_id, purchase=purchase,
                  buyer_name=VISITOR, buyer_whatsapp="", stand_id=stand.id,
                  channel="fair_cash" if cash else "fair_qr", fulfilment=fulfilment,
                  status=("completed" if fulfilment == "stand" else "new") if cash
                  else "awaiting_payment", paid_at=now if cash else None,
                  subtotal=total, delivery_fee=0, total=total,
                  platform_fee=total * current_app.config.get("PLATFORM_FEE_PERCENT", 0) // 100)
    for line in sorted(lines, key=lambda l: (l.item.product_id, l.item.variant_id or 0)):
        item = line.item
        order.lines.append(OrderLine(
            product_id=item.product_id, variant_id=item.variant_id, name=item.product.name,
            variant_name=item.variant.name if item.variant else None, unit_price=item.price,
            quantity=line.quantity, line_total=item.price * line.quantity))
    if amount > 0:
        order.lines.append(OrderLine(name="Nominal", unit_price=amount, quantity=1,
                                     line_total=amount))
    db.session.add_all([purchase, order])
    db.session.flush()
    short = []
    for line in order.lines:
        try:
            move_stock(stand.id, line, -line.quantity, "sale", purchase.code)
        except NotEnoughStock:
            short.append(line.name)
    if short:
        db.session.rollback()
        raise SaleRefused(_("Stok tidak cukup: %(items)s.", items=", ".join(short)))
    if cash:
        ledger.post_sale(order, now)
        payment = CashGateway().create_payment(
            amount=total, reference=purchase.code, description=purchase.code, success_url="",
            cancel_url="", idempotency_key=attempt)
        purchase.payment_id = payment.id
    try:
        db.session.commit()
    except IntegrityError:
        # The same key sent twice at once: the other request recorded it.
        db.session.rollback()
        existing = db.session.scalar(select(Purchase).where(Purchase.attempt == attempt))
        if existing is None:
            raise
        return existing, False
    return purchase, True


def charge_by_token(token: str) -> Purchase | None:
    if not token or len(token) > 48:
        return None
    return db.session.scalar(select(Purchase).where(Purchase.pay_token == token))


def refresh(purchase: Purchase, *, ask_gateway: bool = False) -> Purchase:
    """Bring a pending charge up to date: expired after its time, or settled by the gateway."""
    if purchase.status != "pending":
        return purchase
    try:
        if purchase.expires_at < utcnow():
            if purchase.payment_id:
                payment = checkout.gateway().retrieve_payment(purchase.payment_id)
                if payment.status == contract.PENDING:
                    payment = checkout.gateway().cancel_payment(purchase.payment_id)
                checkout.settle(purchase, payment)
            else:
                checkout.abandon(purchase, "expired")
        elif ask_gateway and purchase.payment_id:
            checkout.settle_from_gateway(purchase)
    except contract.PaymentError:
        db.session.rollback()  # the webhook or the reconciler settles it later
    return purchase


def cancel_charge(purchase: Purchase) -> Purchase:
    """The keeper takes back a charge nobody has paid yet; its stock returns."""
    if purchase.status != "pending":
        return purchase
    if purchase.payment_id:
        try:
            checkout.settle(purchase, checkout.gateway().cancel_payment(purchase.payment_id))
        except contract.PaymentError:
            db.session.rollback()
            checkout.settle_from_gateway(purchase)
    else:
        checkout.abandon(purchase, "cancelled")
    return purchase


def void(order: Order, reason: str, user) -> Order:
    """Take back a mistaken sale: an unpaid charge is cancelled, a paid one refunded.

    The sale stays on record with who voided it and why; reports leave it out.
    """
    purchase = order.purchase
    if purchase.status == "pending":
        cancel_charge(purchase)
        order.cancel_reason = reason
        db.session.commit()
        return order
    return checkout.refund_order(order, reason, user)


def hand_over(order: Order) -> Order:
    """A visitor's paid basket is collected at the stand."""
    if order.status in ("new", "processing", "ready") and order.paid_at is not None:
        order.status = "completed"
        db.session.commit()
    return order


# --- the day at the stand -------------------------------------------------------------

def day_bounds(day_start_utc: datetime) -> tuple[datetime, datetime]:
    return day_start_utc, day_start_utc + timedelta(days=1)


def recent_sales(stand: Stand, since: datetime, limit: int = 30) -> list[Order]:
    return list(db.session.scalars(
        select(Order).where(Order.stand_id == stand.id, Order.created_at >= since)
        .options(selectinload(Order.lines), selectinload(Order.purchase))
        .order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)))


def waiting_handover(stand: Stand) -> list[Order]:
    """Visitors' baskets paid and not yet collected."""
    return list(db.session.scalars(
        select(Order).where(Order.stand_id == stand.id, Order.paid_at.is_not(None),
                            Order.refunded_at.is_(None), Order.status == "new")
        .options(selectinload(Order.lines)).order_by(Order.paid_at)))


def totals_by_method(stand: Stand, since: datetime) -> dict[str, int]:
    """The stand's sales today by method, from the ledger like every other report."""
    totals = {"count": 0}
    for channel in ("fair_qr", "fair_cash"):
        totals[channel], count = ledger.sales_total(since, None, stand_id=stand.id,
                                                    channel=channel)
        totals["count"] += count
    totals["all"] = totals["fair_qr"] + totals["fair_cash"]
    return totals
