"""The city office's reports: net sales from the ledger over a date range, by one dimension.

The rows of a report partition the ledger's sales entries of the range, so the
total is the sum of the rows and equals the fair dashboard, the cooperative pages
and the seller dashboards for the same period, to the rupiah.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from ..catalogue.models import Category, Shop
from ..cooperatives.models import Cooperative, Membership
from ..cooperatives.services import month_expression
from ..extensions import db
from ..ledger import services as ledger
from ..ledger.models import LedgerEntry
from ..orders.models import CHANNEL_NAMES
from ..places import KELURAHAN_BY_KECAMATAN
from ..timeutil import jakarta_day_start

DIMENSIONS = {
    "kecamatan": LedgerEntry.kecamatan,
    "kelurahan": LedgerEntry.kelurahan,
    "kategori": LedgerEntry.category_id,
    "jenis": LedgerEntry.shop_type,
    "koperasi": LedgerEntry.cooperative_id,
    "kanal": LedgerEntry.channel,
    "toko": LedgerEntry.shop_id,
}
TYPE_NAMES = {"umkm": "UMKM", "koperasi": "Koperasi"}


@dataclass
class Row:
    key: str
    label: str
    total: int
    count: int

    share: float = 0.0


@dataclass
class Report:
    start: date
    end: date  # inclusive
    by: str
    rows: list[Row] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)

    @property
    def count(self) -> int:
        return sum(row.count for row in self.rows)


def _labels(by: str, keys: list) -> dict:
    ids = [k for k in keys if k is not None]
    if by == "kategori":
        return dict(db.session.execute(select(Category.id, Category.name)
                                       .where(Category.id.in_(ids))).all())
    if by == "koperasi":
        return dict(db.session.execute(select(Cooperative.id, Cooperative.name)
                                       .where(Cooperative.id.in_(ids))).all())
    if by == "toko":
        return dict(db.session.execute(select(Shop.id, Shop.name).where(Shop.id.in_(ids))).all())
    if by == "kanal":
        return {code: str(name) for code, name in CHANNEL_NAMES.items()}
    if by == "jenis":
        return TYPE_NAMES
    return {}


EMPTY = {"kategori": "Lainnya (nominal, ongkos antar)", "koperasi": "Bukan anggota koperasi"}


def report(start: date, end: date, by: str = "kecamatan", channel: str | None = None) -> Report:
    column = DIMENSIONS[by]
    equal = {"channel": channel} if channel else {}
    rows = db.session.execute(
        select(column, func.sum(LedgerEntry.amount), ledger.SALE_COUNT)
        .where(*ledger.sales_filter(jakarta_day_start(start),
                                    jakarta_day_start(end + timedelta(days=1)), **equal))
        .group_by(column)).all()
    labels = _labels(by, [key for key, _total, _count in rows])
    result = Report(start, end, by)
    for key, total, count in rows:
        label = labels.get(key, key) if key is not None else EMPTY.get(by, "—")
        result.rows.append(Row(str(key if key is not None else ""), str(label), int(total), int(count)))
    result.rows.sort(key=lambda r: (-r.total, r.label))
    grand = result.total
    for row in result.rows:
        row.share = row.total / grand * 100 if grand else 0.0
    return result


@dataclass
class Coverage:
    kecamatan: str
    kelurahan: str
    shops: int
    cooperatives: int
    members: int


def coverage() -> list[Coverage]:
    """Every kelurahan of the city: verified shops, cooperatives, and shops that are members."""
    shops = dict(((k, l), n) for k, l, n in db.session.execute(
        select(Shop.kecamatan, Shop.kelurahan, func.count(Shop.id)).where(Shop.verified)
        .group_by(Shop.kecamatan, Shop.kelurahan)).all())
    coops = dict(((k, l), n) for k, l, n in db.session.execute(
        select(Cooperative.kecamatan, Cooperative.kelurahan, func.count(Cooperative.id))
        .group_by(Cooperative.kecamatan, Cooperative.kelurahan)).all())
    members = dict(((k, l), n) for k, l, n in db.session.execute(
        select(Shop.kecamatan, Shop.kelurahan, func.count(Membership.id))
        .join(Shop, Shop.id == Membership.shop_id).where(Membership.status == "active")
        .group_by(Shop.kecamatan, Shop.kelurahan)).all())
    return [Coverage(k, l, shops.get((k, l), 0), coops.get((k, l), 0), members.get((k, l), 0))
            for k, kelurahan in KELURAHAN_BY_KECAMATAN.items() for l in kelurahan]


@dataclass
class Growth:
    shop: str
    previous: int
    current: int

    @property
    def change(self) -> float | None:
        return (self.current - self.previous) / self.previous * 100 if self.previous > 0 else None


def growth(month: date) -> list[Growth]:
    """Net sales per shop in ``month`` against the month before ("naik kelas")."""
    first = month.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    bucket = month_expression(LedgerEntry.posted_at)
    rows = db.session.execute(
        select(Shop.name, bucket, func.sum(LedgerEntry.amount))
        .join(Shop, Shop.id == LedgerEntry.shop_id)
        .where(*ledger.sales_filter(jakarta_day_start(previous), jakarta_day_start(following)))
        .group_by(Shop.name, bucket)).all()
    per: dict[str, Growth] = {}
    this_key = f"{first:%Y-%m}"
    for name, month_key, total in rows:
        row = per.setdefault(name, Growth(name, 0, 0))
        if month_key == this_key:
            row.current += int(total)
        else:
            row.previous += int(total)
    return sorted(per.values(), key=lambda g: (-(g.change if g.change is not None else 1e9),
                                               -g.current))
