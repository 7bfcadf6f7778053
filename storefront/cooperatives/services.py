"""Cooperatives, their member shops, and what their managers and members see of sales.

A shop belongs to at most one cooperative at a time (a partial unique index on
active memberships). Sales reach a cooperative through the ledger: each entry
carries the cooperative its shop belonged to when the money moved, so a manager
sees a member's sales from the day it joined, never before and never after it left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, literal_column, select
from sqlalchemy.exc import IntegrityError

from ..audit import record
from ..catalogue.models import Shop
from ..extensions import db
from ..ledger import services as ledger
from ..ledger.models import LedgerEntry
from ..orders.models import Order
from ..slugs import slugify
from ..timeutil import utcnow
from .models import Cooperative, Membership


class MembershipRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def create(name: str, legal_number: str, kecamatan: str, kelurahan: str, actor,
           managers=(), shop: Shop | None = None) -> Cooperative:
    base = slug = slugify(name, 140)
    n = 1
    while db.session.scalar(select(Cooperative.id).where(Cooperative.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    coop = Cooperative(name=name, slug=slug, legal_number=legal_number, kecamatan=kecamatan,
                       kelurahan=kelurahan, shop_id=shop.id if shop else None)
    for user in managers:
        user.grant("coop_manager")
        coop.managers.append(user)
    db.session.add(coop)
    db.session.flush()
    record(actor, "cooperative.create", coop, after={
        "name": name, "legal_number": legal_number, "kelurahan": kelurahan,
        "managers": [u.email for u in managers]})
    db.session.flush()
    return coop


def managed_by(user) -> list[Cooperative]:
    return list(db.session.scalars(select(Cooperative).where(
        Cooperative.managers.any(id=user.id)).order_by(Cooperative.name)))


def active_membership(shop: Shop) -> Membership | None:
    return db.session.scalar(select(Membership).where(Membership.shop_id == shop.id,
                                                      Membership.status == "active"))


def open_membership(coop: Cooperative, shop: Shop) -> Membership | None:
    return db.session.scalar(select(Membership).where(
        Membership.cooperative_id == coop.id, Membership.shop_id == shop.id,
        Membership.status.in_(("invited", "requested", "active"))))


def _ask(coop: Cooperative, shop: Shop, status: str, actor) -> Membership:
    if open_membership(coop, shop) is not None:
        raise MembershipRefused(_("Sudah ada undangan, permintaan, atau keanggotaan untuk toko ini."))
    membership = Membership(cooperative_id=coop.id, shop_id=shop.id, status=status)
    db.session.add(membership)
    db.session.flush()
    record(actor, f"membership.{status}", membership,
           after={"cooperative": coop.slug, "shop": shop.slug})
    db.session.flush()
    return membership


def invite(coop: Cooperative, shop: Shop, actor) -> Membership:
    """The cooperative asks a shop to join; the shop accepts or declines."""
    return _ask(coop, shop, "invited", actor)


def request_to_join(coop: Cooperative, shop: Shop, actor) -> Membership:
    """The shop asks; a manager of the cooperative accepts or declines."""
    return _ask(coop, shop, "requested", actor)


def accept(membership: Membership, actor) -> Membership:
    if membership.status not in ("invited", "requested"):
        raise MembershipRefused(_("Undangan atau permintaan ini sudah tidak berlaku."))
    other = active_membership(membership.shop)
    if other is not None:
        raise MembershipRefused(_("Toko ini masih anggota %(coop)s. Keluar dulu dari sana.",
                                  coop=other.cooperative.name))
    before = membership.status
    membership.status, membership.joined_at = "active", utcnow()
    record(actor, "membership.accept", membership, before={"status": before},
           after={"status": "active"})
    try:
        with db.session.begin_nested():  # joined elsewhere at the same moment
            db.session.flush()
    except IntegrityError:
        raise MembershipRefused(_("Toko ini baru saja bergabung dengan koperasi lain.")) from None
    return membership


def decline(membership: Membership, actor) -> Membership:
    if membership.status in ("invited", "requested"):
        before = membership.status
        membership.status = "declined"
        record(actor, "membership.decline", membership, before={"status": before},
               after={"status": "declined"})
        db.session.flush()
    return membership


def leave(membership: Membership, actor) -> Membership:
    if membership.status == "active":
        membership.status, membership.left_at = "ended", utcnow()
        record(actor, "membership.end", membership, before={"status": "active"},
               after={"status": "ended"})
        db.session.flush()
    return membership


def members(coop: Cooperative, include_past: bool = False) -> list[Membership]:
    statuses = ("active", "ended") if include_past else ("active",)
    return list(db.session.scalars(
        select(Membership).where(Membership.cooperative_id == coop.id,
                                 Membership.status.in_(statuses))
        .order_by(Membership.status, Membership.joined_at)))


def pending(coop: Cooperative) -> list[Membership]:
    return list(db.session.scalars(
        select(Membership).where(Membership.cooperative_id == coop.id,
                                 Membership.status.in_(("invited", "requested")))
        .order_by(Membership.created_at)))


# --- what a manager sees of sales ----------------------------------------------------------

@dataclass
class SaleRow:
    last_id: int  # the newest ledger entry in the row: the live list asks for rows after it
    posted_at: datetime
    order_code: str
    shop_name: str
    channel: str
    kind: str  # sale | refund
    amount: int


def sales_rows(coop: Cooperative, *, after: int = 0, shop_id: int | None = None,
               start: datetime | None = None, end: datetime | None = None,
               channel: str | None = None, limit: int = 50) -> list[SaleRow]:
    """The cooperative's sales, newest first, one row per sale (or refund) of a member.

    ``after`` makes it incremental: only rows whose entries are newer than that id.
    """
    equal = {"cooperative_id": coop.id}
    if shop_id:
        equal["shop_id"] = shop_id
    if channel:
        equal["channel"] = channel
    conditions = ledger.sales_filter(start, end, **equal)
    if after:
        conditions.append(LedgerEntry.id > after)
    last = func.max(LedgerEntry.id).label("last_id")
    rows = db.session.execute(
        select(last, func.min(LedgerEntry.posted_at), Order.code, Shop.name, LedgerEntry.channel,
               LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .join(Order, Order.id == LedgerEntry.order_id).join(Shop, Shop.id == LedgerEntry.shop_id)
        .where(*conditions)
        .group_by(LedgerEntry.order_id, Order.code, Shop.name, LedgerEntry.channel,
                  LedgerEntry.kind)
        .order_by(literal_column("last_id").desc()).limit(limit)).all()
    return [SaleRow(*row) for row in rows]


def month_expression(column):
    """The Jakarta calendar month of a stored UTC time, as "YYYY-MM", in either database."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(column + literal_column("interval '7 hours'"), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+7 hours")


def monthly_by_member(coop: Cooperative, start=None, end=None) -> list[tuple[str, str, int]]:
    """(month, shop name, net sales) for the cooperative's members."""
    month = month_expression(LedgerEntry.posted_at)
    rows = db.session.execute(
        select(month, Shop.name, func.sum(LedgerEntry.amount))
        .join(Shop, Shop.id == LedgerEntry.shop_id)
        .where(*ledger.sales_filter(start, end, cooperative_id=coop.id))
        .group_by(month, Shop.name).order_by(month.desc(), Shop.name)).all()
    return [(m, name, int(total)) for m, name, total in rows]


def totals(coop: Cooperative, start=None, end=None) -> tuple[int, int]:
    return ledger.sales_total(start, end, cooperative_id=coop.id)
