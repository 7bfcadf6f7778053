"""Posting to the sales ledger, shop statements, and the check that it balances.

Posting happens inside the transaction that changes the order (paid, refunded)
or records the payout, so the ledger and the orders can never disagree after a
commit; ``source`` is unique, so posting the same event twice fails loudly
instead of counting twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import case, distinct, func, select

from ..catalogue.models import Category, Product, Shop
from ..cooperatives.models import Membership
from ..extensions import db
from ..orders.models import SHOP_HELD, Order
from ..timeutil import utcnow
from .models import SALES_KINDS, LedgerEntry, Payout


def active_cooperative(shop_id: int, when: datetime) -> int | None:
    return db.session.scalar(select(Membership.cooperative_id).where(
        Membership.shop_id == shop_id, Membership.status == "active",
        Membership.joined_at <= when))


def _top_categories(product_ids: set[int]) -> dict[int, int]:
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(Product.id, func.coalesce(Category.parent_id, Category.id))
        .join(Category, Category.id == Product.category_id).where(Product.id.in_(product_ids)))
    return dict(rows.all())


def _entries(order: Order, when: datetime, reverse: bool) -> list[LedgerEntry]:
    shop = db.session.get(Shop, order.shop_id)
    sign = -1 if reverse else 1
    kind = "refund" if reverse else "sale"
    stand = order.stand
    common = dict(shop_id=shop.id, order_id=order.id, posted_at=when, channel=order.channel,
                  kecamatan=shop.kecamatan, kelurahan=shop.kelurahan, shop_type=shop.type,
                  cooperative_id=active_cooperative(shop.id, when),
                  stand_id=order.stand_id, fair_id=stand.fair_id if stand else None)
    tops = _top_categories({l.product_id for l in order.lines if l.product_id})
    entries = [LedgerEntry(source=f"{kind}:line:{line.id}", kind=kind,
                           amount=sign * line.line_total, order_line_id=line.id,
                           quantity=sign * line.quantity,
                           category_id=tops.get(line.product_id), **common)
               for line in order.lines]
    if order.delivery_fee:
        entries.append(LedgerEntry(source=f"{kind}:delivery:{order.id}", kind=kind,
                                   amount=sign * order.delivery_fee, **common))
    if order.platform_fee:
        fee = "fee_refund" if reverse else "fee"
        entries.append(LedgerEntry(source=f"{fee}:{order.id}", kind=fee,
                                   amount=-sign * order.platform_fee, **common))
    if order.channel in SHOP_HELD:
        # The shop holds this money already (cash, or paid to its own static QRIS):
        # the platform owes it nothing for it.
        cash = "cash_returned" if reverse else "cash_collected"
        entries.append(LedgerEntry(source=f"{cash}:{order.id}", kind=cash,
                                   amount=-sign * order.total, **common))
    return entries


def post_sale(order: Order, when: datetime | None = None) -> None:
    db.session.add_all(_entries(order, when or order.paid_at or utcnow(), reverse=False))


def post_refund(order: Order, when: datetime | None = None) -> None:
    db.session.add_all(_entries(order, when or utcnow(), reverse=True))


def post_gateway_fee(order: Order, fee: int, when: datetime | None = None) -> None:
    """The gateway's fee on this order's share of its payment: one line, once."""
    if fee <= 0:
        return
    shop = db.session.get(Shop, order.shop_id)
    stand = order.stand
    db.session.add(LedgerEntry(
        source=f"gateway_fee:{order.id}", kind="gateway_fee", amount=-fee, shop_id=shop.id,
        order_id=order.id, posted_at=when or utcnow(), channel=order.channel,
        kecamatan=shop.kecamatan, kelurahan=shop.kelurahan, shop_type=shop.type,
        cooperative_id=active_cooperative(shop.id, when or utcnow()), stand_id=order.stand_id,
        fair_id=stand.fair_id if stand else None))


def post_payout(payout: Payout) -> None:
    shop = db.session.get(Shop, payout.shop_id)
    db.session.add(LedgerEntry(
        source=f"payout:{payout.id}", kind="payout", amount=-payout.amount, shop_id=shop.id,
        payout_id=payout.id, posted_at=payout.created_at or utcnow(), kecamatan=shop.kecamatan,
        kelurahan=shop.kelurahan, shop_type=shop.type,
        cooperative_id=active_cooperative(shop.id, utcnow())))


def record_payout(shop: Shop, amount: int, reference: str, paid_on: date, user,
                  note: str = "") -> Payout:
    from ..audit import record

    payout = Payout(shop_id=shop.id, amount=amount, reference=reference, paid_on=paid_on,
                    note=note, recorded_by_id=user.id if user else None, created_at=utcnow())
    db.session.add(payout)
    db.session.flush()
    post_payout(payout)
    record(user, "payout.record", payout, after={"shop": shop.slug, "amount": amount,
                                                  "reference": reference,
                                                  "paid_on": paid_on.isoformat()})
    db.session.flush()
    return payout


# --- sales, as every report counts them ------------------------------------------------------

# A sale counts once (+1 on its sale entries, -1 when refunded), whatever its line count.
SALE_COUNT = (func.count(distinct(case((LedgerEntry.kind == "sale", LedgerEntry.order_id))))
              - func.count(distinct(case((LedgerEntry.kind == "refund", LedgerEntry.order_id)))))


def sales_filter(start: datetime | None = None, end: datetime | None = None, **equal) -> list:
    """Sales entries posted in [start, end) whose dimensions equal ``equal`` (shop_id=…)."""
    conditions = [LedgerEntry.kind.in_(SALES_KINDS)]
    if start is not None:
        conditions.append(LedgerEntry.posted_at >= start)
    if end is not None:
        conditions.append(LedgerEntry.posted_at < end)
    conditions += [getattr(LedgerEntry, name) == value for name, value in equal.items()]
    return conditions


def sales_total(start: datetime | None = None, end: datetime | None = None,
                **equal) -> tuple[int, int]:
    """Net sales in rupiah and the number of sales, for a period and dimensions."""
    total, count = db.session.execute(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0), SALE_COUNT)
        .where(*sales_filter(start, end, **equal))).one()
    return int(total), int(count)


# --- statements ------------------------------------------------------------------------------

@dataclass
class Statement:
    """A shop's account: what it sold, what came off, what it was paid, what is owed."""

    gross: int = 0
    refunds: int = 0
    fees: int = 0  # negative: the platform's fee, net of refunded fees
    cash: int = 0  # negative: money the shop took itself at a stand, net of cash returned
    payouts: int = 0  # negative
    gateway_fees: int = 0  # negative: the payment gateway's fee (QRIS MDR)
    entries: list[LedgerEntry] = field(default_factory=list)

    @property
    def net_sales(self) -> int:
        return self.gross + self.refunds

    @property
    def balance(self) -> int:
        """What the platform owes the shop now (negative: the shop owes fees)."""
        return self.gross + self.refunds + self.fees + self.cash + self.payouts + \
            self.gateway_fees


GROUPS = {"sale": "gross", "refund": "refunds", "fee": "fees", "fee_refund": "fees",
          "cash_collected": "cash", "cash_returned": "cash", "payout": "payouts",
          "gateway_fee": "gateway_fees"}


def statement(shop_id: int, start: datetime | None = None, end: datetime | None = None,
              with_entries: bool = False) -> Statement:
    conditions = [LedgerEntry.shop_id == shop_id]
    if start is not None:
        conditions.append(LedgerEntry.posted_at >= start)
    if end is not None:
        conditions.append(LedgerEntry.posted_at < end)
    result = Statement()
    for kind, total in db.session.execute(
            select(LedgerEntry.kind, func.sum(LedgerEntry.amount)).where(*conditions)
            .group_by(LedgerEntry.kind)):
        setattr(result, GROUPS[kind], getattr(result, GROUPS[kind]) + int(total))
    if with_entries:
        result.entries = list(db.session.scalars(
            select(LedgerEntry).where(*conditions)
            .order_by(LedgerEntry.posted_at.desc(), LedgerEntry.id.desc()).limit(500)))
    return result


def check() -> list[str]:
    """Every way the ledger could disagree with the orders and payouts; empty when it balances."""
    problems = []
    posted: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for order_id, kind, total in db.session.execute(
            select(LedgerEntry.order_id, LedgerEntry.kind, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.order_id.is_not(None))
            .group_by(LedgerEntry.order_id, LedgerEntry.kind)):
        posted[order_id][kind] = int(total)
    orders = db.session.execute(select(Order.id, Order.code, Order.total, Order.platform_fee,
                                       Order.channel, Order.paid_at, Order.refunded_at,
                                       Order.gateway_fee)).all()
    for order_id, code, total, fee, channel, paid_at, refunded_at, gateway_fee in orders:
        got = posted.pop(order_id, {})
        # The gateway keeps its fee when a sale is refunded: it is not reversed.
        want: dict[str, int] = {"gateway_fee": -gateway_fee} if gateway_fee else {}
        if paid_at is not None:
            want["sale"] = total
            if fee:
                want["fee"] = -fee
            if channel in SHOP_HELD:
                want["cash_collected"] = -total
        if refunded_at is not None:
            want["refund"] = -total
            if fee:
                want["fee_refund"] = fee
            if channel in SHOP_HELD:
                want["cash_returned"] = total
        if {k: v for k, v in got.items() if v} != {k: v for k, v in want.items() if v}:
            problems.append(f"pesanan {code}: buku besar {dict(got)} ≠ pesanan {want}")
    for order_id in posted:
        problems.append(f"entri untuk pesanan {order_id} yang tidak ada")
    problems += unbacked_payments()
    payouts = dict(db.session.execute(select(Payout.id, Payout.amount)).all())
    booked = dict(db.session.execute(
        select(LedgerEntry.payout_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.kind == "payout").group_by(LedgerEntry.payout_id)).all())
    for payout_id, amount in payouts.items():
        if booked.pop(payout_id, None) != -amount:
            problems.append(f"pembayaran ke toko #{payout_id} sebesar {amount} tidak tercatat tepat")
    for payout_id in booked:
        problems.append(f"entri pembayaran #{payout_id} tanpa catatan pembayaran")
    line_sums = db.session.execute(
        select(LedgerEntry.shop_id, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.shop_id))
    for shop_id, total in line_sums:
        if statement(shop_id).balance != int(total):
            problems.append(f"toko #{shop_id}: rincian rekening tidak sama dengan saldonya")
    return problems


def unbacked_payments() -> list[str]:
    """Paid purchases without the settlement record of a payment that matched them: the
    gateway's id on the purchase and its total, to the rupiah (a Rp1 payment fails here)."""
    from ..checkout.models import Purchase
    from ..payments.models import PaymentRecord

    matching = select(PaymentRecord.id).where(
        PaymentRecord.purchase_id == Purchase.id, PaymentRecord.kind == "settled",
        PaymentRecord.reference == Purchase.payment_id, PaymentRecord.amount == Purchase.total,
        PaymentRecord.currency == "IDR").exists()
    rows = db.session.execute(select(Purchase.code, Purchase.total).where(
        Purchase.status == "paid", ~matching).limit(100)).all()
    return [f"pembelian {code} lunas tanpa pembayaran yang cocok sebesar {total}"
            for code, total in rows]
