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
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..catalogue.models import Product, visible_products
from ..checkout import services as checkout
from ..checkout.models import Purchase
from ..extensions import db, insert_new
from ..inventory import services as inventory
from ..ledger import services as ledger
from ..money import format_rupiah
from ..orders.models import Order, OrderLine
from ..payments import gateway as contract
from ..payments import runner, settlement
from ..payments.cash import CashGateway
from ..timeutil import utcnow
from .models import Stand, StandItem

MAX_SALE = 100_000_000  # rupiah: a slip of the thumb, not a sale
MAX_QUANTITY = 999
VISITOR = "Pengunjung pameran"


class SaleRefused(Exception):
    """The sale cannot be made as asked; ``message`` is for the keeper or visitor."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message, self.status = message, status


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


def set_items(stand: Stand, chosen: dict[tuple[int, int | None], int | None],
              user=None) -> None:
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
            item = StandItem(stand_id=stand.id, product_id=key[0], variant_id=key[1])
            db.session.add(item)
        inventory.set_fair_stock(item, fair_stock, user_id=user.id if user else None)
    db.session.flush()


# --- ringing up -----------------------------------------------------------------------

CHANNEL_OF = {"qr": "fair_qr", "cash": "fair_cash", "static_qris": "fair_sqris"}


def attempt_for(stand: Stand, key: str) -> str:
    """The device's key, scoped to the stand: another stand's key can never match."""
    return "s" + hashlib.sha256(f"{stand.id}:{key}".encode()).hexdigest()[:39]


def ring_up(stand: Stand, lines: list[SaleLine], amount: int, *, method: str, key: str,
            user=None, fulfilment: str = "stand", received: int | None = None,
            client: str | None = None) -> tuple[Purchase, bool]:
    """Record a sale at the stand; returns it and whether it is new.

    ``method`` is "qr" (a pending charge the visitor pays by scanning), "cash" (paid
    now), or "static_qris" (paid now to the shop's own QRIS sticker: recorded at once as
    money the shop holds, unconfirmed until the keeper or office sees it in the bank). Prices come from the database, never from the device. The same
    ``key`` again returns the sale it first made, whatever else was sent, also
    when both arrive at once. ``client`` limits what one visitor may hold unpaid.
    Only flushes: the caller commits.
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
    if client is not None:
        cap = current_app.config["VISITOR_BASKET_MAX_UNITS"]
        if any(line.item.fair_stock is None and line.quantity > cap for line in lines):
            raise SaleRefused(_("Paling banyak %(n)d per barang untuk pesanan dari ponsel; "
                                "untuk lebih, bayar langsung di stan.", n=cap))
    total = sum(line.item.price * line.quantity for line in lines) + max(amount, 0)
    if total <= 0:
        raise SaleRefused(_("Jumlah harus lebih dari Rp 0."))
    if total > MAX_SALE:
        raise SaleRefused(_("Jumlahnya terlalu besar untuk satu penjualan."))
    if method == "cash" and received is not None and received < total:
        raise SaleRefused(_("Uang diterima kurang dari total %(total)s.",
                            total=format_rupiah(total)))
    if method == "static_qris" and not stand.shop.static_qris:
        raise SaleRefused(_("Toko ini belum menyimpan QRIS statis. Unggah di Data toko → "
                            "QRIS statis, atau pakai Bayar QR."))
    now = utcnow()
    cash = method in ("cash", "static_qris")  # the shop takes the money itself
    minutes = current_app.config.get("FAIR_CHARGE_MINUTES", 15)
    # One INSERT ... ON CONFLICT DO NOTHING on the unique attempt: the same key sent twice
    # at once makes one sale, and the other request answers with it (no SAVEPOINT: on
    # SQLite its RELEASE would commit the sale half-made).
    purchase_id = db.session.execute(
        insert_new(Purchase).values(
            code=checkout._code("ST"), attempt=attempt, buyer_name=VISITOR, buyer_whatsapp="",
            total=total, stand_id=stand.id, status="pending",
            gateway="cash" if cash else contract.stand_gateway(),
            pay_token=None if cash else secrets.token_urlsafe(24),
            expires_at=now + timedelta(minutes=minutes), created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["attempt"]).returning(Purchase.id)).scalar()
    if purchase_id is None:
        return db.session.scalar(select(Purchase).where(Purchase.attempt == attempt)), False
    purchase = db.session.get(Purchase, purchase_id)
    order = Order(code=checkout._code("P"), shop_id=stand.shop_id, purchase_id=purchase_id,
                  buyer_name=VISITOR, buyer_whatsapp="", stand_id=stand.id,
                  channel=CHANNEL_OF[method], fulfilment=fulfilment,
                  status="awaiting_payment", subtotal=total, delivery_fee=0, total=total,
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
    db.session.add(order)
    db.session.flush()
    held = [inventory.Line(l.product_id, l.variant_id, l.quantity, l.name)
            for l in order.lines if l.product_id is not None]
    try:
        inventory.check_client(client, held)
    except inventory.TooManyHolds:
        raise SaleRefused(_("Terlalu banyak pesanan belum dibayar dari jaringan ini. Bayar "
                            "atau tunggu pesanan lama kedaluwarsa, lalu coba lagi."), 429) from None
    short = inventory.hold(purchase.id, held, kind="visitor_basket" if client else "stand_charge",
                           expires_at=purchase.expires_at, client=client, stand_id=stand.id,
                           user_id=user.id if user else None, note=purchase.code)
    if short:
        raise SaleRefused(_("Stok tidak cukup: %(items)s.", items=", ".join(short)))
    if cash:
        payment = CashGateway().create_payment(
            amount=total, reference=purchase.code, description=purchase.code, success_url="",
            cancel_url="", idempotency_key=attempt)
        settlement.cash_paid(purchase, payment)
    return purchase, True


def scans(purchase: Purchase) -> bool:
    """Whether the payer pays this charge by scanning a QRIS code with their own app (its
    gateway makes them), rather than on a payment page the stand's QR leads to."""
    return purchase.gateway != "cash" and \
        getattr(contract.get(purchase.gateway), "scan_to_pay", False)


def show_qris(purchase: Purchase) -> str | None:
    """Make the charge's QRIS code at the gateway (once: a second call, after a timeout
    or from a second tab, gets the same code). None when it could not be made; the charge
    is then closed and its stock goes back, and the message says why."""
    if purchase.payment_qr or purchase.status != "pending":
        return None
    try:
        runner.start_payment(purchase, success_url="", cancel_url="")
    except contract.PaymentError as error:
        # The code may exist at the gateway even so, but no one saw it: nobody pays it,
        # and if someone does, settlement gives the money back (a stray payment).
        runner.close(purchase)
        return str(error.message)
    return None


def charge_by_token(token: str) -> Purchase | None:
    if not token or len(token) > 48:
        return None
    return db.session.scalar(select(Purchase).where(Purchase.pay_token == token))


def past_its_time(purchase: Purchase) -> bool:
    return purchase.status == "pending" and purchase.expires_at < utcnow()


def refresh(purchase: Purchase) -> Purchase:
    """A pending charge past its time is closed (cancelled at the gateway first, so it
    cannot be paid after its stock went back); otherwise webhooks settle it."""
    if purchase.status != "pending" or purchase.expires_at >= utcnow():
        return purchase
    try:
        runner.ask(purchase)
    except contract.PaymentError:
        db.session.rollback()  # the webhook or the reconciler settles it later
    return purchase


def cancel_charge(purchase: Purchase) -> Purchase:
    """The keeper takes back a charge nobody has paid yet; its stock returns."""
    return runner.cancel(purchase)


def void(order: Order, reason: str, user) -> Order:
    """Take back a mistaken sale: an unpaid charge is cancelled, a paid one refunded.

    The sale stays on record with who voided it and why; reports leave it out.
    """
    purchase = order.purchase
    if purchase.status == "pending":
        runner.cancel(purchase)
        order.cancel_reason = reason
        return order
    return runner.refund(order, reason, user)


def hand_over(order: Order) -> Order:
    """A visitor's paid basket is collected at the stand."""
    if order.status in ("new", "processing", "ready") and order.paid_at is not None:
        order.status = "completed"
        db.session.flush()
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
    for channel in CHANNEL_OF.values():
        totals[channel], count = ledger.sales_total(since, None, stand_id=stand.id,
                                                    channel=channel)
        totals["count"] += count
    totals["all"] = sum(totals[channel] for channel in CHANNEL_OF.values())
    return totals
