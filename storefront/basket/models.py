from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

MAX_QUANTITY = 99  # per line: a shopper buying more talks to the seller


def new_basket_token() -> str:
    return secrets.token_urlsafe(24)


class Basket(db.Model):
    """A shopper's cart across every shop: by account, or by an unguessable cookie token."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(40), unique=True, default=new_basket_token)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list[BasketLine]] = relationship(back_populates="basket",
                                                   cascade="all, delete-orphan",
                                                   order_by="BasketLine.id")

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)


class BasketLine(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    basket_id: Mapped[int] = mapped_column(ForeignKey("basket.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("product_variant.id",
                                                              ondelete="CASCADE"))
    quantity: Mapped[int]
    # The price when it went into the cart: a later change is shown before payment.
    price_seen: Mapped[int]

    basket: Mapped[Basket] = relationship(back_populates="lines")
    product = relationship("Product", lazy="joined")
    variant = relationship("ProductVariant", lazy="joined")

    __table_args__ = (CheckConstraint(f"quantity BETWEEN 1 AND {MAX_QUANTITY}",
                                      name="basket_line_quantity"),)

    @property
    def unit_price(self) -> int:
        return self.variant.price if self.variant else self.product.price

    @property
    def available(self) -> int:
        return self.variant.stock if self.variant else self.product.stock

    @property
    def price_changed(self) -> bool:
        return self.unit_price != self.price_seen
