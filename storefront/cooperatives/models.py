from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

# invited: the cooperative asked the shop; requested: the shop asked to join;
# active: a member since joined_at; ended: left (left_at) ; declined: never joined.
MEMBERSHIP_STATUSES = ("invited", "requested", "active", "ended", "declined")

coop_manager = Table(
    "coop_manager", db.metadata,
    Column("cooperative_id", ForeignKey("cooperative.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


class Cooperative(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(140))
    slug: Mapped[str] = mapped_column(String(160), unique=True)
    legal_number: Mapped[str] = mapped_column(String(60), unique=True)  # nomor badan hukum
    kecamatan: Mapped[str] = mapped_column(String(40))
    kelurahan: Mapped[str] = mapped_column(String(40))
    # A cooperative may run a shop of its own (type "koperasi").
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id", name="fk_coop_shop"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    managers = relationship("User", secondary=coop_manager)
    shop = relationship("Shop", foreign_keys=[shop_id])


class Membership(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id", ondelete="CASCADE"),
                                                index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    cooperative = relationship("Cooperative")
    shop = relationship("Shop")

    __table_args__ = (
        # A shop belongs to at most one cooperative at a time.
        Index("uq_membership_active_shop", "shop_id", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )
