from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class Fair(db.Model):
    """A trade fair run by the city office: dates, daily hours, and its stands."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(140))
    slug: Mapped[str] = mapped_column(String(160), unique=True)
    venue: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    opens_at: Mapped[time] = mapped_column(default=time(9, 0))
    closes_at: Mapped[time] = mapped_column(default=time(21, 0))
    # Days after ends_on that visitors' links still sell (late pickups, a last day's
    # stragglers); the organizer sets it. closed_at: the organizer closed it early.
    grace_days: Mapped[int] = mapped_column(default=1, server_default="1")
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    stands: Mapped[list[Stand]] = relationship(back_populates="fair", order_by="Stand.code",
                                               cascade="all, delete-orphan")


class Stand(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    fair_id: Mapped[int] = mapped_column(ForeignKey("fair.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(12))  # "A-01"
    zone: Mapped[str] = mapped_column(String(40), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id"), index=True)
    # The organizer turned the stand off: its poster and till sell nothing.
    active: Mapped[bool] = mapped_column(default=True, server_default="1")

    fair: Mapped[Fair] = relationship(back_populates="stands")
    shop = relationship("Shop")

    __table_args__ = (UniqueConstraint("fair_id", "code", name="uq_stand_code"),)


class StandItem(db.Model):
    """A product (or one variant of it) the keeper brought to the stand.

    With ``fair_stock`` set, sales at the stand count down that number and leave
    the shop's online stock alone; without it they take from the online stock.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    stand_id: Mapped[int] = mapped_column(ForeignKey("stand.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_variant.id", ondelete="CASCADE"))
    fair_stock: Mapped[int | None]

    product = relationship("Product")
    variant = relationship("ProductVariant")

    __table_args__ = (
        UniqueConstraint("stand_id", "product_id", "variant_id", name="uq_stand_item"),
        CheckConstraint("fair_stock IS NULL OR fair_stock >= 0", name="fair_stock_not_negative"),
    )

    @property
    def label(self) -> str:
        return self.product.name + (f" · {self.variant.name}" if self.variant else "")

    @property
    def price(self) -> int:
        return self.variant.price if self.variant else self.product.price

    @property
    def stock(self) -> int:
        if self.fair_stock is not None:
            return self.fair_stock
        return self.variant.stock if self.variant else self.product.stock
