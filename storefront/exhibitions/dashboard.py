"""What the organizer sees of a fair: sales as they happen, and the day's recap.

Every figure is a GROUP BY over the sales ledger (storefront/ledger), the one
record every report reads: a voided sale is its sale and its refund, so the
dashboard, the recap, the export, the city's reports and the sellers' own
dashboards agree to the rupiah. The dashboard is polled by many screens at once: its figures are kept
for a couple of seconds in the shared cache and each poll reads them there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..catalogue.models import Category, Shop
from ..extensions import cache, db
from ..ledger import services as ledger
from ..ledger.models import LedgerEntry
from ..orders.models import Order, OrderLine
from ..seller.services import PAID_STATUSES
from ..timeutil import jakarta_day_start, jakarta_hour, today_in_jakarta
from .models import Fair, Stand

CHANNELS = ("fair_qr", "fair_cash", "fair_sqris")


@dataclass
class StandRow:
    code: str
    shop: str
    total: int = 0
    count: int = 0
    qr: int = 0
    cash: int = 0
    static: int = 0  # on the shop's static QRIS sticker


@dataclass
class Figures:
    day: date
    total: int = 0  # the whole fair so far
    count: int = 0
    today: int = 0
    today_count: int = 0
    by_channel: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANNELS, 0))
    today_by_channel: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANNELS, 0))
    stands: list[StandRow] = field(default_factory=list)  # leaderboard, best first
    today_stands: list[StandRow] = field(default_factory=list)
    silent: list[StandRow] = field(default_factory=list)  # staffed, nothing sold yet
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_kecamatan: list[tuple[str, int]] = field(default_factory=list)
    by_shop_type: list[tuple[str, int]] = field(default_factory=list)
    hours: list[tuple[int, int]] = field(default_factory=list)  # today's (hour, rupiah)
    handed_over: int = 0  # today: goods left the stand with the sale
    to_hand_over: int = 0  # today: paid, collected or delivered later
    voids: list[Order] = field(default_factory=list)
    unconfirmed: int = 0  # static-QRIS sales nobody has checked in the shop's bank yet


def _sales(fair: Fair, since=None, until=None):
    """The fair's sales in the ledger (a voided sale is a sale and its refund), in [since, until)."""
    return ledger.sales_filter(since, until, fair_id=fair.id)


def _per_stand(fair: Fair, since=None, until=None) -> dict[int, dict[str, tuple[int, int]]]:
    rows = db.session.execute(
        select(LedgerEntry.stand_id, LedgerEntry.channel, func.sum(LedgerEntry.amount),
               ledger.SALE_COUNT)
        .where(*_sales(fair, since, until))
        .group_by(LedgerEntry.stand_id, LedgerEntry.channel)).all()
    per: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    for stand_id, channel, total, count in rows:
        per[stand_id][channel] = (int(total), int(count))
    return per


def _board(stands: list[Stand], per) -> list[StandRow]:
    rows = []
    for stand in stands:
        sold = per.get(stand.id, {})
        row = StandRow(stand.code, stand.shop.name if stand.shop else "",
                       qr=sold.get("fair_qr", (0, 0))[0], cash=sold.get("fair_cash", (0, 0))[0],
                       static=sold.get("fair_sqris", (0, 0))[0])
        row.total = row.qr + row.cash + row.static
        row.count = sum(count for _, count in sold.values())
        rows.append(row)
    return sorted(rows, key=lambda r: (-r.total, r.code))


def _grouped(fair: Fair, column) -> list[tuple[str, int]]:
    rows = db.session.execute(select(column, func.sum(LedgerEntry.amount))
                              .where(*_sales(fair)).group_by(column)).all()
    return sorted(((str(name or "-"), int(total)) for name, total in rows if total),
                  key=lambda r: -r[1])


def _by_category(fair: Fair) -> list[tuple[str, int]]:
    """Top-level categories; a typed amount or a delivery fee has none ("Lainnya")."""
    names = dict(db.session.execute(select(Category.id, Category.name)).all())
    return [(names.get(int(c), "Lainnya") if c != "-" else "Lainnya", total)
            for c, total in _grouped(fair, LedgerEntry.category_id)]


