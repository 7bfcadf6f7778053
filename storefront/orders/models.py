from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

# An order waits for payment, then the seller works it through to the end.
ORDER_STATUSES = ("awaiting_payment", "new", "processing", "ready", "shipped", "completed",
                  "cancelled")
# "stand": rung up at a fair stand, handed over the moment it is paid.
FULFILMENTS = ("pickup", "delivery", "stand")
# Where the sale was made: the web shop, or a fair stand paid by QR (gateway-confirmed),
# in cash, or on the shop's own static QRIS sticker (money straight to the shop's bank;
# no gateway says it arrived, so it stays unconfirmed until the keeper or office checks).
CHANNELS = ("online", "fair_qr", "fair_cash", "fair_sqris")
# Money the shop received itself: the platform owes it nothing for these sales.
SHOP_HELD = ("fair_cash", "fair_sqris")
# How reports, statements, filters and the cooperative's list name a channel: one place.
CHANNEL_NAMES = {"online": _l("Daring"), "fair_qr": _l("Pameran, QR"),
                 "fair_cash": _l("Pameran, tunai"),
                 "fair_sqris": _l("Pameran, QRIS statis (tanpa konfirmasi gateway)")}


def channel_choices() -> list:
    """Every channel as a filter's choices, after "all of them"."""
    from wtforms.fields.choices import SelectChoice

    return [SelectChoice("", _l("Semua kanal")),
            *(SelectChoice(code, name) for code, name in CHANNEL_NAMES.items())]

# What a seller may do next from each state.
NEXT_STATUSES = {
    "new": ("processing", "cancelled"),
    "processing": ("ready", "shipped", "cancelled"),
    "ready": ("completed",),
    "shipped": ("completed",),
}


class Order(db.Model):
    """One shop's part of a purchase: the shop fulfils it and is paid for it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchase.id"), index=True)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    buyer_name: Mapped[str] = mapped_column(String(120))
    buyer_whatsapp: Mapped[str] = mapped_column(String(20))
    buyer_email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), default="awaiting_payment")
    fulfilment: Mapped[str] = mapped_column(String(10), default="pickup")
    delivery_address: Mapped[str | None] = mapped_column(Text)
    subtotal: Mapped[int] = mapped_column(default=0)  # rupiah
    delivery_fee: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    platform_fee: Mapped[int] = mapped_column(default=0)
    # The payment gateway's fee (QRIS MDR) on this order's share of the payment, once the
    # gateway reports it; the seller's statement shows it as its own line.
    gateway_fee: Mapped[int] = mapped_column(default=0)
    tracking_note: Mapped[str | None] = mapped_column(String(300))
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    paid_at: Mapped[datetime | None]
    channel: Mapped[str] = mapped_column(String(10), default="online", server_default="online")
    stand_id: Mapped[int | None] = mapped_column(ForeignKey("stand.id", name="fk_order_stand"),
                                                 index=True)
    # A paid sale taken back (a mistaken sale voided at the stand, a refund): the
    # money went back, so reports leave it out; who and why stay on record.
    refunded_at: Mapped[datetime | None]
    refunded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id",
                                                                  name="fk_order_refunded_by"))
    # The refund as the gateway tells it: pending until it says succeeded (then
    # refunded_at is set and the ledger posts it) or failed (shown, to try again).
    refund_status: Mapped[str | None] = mapped_column(String(10))
    refund_reference: Mapped[str | None] = mapped_column(String(255), index=True)
    # A static-QRIS sale: when the keeper or the office saw the money in the shop's bank.
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id",
                                                                   name="fk_order_confirmed_by"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    shop = relationship("Shop")
    buyer = relationship("User", foreign_keys=[buyer_id])
    refunded_by = relationship("User", foreign_keys=[refunded_by_id])
    confirmed_by = relationship("User", foreign_keys=[confirmed_by_id])

    @property
    def unconfirmed(self) -> bool:
        """A static-QRIS sale nobody has checked yet: reports label it so."""
        return self.channel == "fair_sqris" and self.confirmed_at is None
    stand = relationship("Stand")
    purchase = relationship("Purchase", back_populates="orders")
    lines: Mapped[list[OrderLine]] = relationship(back_populates="order",
                                                  cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("total = subtotal + delivery_fee", name="order_total_adds_up"),
        CheckConstraint("subtotal >= 0 AND delivery_fee >= 0 AND platform_fee >= 0",
                        name="order_amounts_not_negative"),
        Index("ix_order_shop_status_created", "shop_id", "status", "created_at"),
        Index("ix_order_paid_at", "paid_at"),
    )

    @property
    def next_statuses(self) -> tuple[str, ...]:
        allowed = NEXT_STATUSES.get(self.status, ())
        # Pickup orders become "ready", delivered ones "shipped".
        skip = "shipped" if self.fulfilment == "pickup" else "ready"
        return tuple(s for s in allowed if s != skip)


class OrderLine(db.Model):
    """What was bought, frozen at the price paid: later price edits don't rewrite history."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id", ondelete="SET NULL"),
                                                   index=True)
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_variant.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(140))
    variant_name: Mapped[str | None] = mapped_column(String(60))
    unit_price: Mapped[int]
    quantity: Mapped[int]
    line_total: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="lines")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="line_quantity_positive"),
        CheckConstraint("line_total = unit_price * quantity", name="line_total_adds_up"),
    )
