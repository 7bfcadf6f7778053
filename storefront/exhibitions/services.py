"""Fairs and their stands: plain functions for the organizer's screens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..audit import record
from ..catalogue.models import Product, Shop, visible_products
from ..extensions import db
from ..slugs import slugify
from ..timeutil import today_in_jakarta, utcnow
from .models import Fair, Stand

MAX_STANDS_AT_ONCE = 300


class StandCodeTaken(Exception):
    def __init__(self, codes: list[str]):
        super().__init__(", ".join(codes))
        self.codes = codes


def create_fair(name, venue, starts_on, ends_on, opens_at, closes_at, actor=None,
                grace_days: int = 1) -> Fair:
    base, slug, n = slugify(name, 140), slugify(name, 140), 1
    while db.session.scalar(select(Fair.id).where(Fair.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    fair = Fair(name=name, slug=slug, venue=venue, starts_on=starts_on, ends_on=ends_on,
                opens_at=opens_at, closes_at=closes_at, grace_days=grace_days)
    db.session.add(fair)
    db.session.flush()  # the audit entry names the fair by its id
    record(actor, "fair.create", fair, after={
        "name": name, "slug": slug, "venue": venue, "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat(), "opens_at": opens_at.isoformat(),
        "closes_at": closes_at.isoformat(), "grace_days": grace_days})
    db.session.flush()
    return fair


def stand_codes(zone: str, first: int, count: int) -> list[str]:
    """Zone "A", from 1, 30 stands: A-01 … A-30 (three digits past 99)."""
    width = 3 if first + count - 1 > 99 else 2
    return [f"{zone}-{n:0{width}d}" for n in range(first, first + count)]


def add_stands(fair: Fair, zone: str, first: int, count: int, notes: str = "",
               actor=None) -> list[Stand]:
    """Lay out a row of stands in one step; all or none if a code is taken."""
    codes = stand_codes(zone, first, count)
    taken = db.session.scalars(select(Stand.code).where(Stand.fair_id == fair.id,
                                                        Stand.code.in_(codes))).all()
    if taken:
        raise StandCodeTaken(sorted(taken))
    stands = [Stand(fair=fair, code=code, zone=zone, notes=notes) for code in codes]
    db.session.add_all(stands)
    record(actor, "fair.add_stands", fair, after={"zone": zone, "count": count,
                                                  "first": codes[0], "last": codes[-1]})
    db.session.flush()
    return stands


def assign(stand: Stand, shop: Shop | None, actor=None) -> None:
    before = {"shop_id": stand.shop_id, "shop": stand.shop.slug if stand.shop else None}
    stand.shop = shop
    record(actor, "stand.assign", stand, before=before, note=f"{stand.fair.slug} {stand.code}",
           after={"shop_id": shop.id if shop else None, "shop": shop.slug if shop else None})
    db.session.flush()


MAX_GRACE_DAYS = 30


@dataclass(frozen=True)
class Closed:
    message: str  # for the visitor or keeper
    status: int  # 403 not yet open, 410 over or switched off


def why_closed(fair: Fair, stand: Stand, today: date | None = None) -> Closed | None:
    """Why this stand sells nothing now, or None when it sells.

    The one rule for every way a sale starts at a stand: the visitor's page and basket,
    the keeper's till. A charge already made may still be paid until it expires."""
    today = today or today_in_jakarta()
    if fair.closed_at is not None:
        return Closed(_("Pameran %(fair)s sudah ditutup panitia.", fair=fair.name), 410)
    if today < fair.starts_on:
        return Closed(_("Pameran %(fair)s baru dimulai %(day)s.", fair=fair.name,
                        day=format_date(fair.starts_on, "long")), 403)
    if today > fair.ends_on + timedelta(days=fair.grace_days or 0):
        return Closed(_("Pameran %(fair)s sudah selesai pada %(day)s.", fair=fair.name,
                        day=format_date(fair.ends_on, "long")), 410)
    if not stand.active:
        return Closed(_("Stan %(code)s tidak aktif lagi.", code=stand.code), 410)
    if stand.shop is None or not stand.shop.verified:
        return Closed(_("Stan %(code)s belum punya toko yang bisa berjualan.", code=stand.code),
                      410)
    return None


def close_fair(fair: Fair, actor) -> bool:
    """The organizer ends the fair early: every stand link stops selling at once."""
    if fair.closed_at is not None:
        return False
    fair.closed_at = utcnow()
    record(actor, "fair.close", fair, after={"closed_at": fair.closed_at.isoformat()})
    db.session.flush()
    return True


def set_stand_active(stand: Stand, active: bool, actor) -> bool:
    if stand.active == active:
        return False
    stand.active = active
    record(actor, "stand.activate" if active else "stand.deactivate", stand,
           before={"active": not active}, after={"active": active}, note=stand.code)
    db.session.flush()
    return True


def stand_by_code(fair: Fair, code: str) -> Stand | None:
    return db.session.scalar(select(Stand).where(Stand.fair_id == fair.id, Stand.code == code))


def stand_products(stand: Stand) -> list[Product]:
    if stand.shop_id is None:
        return []
    return list(db.session.scalars(
        visible_products().where(Product.shop_id == stand.shop_id)
        .options(selectinload(Product.images), selectinload(Product.variants))
        .order_by(Product.name)).unique())


def current_stands(shop: Shop) -> list[Stand]:
    """The shop's stands at fairs that have not ended: where its till opens."""
    return list(db.session.scalars(
        select(Stand).join(Fair).where(Stand.shop_id == shop.id,
                                       Fair.ends_on >= today_in_jakarta())
        .order_by(Fair.starts_on, Stand.code)))
