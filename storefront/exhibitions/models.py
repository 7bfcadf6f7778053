from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
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

    fair: Mapped[Fair] = relationship(back_populates="stands")
    shop = relationship("Shop")

    __table_args__ = (UniqueConstraint("fair_id", "code", name="uq_stand_code"),)