def figures(fair: Fair, day: date | None = None) -> Figures:
    day = day or today_in_jakarta()
    start, end = jakarta_day_start(day), jakarta_day_start(day + timedelta(days=1))
    result = Figures(day=day)
    stands = list(db.session.scalars(select(Stand).where(Stand.fair_id == fair.id)
                                     .options(selectinload(Stand.shop)).order_by(Stand.code)))
    whole, today = _per_stand(fair), _per_stand(fair, start, end)
    for per, channels in ((whole, result.by_channel), (today, result.today_by_channel)):
        for sold in per.values():
            for channel, (total, _count) in sold.items():
                channels[channel] = channels.get(channel, 0) + total
    result.total, result.today = sum(result.by_channel.values()), sum(result.today_by_channel.values())
    result.count = sum(c for sold in whole.values() for _, c in sold.values())
    result.today_count = sum(c for sold in today.values() for _, c in sold.values())
    result.stands = _board(stands, whole)
    result.today_stands = _board(stands, today)
    result.silent = [row for row in result.stands if row.shop and row.count == 0]
    result.by_category = _by_category(fair)
    result.by_kecamatan = _grouped(fair, LedgerEntry.kecamatan)
    labels = {"umkm": "UMKM", "koperasi": "Koperasi"}
    result.by_shop_type = [(labels.get(kind, kind), total)
                           for kind, total in _grouped(fair, LedgerEntry.shop_type)]
    hours: dict[int, int] = defaultdict(int)
    for posted_at, amount, status in db.session.execute(
            select(LedgerEntry.posted_at, LedgerEntry.amount, Order.status)
            .join(Order, Order.id == LedgerEntry.order_id).where(*_sales(fair, start, end))):
        hours[jakarta_hour(posted_at)] += amount
        if status == "completed":
            result.handed_over += amount
        elif status != "cancelled":
            result.to_hand_over += amount
    first, last = fair.opens_at.hour, max(fair.closes_at.hour, fair.opens_at.hour)
    span = range(min([first, *hours]), max([last, *hours]) + 1)
    result.hours = [(hour, hours.get(hour, 0)) for hour in span]
    result.unconfirmed = db.session.scalar(
        select(func.coalesce(func.sum(Order.total), 0)).join(Stand, Stand.id == Order.stand_id)
        .where(Stand.fair_id == fair.id, Order.channel == "fair_sqris",
               Order.confirmed_at.is_(None), Order.paid_at.is_not(None),
               Order.refunded_at.is_(None))) or 0
    result.voids = list(db.session.scalars(
        select(Order).join(Stand, Stand.id == Order.stand_id)
        .where(Stand.fair_id == fair.id, Order.refunded_at.is_not(None))
        .order_by(Order.refunded_at.desc()).limit(20)))
    return result


VERSION_MARK = "POLL-VERSION-MARK"  # where each organizer's own signed version goes (URL-safe)


def cached_fragment(fair: Fair, snapshot, render) -> tuple[str, str]:
    """The dashboard's polled fragment, rendered at most once per couple of seconds per
    fair, with the versions it was rendered at (``snapshot``, taken before its figures):
    a screen given an older render polls again and gets the newer one once it exists."""
    from .. import polls

    seconds = current_app.config.get("FAIR_DASHBOARD_SECONDS", 2)
    key = f"fair-dashboard:{fair.id}:{today_in_jakarta()}"
    kept = cache.get(key) if seconds else None
    if kept is None:
        kept = (render(figures(fair)), snapshot.body(polls.end_of_day()))
        if seconds:
            cache.set(key, kept, timeout=seconds)
    return kept


# --- exports -------------------------------------------------------------------------------

EXPORT_COLUMNS = ("kode_pesanan", "dibayar", "stan", "toko", "kecamatan", "kelurahan",
                  "jenis_toko", "kanal", "barang", "varian", "jumlah", "harga_satuan", "total_baris",
                  "status", "alasan_batal")


def export_rows(fair: Fair):
    """Every line of every sale of the fair that was paid, voided ones marked (in order)."""
    query = (select(Order, Stand.code, Shop, OrderLine)
             .join(Stand, Stand.id == Order.stand_id).join(Shop, Shop.id == Order.shop_id)
             .join(OrderLine, OrderLine.order_id == Order.id)
             .where(Stand.fair_id == fair.id, Order.paid_at.is_not(None))
             .order_by(Order.paid_at, Order.id, OrderLine.id))
    for order, code, shop, line in db.session.execute(query).yield_per(1000):
        yield (order.code, order.paid_at.isoformat(timespec="seconds") + "Z", code, shop.name,
               shop.kecamatan, shop.kelurahan, shop.type,
               "qr" if order.channel == "fair_qr" else "tunai", line.name, line.variant_name or "",
               line.quantity, line.unit_price, line.line_total,
               "lunas" if order.status in PAID_STATUSES else "dibatalkan",
               order.cancel_reason if order.status not in PAID_STATUSES else "")
